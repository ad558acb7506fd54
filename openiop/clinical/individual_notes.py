"""Individual notes (issue 4 §2): a DAP, BIRP or SOAP note about one individual session.

A note is started from a session that has begun, written as a draft (the author alone edits
it; every save bumps ``version`` and a stale version is refused), then signed: every section
is required, the documented time gives the psychotherapy code (``time_bands``), the goal links
(the golden thread) are fixed and the signed content is fingerprinted. The database refuses
any change to a signed note (``triggers.py``); these services check first and say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from openiop.clinical import goals, time_bands
from openiop.clinical.errors import SIGNED_NOTE_MESSAGE, NoteConflict, NotPermitted
from openiop.clinical.hashing import note_content, sha256_of
from openiop.clinical.models import (
    FORMAT_SECTIONS,
    Note,
    NoteFormat,
    NoteGoal,
    NoteKind,
    NoteStatus,
)
from openiop.lib.dates import zone
from openiop.scheduling.models import (
    AttendanceStatus,
    Booking,
    Session,
    SessionKind,
    SessionStatus,
)

if TYPE_CHECKING:
    from openiop.accounts.models import User

INDIVIDUAL_FORMATS = (NoteFormat.DAP, NoteFormat.BIRP, NoteFormat.SOAP)
# Longest plausible individual session (an extended crisis session); longer is a typing slip.
MAX_DURATION = timedelta(hours=4)
MAX_SECTION_LENGTH = 20_000
# A note documents a session that took place: absences and cancellations get no note.
NO_NOTE_STATUSES = (
    AttendanceStatus.EXCUSED,
    AttendanceStatus.UNEXCUSED,
    AttendanceStatus.NO_SHOW,
    AttendanceStatus.CANCELLED_BY_CLINIC,
    AttendanceStatus.CANCELLED,
)
TIME_KEYS = ("started_at", "ended_at")


def section_codes(note_format: str) -> tuple[str, ...]:
    return tuple(code for code, _ in FORMAT_SECTIONS[note_format])


def _check_format(value: object) -> str:
    if value not in INDIVIDUAL_FORMATS:
        raise ValidationError({"format": "Choose DAP, BIRP or SOAP."})
    return str(value)


@transaction.atomic
def start_individual_note(session: Session, *, author: User, format: str) -> Note:
    """Open a draft note for a held individual session, prefilled with the session's times.

    NoteConflict when the session is not an individual session that has begun (cancelled,
    a group, still upcoming), its patient did not attend, or it already has a note;
    NotPermitted when ``author`` is not the session's clinician.
    """
    note_format = _check_format(format)
    session = Session.objects.select_for_update().select_related("site").get(pk=session.pk)
    if session.kind != SessionKind.INDIVIDUAL:
        raise NoteConflict("This is a group session: write a group note for it instead.")
    if session.status == SessionStatus.CANCELLED:
        raise NoteConflict("This session was cancelled; there is nothing to document.")
    if session.starts_at > timezone.now():
        raise NoteConflict("This session has not happened yet; write its note once it starts.")
    if session.facilitator_id != author.pk:
        raise NotPermitted("Only the clinician who held this session can write its note.")
    booking = (
        Booking.objects.filter(session=session)
        .exclude(status__in=(AttendanceStatus.CANCELLED, AttendanceStatus.CANCELLED_BY_CLINIC))
        .select_related("patient")
        .first()
    )
    if booking is None:
        raise NoteConflict("Nobody is booked into this session; there is nothing to document.")
    if booking.status in NO_NOTE_STATUSES:
        raise NoteConflict(
            f"Attendance shows “{booking.get_status_display()}” for this session. Correct the "
            "attendance first if the session did take place."
        )
    if Note.objects.filter(session=session).exists():
        raise NoteConflict("This session already has a note.")
    note = Note(
        site=session.site,
        kind=NoteKind.INDIVIDUAL,
        format=note_format,
        session=session,
        patient=booking.patient,
        booking=booking,
        author=author,
        started_at=session.starts_at,
        ended_at=session.ends_at,
        attendance_status=booking.status,
        minutes=_minutes(session.starts_at, session.ends_at),
        sections=dict.fromkeys(section_codes(note_format), ""),
    )
    note.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            note.save()
    except IntegrityError:
        # Two first saves at once: the unique constraint let one through.
        raise NoteConflict("This session already has a note.") from None
    return note


def _minutes(started_at: datetime, ended_at: datetime) -> int:
    return int((ended_at - started_at).total_seconds() // 60)


def _locked(note: Note, *, user: User) -> Note:
    """The note's current row, locked, after the checks every draft change makes."""
    current = (
        Note.objects.select_for_update(of=("self",))
        .select_related("site", "session", "patient")
        .get(pk=note.pk)
    )
    if current.kind != NoteKind.INDIVIDUAL:
        raise NoteConflict("This is not an individual note.")
    if current.status == NoteStatus.SIGNED:
        raise NoteConflict(SIGNED_NOTE_MESSAGE)
    if current.author_id != user.pk:
        raise NotPermitted("Only the author of a draft note can change or sign it.")
    return current


