"""The screens section of the patient chart: a timeline of the last weeks (screens, % negative,
substances detected) and the recent screens. One query whatever the number of screens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.lib.dates import IsoWeek, local_today, zone
from openiop.patients.models import Patient
from openiop.screening.catalog import get_analyte, is_analyte_code
from openiop.screening.models import DrugScreen, ScreenStatus

WEEKS = 12
RECENT = 6


@dataclass
class WeekLine:
    week: IsoWeek
    screens: int = 0
    negative: int = 0  # screens with every result negative
    substances: list[str] = field(default_factory=list)
    unexpected: int = 0

    @property
    def percent_negative(self) -> int | None:
        return round(100 * self.negative / self.screens) if self.screens else None


def _positives(screen: DrugScreen) -> list[str]:
    return [
        get_analyte(item["analyte"]).name
        for item in (screen.interpretation or {}).get("analytes", [])
        if item.get("result") == "positive" and is_analyte_code(item.get("analyte"))
    ]


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """What the chart shows in this section, or None when the role may not see it."""
    role = current_role(request)
    if not role_may(role, "screens.view"):
        return None
    today = local_today(patient.site.time_zone)
    tz = zone(patient.site.time_zone)
    this_week = IsoWeek.of(today)
    first_week = this_week.shift(-(WEEKS - 1))
    screens = list(
        DrugScreen.objects.filter(
            patient=patient, selected_on__gte=first_week.monday - timedelta(days=1)
        )
        .only(
            "pk",
            "reason",
            "cause",
            "status",
            "not_collected_reason",
            "selected_on",
            "collected_at",
            "validity",
            "verdict",
            "reviewed_at",
            "interpretation",
            "site_id",
        )
        .order_by("-selected_on", "-pk")
    )
    weeks = {str(first_week.shift(i)): WeekLine(first_week.shift(i)) for i in range(WEEKS)}
    recent: list[dict[str, Any]] = []
    for screen in screens:
        day = (
            screen.collected_at.astimezone(tz).date()
            if screen.collected_at is not None
            else screen.selected_on
        )
        positives = _positives(screen)
        if len(recent) < RECENT:
            recent.append(
                {
                    "screen": screen,
                    "day": day,
                    "positives": positives,
                    "url": reverse("screen-detail", args=[screen.pk]),
                }
            )
        line = weeks.get(str(IsoWeek.of(day)))
        if line is None or screen.status != ScreenStatus.COLLECTED or not screen.verdict:
            continue
        line.screens += 1
        line.negative += 0 if positives else 1
        line.unexpected += screen.verdict == "unexpected"
        for name in positives:
            if name not in line.substances:
                line.substances.append(name)
    lines = list(weeks.values())
    started = next((i for i, line in enumerate(lines) if line.screens), None)
    shown = lines[started:] if started is not None else []
    total = sum(line.screens for line in shown)
    return {
        "patient": patient,
        "weeks": list(reversed(shown)),
        "total": total,
        "negative_percent": (
            round(100 * sum(line.negative for line in shown) / total) if total else None
        ),
        "recent": recent,
        "awaiting_review": sum(
            1 for s in screens if s.verdict == "unexpected" and s.reviewed_at is None
        ),
        "record_url": (
            reverse("patient-screen-new", args=[patient.pk])
            if role_may(role, "screens.collect")
            else None
        ),
    }
