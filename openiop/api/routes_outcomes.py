"""The outcomes report over the API (issue 6 point 7): the figures of /outcomes/ as JSON.

Aggregates only, no patient ids. Dates are calendar days at the report's site; shares are
percentages with one decimal (null when there is nothing to divide), changes are points.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the annotations at import.

from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from openiop.accounts.access import sites_with_permission
from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import local_today
from openiop.measures.outcomes import (
    OutcomesReport,
    RangeError,
    build_report,
    check_range,
    default_range,
)
from openiop.programs.models import Program

router = Router(tags=["outcomes"])

MAX_ID = 2**63 - 1


class ScoreChangeOut(Schema):
    instrument: str = Field(..., examples=["PHQ-9"])
    n: int = Field(..., description="Patients with an admission score and a later one.")
    mean_first: float | None
    mean_latest: float | None
    mean_change: float | None = Field(..., description="Latest - admission; negative is better.")
    median_change: float | None
    improve_by: int = Field(..., description="Points that count as improved: 5 PHQ-9, 4 GAD-7.")
    improved_share: float | None
    band_lower_share: float | None
    too_few: bool


class RetentionOut(Schema):
    day: int
    eligible: int = Field(..., description="Admissions at least `day` days before the end.")
    retained: int
    share: float | None
    too_few: bool


class CompletionOut(Schema):
    ended: int
    completed: int
    share: float | None
    too_few: bool


class WeekOut(Schema):
    week: str = Field(..., examples=["2026-W09"])
    met: int
    missed: int
    share: float | None


class HoursOut(Schema):
    total: int = Field(..., description="Closed patient-weeks judged.")
    met: int
    share: float | None
    too_few: bool
    weeks: list[WeekOut]


class MonthOut(Schema):
    month: str = Field(..., examples=["2026-01"])
    expected: int
    unexpected: int
    share: float | None


class ScreensOut(Schema):
    total: int
    expected: int
    share: float | None
    too_few: bool
    months: list[MonthOut]


class MeasureOut(Schema):
    code: str = Field(..., examples=["retention_30"])
    label: str
    n: int
    value: float | None
    unit: str
    too_few: bool
    definition: str


class OutcomesOut(Schema):
    site_id: int
    program_id: int | None
    date_from: date = Field(..., alias="from")
    date_to: date = Field(..., alias="to")
    cohort: int = Field(..., description="Admissions in the range.")
    scores: list[ScoreChangeOut]
    retention: list[RetentionOut]
    completion: CompletionOut
    hours: HoursOut
    screens: ScreensOut
    measures: list[MeasureOut]


class OutcomesQuery(Schema):
    program_id: int | None = Field(None, ge=1, le=MAX_ID, description="Empty: all programs.")
    site_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Needed without program_id at several sites."
    )
    date_from: str | None = Field(None, alias="from", description="YYYY-MM-DD; default a year ago.")
    date_to: str | None = Field(None, alias="to", description="YYYY-MM-DD; default today.")


def _unprocessable(field: str, message: str) -> Status:
    return Status(422, {"detail": [{"field": field, "message": message, "type": "value_error"}]})


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _out(report: OutcomesReport) -> dict[str, Any]:
    return {
        "site_id": report.site.pk,
        "program_id": report.program.pk if report.program else None,
        "from": report.start,
        "to": report.end,
        "cohort": report.cohort,
        "scores": [
            {
                "instrument": c.instrument,
                "n": c.n,
                "mean_first": _float(c.mean_first),
                "mean_latest": _float(c.mean_latest),
                "mean_change": _float(c.mean_change),
                "median_change": _float(c.median_change),
                "improve_by": c.improve_by,
                "improved_share": _float(c.improved_share),
                "band_lower_share": _float(c.band_lower_share),
                "too_few": c.too_few,
            }
            for c in report.changes
        ],
        "retention": [
            {
                "day": p.day,
                "eligible": p.eligible,
                "retained": p.retained,
                "share": _float(p.share),
                "too_few": p.too_few,
            }
            for p in report.retention
        ],
        "completion": {
            "ended": report.completion.ended,
            "completed": report.completion.completed,
            "share": _float(report.completion.share),
            "too_few": report.completion.too_few,
        },
        "hours": {
            "total": report.hours.total,
            "met": report.hours.met,
            "share": _float(report.hours.share),
            "too_few": report.hours.too_few,
            "weeks": [
                {"week": str(w.week), "met": w.met, "missed": w.missed, "share": _float(w.share)}
                for w in report.hours.weeks
            ],
        },
        "screens": {
            "total": report.screens.total,
            "expected": report.screens.expected,
            "share": _float(report.screens.share),
            "too_few": report.screens.too_few,
            "months": [
                {
                    "month": m.month.strftime("%Y-%m"),
                    "expected": m.expected,
                    "unexpected": m.unexpected,
                    "share": _float(m.share),
                }
                for m in report.screens.months
            ],
        },
        "measures": [
            {
                "code": m.code,
                "label": m.label,
                "n": m.n,
                "value": _float(m.value),
                "unit": m.unit,
                "too_few": m.too_few,
                "definition": m.definition,
            }
            for m in report.measures
        ],
    }


def _day(text: str | None, field: str) -> tuple[date | None, Status | None]:
    if text is None or text == "":
        return None, None
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return None, _unprocessable(field, f"{text!r} is not a date like 2026-03-04.")


@router.get(
    "/outcomes",
    response={200: OutcomesOut, 401: Detail, 403: Detail, 422: ValidationErrors},
    summary="The outcomes report of a program (or all programs of a site) over a date range",
    description=(
        "Change in PHQ-9 and GAD-7 from admission to latest, retention at 30/60/90 days,"
        " completion rate, share of patient-weeks meeting the hours floor and share of screens"
        " read as expected. Definitions: each entry of `measures` carries its own; see also"
        " docs/outcomes.md. Figures over fewer than 10 are flagged `too_few`."
    ),
    by_alias=True,
    auth=api_guard("outcomes.view"),
)
def outcomes(request: HttpRequest, filters: Query[OutcomesQuery]) -> object:
    user = request.auth  # type: ignore[attr-defined]
    sites = sites_with_permission(user, "outcomes.view")
    program = None
    if filters.program_id is not None:
        program = (
            Program.objects.filter(pk=filters.program_id, site__in=sites)
            .select_related("site")
            .first()
        )
        if program is None or (filters.site_id is not None and program.site_id != filters.site_id):
            return _unprocessable("program_id", "No such program, or you may not see its outcomes.")
        site = program.site
    elif filters.site_id is not None:
        site = next((s for s in sites if s.pk == filters.site_id), None)
        if site is None:
            return _unprocessable("site_id", "No such site, or you may not see its outcomes.")
    elif len(sites) == 1:
        site = sites[0]
    else:
        return _unprocessable(
            "site_id", "You may see outcomes at several sites; name one with site_id."
        )
    start, error = _day(filters.date_from, "from")
    if error:
        return error
    end, error = _day(filters.date_to, "to")
    if error:
        return error
    today = local_today(site.time_zone)
    default_start, default_end = default_range(today)
    start, end = start or default_start, end or default_end
    try:
        check_range(start, end)
    except RangeError as exc:
        return _unprocessable({"start": "from", "end": "to"}[exc.field], exc.message)
    report = build_report(site=site, program=program, start=start, end=end, today=today)
    record_event(
        request=request,
        actor=user,
        site=site,
        action=Action.VIEW,
        object_type="outcomes_report",
        object_id=program.pk if program else "",
        detail=(
            f"Outcomes of {program.name if program else 'all programs'}"
            f" from {start.isoformat()} to {end.isoformat()} (API)"
        ),
    )
    return _out(report)
