"""Sessions, rosters and attendance over the API.

A token spans every site where its user's role holds the operation's permission; a session of
any other site answers 404, like one that does not exist. Dates given instead of instants are
read in each site's own time zone.
"""

# No ``from __future__ import annotations`` here: django-ninja builds its query model from the
# operation's annotations at import time and cannot resolve ``Query[...]`` given as a string.

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import AwareDatetime, BeforeValidator, ValidationInfo, field_validator

from openiop.accounts.access import sites_with_permission
from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, ValidationErrors
from openiop.lib.dates import day_bounds
from openiop.scheduling import series
from openiop.scheduling.access import (
    audit_roster_view,
    get_session_for_user,
    roster_bookings,
    with_counts,
)
from openiop.scheduling.attendance import (
    AttendanceConflict,
    AttendanceEntry,
    AttendanceInvalid,
    record_attendance,
    session_state,
)
from openiop.scheduling.models import Booking, Session

router = Router(tags=["scheduling"])

MAX_SPAN = timedelta(days=62)


def _moment(value: Any) -> Any:
    """An ISO instant with its UTC offset, or a calendar date (YYYY-MM-DD)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid date (YYYY-MM-DD).") from None
        return _in_range(day)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a date (YYYY-MM-DD) nor an ISO instant with an offset."
        ) from None
    if timezone.is_naive(moment):
        raise ValueError("Give the instant with its UTC offset, e.g. 2026-12-01T09:00:00-06:00.")
    return _in_range(moment)


def _in_range(value: date) -> date:
    # Far enough for any clinic's calendar, near enough that day arithmetic cannot overflow.
    if not 1900 <= value.year <= 2999:
        raise ValueError("Give a date between the years 1900 and 2999.")
    return value


Moment = Annotated[datetime | date, BeforeValidator(_moment)]


def _start_bound(value: datetime | date) -> datetime:
    """``value`` as an instant, to check the window: a date counts from 00:00 UTC."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=UTC)