def _parse_time(value: object, field: str, tz_name: str) -> datetime:
    if isinstance(value, datetime):
        moment: datetime | None = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
    else:
        moment = None
    if moment is None:
        raise ValidationError({field: "Enter a date and time like 2026-03-02T14:00."})
    if timezone.is_naive(moment):
        # A time without an offset is the clinic's wall clock.
        moment = moment.replace(tzinfo=zone(tz_name))
    return moment


def _check_times(note: Note, started_at: datetime, ended_at: datetime) -> None:
    tz = zone(note.site.time_zone)
    if ended_at <= started_at:
        raise ValidationError({"ended_at": "The end time must be after the start time."})
    if ended_at - started_at > MAX_DURATION:
        raise ValidationError({"ended_at": "An individual session lasts at most 4 hours."})
    day = note.session.starts_at.astimezone(tz).date()
    for field, moment in (("started_at", started_at), ("ended_at", ended_at)):
        if moment.astimezone(tz).date() != day:
            raise ValidationError(
                {field: f"The session was on {day:%a %b} {day.day}; times must be on that day."}
            )


@transaction.atomic
def update_individual_note(
    note: Note, *, user: User, version: int, data: Mapping[str, Any]
) -> Note:
    """Save a draft: sections, format, start/end and goal links; returns the saved note.

    ``data`` keys (all optional): the format's section codes, "format", "started_at",
    "ended_at" (aware datetimes or ISO strings; without an offset, the site's clock) and
    "goal_ids". Stale ``version`` → NoteConflict; bad input → ValidationError naming the field;
    nothing is written unless everything is valid.
    """
    current = _locked(note, user=user)
    if version != current.version:
        raise NoteConflict(
            f"This note was saved elsewhere since you opened it (now version {current.version}). "
            "Reload to see the current text; copy anything you typed first."
        )
    note_format = current.format
    if "format" in data:
        note_format = _check_format(data["format"])
    codes = section_codes(note_format)
    allowed = {*codes, "format", *TIME_KEYS, "goal_ids"}
    errors: dict[str, str] = {}
    for key in data:
        if key not in allowed:
            errors[key] = (
                f"Not a section of a {NoteFormat(note_format).label} note."
                if any(key in section_codes(other) for other in INDIVIDUAL_FORMATS)
                else "Unknown field."
            )
    sections = dict(current.sections)
    for code in codes:
        if code in data:
            value = data[code]
            if not isinstance(value, str):
                errors[code] = "Enter text."
            elif len(value) > MAX_SECTION_LENGTH:
                errors[code] = f"Keep this section under {MAX_SECTION_LENGTH:,} characters."
            else:
                sections[code] = value
    if errors:
        raise ValidationError(errors)
    if note_format != current.format:
        labels = dict(FORMAT_SECTIONS[current.format])
        dropped = [
            labels[c]
            for c in section_codes(current.format)
            if c not in codes and sections.get(c, "").strip()
        ]
        if dropped:
            raise ValidationError(
                {
                    "format": f"Switching to {NoteFormat(note_format).label} would drop the text "
                    f"of {', '.join(dropped)}. Empty it first, or keep "
                    f"{NoteFormat(current.format).label}."
                }
            )
    current.sections = {code: sections.get(code, "") for code in codes}
    current.format = note_format
    tz_name = current.site.time_zone
    started_at = current.started_at
    ended_at = current.ended_at
    if "started_at" in data:
        started_at = _parse_time(data["started_at"], "started_at", tz_name)
    if "ended_at" in data:
        ended_at = _parse_time(data["ended_at"], "ended_at", tz_name)
    _check_times(current, started_at, ended_at)
    current.started_at, current.ended_at = started_at, ended_at
    current.minutes = _minutes(started_at, ended_at)
    if "goal_ids" in data:
        _set_goals(current, _goal_ids(data["goal_ids"]))
    current.version += 1
    current.full_clean(validate_constraints=False)
    current.save()
    return current


