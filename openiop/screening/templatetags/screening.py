"""``{% screen_today_badge patient_id session %}``: "Screen today" on a roster row at check-in.

Shown only on the roster of a session that takes place today (the site's local day), to a
role holding ``screens.today``, for a patient called for a screen today. A session of
another day shows nothing: there is no selection ahead to show (none is ever made), and a
past day's call is history, not an instruction.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html

from openiop.accounts.policy import role_may
from openiop.lib.dates import local_today, zone
from openiop.scheduling.models import Session
from openiop.screening.models import DrugScreen, ScreenStatus

register = template.Library()

_CACHE = "_screens_today_by_patient"


def _screens_today(request: Any, session: Session) -> dict[int, str]:
    """{patient id: status} of today's screens at the session's site; one query a request
    (cached on the request: a roster renders one row after another)."""
    cached = getattr(request, _CACHE, None)
    if cached is None:
        today = local_today(session.site.time_zone)
        cached = {}
        rows = DrugScreen.objects.filter(site_id=session.site_id, selected_on=today).values_list(
            "patient_id", "status"
        )
        for patient_id, status in rows:
            # A screen still to collect outranks one already collected the same day.
            if cached.get(patient_id) != ScreenStatus.SELECTED:
                cached[patient_id] = status
        setattr(request, _CACHE, cached)
    return cached


@register.simple_tag(takes_context=True)
def screen_today_badge(context: dict[str, Any], patient_id: int, session: Session) -> str:
    request = context.get("request")
    membership = getattr(request, "membership", None)
    if membership is None or not role_may(membership.role, "screens.today"):
        return ""
    tz_name = session.site.time_zone
    if timezone.localdate(session.starts_at, zone(tz_name)) != local_today(tz_name):
        return ""
    status = _screens_today(request, session).get(patient_id)
    if status == ScreenStatus.SELECTED:
        return format_html(
            '<span class="badge text-bg-warning ms-1" data-testid="screen-today">{}</span>',
            "Screen today",
        )
    if status == ScreenStatus.COLLECTED:
        return format_html(
            '<span class="badge text-bg-light border ms-1" data-testid="screen-today">{}</span>',
            "Screen collected",
        )
    return ""
