"""The outcomes arithmetic, without a database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from openiop.lib.dates import IsoWeek
from openiop.measures.outcomes import (
    Ending,
    RangeError,
    Score,
    ScorePair,
    Stay,
    band_index,
    check_range,
    closed_weeks,
    completion_of,
    covered_range,
    default_range,
    months_between,
    pair_for,
    retention_at,
    share,
    summarize_changes,
    summarize_hours,
)

D = date(2026, 3, 2)  # a Monday


def test_it_rounds_shares_to_one_decimal_and_refuses_empty_wholes():
    assert share(1, 3) == Decimal("33.3")
    assert share(2, 3) == Decimal("66.7")
    assert share(0, 0) is None


def test_it_checks_the_range():
    check_range(D, D)
    check_range(D, D + timedelta(days=3 * 366 - 1))
    with pytest.raises(RangeError) as error:
        check_range(D, D - timedelta(days=1))
    assert error.value.field == "start"
    with pytest.raises(RangeError) as error:
        check_range(D, D + timedelta(days=3 * 366))
    assert error.value.field == "end"


def test_it_defaults_to_the_last_twelve_months():
    start, end = default_range(date(2026, 11, 26))
    assert end == date(2026, 11, 26)
    assert (end - start).days == 364


def test_it_finds_the_band_of_a_score():
    assert band_index("PHQ-9", 4) == 0
    assert band_index("PHQ-9", 5) == 1
    assert band_index("PHQ-9", 27) == 4
    assert band_index("GAD-7", 15) == 3


def test_it_summarizes_changes_with_mean_median_improvement_and_band_shift():
    pairs = [
        ScorePair(first=20, latest=10),  # -10, improved, band severe → moderate
        ScorePair(first=10, latest=6),  # -4, not improved by 5, moderate → mild
        ScorePair(first=5, latest=9),  # +4, worse, same band (mild)
        ScorePair(first=14, latest=9),  # -5, improved exactly by 5, moderate → mild
    ]
    summary = summarize_changes("PHQ-9", pairs, improve_by=5)
    assert summary.n == 4
    assert summary.mean_first == Decimal("12.3")
    assert summary.mean_latest == Decimal("8.5")
    assert summary.mean_change == Decimal("-3.8")
    assert summary.median_change == Decimal("-4.5")
    assert summary.improved == 2
    assert summary.improved_share == Decimal("50.0")
    assert summary.band_lower == 3
    assert summary.band_lower_share == Decimal("75.0")
    assert dict(summary.bands_first) == {
        "minimal": 0,
        "mild": 1,
        "moderate": 2,
        "moderately severe": 0,
        "severe": 1,
    }
    assert dict(summary.bands_latest)["mild"] == 3
    assert summary.too_few


def test_it_uses_four_points_for_the_gad7():
    summary = summarize_changes("GAD-7", [ScorePair(12, 8), ScorePair(12, 9)], improve_by=4)
    assert summary.improved == 1


def test_an_empty_summary_has_no_means():
    summary = summarize_changes("GAD-7", [], improve_by=4)
    assert (summary.n, summary.mean_change, summary.median_change) == (0, None, None)
    assert summary.improved_share is None


def _score(day: int, total: int, seq: int = 0) -> Score:
    return Score(taken_on=D + timedelta(days=day), id=seq, total=total)


def test_it_pairs_the_admission_score_with_the_latest():
    pair = pair_for(
        [_score(20, 11), _score(3, 18), _score(40, 7), _score(-5, 25)],
        admitted_on=D,
        last_day=D + timedelta(days=60),
    )
    assert pair == ScorePair(first=18, latest=7)


def test_it_needs_a_baseline_within_fourteen_days_and_two_scores():
    assert (
        pair_for([_score(15, 18), _score(40, 7)], admitted_on=D, last_day=D + timedelta(99)) is None
    )
    assert pair_for([_score(14, 18), _score(40, 7)], admitted_on=D, last_day=D + timedelta(99))
    assert pair_for([_score(2, 18)], admitted_on=D, last_day=D + timedelta(99)) is None


def test_it_ignores_scores_after_the_episode_ended():
    pair = pair_for(
        [_score(0, 18), _score(30, 9), _score(80, 20)], admitted_on=D, last_day=D + timedelta(50)
    )
    assert pair == ScorePair(18, 9)


def test_the_latest_of_one_day_is_the_last_recorded():
    pair = pair_for(
        [_score(0, 18), _score(30, 9, seq=2), _score(30, 12, seq=1)],
        admitted_on=D,
        last_day=D + timedelta(50),
    )
    assert pair == ScorePair(18, 9)


def test_retention_counts_only_admissions_old_enough_and_open_episodes():
    as_of = D + timedelta(days=100)
    stays = [
        Stay(D, None),  # open: retained at every mark
        Stay(D, D + timedelta(days=45)),  # ended day 45: retained at 30, not at 60
        Stay(D, D + timedelta(days=30)),  # ended on day 30 itself: still in on day 30
        Stay(D + timedelta(days=50), None),  # 50 days ago: counted at 30 only
        Stay(D + timedelta(days=90), None),  # 10 days ago: counted nowhere
    ]
    at30 = retention_at(stays, day=30, as_of=as_of)
    at60 = retention_at(stays, day=60, as_of=as_of)
    at90 = retention_at(stays, day=90, as_of=as_of)
    assert (at30.eligible, at30.retained) == (4, 4)
    assert (at60.eligible, at60.retained) == (3, 1)
    assert (at90.eligible, at90.retained) == (3, 1)
    assert at60.share == Decimal("33.3")
    assert retention_at([], day=30, as_of=as_of).share is None


def test_completion_counts_step_downs_as_completed_and_skips_track_changes():
    endings = [
        Ending("discharged", "completed", ""),
        Ending("discharged", "stepped_down", ""),
        Ending("discharged", "left_against_advice", ""),
        Ending("discharged", "stepped_up", ""),
        Ending("transferred", "", "step_down"),
        Ending("transferred", "", "step_up"),
        Ending("transferred", "", "change_track"),
        Ending("active", "", ""),
    ]
    completion = completion_of(endings)
    assert (completion.completed, completion.ended) == (3, 6)
    assert completion.share == Decimal("50.0")
    assert dict(completion.by_reason)["transfer_step_down"] == 1
    assert "transfer_change_track" not in dict(completion.by_reason)


def test_it_lists_closed_weeks_wholly_inside_the_range():
    weeks = closed_weeks(date(2026, 3, 4), date(2026, 3, 29), today=date(2026, 3, 29))
    # Mar 4 is a Wednesday: its week is partial; the week ending Sunday Mar 29 is not over.
    assert [str(w) for w in weeks] == ["2026-W11", "2026-W12"]
    assert closed_weeks(date(2026, 3, 2), date(2026, 3, 29), today=date(2026, 3, 30))[-1] == (
        IsoWeek(2026, 13)
    )


def test_it_judges_only_weeks_an_enrollment_covers_entirely():
    weeks = [IsoWeek(2026, 10), IsoWeek(2026, 11), IsoWeek(2026, 12)]  # Mar 2, 9, 16
    assert list(covered_range(date(2026, 3, 2), None, weeks)) == [0, 1, 2]
    assert list(covered_range(date(2026, 2, 1), None, weeks)) == [0, 1, 2]
    # Admitted on a Wednesday, discharged on a Sunday: from the next week to that Sunday's.
    assert list(covered_range(date(2026, 3, 4), date(2026, 3, 22), weeks)) == [1, 2]
    # Discharged on a Friday: that week is partial.
    assert list(covered_range(date(2026, 3, 2), date(2026, 3, 20), weeks)) == [0, 1]
    assert list(covered_range(date(2026, 3, 2), date(2026, 3, 7), weeks)) == []
    assert list(covered_range(date(2026, 3, 2), date(2026, 3, 8), weeks)) == [0]
    assert list(covered_range(date(2026, 3, 17), None, weeks)) == []
    assert list(covered_range(date(2026, 1, 5), date(2026, 2, 20), weeks)) == []
    assert list(covered_range(date(2026, 3, 2), None, [])) == []


def test_it_compares_attended_minutes_with_the_floor_exactly():
    weeks = [IsoWeek(2026, 10), IsoWeek(2026, 11)]
    spans = [
        (1, date(2026, 3, 2), None, Decimal(9)),
        (2, date(2026, 3, 2), None, Decimal(9)),
        (3, date(2026, 3, 2), date(2026, 3, 8), Decimal("1.5")),
        (4, date(2026, 3, 2), date(2026, 3, 8), Decimal("9.1")),  # 546 minutes needed
    ]
    summary = summarize_hours(
        spans, {1: {0: 540}, 2: {0: 539, 1: 600}, 3: {0: 90}, 4: {0: 545}}, weeks
    )
    assert (summary.weeks[0].met, summary.weeks[0].missed) == (2, 2)
    assert (summary.weeks[1].met, summary.weeks[1].missed) == (1, 1)
    assert summary.share == Decimal("50.0")


def test_it_lists_months_across_a_year_end():
    assert months_between(date(2025, 11, 20), date(2026, 2, 1)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
