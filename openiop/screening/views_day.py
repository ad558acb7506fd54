"""Screens today: who is called for a drug screen at this site today, the day's random
selection (run by a button when the scheduled command has not), and for-cause screens.

Today only, in the site's time zone: there is no page for another day, so nothing here can
show a selection ahead (none exists — ``services_selection`` refuses future days).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from openiop.accounts.access import requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import day_bounds, local_today
from openiop.patients.access import get_patient_for_user
from openiop.patients.models import Patient
from openiop.scheduling.models import SEAT_STATUSES, SessionStatus
from openiop.screening.models import ScreenSelection, ScreenStatus
from openiop.screening.services_selection import (
    MAX_CAUSE_LENGTH,
    SelectionRefused,
    order_for_cause,
    run_selection,
    screens_on,
)


def _screen_url(name: str, screen_id: int) -> str:
    """The screens pages are another module's; link only to the ones that exist."""
    try:
        return reverse(name, kwargs={"screen_id": screen_id})
    except NoReverseMatch:
        return ""


def _on_site_today(request: HttpRequest) -> list[Patient]:
    """Patients holding a seat in a session at this site today: whom a for-cause screen is
    usually for (one query)."""
    site = request.site  # type: ignore[attr-defined]
    start, end = day_bounds(local_today(site.time_zone), site.time_zone)
    return list(
        Patient.objects.filter(
            site=site,
            bookings__session__site=site,
            bookings__session__status=SessionStatus.SCHEDULED,
            bookings__session__starts_at__gte=start,
            bookings__session__starts_at__lt=end,
            bookings__status__in=SEAT_STATUSES,
        )
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )


def _page(
    request: HttpRequest,
    *,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    site = request.site  # type: ignore[attr-defined]
    role = request.membership.role  # type: ignore[attr-defined]
    today = local_today(site.time_zone)
    selection = ScreenSelection.objects.filter(site=site, day=today).first()
    screens = screens_on(site, today)
    may_collect = role_may(role, "screens.collect")
    may_view = role_may(role, "screens.view")
    rows = []
    for screen in screens:
        action_url, action_label = "", ""
        if screen.status == ScreenStatus.SELECTED and may_collect:
            action_url, action_label = _screen_url("screen-record", screen.pk), "Record collection"
        elif may_view:
            action_url, action_label = _screen_url("screen-detail", screen.pk), "Open screen"
        rows.append({"screen": screen, "action_url": action_url, "action_label": action_label})
    may_select = role_may(role, "screens.select")
    # A list of patients is a read of patient data: one event naming who was shown.
    shown = ",".join(str(s.patient_id) for s in screens)
    record_event(
        request=request,
        site=site,
        action=Action.VIEW,
        object_type="screens_today",
        object_id=today.isoformat(),
        detail=f"Screens of {today.isoformat()}: patients {shown}" if shown else "No screens",
    )
    context: dict[str, Any] = {
        "today": today,
        "time_zone": site.time_zone,
        "selection": selection,
        "rows": rows,
        "to_collect": sum(1 for s in screens if s.status == ScreenStatus.SELECTED),
        "may_select": may_select,
        "may_chart": role_may(role, "patients.view"),
        "on_site": _on_site_today(request) if may_select else [],
        "errors": errors or {},
        "values": values or {},
        "max_cause": MAX_CAUSE_LENGTH,
    }
    return render(request, "screening/day.html", context, status=status)


@requires("screens.today")
@require_GET
def screens_today_view(request: HttpRequest) -> HttpResponse:
    return _page(request)


@requires("screens.select")
@require_POST
def screens_select_view(request: HttpRequest) -> HttpResponse:
    site = request.site  # type: ignore[attr-defined]
    try:
        selection = run_selection(
            site, local_today(site.time_zone), by=request.user, request=request
        )
    except SelectionRefused as exc:
        messages.error(request, exc.message)
        return redirect("screens-today")
    count = len(selection.record.get("selected", []))
    if getattr(selection, "was_created", False):
        messages.success(
            request,
            f"Today's random selection is done: {count} of"
            f" {selection.record.get('pool_size', 0)} patients on site called for a screen.",
        )
    else:
        messages.info(
            request,
            f"Today's selection had already been made by {selection.ran_by_label}; it stands.",
        )
    return redirect("screens-today")


@requires("screens.select")
@require_POST
def screens_for_cause_view(request: HttpRequest) -> HttpResponse:
    site = request.site  # type: ignore[attr-defined]
    raw_patient = request.POST.get("patient", "").strip()
    cause = request.POST.get("cause", "")
    values = {"patient": raw_patient, "cause": cause[: MAX_CAUSE_LENGTH + 50]}
    if not raw_patient:
        return _page(
            request,
            errors={"patient": ["Choose the patient to screen."]},
            values=values,
            status=422,
        )
    patient = get_patient_for_user(
        request,
        raw_patient,
        permission="screens.select",
        action=Action.VIEW,
        object_type="patient",
        detail="order a for-cause screen",
    )
    try:
        order_for_cause(
            patient,
            day=local_today(site.time_zone),
            cause=cause,
            by=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except ValidationError as exc:
        return _page(request, errors=exc.message_dict, values=values, status=422)
    messages.success(request, f"{patient.display_name} is called for a screen today (for cause).")
    return redirect("screens-today")
