from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.lib.dates import IsoWeek, at_local, day_bounds

CHICAGO = "America/Chicago"


def test_it_parses_and_prints_iso_weeks():
    week = IsoWeek.parse("2026-W48")
    assert week.monday == date(2026, 11, 23)
    assert week.sunday == date(2026, 11, 29)
    assert str(week) == "2026-W48"
    assert str(IsoWeek.parse("2026-W01").shift(-1)) == "2025-W52"


@pytest.mark.parametrize("text", ["2026-48", "2026-W54", "W48", "2026-W4", "", "2021-W53"])
def test_it_refuses_bad_weeks(text):
    with pytest.raises(ValueError):
        IsoWeek.parse(text)


def test_week_bounds_follow_the_site_across_daylight_saving():
    # Clocks fall back on Sunday, November 1, 2026: the week of October 26 lasts 169 hours.
    start, end = IsoWeek.parse("2026-W44").bounds(CHICAGO)
    assert start.astimezone(UTC) == datetime(2026, 10, 26, 5, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 11, 2, 6, tzinfo=UTC)
    # Aware datetimes of one zone subtract as wall clocks in Python; compare in UTC.
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=169)


def test_day_bounds_of_a_spring_forward_day_last_23_hours():
    start, end = day_bounds(date(2026, 3, 8), CHICAGO)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)


def test_at_local_resolves_a_skipped_clock_time():
    moment = at_local(date(2026, 3, 8), time(2, 30), CHICAGO)
    assert moment.astimezone(UTC) == datetime(2026, 3, 8, 8, 30, tzinfo=UTC)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_falls_in_its_own_iso_week(day):
    week = IsoWeek.of(day)
    assert week.monday <= day <= week.sunday
    assert IsoWeek.parse(str(week)) == week
