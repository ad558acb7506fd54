"""The outcomes report page and its CSV (issue 6 point 7): aggregates only, no patient names.

The figures come from ``openiop.measures.outcomes.build_report``; this module parses the
filter, audits the read and lays out the charts (server-rendered SVG, styled by presentation
attributes because the CSP forbids inline styles), each followed by a table with the numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from openiop.accounts.access import requires
from openiop.accounts.models import Site
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import local_today
from openiop.measures.outcomes import (
    RETENTION_DAYS,
    SMALL_N,
    OutcomesReport,
    RangeError,
    build_report,
    check_range,
    default_range,
)
from openiop.programs.models import Program

CSV_HEADER = ["measure", "label", "n", "value", "unit", "too_few", "definition"]

# Chart frame in SVG user units.
WIDTH = 720
HALF_WIDTH = 440  # the charts in half-width cards: fewer units, so the text stays legible
HEIGHT = 240
LEFT = 44
RIGHT = 12
TOP = 14
BOTTOM = 40
PLOT_H = HEIGHT - TOP - BOTTOM


class OutcomesFilter(forms.Form):
    program = forms.ChoiceField(label="Program", required=False)
    start = forms.DateField(label="From", required=False, widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args: Any, programs: Sequence[Program], today: date, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.programs = {str(p.pk): p for p in programs}
        self.today = today
        self.fields["program"].choices = [("", "All programs")] + [
            (str(p.pk), p.name) for p in programs
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        default_start, default_end = default_range(self.today)
        start = data.get("start") or default_start
        end = data.get("end") or default_end
        try:
            check_range(start, end)
        except RangeError as error:
            self.add_error(error.field, error.message)
            return data
        data["start"], data["end"] = start, end
        data["program_obj"] = self.programs.get(data.get("program") or "")
        return data


# --- chart geometry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    label: str
    y: float


@dataclass(frozen=True)
class Bar:
    label: str
    sublabel: str
    title: str
    value: Decimal | None
    x: float
    width: float
    y: float
    height: float
    label_x: float
    css: str


@dataclass(frozen=True)
class Frame:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT

    @property
    def right_edge(self) -> int:
        return self.width - RIGHT

    @property
    def plot_w(self) -> int:
        return self.width - LEFT - RIGHT

    baseline: float = TOP + PLOT_H
    label_y: float = TOP + PLOT_H + 16
    sublabel_y: float = TOP + PLOT_H + 30


def _y(value: Decimal | float, top: float) -> float:
    return round(TOP + PLOT_H - float(value) / top * PLOT_H, 1)


def _ticks(top: int, step: int, suffix: str = "") -> list[Tick]:
    return [Tick(f"{v}{suffix}", _y(v, top)) for v in range(0, top + 1, step)]


def _bars(
    items: Sequence[tuple[str, str, str, Decimal | None, str]],
    *,
    top: float,
    label_every: int = 1,
    frame: Frame,
) -> list[Bar]:
    """(label, sublabel, title, value, css) → bars in equal slots; None draws nothing."""
    if not items:
        return []
    slot = frame.plot_w / len(items)
    width = max(slot * 0.7, 1.0)
    bars = []
    for index, (label, sublabel, title, value, css) in enumerate(items):
        x = LEFT + index * slot + (slot - width) / 2
        y = _y(value, top) if value is not None else TOP + PLOT_H
        shown = index % label_every == 0
        bars.append(
            Bar(
                label=label if shown else "",
                sublabel=sublabel if shown else "",
                title=title,
                value=value,
                x=round(x, 1),
                width=round(width, 1),
                y=y,
                height=round(TOP + PLOT_H - y, 1),
                label_x=round(x + width / 2, 1),
                css=css,
            )
        )
    return bars


def _score_bars(report: OutcomesReport) -> list[Bar]:
    items = []
    for change in report.changes:
        for when, value, css in (
            ("admission", change.mean_first, "first"),
            ("latest", change.mean_latest, "latest"),
        ):
            shown = "no data" if value is None else f"{value}"
            items.append(
                (
                    change.instrument,
                    when,
                    f"{change.instrument} mean at {when}: {shown} (n = {change.n})",
                    value,
                    css,
                )
            )
    return _bars(items, top=27, frame=Frame(width=HALF_WIDTH))


def _percent_bars(rows: Sequence[tuple[str, str, Decimal | None, int]], what: str) -> list[Bar]:
    label_every = max(1, len(rows) // 13 + (1 if len(rows) % 13 else 0))
    items = [
        (
            label,
            sublabel,
            f"{label} {sublabel}: "
            + (f"{value}% {what} (n = {n})" if value is not None else "no data"),
            value,
            "share",
        )
        for label, sublabel, value, n in rows
    ]
    return _bars(items, top=100, label_every=label_every, frame=Frame())


@dataclass(frozen=True)
class RetentionLine:
    points: str
    dots: list[tuple[float, float, int, Decimal | None]]
    labels: list[tuple[float, int, str]]


def _retention_line(report: OutcomesReport) -> RetentionLine:
    """A step line from 100 % on day 0 through the share retained at each mark."""
    last = RETENTION_DAYS[-1]

    def x(day: int) -> float:
        return round(LEFT + day / last * Frame(width=HALF_WIDTH).plot_w, 1)

    coords = [(x(0), _y(100, 100))]
    dots = []
    level = 100.0
    for point in report.retention:
        if point.share is None:
            break
        coords.append((x(point.day), _y(level, 100)))
        level = float(point.share)
        coords.append((x(point.day), _y(level, 100)))
        dots.append((x(point.day), _y(level, 100), point.day, point.share))
    return RetentionLine(
        points=" ".join(f"{a},{b}" for a, b in coords),
        dots=dots,
        labels=[
            (x(day), day, "start" if day == 0 else "end" if day == last else "middle")
            for day in (0, *RETENTION_DAYS)
        ],
    )


# --- the views --------------------------------------------------------------------------------


def _programs(site: Site) -> list[Program]:
    return list(Program.objects.filter(site=site).order_by("name", "pk"))


def _audit(request: HttpRequest, site: Site, form: OutcomesFilter, action: str) -> None:
    data = form.cleaned_data
    program = data.get("program_obj")
    record_event(
        request=request,
        site=site,
        action=action,
        object_type="outcomes_report",
        object_id=program.pk if program else "",
        detail=(
            f"Outcomes of {program.name if program else 'all programs'}"
            f" from {data['start'].isoformat()} to {data['end'].isoformat()}"
        ),
    )


def _filtered(request: HttpRequest) -> tuple[Site, OutcomesFilter, list[Program]]:
    site = request.site  # type: ignore[attr-defined]
    programs = _programs(site)
    form = OutcomesFilter(request.GET or None, programs=programs, today=local_today(site.time_zone))
    if not request.GET:
        # An unbound form has no cleaned data: validate the defaults the same way.
        form = OutcomesFilter({}, programs=programs, today=local_today(site.time_zone))
    return site, form, programs


@requires("outcomes.view")
@require_GET
def outcomes_view(request: HttpRequest) -> HttpResponse:
    if request.GET.get("format") == "csv":
        return outcomes_csv_view(request)
    site, form, programs = _filtered(request)
    if not form.is_valid():
        context = {"form": form, "report": None, "programs": programs}
        return render(request, "measures/outcomes_report.html", context, status=422)
    data = form.cleaned_data
    report = build_report(
        site=site,
        program=data["program_obj"],
        start=data["start"],
        end=data["end"],
        today=form.today,
    )
    _audit(request, site, form, Action.VIEW)
    weeks = report.hours.weeks
    context = {
        "form": form,
        "report": report,
        "programs": programs,
        "small_n": SMALL_N,
        "frame": Frame(),
        "half": Frame(width=HALF_WIDTH),
        "score_bars": _score_bars(report),
        "score_ticks": _ticks(27, 3),
        "percent_ticks": _ticks(100, 20, "%"),
        "retention_line": _retention_line(report),
        "hours_bars": _percent_bars(
            [
                (f"W{w.week.week:02d}", w.week.monday.strftime("%b %-d"), w.share, w.total)
                for w in weeks
            ],
            "of patient-weeks met the floor",
        ),
        "screen_bars": _percent_bars(
            [
                (m.month.strftime("%b"), m.month.strftime("%Y"), m.share, m.total)
                for m in report.screens.months
            ],
            "of screens read as expected",
        ),
        "csv_query": request.GET.urlencode(),
    }
    return render(request, "measures/outcomes_report.html", context)


@requires("outcomes.view")
@require_GET
def outcomes_csv_view(request: HttpRequest) -> HttpResponse:
    site, form, _ = _filtered(request)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in form.errors.items())
        return HttpResponse(errors, status=422, content_type="text/plain; charset=utf-8")
    data = form.cleaned_data
    report = build_report(
        site=site,
        program=data["program_obj"],
        start=data["start"],
        end=data["end"],
        today=form.today,
    )
    _audit(request, site, form, Action.EXPORT)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    scope = f"program-{report.program.pk}" if report.program else "all-programs"
    response["Content-Disposition"] = (
        f'attachment; filename="outcomes-{scope}-{report.start}-{report.end}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for measure in report.measures:
        writer.writerow(
            [
                measure.code,
                measure.label,
                measure.n,
                "" if measure.value is None else measure.value,
                measure.unit,
                "yes" if measure.too_few else "no",
                measure.definition,
            ]
        )
    return response