def _goal_ids(value: object) -> list[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError({"goal_ids": "Give a list of goal ids."})
    ids = []
    for item in value:
        try:
            ids.append(int(item))
        except (TypeError, ValueError):
            raise ValidationError({"goal_ids": f"“{item}” is not a goal id."}) from None
    return ids


def _set_goals(note: Note, goal_ids: list[int]) -> None:
    wanted = set(goals.check_goals(note.patient_id, goal_ids))
    have = set(NoteGoal.objects.filter(note=note).values_list("goal_id", flat=True))
    if have - wanted:
        NoteGoal.objects.filter(note=note, goal_id__in=have - wanted).delete()
    NoteGoal.objects.bulk_create(
        [NoteGoal(note=note, goal_id=goal_id) for goal_id in sorted(wanted - have)]
    )


@transaction.atomic
def sign_individual_note(note: Note, *, user: User) -> Note:
    """Sign a draft: every section must be written; sets the service code and fingerprint.

    Under 16 minutes the note is signed without a psychotherapy code. When the patient has
    a current treatment plan the note must address at least one of its goals (the golden
    thread), and the linked goals must still be goals of that plan. A supervised author's
    note waits for a co-signature (``requires_cosign``).
    """
    current = _locked(note, user=user)
    labels = dict(FORMAT_SECTIONS[current.format])
    errors: dict[str, str] = {
        code: f"{label} is required to sign."
        for code, label in labels.items()
        if not str(current.sections.get(code, "")).strip()
    }
    goal_ids = sorted(NoteGoal.objects.filter(note=current).values_list("goal_id", flat=True))
    current_plan_goals = goals.current_goals([current.patient_id]).get(current.patient_id, [])
    allowed = {goal.pk for goal in current_plan_goals}
    stale = [goal_id for goal_id in goal_ids if goal_id not in allowed]
    if stale:
        errors["goal_ids"] = (
            "The treatment plan changed since these goals were picked; pick the goals again."
        )
    elif current_plan_goals and not goal_ids:
        errors["goal_ids"] = "Pick the treatment-plan goals this session addressed."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    current.minutes = _minutes(current.started_at, current.ended_at)
    current.service_code = time_bands.psychotherapy_code(current.minutes) or ""
    current.requires_cosign = user.is_supervised
    current.status = NoteStatus.SIGNED
    current.signed_at = now
    current.signed_by = user
    current.signer_name = user.signature_name
    current.version += 1
    current.content_sha256 = sha256_of(note_content(current, goal_ids))
    # One UPDATE flips the note: its goal links are already in place (see triggers.py).
    current.save()
    return current
