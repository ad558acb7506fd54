"""The pure hours core: status rule, conversion, week and DST boundaries (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from openiop.lib.dates import IsoWeek
from openiop.scheduling import hours
from openiop.scheduling.hours import (
    BookingFact,
    EnrollmentSpan,
    WeekStatus,
    minutes_to_hours,
    summarize_week,
    target_for_week,
    week_status,
)
from openiop.scheduling.models import ATTENDED_STATUSES, AttendanceStatus

ZONES = ["America/Chicago", "America/New_York", "Europe/Berlin", "Australia/Sydney", "UTC"]
# Worse first: more attended minutes may only move a status to the right.
ORDER = [WeekStatus.MISSED, WeekStatus.AT_RISK, WeekStatus.ON_TRACK, WeekStatus.MET]
NINE = Decimal(9)


def span(admitted_on=date(2020, 1, 6), discharged_on=None, floor=NINE, ceiling=Decimal(12)):
    return EnrollmentSpan(
        enrollment_id=1,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        floor_hours=floor,
        ceiling_hours=ceiling,
    )


def test_it_uses_the_same_status_values_as_the_models():
    assert {str(s) for s in ATTENDED_STATUSES} == hours.ATTENDED
    values = set(AttendanceStatus.values)
    assert hours.BOOKED in values
    assert values >= hours.EXCUSED
    assert values >= hours.VIOLATIONS


@pytest.mark.parametrize(
    ("attended", "ahead", "week_over", "enrolled", "expected"),
    [
        (540, 0, False, True, "met"),
        (540, 0, True, True, "met"),
        (600, 120, True, True, "met"),
        (539, 1, False, True, "on_track"),
        (360, 180, False, True, "on_track"),
        (0, 540, False, True, "on_track"),
        (359, 180, False, True, "at_risk"),
        (0, 0, False, True, "at_risk"),
        (539, 0, True, True, "missed"),
        (0, 0, True, True, "missed"),
        (900, 0, False, False, "not_enrolled"),
        (0, 0, True, False, "not_enrolled"),
    ],
)
def test_it_applies_the_status_rule(attended, ahead, week_over, enrolled, expected):
    status = week_status(
        attended_minutes=attended,
        ahead_minutes=ahead,
        floor_hours=NINE,
        week_over=week_over,
        enrolled=enrolled,
    )
    assert status == expected
    assert isinstance(status, str)


def test_it_compares_a_fractional_floor_exactly():
    # 8.5 h = 510 minutes; 509 is below, not "8.48 rounds to 8.5".
    args = {"ahead_minutes": 0, "floor_hours": Decimal("8.5"), "week_over": True, "enrolled": True}
    assert week_status(attended_minutes=510, **args) == "met"
    assert week_status(attended_minutes=509, **args) == "missed"


def test_it_refuses_negative_minutes():
    with pytest.raises(ValueError, match="negative"):
        week_status(
            attended_minutes=-1, ahead_minutes=0, floor_hours=NINE, week_over=False, enrolled=True
        )
    with pytest.raises(ValueError, match="negative"):
        minutes_to_hours(-5)


@pytest.mark.parametrize(
    ("minutes", "text"), [(0, "0.00"), (1, "0.02"), (30, "0.50"), (570, "9.50"), (545, "9.08")]
)
def test_it_converts_minutes_to_hours_with_two_decimals(minutes, text):
    assert str(minutes_to_hours(minutes)) == text


@given(st.integers(min_value=0, max_value=100_000))
def test_hours_are_within_half_a_hundredth_of_the_minutes(minutes):
    value = minutes_to_hours(minutes)
    assert value.as_tuple().exponent == -2
    assert abs(value - Decimal(minutes) / 60) <= Decimal("0.005")


@given(
    attended=st.integers(0, 3000),
    extra=st.integers(0, 3000),
    ahead=st.integers(0, 3000),
    floor=st.decimals(min_value=0, max_value=40, places=1),
    week_over=st.booleans(),
)
def test_more_attended_minutes_never_worsen_the_status(attended, extra, ahead, floor, week_over):
    def status(minutes):
        return week_status(
            attended_minutes=minutes,
            ahead_minutes=ahead,
            floor_hours=floor,
            week_over=week_over,
            enrolled=True,
        )

    assert ORDER.index(status(attended + extra)) >= ORDER.index(status(attended))


@given(
    attended=st.integers(0, 3000),
    ahead=st.integers(0, 3000),
    moved=st.integers(0, 3000),
    floor=st.decimals(min_value=0, max_value=40, places=1),
)
def test_attending_a_booked_session_never_worsens_the_status(attended, ahead, moved, floor):
    """Minutes moving from "still ahead" to "attended" (the group happened) keep or improve."""
    assume(moved <= ahead)

    def status(a, b):
        return week_status(
            attended_minutes=a, ahead_minutes=b, floor_hours=floor, week_over=False, enrolled=True
        )

    assert ORDER.index(status(attended + moved, ahead - moved)) >= ORDER.index(
        status(attended, ahead)
    )


@given(
    attended=st.integers(0, 3000),
    ahead=st.integers(0, 3000),
    floor=st.decimals(min_value=0, max_value=40, places=1),
)
def test_a_finished_week_is_met_or_missed(attended, ahead, floor):
    status = week_status(
        attended_minutes=attended,
        ahead_minutes=ahead,
        floor_hours=floor,
        week_over=True,
        enrolled=True,
    )
    assert status in (WeekStatus.MET, WeekStatus.MISSED)
    assert (status == WeekStatus.MET) == (Decimal(attended) >= floor * 60)


# --- summarize_week: the reference for the SQL -------------------------------------------------

local_moments = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - a naive local wall time, zoned below
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001 - same
)


def _booking(starts_at, minutes=180, status="present", minutes_attended=None, cancelled=False):
    return BookingFact(
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        duration_minutes=minutes,
        status=status,
        minutes_attended=minutes_attended,
        session_cancelled=cancelled,
    )


@given(moment=local_moments, zone_name=st.sampled_from(ZONES))
def test_a_session_counts_in_exactly_the_local_week_it_starts_in(moment, zone_name):
    starts_at = moment.replace(tzinfo=ZoneInfo(zone_name)).astimezone(UTC)
    local_day = starts_at.astimezone(ZoneInfo(zone_name)).date()
    week = IsoWeek.of(local_day)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    facts = [_booking(starts_at, minutes=60)]
    spans = [span(admitted_on=date(2020, 1, 6))]
    for offset, expected in ((-1, 0), (0, 60), (1, 0)):
        summary = summarize_week(
            week=week.shift(offset), time_zone=zone_name, now=now, bookings=facts, spans=spans
        )
        assert summary.attended_minutes == expected


@pytest.mark.parametrize(
    ("zone_name", "week", "hours_long"),
    [
        ("America/Chicago", "2026-W10", 167),  # spring forward Sunday March 8 2026
        ("America/Chicago", "2026-W44", 169),  # fall back Sunday November 1 2026
        ("Europe/Berlin", "2026-W13", 167),  # March 29 2026
        ("America/Chicago", "2026-W12", 168),
    ],
)
def test_week_bounds_follow_the_clock_change(zone_name, week, hours_long):
    start, end = IsoWeek.parse(week).bounds(zone_name)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours_long)


def test_a_sunday_night_session_after_the_fall_back_stays_in_its_week():
    """23:30 local on the Sunday the clocks go back is 05:30 UTC Monday: still that week."""
    zone_name = "America/Chicago"
    starts_at = datetime(2026, 11, 1, 23, 30, tzinfo=ZoneInfo(zone_name)).astimezone(UTC)
    assert starts_at.date() == date(2026, 11, 2)
    facts = [_booking(starts_at, minutes=30)]
    now = datetime(2030, 1, 1, tzinfo=UTC)
    own = summarize_week(
        week=IsoWeek(2026, 44), time_zone=zone_name, now=now, bookings=facts, spans=[span()]
    )
    following = summarize_week(
        week=IsoWeek(2026, 45), time_zone=zone_name, now=now, bookings=facts, spans=[span()]
    )
    assert (own.attended_minutes, following.attended_minutes) == (30, 0)


@given(
    recorded=st.lists(
        st.tuples(st.sampled_from(["present", "late", "left_early"]), st.integers(0, 180)),
        max_size=8,
    )
)
def test_late_and_left_early_count_the_minutes_recorded(recorded):
    monday = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    facts = [
        _booking(monday + timedelta(hours=4 * i), 180, status, minutes)
        for i, (status, minutes) in enumerate(recorded)
    ]
    summary = summarize_week(
        week=IsoWeek(2026, 10),
        time_zone="America/Chicago",
        now=datetime(2026, 3, 20, tzinfo=UTC),
        bookings=facts,
        spans=[span()],
    )
    assert summary.attended_minutes == sum(minutes for _, minutes in recorded)
    assert summary.violations == 0


@given(
    statuses=st.lists(
        st.sampled_from(["present", "excused", "unexcused", "no_show", "cancelled_by_clinic"]),
        max_size=10,
    )
)
def test_absences_count_zero_and_only_unexcused_ones_are_violations(statuses):
    monday = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    facts = [_booking(monday + timedelta(hours=4 * i), 60, s) for i, s in enumerate(statuses)]
    summary = summarize_week(
        week=IsoWeek(2026, 10),
        time_zone="America/Chicago",
        now=datetime(2026, 3, 20, tzinfo=UTC),
        bookings=facts,
        spans=[span()],
    )
    assert summary.attended_minutes == 60 * statuses.count("present")
    assert summary.excused == statuses.count("excused")
    assert summary.violations == statuses.count("unexcused") + statuses.count("no_show")


def test_an_excused_week_is_still_judged_against_the_floor():
    """Excused absences are not violations, but the hours were still not attended."""
    monday = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    facts = [_booking(monday + timedelta(days=i), 180, "excused") for i in range(3)]
    summary = summarize_week(
        week=IsoWeek(2026, 10),
        time_zone="America/Chicago",
        now=datetime(2026, 3, 20, tzinfo=UTC),
        bookings=facts,
        spans=[span()],
    )
    assert (summary.status, summary.violations, summary.excused) == ("missed", 0, 3)


def test_a_booked_session_is_ahead_until_it_ends_and_then_nothing():
    starts_at = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    facts = [_booking(starts_at, 180, "booked")]

    def at(now):
        return summarize_week(
            week=IsoWeek(2026, 10),
            time_zone="UTC",
            now=now,
            bookings=facts,
            spans=[span(floor=Decimal(3))],
        )

    assert at(starts_at - timedelta(hours=1)).ahead_minutes == 180
    assert at(starts_at + timedelta(hours=1)).ahead_minutes == 180  # in progress
    later = at(starts_at + timedelta(hours=4))
    assert (later.ahead_minutes, later.status) == (0, "at_risk")
    assert at(datetime(2026, 3, 10, tzinfo=UTC)).status == "missed"


def test_cancelled_sessions_count_nothing():
    starts_at = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    facts = [_booking(starts_at, 180, "present", 180, cancelled=True)]
    summary = summarize_week(
        week=IsoWeek(2026, 10),
        time_zone="UTC",
        now=datetime(2026, 3, 20, tzinfo=UTC),
        bookings=facts,
        spans=[span()],
    )
    assert summary.attended_minutes == 0


def test_the_week_without_an_enrollment_is_not_enrolled():
    summary = summarize_week(
        week=IsoWeek(2026, 10),
        time_zone="UTC",
        now=datetime(2026, 3, 20, tzinfo=UTC),
        bookings=[],
        spans=[span(admitted_on=date(2026, 3, 9))],
    )
    assert (summary.status, summary.target_min) == ("not_enrolled", None)


def test_the_latest_enrollment_of_a_transfer_week_sets_the_target():
    iop = EnrollmentSpan(1, date(2026, 1, 5), date(2026, 3, 4), NINE, Decimal(12))
    php = EnrollmentSpan(2, date(2026, 3, 4), None, Decimal(20), Decimal(30))
    assert target_for_week([iop, php], IsoWeek(2026, 10)) == php
    assert target_for_week([iop, php], IsoWeek(2026, 9)) == iop
    assert target_for_week([iop, php], IsoWeek(2026, 1)) is None
    summary = summarize_week(
        week=IsoWeek(2026, 10),
        time_zone="UTC",
        now=datetime(2026, 3, 20, tzinfo=UTC),
        bookings=[],
        spans=[iop, php],
    )
    assert (summary.target_min, summary.partial) == (Decimal(20), True)


def test_needed_and_shortfall_hours():
    monday = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    facts = [_booking(monday, 180, "present"), _booking(monday + timedelta(days=2), 120, "booked")]
    summary = summarize_week(
        week=IsoWeek(2026, 10),
        time_zone="UTC",
        now=monday + timedelta(days=1),
        bookings=facts,
        spans=[span()],
    )
    assert summary.status == "at_risk"
    assert summary.needed_hours == Decimal("6.00")
    assert summary.shortfall_hours == Decimal("4.00")
    assert summary.scheduled_hours == Decimal("5.00")
