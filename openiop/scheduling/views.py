"""The group room: today's sessions, a session's roster, one-tap attendance, cancelling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from openiop.accounts.access import requires
from openiop.accounts.policy import role_may
from openiop.lib.dates import day_bounds, local_today, zone
from openiop.scheduling import series
from openiop.scheduling.access import (
    audit_roster_view,
    get_session_for_user,
    roster_bookings,
    visible_sessions,
    with_counts,
)
from openiop.scheduling.attendance import (
    CANCELLED_STATUSES,
    AttendanceConflict,
    AttendanceInvalid,
    EntryError,
    attended_minutes,
    local_clock,
    mark_everyone_present,
    record_attendance,
    session_state,
)
from openiop.scheduling.forms_attendance import AttendanceRowForm, CancelSessionForm
from openiop.scheduling.models import (
    ATTENDED_STATUSES,
    AttendanceStatus,
    Booking,
    CurriculumModule,
    Session,
    SessionKind,
    SessionStatus,
)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Far enough for any clinic's calendar, near enough that day arithmetic cannot overflow.
_FIRST_DAY, _LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)

# The buttons of a roster row, in the order a facilitator reads them, with their colour.
BUTTONS = [
    (AttendanceStatus.PRESENT, "success"),
    (AttendanceStatus.LATE, "warning"),
    (AttendanceStatus.LEFT_EARLY, "warning"),
    (AttendanceStatus.EXCUSED, "secondary"),
    (AttendanceStatus.UNEXCUSED, "danger"),
    (AttendanceStatus.NO_SHOW, "danger"),
]
BUTTON_LABELS = {
    AttendanceStatus.PRESENT: "Present",
    AttendanceStatus.LATE: "Late",
    AttendanceStatus.LEFT_EARLY: "Left early",
    AttendanceStatus.EXCUSED: "Excused",
    AttendanceStatus.UNEXCUSED: "Unexcused",
    AttendanceStatus.NO_SHOW: "No-show",
}
STATE_LABELS = {
    "upcoming": "Upcoming",
    "in_progress": "In progress",
    "held": "Held",
    "cancelled": "Cancelled",
}


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _parse_day(raw: str) -> date | None:
    if not _ISO_DATE.match(raw):
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if _FIRST_DAY <= day <= _LAST_DAY else None


@requires("schedule.view")
@require_GET
def today_view(request: HttpRequest) -> HttpResponse:
    site = request.site  # type: ignore[attr-defined]
    tz_name = site.time_zone
    today = local_today(tz_name)
    day, date_error = today, ""
    raw = request.GET.get("date", "").strip()
    if raw:
        parsed = _parse_day(raw)
        if parsed is None:
            date_error = f"“{raw[:40]}” is not a date like {today:%Y-%m-%d}. Showing today."
        else:
            day = parsed
    start, end = day_bounds(day, tz_name)
    sessions = list(
        with_counts(visible_sessions(request))
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("facilitator", "room", "group_type")
        .annotate(
            is_mine=Case(
                When(facilitator=request.user, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-is_mine", "starts_at", "title", "pk")
    )
    now = timezone.now()
    states = [session_state(s, now) for s in sessions]
    rows = [
        {"session": s, "state": state, "label": STATE_LABELS[state]}
        for s, state in zip(sessions, states, strict=True)
    ]
    live = [s for s in sessions if s.status != SessionStatus.CANCELLED]
    return render(
        request,
        "scheduling/today.html",
        {
            "day": day,
            "today": today,
            "is_today": day == today,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "date_error": date_error,
            "mine_rows": [row for row in rows if row["session"].is_mine],
            "other_rows": [row for row in rows if not row["session"].is_mine],
            "session_count": len(rows),
            "mine_count": sum(1 for s in sessions if s.is_mine),
            "booked_total": sum(s.booked_count for s in live),
            "present_total": sum(s.present_count for s in live),
            "time_zone": tz_name,
        },
    )


@dataclass
class RosterRow:
    """What one row of the roster shows: the booking and its editable values."""

    booking: Booking
    check_in: str
    check_out: str
    minutes_value: str
    minutes_placeholder: int
    errors: dict[str, list[str]]
    message: str = ""

    @property
    def is_recorded(self) -> bool:
        return self.booking.status not in (AttendanceStatus.BOOKED, *CANCELLED_STATUSES)

    @property
    def is_attended(self) -> bool:
        return self.booking.status in ATTENDED_STATUSES


def _clock(moment: datetime | None, tz_name: str) -> str:
    if moment is None:
        return ""
    return f"{timezone.localtime(moment, timezone=zone(tz_name)):%H:%M}"


def _row(
    booking: Booking,
    session: Session,
    *,
    errors: dict[str, list[str]] | None = None,
    message: str = "",
    posted: dict[str, str] | None = None,
) -> RosterRow:
    tz_name = session.site.time_zone
    from_times = attended_minutes(
        status=booking.status,
        session_start=session.starts_at,
        session_minutes=session.duration_minutes,
        checked_in_at=booking.checked_in_at,
        checked_out_at=booking.checked_out_at,
    )
    # Minutes appear in the input only when they were entered by hand (they differ from what
    # the times give); otherwise the computed figure is the placeholder, so a later tap on
    # "Late" recomputes instead of repeating the old figure.
    overridden = booking.status in ATTENDED_STATUSES and booking.minutes_attended != from_times
    row = RosterRow(
        booking=booking,
        check_in=_clock(booking.checked_in_at, tz_name),
        check_out=_clock(booking.checked_out_at, tz_name),
        minutes_value=str(booking.minutes_attended) if overridden else "",
        minutes_placeholder=from_times if from_times is not None else session.duration_minutes,
        errors=errors or {},
        message=message,
    )
    if posted is not None:
        # Show what the person typed next to the error, not the stored values.
        row.check_in = posted.get("checked_in_at", row.check_in)
        row.check_out = posted.get("checked_out_at", row.check_out)
        row.minutes_value = posted.get("minutes", row.minutes_value)
    return row


def _locked_reason(request: HttpRequest, session: Session, state: str) -> str:
    if state == "cancelled":
        return "This session was cancelled; attendance is closed."
    if not role_may(request.membership.role, "attendance.record"):  # type: ignore[attr-defined]
        return "Your role can see this roster but not record attendance."
    if state == "upcoming":
        return (
            "Attendance can be recorded once the session has started at "
            f"{local_clock(session.starts_at, session)}."
        )
    return ""


def _row_context(request: HttpRequest, session: Session) -> dict[str, Any]:
    state = session_state(session, timezone.now())
    return {
        "session": session,
        "state": state,
        "state_label": STATE_LABELS[state],
        "locked_reason": _locked_reason(request, session, state),
        "buttons": [(status.value, BUTTON_LABELS[status], colour) for status, colour in BUTTONS],
        "time_zone": session.site.time_zone,
    }


@requires("schedule.view")
@require_GET
def session_roster_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id)
    bookings = roster_bookings(session)
    audit_roster_view(request, session, bookings)
    context = _row_context(request, session)
    rows = [_row(booking, session) for booking in bookings]
    role = request.membership.role  # type: ignore[attr-defined]
    context.update(
        rows=[row for row in rows if row.booking.status not in CANCELLED_STATUSES],
        cancelled_rows=[row for row in rows if row.booking.status in CANCELLED_STATUSES],
        waiting_count=sum(1 for b in bookings if b.status == AttendanceStatus.BOOKED),
        # A session with attendance recorded was held; cancel_session refuses it.
        can_cancel=(
            role_may(role, "programs.manage")
            and context["state"] != "cancelled"
            and not any(row.is_recorded for row in rows)
        ),
        cancel_form=CancelSessionForm(),
    )
    # Tagging the curriculum module (issue 4 §6): group sessions that were not cancelled.
    context["can_tag_module"] = (
        role_may(role, "attendance.record")
        and session.kind == SessionKind.GROUP
        and session.status != SessionStatus.CANCELLED
    )
    if context["can_tag_module"]:
        context["curriculum_modules"] = list(
            CurriculumModule.objects.filter(Q(is_active=True) | Q(pk=session.curriculum_module_id))
        )
    return render(request, "scheduling/session_roster.html", context)


def _roster_url(session: Session, booking: Booking | None = None) -> str:
    url = reverse("session-roster", kwargs={"session_id": session.pk})
    return f"{url}#booking-{booking.pk}" if booking is not None else url


def _errors_by_field(errors: list[EntryError]) -> dict[str, list[str]]:
    by_field: dict[str, list[str]] = {}
    for error in errors:
        key = (
            "row"
            if error.field in ("session", "entries", "booking_id", "patient_id")
            else (error.field)
        )
        by_field.setdefault(key, []).append(error.message)
    return by_field


def _render_row(
    request: HttpRequest, session: Session, row: RosterRow, *, status: int = 200
) -> HttpResponse:
    # Fresh counts for the header, swapped out of band next to the row.
    session = get_session_for_user(request, session.pk)
    context = _row_context(request, session)
    context.update(row=row, counts_oob=True)
    return render(request, "scheduling/_roster_row.html", context, status=status)


@requires("attendance.record")
@require_POST
def session_attendance_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, permission="attendance.record")
    form = AttendanceRowForm(request.POST, session=session)
    form.is_valid()
    booking_id = form.cleaned_data.get("booking")
    booking = (
        Booking.objects.select_related("patient").filter(session=session, pk=booking_id).first()
        if booking_id
        else None
    )
    if booking is None:
        raise Http404("No such booking in this session.")
    posted = {
        key: request.POST.get(key, "") for key in ("checked_in_at", "checked_out_at", "minutes")
    }
    if form.errors:
        errors = {key: list(value) for key, value in form.errors.items()}
        if "version" in errors or "booking" in errors:
            errors.setdefault("row", []).append("Reload the roster and tap again.")
        return _refuse(request, session, booking, errors, posted=posted, status=422)
    try:
        record_attendance(
            session=session,
            entries=[form.entry()],
            by=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except AttendanceInvalid as exc:
        return _refuse(request, session, booking, _errors_by_field(exc.errors), posted=posted)
    except AttendanceConflict as exc:
        booking.refresh_from_db()
        return _refuse(request, session, booking, {"row": [exc.message]}, status=409)
    booking.refresh_from_db()
    done = f"{booking.patient.display_name}: {_summary(booking)}."
    if _is_htmx(request):
        return _render_row(request, session, _row(booking, session, message=done))
    messages.success(request, done)
    return redirect(_roster_url(session, booking))


def _summary(booking: Booking) -> str:
    label = AttendanceStatus(booking.status).label.lower()
    if booking.status in ATTENDED_STATUSES:
        return f"{label}, {booking.minutes_attended} min"
    return label


def _refuse(
    request: HttpRequest,
    session: Session,
    booking: Booking,
    errors: dict[str, list[str]],
    *,
    posted: dict[str, str] | None = None,
    status: int = 422,
) -> HttpResponse:
    if _is_htmx(request):
        row = _row(booking, session, errors=errors, posted=posted if status == 422 else None)
        return _render_row(request, session, row, status=status)
    for problems in errors.values():
        for problem in problems:
            messages.error(request, f"{booking.patient.display_name}: {problem}")
    return redirect(_roster_url(session, booking))


@requires("attendance.record")
@require_POST
def session_mark_present_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, permission="attendance.record")
    try:
        changed = mark_everyone_present(
            session=session,
            by=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except AttendanceInvalid as exc:
        for error in exc.errors:
            messages.error(request, error.message)
    except AttendanceConflict as exc:
        messages.error(request, exc.message)
    else:
        if changed:
            messages.success(
                request,
                f"Marked {len(changed)} patient{'s' if len(changed) != 1 else ''} present "
                f"for the whole session ({session.duration_minutes} min).",
            )
        else:
            messages.info(request, "Everyone on the roster already has attendance recorded.")
    return redirect(_roster_url(session))


@requires("programs.manage")
@require_POST
def session_cancel_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, permission="programs.manage")
    form = CancelSessionForm(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, f"Not cancelled: {problem}")
        return redirect(_roster_url(session))
    try:
        count = series.cancel_session(
            session=session,
            reason=form.cleaned_data["reason"],
            by=request.user,
            request=request,
        )
    except ValidationError as exc:
        messages.error(request, f"Not cancelled: {' '.join(exc.messages)}")
    else:
        messages.success(
            request,
            f"Session cancelled. {count} booking{'s' if count != 1 else ''} "
            "marked “cancelled by clinic”.",
        )
    return redirect(_roster_url(session))
