"""Geometry of the weekly-hours bar chart, computed here so the template only draws.

Plain data in and out: a list of ``WeekHours`` becomes bars, target-band segments and axis
ticks in SVG user units. The SVG is styled by classes (strict CSP: no inline styles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openiop.lib.dates import IsoWeek
from openiop.scheduling.hours import WeekHours

WIDTH = 720
HEIGHT = 260
LEFT = 44
RIGHT = 12
TOP = 14
BOTTOM = 42
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
ZERO_STUB = 3


@dataclass(frozen=True)
class Bar:
    week: IsoWeek
    hours: WeekHours
    is_current: bool
    slot_x: float
    slot_w: float
    slot_end: float
    x: float
    width: float
    label_x: float
    attended_y: float
    attended_h: float
    ahead_y: float
    ahead_h: float
    band_y: float | None
    band_h: float
    floor_y: float | None
    monday: date

    @property
    def data_hours(self) -> str:
        return f"{self.hours.attended_hours:.2f}"


@dataclass(frozen=True)
class Tick:
    hours: int
    y: float


@dataclass(frozen=True)
class HoursChart:
    width: int
    height: int
    left: int
    right_edge: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    axis_label_y: float
    tick_label_x: int
    week_label_y: float
    date_label_y: float


def _tick_step(top: int) -> int:
    for step in (1, 2, 3, 5, 10):
        if top / step <= 8:
            return step
    return 20


def hours_chart(weeks: list[WeekHours], *, current: IsoWeek) -> HoursChart:
    """Bars for ``weeks`` (oldest first) on a scale that always shows the target band."""
    peak = Decimal(0)
    for week in weeks:
        peak = max(peak, week.attended_hours + week.ahead_hours, week.target_max or 0)
    step = _tick_step(max(1, math.ceil(peak)))
    top = max(step, math.ceil(float(peak) * 1.08 / step) * step)
    scale = PLOT_H / top
    baseline = TOP + PLOT_H

    def y_of(hours: Decimal | float) -> float:
        return round(baseline - float(hours) * scale, 2)

    slot_w = PLOT_W / max(1, len(weeks))
    width = round(slot_w * 0.62, 2)
    bars = []
    for index, week in enumerate(weeks):
        slot_x = round(LEFT + index * slot_w, 2)
        x = round(slot_x + (slot_w - width) / 2, 2)
        attended_y = y_of(week.attended_hours)
        if week.attended_minutes == 0 and week.target_min is not None:
            # A week with nothing attended still shows a sliver in its status colour, so
            # a missed week does not read as a gap in the data.
            attended_y = round(baseline - ZERO_STUB, 2)
        ahead_h = round(float(week.ahead_hours) * scale, 2)
        ahead_y = round(attended_y - ahead_h, 2)
        band_y = floor_y = None
        band_h = 0.0
        if week.target_min is not None and week.target_max is not None:
            band_y = y_of(week.target_max)
            floor_y = y_of(week.target_min)
            band_h = round(floor_y - band_y, 2)
        bars.append(
            Bar(
                week=week.week,
                hours=week,
                is_current=week.week == current,
                slot_x=slot_x,
                slot_w=round(slot_w, 2),
                slot_end=round(slot_x + slot_w, 2),
                x=x,
                width=width,
                label_x=round(slot_x + slot_w / 2, 2),
                attended_y=attended_y,
                attended_h=round(baseline - attended_y, 2),
                ahead_y=ahead_y,
                ahead_h=ahead_h,
                band_y=band_y,
                band_h=band_h,
                floor_y=floor_y,
                monday=week.week.monday,
            )
        )
    ticks = [Tick(hours=h, y=y_of(h)) for h in range(0, top + 1, step)]
    return HoursChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right_edge=WIDTH - RIGHT,
        baseline=baseline,
        bars=bars,
        ticks=ticks,
        axis_label_y=TOP + PLOT_H / 2,
        tick_label_x=LEFT - 6,
        week_label_y=baseline + 16,
        date_label_y=baseline + 30,
    )
