"""The screens section of the patient chart: a timeline of the last weeks (screens, the share
read as expected, what was found) and the recent screens. One query whatever the number of
screens.

"As expected" is the stored interpretation's verdict: every result is what the medication
list predicts. A patient on buprenorphine whose screens show buprenorphine is doing what was
prescribed, so a positive explained by a prescription is listed neutrally ("prescribed"), not
as a substance detected; only unexpected findings are red.
"""

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
from openiop.screening.catalog import Verdict, get_analyte, is_analyte_code
from openiop.screening.models import DrugScreen, ScreenStatus

WEEKS = 12
RECENT = 6

# How a finding is shown, worst first: (kind, label suffix).
UNEXPECTED = "unexpected"  # positive and not explained, or a prescribed medicine missing
UNCLEAR = "unclear"  # positive but inconclusive: to confirm, or the specimen was not valid
PRESCRIBED = "prescribed"  # positive, explained by an active prescription
_RANK = {UNEXPECTED: 0, UNCLEAR: 1, PRESCRIBED: 2}


@dataclass(frozen=True)
class Finding:
    """One analyte worth naming on the timeline: what it is and how it reads."""

    name: str
    kind: str
    reason: str = ""

    @property
    def label(self) -> str:
        if self.kind == PRESCRIBED:
            return f"{self.name} — prescribed"
        if self.kind == UNCLEAR:
            return f"{self.name} — to confirm"
        return self.name


@dataclass
class WeekLine:
    week: IsoWeek
    screens: int = 0
    expected: int = 0  # screens whose results all read as expected
    findings: list[Finding] = field(default_factory=list)
    unexpected: int = 0

    @property
    def percent_expected(self) -> int | None:
        return round(100 * self.expected / self.screens) if self.screens else None

    def add(self, finding: Finding) -> None:
        """Keep one finding per substance: its worst reading of the week."""
        for index, known in enumerate(self.findings):
            if known.name == finding.name:
                if _RANK[finding.kind] < _RANK[known.kind]:
                    self.findings[index] = finding
                return
        self.findings.append(finding)

    @property
    def ordered_findings(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: _RANK[f.kind])


def _findings(screen: DrugScreen) -> list[Finding]:
    """The positives of ``screen``, each with its stored verdict, and the prescribed medicines
    it unexpectedly did not show."""
    found: list[Finding] = []
    for item in (screen.interpretation or {}).get("analytes", []):
        code = item.get("analyte")
        if not is_analyte_code(code):
            continue
        name, verdict, reason = get_analyte(code).name, item.get("verdict"), item.get("reason", "")
        if item.get("result") == "positive":
            if verdict == Verdict.UNEXPECTED.value:
                found.append(Finding(name, UNEXPECTED, reason))
            elif verdict == Verdict.EXPECTED.value:
                found.append(Finding(name, PRESCRIBED, reason))
            else:
                found.append(Finding(name, UNCLEAR, reason))
        elif verdict == Verdict.UNEXPECTED.value:
            found.append(Finding(f"{name} not found", UNEXPECTED, reason))
    return found


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
        if len(recent) < RECENT:
            recent.append(
                {
                    "screen": screen,
                    "day": day,
                    "url": reverse("screen-detail", args=[screen.pk]),
                }
            )
        line = weeks.get(str(IsoWeek.of(day)))
        if line is None or screen.status != ScreenStatus.COLLECTED or not screen.verdict:
            continue
        line.screens += 1
        line.expected += screen.verdict == Verdict.EXPECTED.value
        line.unexpected += screen.verdict == Verdict.UNEXPECTED.value
        for finding in _findings(screen):
            line.add(finding)
    lines = list(weeks.values())
    started = next((i for i, line in enumerate(lines) if line.screens), None)
    shown = lines[started:] if started is not None else []
    total = sum(line.screens for line in shown)
    return {
        "patient": patient,
        "weeks": list(reversed(shown)),
        "total": total,
        "expected_percent": (
            round(100 * sum(line.expected for line in shown) / total) if total else None
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
