"""attended_minutes: the minutes rule of DOMAIN.md §5 as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.scheduling.attendance import attended_minutes
from openiop.scheduling.models import AttendanceStatus

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
LENGTH = 180

ATTENDED = [AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY]
ABSENT = [AttendanceStatus.EXCUSED, AttendanceStatus.UNEXCUSED, AttendanceStatus.NO_SHOW]
ALL = list(AttendanceStatus)


def at(minutes: int) -> datetime:
    """``minutes`` after the session's start (negative: before)."""
    return START + timedelta(minutes=minutes)


def minutes_of(status: str, **kwargs) -> int | None:
    return attended_minutes(status=status, session_start=START, session_minutes=LENGTH, **kwargs)


offsets = st.one_of(st.none(), st.integers(min_value=-600, max_value=900).map(at))
lengths = st.integers(min_value=15, max_value=600)


def test_it_gives_a_present_patient_the_whole_session():
    assert minutes_of(AttendanceStatus.PRESENT) == 180


def test_it_counts_a_late_arrival_from_check_in_to_the_end():
    assert minutes_of(AttendanceStatus.LATE, checked_in_at=at(20)) == 160


def test_it_counts_leaving_early_from_the_start_to_check_out():
    assert minutes_of(AttendanceStatus.LEFT_EARLY, checked_out_at=at(120)) == 120


def test_it_counts_leaving_early_from_a_late_check_in():
    assert (
        minutes_of(AttendanceStatus.LEFT_EARLY, checked_in_at=at(30), checked_out_at=at(90)) == 60
    )


def test_it_lets_times_shorten_a_present_patients_minutes():
    assert minutes_of(AttendanceStatus.PRESENT, checked_in_at=at(10)) == 170
    assert minutes_of(AttendanceStatus.PRESENT, checked_out_at=at(175)) == 175


def test_it_does_not_add_minutes_for_arriving_early_or_staying_late():
    assert (
        minutes_of(AttendanceStatus.PRESENT, checked_in_at=at(-30), checked_out_at=at(200)) == 180
    )


def test_it_lets_entered_minutes_override_the_times():
    assert minutes_of(AttendanceStatus.LATE, checked_in_at=at(20), minutes=150) == 150
    assert minutes_of(AttendanceStatus.PRESENT, minutes=0) == 0


def test_it_never_lets_entered_minutes_exceed_the_session():
    assert minutes_of(AttendanceStatus.PRESENT, minutes=500) == 180


@pytest.mark.parametrize("status", ABSENT)
def test_it_counts_absences_as_zero_whatever_was_entered(status):
    assert minutes_of(status) == 0
    assert minutes_of(status, checked_in_at=at(0), minutes=90) == 0


@pytest.mark.parametrize(
    "status",
    [AttendanceStatus.BOOKED, AttendanceStatus.CANCELLED_BY_CLINIC, AttendanceStatus.CANCELLED],
)
def test_it_has_no_minutes_when_nothing_was_attended_or_missed(status):
    assert minutes_of(status) is None


def test_it_does_not_guess_a_late_arrival_without_a_check_in_time():
    assert minutes_of(AttendanceStatus.LATE) is None
    assert minutes_of(AttendanceStatus.LEFT_EARLY) is None


def test_it_counts_elapsed_time_across_the_end_of_daylight_saving_time():
    # Sunday Nov 1 2026, Chicago: 01:00 CDT, then 01:00 again as CST an hour later.
    chicago = ZoneInfo("America/Chicago")
    start = datetime(2026, 11, 1, 0, 30, tzinfo=chicago)
    out = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=chicago)  # 1:30 CST, two hours later
    result = attended_minutes(
        status=AttendanceStatus.LEFT_EARLY,
        session_start=start,
        session_minutes=180,
        checked_out_at=out,
    )
    assert result == 120


@given(
    status=st.sampled_from(ALL),
    length=lengths,
    checked_in_at=offsets,
    checked_out_at=offsets,
    minutes=st.one_of(st.none(), st.integers(min_value=-100, max_value=2000)),
)
def test_it_is_never_negative_and_never_above_the_session_length(
    status, length, checked_in_at, checked_out_at, minutes
):
    result = attended_minutes(
        status=status,
        session_start=START,
        session_minutes=length,
        checked_in_at=checked_in_at,
        checked_out_at=checked_out_at,
        minutes=minutes,
    )
    assert result is None or 0 <= result <= length
    if status in ABSENT:
        assert result == 0
    if status in ATTENDED and minutes is not None:
        assert result == max(0, min(minutes, length))


@given(
    status=st.sampled_from(ATTENDED),
    length=lengths,
    first=st.integers(min_value=-300, max_value=700),
    later_by=st.integers(min_value=0, max_value=300),
    checked_out_at=offsets,
)
def test_it_never_gives_more_minutes_for_a_later_check_in(
    status, length, first, later_by, checked_out_at
):
    def result(check_in: datetime) -> int | None:
        return attended_minutes(
            status=status,
            session_start=START,
            session_minutes=length,
            checked_in_at=check_in,
            checked_out_at=checked_out_at,
        )

    earlier, later = result(at(first)), result(at(first + later_by))
    assert (earlier is None) == (later is None)
    if earlier is not None:
        assert later <= earlier


@given(
    status=st.sampled_from(ATTENDED),
    length=lengths,
    first=st.integers(min_value=-300, max_value=700),
    later_by=st.integers(min_value=0, max_value=300),
    checked_in_at=offsets,
)
def test_it_never_gives_fewer_minutes_for_a_later_check_out(
    status, length, first, later_by, checked_in_at
):
    def result(check_out: datetime) -> int | None:
        return attended_minutes(
            status=status,
            session_start=START,
            session_minutes=length,
            checked_in_at=checked_in_at,
            checked_out_at=check_out,
        )

    earlier, later = result(at(first)), result(at(first + later_by))
    assert (earlier is None) == (later is None)
    if earlier is not None:
        assert later >= earlier


@given(length=lengths, longer_by=st.integers(min_value=0, max_value=300), checked_in_at=offsets)
def test_it_never_gives_fewer_minutes_for_a_longer_session(length, longer_by, checked_in_at):
    def result(session_minutes: int) -> int | None:
        return attended_minutes(
            status=AttendanceStatus.PRESENT,
            session_start=START,
            session_minutes=session_minutes,
            checked_in_at=checked_in_at,
        )

    assert result(length + longer_by) >= result(length)


@given(length=lengths, checked_in_at=offsets, checked_out_at=offsets)
def test_it_never_gives_a_late_or_early_leaver_more_than_a_present_patient(
    length, checked_in_at, checked_out_at
):
    kwargs = {
        "session_start": START,
        "session_minutes": length,
        "checked_in_at": checked_in_at,
        "checked_out_at": checked_out_at,
    }
    present = attended_minutes(status=AttendanceStatus.PRESENT, **kwargs)
    for status in (AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY):
        other = attended_minutes(status=status, **kwargs)
        assert other is None or other == present
