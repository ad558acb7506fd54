"""Attendance in the group room: the minutes rule (a pure function) and the services that record it.

DOMAIN.md §5: weekly hours are the minutes actually attended — check-in to check-out, or the
minutes the facilitator entered. Excused absences count zero hours but are not violations;
unexcused absences and no-shows count zero and are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import local_today, zone
from openiop.scheduling.models import (
    ATTENDED_STATUSES,
    AttendanceStatus,
    Booking,
    Session,
    SessionStatus,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User

# What a facilitator may record. "booked" (nothing recorded) and the two cancellations are set
# by scheduling, never by a tap in the group room.
RECORDABLE_STATUSES = (
    AttendanceStatus.PRESENT,
    AttendanceStatus.LATE,
    AttendanceStatus.LEFT_EARLY,
    AttendanceStatus.EXCUSED,
    AttendanceStatus.UNEXCUSED,
    AttendanceStatus.NO_SHOW,
)
ABSENT_STATUSES = (AttendanceStatus.EXCUSED, AttendanceStatus.UNEXCUSED, AttendanceStatus.NO_SHOW)
CANCELLED_STATUSES = (AttendanceStatus.CANCELLED_BY_CLINIC, AttendanceStatus.CANCELLED)


def attended_minutes(
    *,
    status: str,
    session_start: datetime,
    session_minutes: int,
    checked_in_at: datetime | None = None,
    checked_out_at: datetime | None = None,
    minutes: int | None = None,
) -> int | None:
    """Minutes of the session a patient attended (DOMAIN.md §5), or None when unknown.

    - excused, unexcused, no-show: 0;
    - present: the session's length, unless a check-in after the start or a check-out before
      the end says otherwise;
    - late: from check-in to the end (or to check-out); unknown without a check-in time;
    - left early: from the start (or check-in) to check-out; unknown without a check-out time;
    - ``minutes``, when given, overrides the times for the three attended statuses.

    The result never exceeds the session's length and is never negative: times outside the
    session are clamped to it (arriving early does not add minutes). "booked" and the
    cancellations give None: nothing has been attended or missed. Callers that accept input
    refuse out-of-range minutes before calling; the clamp here is the rule of the arithmetic.
    """
    if status in ABSENT_STATUSES:
        return 0
    if status not in ATTENDED_STATUSES:
        return None
    if minutes is not None:
        return max(0, min(minutes, session_minutes))
    if status == AttendanceStatus.LATE and checked_in_at is None:
        return None
    if status == AttendanceStatus.LEFT_EARLY and checked_out_at is None:
        return None
    # In UTC: Python compares and subtracts two datetimes of the same zone by wall clock,
    # which is an hour off across a daylight-saving change.
    start = session_start.astimezone(UTC)
    session_end = start + timedelta(minutes=session_minutes)
    begin = start if checked_in_at is None else max(start, checked_in_at.astimezone(UTC))
    end = (
        session_end if checked_out_at is None else min(session_end, checked_out_at.astimezone(UTC))
    )
    if end <= begin:
        return 0
    return min(session_minutes, int((end - begin).total_seconds() // 60))


def session_state(session: Session, now: datetime) -> str:
    """upcoming, in_progress, held or cancelled — what the today screen and the roster show."""
    if session.status == SessionStatus.CANCELLED:
        return "cancelled"
    if now < session.starts_at:
        return "upcoming"
    if now < session.ends_at:
        return "in_progress"
    return "held"


def local_clock(moment: datetime, session: Session) -> str:
    """``moment`` as the site's wall-clock time ("09:00"), with the date if not today."""
    tz_name = session.site.time_zone
    local = moment.astimezone(zone(tz_name))
    if local.date() == local_today(tz_name):
        return f"{local:%H:%M}"
    return f"{local:%a %b} {local.day} at {local:%H:%M}"


@dataclass(frozen=True)
class AttendanceEntry:
    """One patient's attendance as a facilitator records it.

    The patient is named by ``patient_id`` (the API) or ``booking_id`` (the roster screen).
    ``version`` is the booking version the client read; a different one means someone else
    changed the row meanwhile and the write is refused.
    """

    status: str
    patient_id: int | None = None
    booking_id: int | None = None
    minutes: int | None = None
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    version: int | None = None


@dataclass(frozen=True)
class EntryError:
    """What is wrong with entry ``index`` (None: with the session itself), and in which field."""

    index: int | None
    field: str
    message: str


class AttendanceInvalid(Exception):
    """Bad input (HTTP 422). Nothing was written."""

    def __init__(self, errors: list[EntryError]) -> None:
        self.errors = errors
        super().__init__(" ".join(error.message for error in errors))


class AttendanceConflict(Exception):
    """The session or a booking is not in the state the caller assumed (HTTP 409)."""

    def __init__(self, message: str, *, booking_id: int | None = None) -> None:
        self.message = message
        self.booking_id = booking_id
        super().__init__(message)


