"""make_* helpers for signed notes written directly (tests of addenda and co-signatures).

The services that write and sign notes have their own tests; these rows are what they leave
behind: a signed individual note, or a signed group note with one signed note per attendee.
"""

from __future__ import annotations

from django.utils import timezone

from openiop.accounts.models import Site, User
from openiop.clinical.hashing import note_content, sha256_of
from openiop.clinical.models import Note, NoteFormat, NoteKind, NoteStatus
from openiop.patients.models import Patient
from tests.factories_clinical import HeldGroup, held_individual


def _sign(note: Note, author: User, *, requires_cosign: bool) -> Note:
    note.status = NoteStatus.SIGNED
    note.signed_at = timezone.now()
    note.signed_by = author
    note.signer_name = author.signature_name
    note.requires_cosign = requires_cosign
    note.content_sha256 = sha256_of(note_content(note, []))
    note.save()
    return note


def make_individual_note(
    site: Site,
    author: User,
    patient: Patient,
    *,
    signed: bool = True,
    requires_cosign: bool = False,
) -> Note:
    session, booking = held_individual(site, author, patient)
    note = Note.objects.create(
        site=site,
        kind=NoteKind.INDIVIDUAL,
        format=NoteFormat.DAP,
        session=session,
        patient=patient,
        booking=booking,
        author=author,
        started_at=session.starts_at,
        ended_at=session.ends_at,
        attendance_status=booking.status,
        minutes=booking.minutes_attended,
        sections={"data": "Synthetic data.", "assessment": "Synthetic.", "plan": "Continue."},
    )
    return _sign(note, author, requires_cosign=requires_cosign) if signed else note


def make_group_note(
    group: HeldGroup, author: User, *, signed: bool = True, requires_cosign: bool = False
) -> Note:
    """A group note of ``group``'s session and, when signed, one signed note per attendee."""
    session = group.session
    note = Note.objects.create(
        site=session.site,
        kind=NoteKind.GROUP,
        format=NoteFormat.GROUP,
        session=session,
        author=author,
        topic="Coping with cravings",
        summary="Synthetic group summary.",
        interventions="CBT skills practice.",
        participant_count=2,
        started_at=session.starts_at,
        ended_at=session.ends_at,
    )
    if not signed:
        return note
    for patient, booking in zip(group.patients, group.bookings, strict=True):
        member = Note.objects.create(
            site=session.site,
            kind=NoteKind.GROUP_MEMBER,
            format=NoteFormat.GROUP,
            session=session,
            patient=patient,
            booking=booking,
            group_note=note,
            author=author,
            topic=note.topic,
            summary=note.summary,
            interventions=note.interventions,
            participant_count=2,
            started_at=session.starts_at,
            ended_at=session.ends_at,
            attendance_status=booking.status,
            minutes=booking.minutes_attended,
            sections={"participation": "Took part."},
        )
        _sign(member, author, requires_cosign=requires_cosign)
    return _sign(note, author, requires_cosign=requires_cosign)
