"""Addenda and co-signatures: what may still be written about a note once it is signed.

A signed note never changes (the database refuses it); a correction or late entry is an
addendum, dated and signed by its author, and a supervised clinician's note is co-signed by
a clinical supervisor (issue 4 §7). On a group note both go to the group note and to every
attendee's note, so each patient's chart shows them; the number of queries does not depend
on the number of attendees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openiop.audit.models import Action
from openiop.audit.services import build_event, record_event, record_events
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.clinical.hashing import addendum_content, cosignature_content, sha256_of
from openiop.clinical.models import Addendum, Cosignature, Note, NoteKind

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User

ADDENDUM_MAX_LENGTH = 10_000


def add_addendum(
    note: Note, *, user: User, text: str, request: HttpRequest | None = None
) -> Addendum:
    """Append a signed addendum by ``user`` to the signed ``note`` and return it.

    On a group note the same addendum goes to every attendee's note too (the one returned is
    the group note's). Blank or overlong text is a ValidationError on ``text``; a draft is a
    NoteConflict (drafts are edited directly).
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the addendum's text."})
    if len(text) > ADDENDUM_MAX_LENGTH:
        raise ValidationError(
            {"text": f"An addendum holds at most {ADDENDUM_MAX_LENGTH:,} characters."}
        )
    with transaction.atomic():
        note = _locked(note)
        if not note.is_signed:
            raise NoteConflict(
                "This note is a draft: sign the note first; drafts are edited directly."
            )
        notes = [note, *_members(note)]
        now = timezone.now()
        addenda = []
        for target in notes:
            addendum = Addendum(
                note=target,
                author=user,
                signer_name=user.signature_name,
                text=text,
                signed_at=now,
            )
            addendum.content_sha256 = sha256_of(addendum_content(addendum))
            addenda.append(addendum)
        Addendum.objects.bulk_create(addenda)
        _audit_patients(
            notes,
            addenda,
            request=request,
            user=user,
            action=Action.CREATE,
            object_type="addendum",
            detail=f"addendum to note #{note.pk}",
        )
    return addenda[0]


def cosign_note(note: Note, *, user: User, request: HttpRequest | None = None) -> Cosignature:
    """Co-sign the signed ``note`` of a supervised clinician as ``user`` and return it.

    Only a clinical supervisor who is not the note's author may (else NotPermitted). The note
    must be signed, need a co-signature and not have one yet (else NoteConflict). On a group
    note every attendee's note is co-signed with it; an attendee's note is co-signed through
    its group note.
    """
    if not user.is_clinical_supervisor:
        raise NotPermitted("Only a clinical supervisor may co-sign notes.")
    with transaction.atomic():
        note = _locked(note)
        if note.author_id == user.pk:
            raise NotPermitted("You wrote this note; another clinical supervisor co-signs it.")
        if note.kind == NoteKind.GROUP_MEMBER:
            raise NoteConflict(
                "This note is part of a group note: co-sign the group note, which co-signs"
                " every attendee's note."
            )
        if not note.is_signed:
            raise NoteConflict("This note is a draft: it is co-signed after its author signs it.")
        if not note.requires_cosign:
            raise NoteConflict("This note does not need a co-signature.")
        if Cosignature.objects.filter(note=note).exists():
            raise NoteConflict("This note is already co-signed.")
        notes = [note, *_members(note)]
        now = timezone.now()
        cosignatures = []
        for target in notes:
            cosignature = Cosignature(
                note=target, cosigner=user, signer_name=user.signature_name, signed_at=now
            )
            cosignature.content_sha256 = sha256_of(cosignature_content(cosignature))
            cosignatures.append(cosignature)
        Cosignature.objects.bulk_create(cosignatures)
        _audit_patients(
            notes,
            cosignatures,
            request=request,
            user=user,
            action=Action.CREATE,
            object_type="cosignature",
            detail=f"co-signature of note #{note.pk}",
        )
    return cosignatures[0]


def _locked(note: Note) -> Note:
    """The note as it is now, its row locked so that concurrent co-signers queue."""
    return (
        Note.objects.select_for_update(of=("self",))
        .select_related("site", "author")
        .get(pk=note.pk)
    )


def _members(note: Note) -> list[Note]:
    if note.kind != NoteKind.GROUP:
        return []
    return list(Note.objects.filter(group_note=note).order_by("pk"))


def _audit_patients(
    notes: Sequence[Note],
    records: Sequence[Addendum | Cosignature],
    *,
    request: HttpRequest | None,
    user: User,
    action: Action,
    object_type: str,
    detail: str,
) -> None:
    """One audit event per patient whose note was written to (one INSERT).

    A group note is in no chart: its attendees are audited through their own notes.
    """
    pairs = [
        (target, record)
        for target, record in zip(notes, records, strict=True)
        if target.patient_id is not None
    ]
    if not pairs:
        # A group note without member notes cannot be signed; audit the write all the same.
        record_event(
            request=request,
            actor=user,
            site=notes[0].site,
            action=action,
            object_type=object_type,
            object_id=records[0].pk,
            detail=detail,
        )
        return
    site = notes[0].site
    record_events(
        build_event(
            request=request,
            actor=user,
            site=site,
            action=action,
            object_type=object_type,
            object_id=record.pk,
            patient_id=target.patient_id,
            detail=detail,
        )
        for target, record in pairs
    )