@dataclass
class _Change:
    booking: Booking
    status: str
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    minutes: int | None
    errors: list[EntryError] = field(default_factory=list)


def _describe(status: str, minutes: int | None) -> str:
    label = AttendanceStatus(status).label.lower()
    return f"{label} ({minutes} min)" if status in ATTENDED_STATUSES else label


def _validate(
    index: int, entry: AttendanceEntry, booking: Booking, session: Session, now: datetime
) -> _Change:
    name = booking.patient.display_name
    change = _Change(
        booking=booking,
        status=entry.status,
        checked_in_at=entry.checked_in_at,
        checked_out_at=entry.checked_out_at,
        minutes=entry.minutes,
    )

    def refuse(field_name: str, message: str) -> None:
        change.errors.append(EntryError(index, field_name, message))

    if booking.status in CANCELLED_STATUSES:
        refuse(
            "patient_id",
            f"{name}'s booking in this session was cancelled; book them again before "
            "recording attendance.",
        )
        return change
    if entry.status not in RECORDABLE_STATUSES:
        choices = ", ".join(RECORDABLE_STATUSES)
        refuse("status", f"{entry.status!r} is not an attendance status (one of {choices}).")
        return change
    for field_name, moment in (
        ("checked_in_at", entry.checked_in_at),
        ("checked_out_at", entry.checked_out_at),
    ):
        if moment is not None and timezone.is_naive(moment):
            refuse(field_name, "Give the time with its UTC offset.")
    if change.errors:
        return change

    length = session.duration_minutes
    if entry.status in ABSENT_STATUSES:
        label = AttendanceStatus(entry.status).label.lower()
        label = f"{'An' if label[0] in 'aeiou' else 'A'} {label}"
        if entry.minutes:
            refuse("minutes", f"{label} attends 0 minutes; leave minutes empty.")
        for field_name in ("checked_in_at", "checked_out_at"):
            if getattr(entry, field_name) is not None:
                refuse(field_name, f"{label} has no check-in or check-out time.")
        change.minutes = 0
        change.checked_in_at = change.checked_out_at = None
        return change

    if entry.minutes is not None and not 0 <= entry.minutes <= length:
        refuse("minutes", f"Minutes must be between 0 and {length}, the session's length.")
    if entry.checked_in_at is not None:
        if entry.checked_in_at > now:
            refuse("checked_in_at", "The check-in time is in the future.")
        elif entry.checked_in_at >= session.ends_at:
            refuse(
                "checked_in_at",
                f"The check-in time is after the session ended at "
                f"{local_clock(session.ends_at, session)}.",
            )
    if entry.checked_out_at is not None:
        if entry.checked_out_at > now:
            refuse("checked_out_at", "The check-out time is in the future.")
        elif entry.checked_out_at <= session.starts_at:
            refuse(
                "checked_out_at",
                f"The check-out time is before the session started at "
                f"{local_clock(session.starts_at, session)}.",
            )
        elif entry.checked_in_at is not None and entry.checked_out_at < entry.checked_in_at:
            refuse("checked_out_at", "The check-out time is before the check-in time.")
    if change.errors:
        return change

    # One tap while the group is running: "late" means "has just walked in", "left early" means
    # "is leaving now". After the session the time (or the minutes) must be entered.
    in_progress = session.starts_at <= now < session.ends_at
    if (
        entry.status == AttendanceStatus.LATE
        and entry.checked_in_at is None
        and entry.minutes is None
    ):
        if in_progress:
            change.checked_in_at = now
        else:
            refuse(
                "checked_in_at",
                f"Enter {name}'s check-in time (or the minutes attended) for a late arrival.",
            )
    if (
        entry.status == AttendanceStatus.LEFT_EARLY
        and entry.checked_out_at is None
        and entry.minutes is None
    ):
        if in_progress:
            change.checked_out_at = now
        else:
            refuse(
                "checked_out_at",
                f"Enter {name}'s check-out time (or the minutes attended) for leaving early.",
            )
    if change.errors:
        return change
    change.minutes = attended_minutes(
        status=entry.status,
        session_start=session.starts_at,
        session_minutes=length,
        checked_in_at=change.checked_in_at,
        checked_out_at=change.checked_out_at,
        minutes=entry.minutes,
    )
    return change


def _lock_session(session: Session, now: datetime) -> Session:
    """Re-read the session under a row lock so a concurrent cancellation queues behind us."""
    locked = Session.objects.select_for_update().select_related("site").get(pk=session.pk)
    if locked.status == SessionStatus.CANCELLED:
        reason = f" ({locked.cancel_reason})" if locked.cancel_reason else ""
        raise AttendanceConflict(f"This session was cancelled{reason}; attendance is closed.")
    if now < locked.starts_at:
        raise AttendanceInvalid(
            [
                EntryError(
                    None,
                    "session",
                    "Attendance can be recorded once the session has started at "
                    f"{local_clock(locked.starts_at, locked)}.",
                )
            ]
        )
    return locked


