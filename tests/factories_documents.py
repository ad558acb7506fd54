"""Helpers for the document and disclosure tests: signed notes, a relapse-prevention plan,
and reading a PDF back as text, page by page."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

from django.utils import timezone
from pypdf import PdfReader

from openiop.accounts.models import Site, User
from openiop.clinical.hashing import note_content, sha256_of
from openiop.clinical.models import (
    Note,
    NoteFormat,
    NoteGoal,
    NoteKind,
    NoteStatus,
    RelapsePreventionPlan,
)
from openiop.patients.models import Patient
from openiop.scheduling.models import ATTENDED_STATUSES
from tests.factories_clinical import HeldGroup, held_individual


def pdf_pages(pdf: bytes) -> list[str]:
    """The text of each page, whitespace collapsed so phrases match across line breaks."""
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]


def pdf_text(pdf: bytes) -> str:
    return " ".join(pdf_pages(pdf))


def _sign(notes: list[Note], signer: User, goals: dict[int, list[int]] | None = None) -> None:
    now = timezone.now()
    for note in notes:
        note.status = NoteStatus.SIGNED
        note.signed_at = now
        note.signed_by = signer
        note.signer_name = signer.signature_name
        note.content_sha256 = sha256_of(note_content(note, (goals or {}).get(note.pk, [])))
        note.save()


def signed_group_notes(
    group: HeldGroup, author: User, *, goals: dict[int, list[int]] | None = None
) -> tuple[Note, list[Note]]:
    """A signed group note and one signed member note per attendee, written through the ORM.

    Each member note carries the shared part and that patient's own narrative, which names
    the patient (so a leak of another attendee's part would show in their document).
    ``goals`` maps a patient id to plan goal ids its note addresses.
    """
    session = group.session
    shared = {
        "topic": "Coping with cravings",
        "summary": "The group practiced urge surfing and built a coping card.",
        "interventions": "Psychoeducation, urge-surfing exercise, skills rehearsal.",
    }
    attended = sum(1 for b in group.bookings if b.status in ATTENDED_STATUSES)
    group_note = Note.objects.create(
        site=session.site,
        kind=NoteKind.GROUP,
        format=NoteFormat.GROUP,
        session=session,
        author=author,
        started_at=session.starts_at,
        ended_at=session.ends_at,
        participant_count=attended,
        **shared,
    )
    members = []
    for patient, booking in zip(group.patients, group.bookings, strict=True):
        own = f"{patient.first_name} {patient.last_name} ({patient.mrn}, id {patient.pk})"
        members.append(
            Note.objects.create(
                site=session.site,
                kind=NoteKind.GROUP_MEMBER,
                format=NoteFormat.GROUP,
                session=session,
                patient=patient,
                booking=booking,
                group_note=group_note,
                author=author,
                started_at=session.starts_at,
                ended_at=session.ends_at,
                participant_count=attended,
                attendance_status=booking.status,
                minutes=booking.minutes_attended,
                service_code="90853",
                sections={
                    "participation": f"Participation of {own}: engaged throughout.",
                    "mood": f"Mood of {own}: euthymic.",
                    "response": f"Response of {own}: practiced the skill.",
                    "progress": f"Progress of {own}: named two coping strategies.",
                    "risk": "No risk observed.",
                    "plan": f"Plan for {own}: continue in group.",
                },
                **shared,
            )
        )
    for member in members:
        for goal_id in (goals or {}).get(member.patient_id, []):
            NoteGoal.objects.create(note=member, goal_id=goal_id)
    member_goals = {m.pk: (goals or {}).get(m.patient_id, []) for m in members}
    _sign(members, author, member_goals)
    _sign([group_note], author)
    return group_note, members


def individual_note(
    site: Site, therapist: User, patient: Patient, *, signed: bool = True, **fields: Any
) -> Note:
    """A DAP note of an individual session with ``patient``, signed unless told otherwise."""
    session, booking = held_individual(site, therapist, patient)
    note = Note.objects.create(
        site=site,
        kind=NoteKind.INDIVIDUAL,
        format=NoteFormat.DAP,
        session=session,
        patient=patient,
        booking=booking,
        author=therapist,
        started_at=session.starts_at,
        ended_at=session.ends_at,
        attendance_status=booking.status,
        minutes=50,
        service_code="90834",
        sections={
            "data": "Reported three days without use; slept better.",
            "assessment": "Engaged and motivated; early remission.",
            "plan": "Continue weekly sessions; review coping card.",
        },
        **fields,
    )
    if signed:
        _sign([note], therapist)
    return note


def make_rpp(
    patient: Patient, author: User, *, number: int = 1, **fields: Any
) -> RelapsePreventionPlan:
    values: dict[str, Any] = {
        "triggers": "Payday evenings; old drinking friends.",
        "warning_signs": "Skipping meals, isolating.",
        "high_risk_situations": "Weddings with an open bar.",
        "coping_strategies": "Call my sponsor; go for a walk.",
        "craving_plan": "Wait twenty minutes, drink water, text a support.",
        "supports": [
            {"name": "Sam Sponsorperson", "phone": "555-0100", "relationship": "Sponsor"},
        ],
        "emergency_steps": "Call 988 or go to the nearest emergency room.",
    }
    values.update(fields)
    return RelapsePreventionPlan.objects.create(
        patient=patient, number=number, author=author, **values
    )


def days_ago(days: int) -> Any:
    return timezone.localdate() - timedelta(days=days)
