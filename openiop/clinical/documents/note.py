"""A signed clinical note in a patient's chart, with its addenda and co-signature.

A patient's note only: an individual note or a group member note. A member note already
holds the group's shared part and this patient's own part alone; this document prints
exactly that note's fields and nothing read from the group note or its other entries, so
no other attendee's name or identifier can appear in it (issue 4 §1). The participant
count is printed as a number.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from reportlab.platypus import Flowable, KeepTogether

from openiop.clinical.documents.layout import (
    DocumentContext,
    fields,
    fmt_clock,
    fmt_date,
    fmt_time,
    heading,
    local,
    narrative,
    para,
    render,
    signature_block,
)
from openiop.clinical.models import (
    FORMAT_SECTIONS,
    Cosignature,
    Note,
    NoteKind,
    NoteStatus,
    PlanGoal,
)
from openiop.scheduling.models import AttendanceStatus

PATIENT_NOTE_KINDS = (NoteKind.INDIVIDUAL, NoteKind.GROUP_MEMBER)


def load_note(note_id: int, *, patient_id: int) -> Note | None:
    """The patient's own note (not a group note), with what the document prints."""
    return (
        Note.objects.filter(pk=note_id, patient_id=patient_id, kind__in=PATIENT_NOTE_KINDS)
        .select_related("session", "author", "curriculum_module", "cosignature")
        .prefetch_related("addenda")
        .first()
    )


def signed_notes_of(patient_id: int, *, limit: int = 100) -> list[Note]:
    """The patient's latest signed notes, newest first, for the issuing form."""
    return list(
        Note.objects.filter(
            patient_id=patient_id, kind__in=PATIENT_NOTE_KINDS, status=NoteStatus.SIGNED
        )
        .select_related("session")
        .order_by("-started_at", "-pk")[:limit]
    )


def note_label(note: Note, time_zone: str) -> str:
    """How a note is named in the form, the disclosure log and the document title."""
    day = fmt_date(local(note.started_at, time_zone).date())
    kind = (
        "Group note" if note.kind == NoteKind.GROUP_MEMBER else f"{note.get_format_display()} note"
    )
    return f"{kind}, {note.session.title}, {day}"


def build_note(ctx: DocumentContext, note: Note) -> bytes:
    tz = ctx.time_zone
    goals = list(
        PlanGoal.objects.filter(note_links__note=note).order_by("plan__number", "position", "pk")
    )
    attendance = (
        AttendanceStatus(note.attendance_status).label
        if note.attendance_status in AttendanceStatus.values
        else note.attendance_status
    )
    session_rows: list[tuple[str, object]] = [
        ("Session", note.session.title),
        ("Date", fmt_date(local(note.started_at, tz).date())),
        ("Time", f"{fmt_clock(note.started_at, tz)} – {fmt_clock(note.ended_at, tz)} ({tz})"),
        ("Note format", note.get_format_display()),
    ]
    if note.kind == NoteKind.GROUP_MEMBER:
        session_rows += [
            ("Topic", note.topic or "—"),
            ("Curriculum module", note.curriculum_module.name if note.curriculum_module else "—"),
            (
                "Participants",
                str(note.participant_count) if note.participant_count is not None else "—",
            ),
        ]
    session_rows += [
        ("Attendance", attendance or "—"),
        ("Minutes", str(note.minutes) if note.minutes is not None else "—"),
        ("Service code", note.service_code or "—"),
        ("Clinician", note.signer_name),
    ]
    story: list[Flowable] = [fields(session_rows)]
    if note.kind == NoteKind.GROUP_MEMBER:
        story += [
            heading("Group session"),
            heading("Summary", 3),
            narrative(note.summary),
            heading("Interventions", 3),
            narrative(note.interventions),
            heading("This patient", 2),
        ]
    else:
        story.append(heading("Note"))
    sections = FORMAT_SECTIONS.get(note.format, ())
    absence = str(note.sections.get("absence_note", "")).strip()
    # An absent attendee's note holds the absence entry alone: print that, not empty sections.
    if not (absence and not any(note.sections.get(code) for code, _ in sections)):
        for code, label in sections:
            story += [heading(label, 3), narrative(str(note.sections.get(code, "")))]
    if absence:
        story += [heading("Absence", 3), narrative(absence)]
    story.append(heading("Treatment-plan goals addressed", 3))
    if goals:
        story += [para(f"• {goal.statement}") for goal in goals]
    else:
        story.append(para("None linked.", "muted"))
    signatures: list[tuple[str, object]] = [
        ("Signed by", note.signer_name),
        ("Signed at", fmt_time(note.signed_at, tz)),
    ]
    try:
        cosignature: Cosignature | None = note.cosignature
    except ObjectDoesNotExist:
        cosignature = None
    if cosignature is not None:
        signatures.append(
            (
                "Co-signed by",
                f"{cosignature.signer_name}, {fmt_time(cosignature.signed_at, tz)}",
            )
        )
    elif note.requires_cosign:
        signatures.append(("Co-signature", "Required, not yet given"))
    signatures.append(("Fingerprint (SHA-256)", para(note.content_sha256, "small")))
    story.append(signature_block(signatures))
    addenda = list(note.addenda.all())
    if addenda:
        story.append(heading("Addenda"))
        for addendum in addenda:
            story.append(
                KeepTogether(
                    [
                        para(
                            f"{fmt_time(addendum.signed_at, tz)}, signed by {addendum.signer_name}",
                            "cell_bold",
                        ),
                        narrative(addendum.text),
                        para(f"SHA-256 {addendum.content_sha256}", "muted"),
                    ]
                )
            )
    return render(ctx, story)