@transaction.atomic
def record_attendance(
    *,
    session: Session,
    entries: list[AttendanceEntry],
    by: User,
    request: HttpRequest | None = None,
) -> list[Booking]:
    """Record (or correct) the attendance of some patients of ``session``, all or nothing.

    Every entry is validated before anything is written: a patient not booked in the session
    (drop-ins are booked first, through ``openiop.scheduling.booking.book_drop_in``), a bad
    status, minutes beyond the session's length or a check-out before check-in raises
    ``AttendanceInvalid`` listing each problem; a session not started yet is refused the same
    way. A cancelled session, or a booking whose version differs from the one the client read,
    raises ``AttendanceConflict``. Each booking that changes gets its version bumped and one
    audit event (patient_id set, "before → after" in the detail); an entry that changes nothing
    writes nothing. Returns the bookings of the entries, in entry order.
    """
    now = timezone.now()
    session = _lock_session(session, now)
    if not entries:
        raise AttendanceInvalid([EntryError(None, "entries", "List at least one patient.")])
    # Locking every booking of the session (a dozen rows) serializes two tablets in one room.
    bookings = list(
        Booking.objects.select_for_update(of=("self",))
        .filter(session=session)
        .select_related("patient")
        .order_by("pk")
    )
    by_patient = {booking.patient_id: booking for booking in bookings}
    by_id = {booking.pk: booking for booking in bookings}

    errors: list[EntryError] = []
    changes: list[_Change] = []
    seen: set[int] = set()
    for index, entry in enumerate(entries):
        if entry.booking_id is not None:
            booking = by_id.get(entry.booking_id)
            missing = f"Booking {entry.booking_id} is not part of this session."
            key = "booking_id"
        else:
            booking = by_patient.get(entry.patient_id) if entry.patient_id is not None else None
            missing = (
                f"Patient {entry.patient_id} is not booked in this session; book a drop-in "
                "first if there is room."
            )
            key = "patient_id"
        if booking is None:
            errors.append(EntryError(index, key, missing))
            continue
        if booking.pk in seen:
            errors.append(
                EntryError(index, key, f"{booking.patient.display_name} is listed twice.")
            )
            continue
        seen.add(booking.pk)
        change = _validate(index, entry, booking, session, now)
        errors.extend(change.errors)
        if entry.version is not None and entry.version != booking.version and not change.errors:
            raise AttendanceConflict(
                f"{booking.patient.display_name}'s attendance was changed by someone else "
                "meanwhile; look at it again before changing it.",
                booking_id=booking.pk,
            )
        changes.append(change)
    if errors:
        raise AttendanceInvalid(errors)

    for change in changes:
        _apply(change, session=session, by=by, request=request, now=now)
    return [change.booking for change in changes]


def _apply(
    change: _Change, *, session: Session, by: User, request: HttpRequest | None, now: datetime
) -> None:
    booking = change.booking
    before = (
        booking.status,
        booking.checked_in_at,
        booking.checked_out_at,
        booking.minutes_attended,
    )
    after = (change.status, change.checked_in_at, change.checked_out_at, change.minutes)
    if before == after:
        return
    was = (
        "nothing recorded"
        if booking.status == AttendanceStatus.BOOKED
        else _describe(booking.status, booking.minutes_attended)
    )
    booking.status = change.status
    booking.checked_in_at = change.checked_in_at
    booking.checked_out_at = change.checked_out_at
    booking.minutes_attended = change.minutes
    booking.recorded_by = by
    booking.recorded_at = now
    booking.version += 1
    # The foreign keys are unchanged (or ``by``, a signed-in user): skip their lookups.
    booking.full_clean(exclude=["session", "patient", "enrollment", "recorded_by"])
    booking.save()
    local_day = session.starts_at.astimezone(zone(session.site.time_zone)).date()
    record_event(
        request=request,
        actor=by,
        site=session.site,
        action=Action.UPDATE,
        object_type="attendance",
        object_id=booking.pk,
        patient_id=booking.patient_id,
        detail=(
            f"Session {session.pk} ({session.title}, {local_day:%Y-%m-%d}): "
            f"{was} → {_describe(booking.status, booking.minutes_attended)}"
        ),
    )


@transaction.atomic
def mark_everyone_present(
    *, session: Session, by: User, request: HttpRequest | None = None
) -> list[Booking]:
    """Record every booking still "booked" as present for the whole session.

    Rows already recorded (late, no-show, …) keep what was recorded. Same refusals as
    ``record_attendance``. Returns the bookings that changed.
    """
    now = timezone.now()
    session = _lock_session(session, now)
    waiting: Iterable[Booking] = (
        Booking.objects.select_for_update()
        .filter(session=session, status=AttendanceStatus.BOOKED)
        .order_by("pk")
    )
    entries = [
        AttendanceEntry(
            booking_id=booking.pk, status=AttendanceStatus.PRESENT, version=booking.version
        )
        for booking in waiting
    ]
    if not entries:
        return []
    return record_attendance(session=session, entries=entries, by=by, request=request)