def _end_bound(value: datetime | date) -> datetime:
    """A date as ``end`` includes that whole day."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value + timedelta(days=1), time.min, tzinfo=UTC)


class SessionFilters(Schema):
    site_id: int | None = Field(
        None, ge=1, description="Only this one of your sites (another id gives an empty list)."
    )
    start: Moment = Field(
        description=(
            "First day (YYYY-MM-DD, in each site's time zone) or instant with a UTC offset;"
            " sessions starting at or after it."
        )
    )
    end: Moment = Field(
        description=(
            "Last day, inclusive (YYYY-MM-DD), or instant with a UTC offset, exclusive;"
            " after start and at most 62 days from it."
        )
    )

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: datetime | date, info: ValidationInfo) -> datetime | date:
        start = info.data.get("start")
        if start is None:
            return value
        begin, finish = _start_bound(start), _end_bound(value)
        if finish <= begin:
            raise ValueError("end must be after start.")
        if finish - begin > MAX_SPAN:
            raise ValueError("At most 62 days from start to end; ask for several windows.")
        return value


class SessionOut(Schema):
    id: int
    site_id: int
    kind: str = Field(description="group or individual")
    title: str
    group_type: str | None = Field(description="Group type code, e.g. cbt; null if none.")
    group_type_name: str | None
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    facilitator_id: int
    facilitator_name: str
    room_id: int | None
    room_name: str | None
    capacity: int
    status: str = Field(description="scheduled or cancelled")
    state: str = Field(description="upcoming, in_progress, held or cancelled (now)")
    cancel_reason: str
    booked_count: int = Field(description="Bookings holding a seat (booked or recorded).")
    present_count: int = Field(description="Patients recorded present, late or left early.")


class RosterEntryOut(Schema):
    booking_id: int
    patient_id: int
    mrn: str
    first_name: str
    last_name: str
    preferred_name: str
    kind: str = Field(description="track, drop_in or individual")
    status: str = Field(
        description=(
            "booked (nothing recorded yet), present, late, left_early, excused, unexcused,"
            " no_show, cancelled_by_clinic or cancelled"
        )
    )
    minutes_attended: int | None
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    recorded_at: datetime | None
    recorded_by_id: int | None
    version: int = Field(description="Send it back with a correction to detect concurrent edits.")


class RosterOut(Schema):
    session: SessionOut
    bookings: list[RosterEntryOut]


class AttendanceIn(Schema):
    patient_id: int = Field(ge=1)
    status: Literal["present", "late", "left_early", "excused", "unexcused", "no_show"]
    minutes: int | None = Field(
        None, ge=0, description="Overrides the times; at most the session's length."
    )
    checked_in_at: AwareDatetime | None = None
    checked_out_at: AwareDatetime | None = None
    version: int | None = Field(
        None,
        ge=1,
        description="The booking version you read; a different current one answers 409.",
    )


class CancelIn(Schema):
    reason: str = Field(min_length=1, max_length=300, description="e.g. “Thanksgiving”.")


class CancelOut(Schema):
    session: SessionOut
    cancelled_bookings: int


def _session_out(session: Session, now: datetime) -> dict[str, Any]:
    return {
        "id": session.pk,
        "site_id": session.site_id,
        "kind": session.kind,
        "title": session.title,
        "group_type": session.group_type.code if session.group_type else None,
        "group_type_name": session.group_type.name if session.group_type else None,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "duration_minutes": session.duration_minutes,
        "facilitator_id": session.facilitator_id,
        "facilitator_name": session.facilitator.display_name,
        "room_id": session.room_id,
        "room_name": session.room.name if session.room else None,
        "capacity": session.capacity,
        "status": session.status,
        "state": session_state(session, now),
        "cancel_reason": session.cancel_reason,
        "booked_count": session.booked_count,  # type: ignore[attr-defined]
        "present_count": session.present_count,  # type: ignore[attr-defined]
    }


def _entry_out(booking: Booking) -> dict[str, Any]:
    patient = booking.patient
    return {
        "booking_id": booking.pk,
        "patient_id": patient.pk,
        "mrn": patient.mrn,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "preferred_name": patient.preferred_name,
        "kind": booking.kind,
        "status": booking.status,
        "minutes_attended": booking.minutes_attended,
        "checked_in_at": booking.checked_in_at,
        "checked_out_at": booking.checked_out_at,
        "recorded_at": booking.recorded_at,
        "recorded_by_id": booking.recorded_by_id,
        "version": booking.version,
    }


def _roster(request: HttpRequest, session_id: int, permission: str) -> dict[str, Any]:
    session = get_session_for_user(request, session_id, permission=permission)
    bookings = roster_bookings(session)
    audit_roster_view(request, session, bookings)
    return {
        "session": _session_out(session, timezone.now()),
        "bookings": [_entry_out(booking) for booking in bookings],
    }


@router.get(
    "/sessions",
    response={200: list[SessionOut], 401: Detail, 403: Detail, 422: ValidationErrors},
    summary="Sessions of your sites between start and end, with booked and present counts",
    auth=api_guard("schedule.view"),
)
def list_sessions(request: HttpRequest, filters: Query[SessionFilters]) -> list[dict[str, Any]]:
    sites = sites_with_permission(request.auth, "schedule.view")  # type: ignore[attr-defined]
    if filters.site_id is not None:
        sites = [site for site in sites if site.pk == filters.site_id]
    if not sites:
        return []
    window = Q()
    for site in sites:
        start, end = filters.start, filters.end
        begin = start if isinstance(start, datetime) else day_bounds(start, site.time_zone)[0]
        finish = end if isinstance(end, datetime) else day_bounds(end, site.time_zone)[1]
        window |= Q(site=site, starts_at__gte=begin, starts_at__lt=finish)
    sessions = (
        with_counts(Session.objects.filter(window))
        .select_related("facilitator", "room", "group_type")
        .order_by("starts_at", "pk")
    )
    now = timezone.now()
    return [_session_out(session, now) for session in sessions]


@router.get(
    "/sessions/{session_id}/roster",
    response={200: RosterOut, 401: Detail, 403: Detail, 404: Detail},
    summary="A session and its bookings, with each patient's attendance",
    auth=api_guard("schedule.view"),
)
def session_roster(request: HttpRequest, session_id: int) -> dict[str, Any]:
    return _roster(request, session_id, "schedule.view")


@router.post(
    "/sessions/{session_id}/attendance",
    response={
        200: RosterOut,
        401: Detail,
        403: Detail,
        404: Detail,
        409: Detail,
        422: ValidationErrors,
    },
    summary="Record or correct attendance, all or nothing; answers the updated roster",
    description=(
        "Every entry names a patient booked in the session (book drop-ins first). Nothing is"
        " written if any entry is wrong (422 naming each field) or if the session is cancelled"
        " or an entry's `version` is stale (409). A session that has not started yet is"
        " refused with 422. A `late` entry without check-in time or minutes is checked in now"
        " while the session runs; `left_early` likewise checks out now."
    ),
    auth=api_guard("attendance.record"),
)
def session_attendance(
    request: HttpRequest, session_id: int, entries: list[AttendanceIn]
) -> Status:
    session = get_session_for_user(request, session_id, permission="attendance.record")
    try:
        record_attendance(
            session=session,
            entries=[
                AttendanceEntry(
                    patient_id=entry.patient_id,
                    status=entry.status,
                    minutes=entry.minutes,
                    checked_in_at=entry.checked_in_at,
                    checked_out_at=entry.checked_out_at,
                    version=entry.version,
                )
                for entry in entries
            ],
            by=request.auth,  # type: ignore[attr-defined]
            request=request,
        )
    except AttendanceInvalid as exc:
        return Status(
            422,
            {
                "detail": [
                    {
                        "field": error.field
                        if error.index is None
                        else f"entries.{error.index}.{error.field}",
                        "message": error.message,
                        "type": "value_error",
                    }
                    for error in exc.errors
                ]
            },
        )
    except AttendanceConflict as exc:
        return Status(409, {"detail": exc.message})
    return Status(200, _roster(request, session_id, "attendance.record"))


@router.post(
    "/sessions/{session_id}/cancel",
    response={
        200: CancelOut,
        401: Detail,
        403: Detail,
        404: Detail,
        409: Detail,
        422: ValidationErrors,
    },
    summary="Cancel a session (a holiday); its bookings become cancelled by clinic",
    description="A session already cancelled, or with attendance recorded (held), answers 409.",
    auth=api_guard("programs.manage"),
)
def cancel_session(request: HttpRequest, session_id: int, payload: CancelIn) -> Status:
    session = get_session_for_user(request, session_id, permission="programs.manage")
    try:
        count = series.cancel_session(
            session=session,
            reason=payload.reason,
            by=request.auth,  # type: ignore[attr-defined]
            request=request,
        )
    except ValidationError as exc:
        problems = exc.message_dict if hasattr(exc, "error_dict") else {"session": exc.messages}
        if "reason" in problems:
            return Status(
                422,
                {
                    "detail": [
                        {"field": "payload.reason", "message": message, "type": "value_error"}
                        for message in problems["reason"]
                    ]
                },
            )
        return Status(
            409, {"detail": " ".join(message for values in problems.values() for message in values)}
        )
    session = get_session_for_user(request, session_id, permission="programs.manage")
    return Status(
        200, {"session": _session_out(session, timezone.now()), "cancelled_bookings": count}
    )
