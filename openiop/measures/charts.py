"""Geometry of the questionnaire trend charts, computed here so the template only draws.

Plain data in and out: dated scores become points and polylines in SVG user units, a score
scale's bands (DOMAIN.md §9) become shaded rows with their names, and the axis gets ticks and
date labels. Colours are SVG presentation attributes (strict CSP: no ``style=``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from openiop.measures.instruments import Band

WIDTH = 560
HEIGHT = 250
LEFT = 34
RIGHT = 12
TOP = 10
BOTTOM = 30
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
MAX_DATE_LABELS = 7
MIN_LABEL_GAP = 56  # user units between two date labels ("Nov 26" is about 45)

# Light to strong, one per band from the lowest scores up; the last is reused if a scale
# ever had more bands.
BAND_FILLS = ("#eaf6ee", "#f8f6df", "#fdeccf", "#fbdcc4", "#f7cccc")
# Blue, orange, green: told apart by colour and by marker shape (circle, square, diamond).
SERIES_COLOURS = ("#1f5f99", "#b35c00", "#2e7d4f")
MARKERS = ("circle", "square", "diamond")


@dataclass(frozen=True)
class Entry:
    """One dated value of one series, as read from a stored response."""

    taken_on: date
    value: int
    band: str = ""
    response_id: int | None = None


@dataclass(frozen=True)
class Point:
    taken_on: date
    value: int
    band: str
    x: float
    y: float
    response_id: int | None

    @property
    def square_x(self) -> float:
        return round(self.x - 4, 1)

    @property
    def square_y(self) -> float:
        return round(self.y - 4, 1)

    @property
    def diamond(self) -> str:
        """The polygon of a diamond marker centred on the point."""
        x, y, r = self.x, self.y, 5
        return f"{x},{y - r} {x + r},{y} {x},{y + r} {x - r},{y}"


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    marker: str
    points: tuple[Point, ...]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


@dataclass(frozen=True)
class BandRow:
    name: str
    low: int
    high: int
    y: float
    height: float
    fill: str
    label_y: float


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class DateLabel:
    day: date
    x: float


@dataclass(frozen=True)
class TableRow:
    """One line of the table that repeats the chart in words: a date and each series' value
    (and band) that day."""

    taken_on: date
    cells: tuple[str, ...]


@dataclass(frozen=True)
class LineChart:
    key: str
    title: str
    description: str
    y_label: str
    y_max: int
    width: int
    height: int
    left: int
    right_edge: int
    top: int
    baseline: float
    bands: tuple[BandRow, ...]
    ticks: tuple[Tick, ...]
    series: tuple[Series, ...]
    date_labels: tuple[DateLabel, ...]
    date_label_y: float
    columns: tuple[str, ...]
    rows: tuple[TableRow, ...]

    @property
    def plot_width(self) -> int:
        return self.right_edge - self.left

    @property
    def is_empty(self) -> bool:
        return not any(s.points for s in self.series)

    @property
    def point_count(self) -> int:
        return sum(len(s.points) for s in self.series)

    @property
    def latest(self) -> Point | None:
        """The newest point of a one-series chart (the headline number), if any."""
        points = self.series[0].points if len(self.series) == 1 else ()
        return points[-1] if points else None


def _y(value: float, y_max: int) -> float:
    return round(TOP + PLOT_H - (value / y_max) * PLOT_H, 1)


def _tick_step(y_max: int) -> int:
    for step in (1, 2, 3, 5, 10):
        if y_max / step <= 6:
            return step
    return 20


def _x_scale(days: Sequence[date]) -> tuple[date, int]:
    first = min(days)
    span = (max(days) - first).days
    return first, span


def _x(day: date, first: date, span: int) -> float:
    if span == 0:
        return round(LEFT + PLOT_W / 2, 1)
    # A small inset keeps the first and last markers inside the plot.
    inset = 10
    return round(LEFT + inset + (day - first).days / span * (PLOT_W - 2 * inset), 1)


def _band_rows(bands: Sequence[Band], y_max: int) -> tuple[BandRow, ...]:
    rows = []
    for index, band in enumerate(bands):
        # Whole-number scores: a band owns the half-points around its edges, so 4 and 5 sit on
        # either side of the minimal/mild line rather than on it.
        low = max(0.0, band.low - 0.5)
        high = min(float(y_max), band.high + 0.5)
        top, bottom = _y(high, y_max), _y(low, y_max)
        rows.append(
            BandRow(
                name=band.name,
                low=band.low,
                high=band.high,
                y=top,
                height=round(bottom - top, 1),
                fill=BAND_FILLS[min(index, len(BAND_FILLS) - 1)],
                label_y=round(top + 13, 1),
            )
        )
    return tuple(rows)


def _date_labels(days: Sequence[date], first: date, span: int) -> tuple[DateLabel, ...]:
    distinct = sorted(set(days))
    if len(distinct) > MAX_DATE_LABELS:
        last = len(distinct) - 1
        picks = {round(i * last / (MAX_DATE_LABELS - 1)) for i in range(MAX_DATE_LABELS)}
        distinct = [distinct[i] for i in sorted(picks)]
    labels: list[DateLabel] = []
    last = len(distinct) - 1
    for index, day in enumerate(distinct):
        label = DateLabel(day, _x(day, first, span))
        # Dates close together would print over each other: keep the earlier one, except
        # that the newest date always shows (it replaces its neighbour).
        if labels and label.x - labels[-1].x < MIN_LABEL_GAP:
            if index != last:
                continue
            if len(labels) > 1 or label.x - labels[-1].x < MIN_LABEL_GAP / 2:
                labels.pop()
        labels.append(label)
    return tuple(labels)


def line_chart(
    *,
    key: str,
    title: str,
    description: str,
    y_label: str,
    y_max: int,
    series: Sequence[tuple[str, Sequence[Entry]]],
    bands: Sequence[Band] = (),
) -> LineChart:
    """A line chart of one or more dated series on a 0–``y_max`` scale, with ``bands`` shaded
    behind them. Entries are drawn in date order; a chart whose series are all empty still has
    its axes and bands (the template shows an empty state instead of the plot)."""
    if y_max < 1:
        raise ValueError(f"y_max must be at least 1, not {y_max}")
    ordered = [
        (name, sorted(entries, key=lambda e: (e.taken_on, e.response_id or 0)))
        for name, entries in series
    ]
    for name, entries in ordered:
        for entry in entries:
            if not 0 <= entry.value <= y_max:
                raise ValueError(f"{name} value {entry.value} is outside 0–{y_max}")
    days = [entry.taken_on for _, entries in ordered for entry in entries]
    first, span = _x_scale(days) if days else (date.min, 0)
    drawn = tuple(
        Series(
            name=name,
            colour=SERIES_COLOURS[index % len(SERIES_COLOURS)],
            marker=MARKERS[index % len(MARKERS)],
            points=tuple(
                Point(
                    taken_on=entry.taken_on,
                    value=entry.value,
                    band=entry.band,
                    x=_x(entry.taken_on, first, span),
                    y=_y(entry.value, y_max),
                    response_id=entry.response_id,
                )
                for entry in entries
            ),
        )
        for index, (name, entries) in enumerate(ordered)
    )
    step = _tick_step(y_max)
    ticks = [Tick(v, _y(v, y_max)) for v in range(0, y_max + 1, step)]
    # The top of the scale gets its own tick unless it would print over the last one.
    if y_max - ticks[-1].value >= step / 2:
        ticks.append(Tick(y_max, _y(y_max, y_max)))
    with_bands = bool(bands)
    columns = ["Date"]
    for name, _ in ordered:
        columns.append(name)
        if with_bands:
            columns.append("Band")
    rows = []
    for index, (_, entries) in enumerate(ordered):
        for entry in entries:
            cells = ["—"] * (len(columns) - 1)
            per = 2 if with_bands else 1
            cells[index * per] = str(entry.value)
            if with_bands:
                cells[index * per + 1] = entry.band or "—"
            rows.append(TableRow(entry.taken_on, tuple(cells)))
    if len(ordered) > 1:
        # Several series: one row per date with every series' value that day.
        merged: dict[date, list[str]] = {}
        for row in rows:
            line = merged.setdefault(row.taken_on, ["—"] * (len(columns) - 1))
            for i, cell in enumerate(row.cells):
                if cell != "—":
                    line[i] = cell
        rows = [TableRow(day, tuple(cells)) for day, cells in sorted(merged.items())]
    return LineChart(
        key=key,
        title=title,
        description=description,
        y_label=y_label,
        y_max=y_max,
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right_edge=WIDTH - RIGHT,
        top=TOP,
        baseline=_y(0, y_max),
        bands=_band_rows(bands, y_max),
        ticks=tuple(ticks),
        series=drawn,
        date_labels=_date_labels(days, first, span) if days else (),
        date_label_y=HEIGHT - BOTTOM + 20,
        columns=tuple(columns),
        rows=tuple(rows),
    )
