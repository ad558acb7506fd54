from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openiop.lib.dates import IsoWeek
from openiop.measures.placement import Tier
from openiop.measures.review import (
    BANDS,
    CravingRecord,
    Direction,
    Recommendation,
    ReviewInput,
    ReviewPolicy,
    SafetyFlag,
    ScoreRecord,
    ScreenRecord,
    WeekRecord,
    review,
    review_all,
)
from openiop.scheduling.hours import WeekStatus

TODAY = date(2026, 11, 30)  # a Monday; week 2026-W48 closed yesterday
LAST_WEEK = IsoWeek.of(TODAY - timedelta(days=1))
MET, MISSED = WeekStatus.MET, WeekStatus.MISSED


def day(n: int) -> date:
    """``n`` days before TODAY."""
    return TODAY - timedelta(days=n)


def weeks(*statuses: WeekStatus) -> tuple[WeekRecord, ...]:
    """Closed weeks ending with last week, oldest first."""
    n = len(statuses)
    return tuple(
        WeekRecord(LAST_WEEK.shift(i - n + 1), s, Decimal("9.5") if s == MET else Decimal("4"),
                   Decimal(9))
        for i, s in enumerate(statuses)
    )  # fmt: skip


def phq(n: int, score: int, band: str) -> ScoreRecord:
    return ScoreRecord("PHQ-9", day(n), score, band)


def gad(n: int, score: int, band: str) -> ScoreRecord:
    return ScoreRecord("GAD-7", day(n), score, band)


def stable(**changes) -> ReviewInput:
    """An IOP patient doing well on every count: a step-down review is due."""
    base = {
        "today": TODAY,
        "level": Tier.IOP,
        "weeks": weeks(MET, MET, MET, MET),
        "screens": (ScreenRecord(day(20), False), ScreenRecord(day(6), False)),
        "scores": (phq(21, 7, "mild"), phq(0, 5, "mild"), gad(21, 6, "mild")),
        "cravings": (CravingRecord(day(21), 3), CravingRecord(day(7), 2), CravingRecord(day(0), 2)),
        "goals_met": True,
    }
    base.update(changes)
    return ReviewInput(**base)


def neutral(**changes) -> ReviewInput:
    base = {"today": TODAY, "level": Tier.IOP}
    base.update(changes)
    return ReviewInput(**base)


# --- step-up, signal by signal ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "evidence"),
    [
        (
            neutral(screens=[ScreenRecord(day(n), True) for n in (29, 15, 2)]),
            "unexpected_screens",
            "3 unexpected screen results in 30 days (threshold 3): 2026-11-01, 2026-11-15, "
            "2026-11-28",
        ),
        (
            neutral(weeks=weeks(MET, MISSED, MISSED)),
            "missed_hours",
            "Hours floor missed 2 weeks running: week 2026-W47 (from 2026-11-16): 4 h of 9 h; "
            "week 2026-W48 (from 2026-11-23): 4 h of 9 h",
        ),
        (
            neutral(scores=[phq(20, 8, "mild"), phq(1, 16, "moderately severe")]),
            "phq9_band_up",
            "PHQ-9 rose from 8 (mild) on 2026-11-10 to 16 (moderately severe) on 2026-11-29",
        ),
        (
            neutral(scores=[gad(27, 4, "minimal"), gad(0, 5, "mild")]),
            "gad7_band_up",
            "GAD-7 rose from 4 (minimal) on 2026-11-03 to 5 (mild) on 2026-11-30",
        ),
        (
            neutral(cravings=[CravingRecord(day(n), r) for n, r in ((20, 3), (10, 5), (3, 6))]),
            "craving_rising",
            "Craving rose from 3 on 2026-11-10 to 5 on 2026-11-20, 6 on 2026-11-27",
        ),
        (
            neutral(safety_flags=[SafetyFlag(day(3), "PHQ-9 item 9 answered 1")]),
            "safety_flag",
            "Safety flag: PHQ-9 item 9 answered 1 on 2026-11-27",
        ),
    ],
)
def test_each_step_up_signal(data, code, evidence):
    result = review(data)
    assert result.recommendation is Recommendation.REVIEW_STEP_UP
    assert result.codes() == (code,)
    assert result.signals[0].evidence == evidence
    assert result.signals[0].direction is Direction.STEP_UP


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (neutral(screens=[ScreenRecord(day(n), True) for n in (30, 15, 2)]), "first is 31 days"),
        (neutral(screens=[ScreenRecord(day(n), True) for n in (15, 2)]), "only two"),
        (neutral(screens=[ScreenRecord(day(n), n != 9) for n in (15, 9, 2)]), "one expected"),
        (neutral(weeks=weeks(MISSED, MET)), "last week met"),
        (neutral(weeks=weeks(MISSED)), "one week only"),
        (neutral(weeks=(*weeks(MISSED, MISSED)[:1], WeekRecord(IsoWeek.of(TODAY), MISSED))),
         "this week is not over"),
        (neutral(weeks=(*weeks(MISSED), WeekRecord(IsoWeek.of(TODAY), WeekStatus.AT_RISK))),
         "at risk is not closed"),
        (neutral(scores=[phq(20, 14, "moderate"), phq(1, 10, "moderate")]), "same band"),
        (neutral(scores=[phq(30, 8, "mild"), phq(1, 16, "moderately severe")]),
         "first score outside the window"),
        (neutral(scores=[phq(20, 16, "moderately severe"), phq(1, 8, "mild")]), "band down"),
        (neutral(scores=[phq(1, 16, "moderately severe")]), "a single score"),
        (neutral(cravings=[CravingRecord(day(n), r) for n, r in ((20, 3), (10, 5), (3, 4))]),
         "latest only 1 above"),
        (neutral(cravings=[CravingRecord(day(n), r) for n, r in ((20, 3), (3, 6))]),
         "a single high rating is not sustained"),
        (neutral(safety_flags=[SafetyFlag(day(14), "C-SSRS high")]), "flag older than 14 days"),
        (neutral(safety_flags=[SafetyFlag(day(-1), "C-SSRS high")]), "flag dated tomorrow"),
        (neutral(level=Tier.INPATIENT, safety_flags=[SafetyFlag(day(1), "C-SSRS high")]),
         "nowhere to step up to"),
    ],
)  # fmt: skip
def test_no_step_up(data, why):
    assert review(data).recommendation is Recommendation.NONE, why


def test_thresholds_are_configurable():
    data = neutral(screens=[ScreenRecord(day(n), True) for n in (15, 2)], weeks=weeks(MISSED))
    assert review(data).recommendation is Recommendation.NONE
    policy = ReviewPolicy(unexpected_screens=2, missed_weeks=1)
    assert review(data, policy).codes() == ("unexpected_screens", "missed_hours")


def test_several_step_up_signals_are_all_reported():
    data = stable(
        safety_flags=[SafetyFlag(day(0), "C-SSRS moderate risk")],
        weeks=weeks(MET, MET, MISSED, MISSED),
    )
    result = review(data)
    assert result.recommendation is Recommendation.REVIEW_STEP_UP
    assert result.codes() == ("safety_flag", "missed_hours")


# --- step-down --------------------------------------------------------------------------


def test_a_stable_patient_is_recommended_for_step_down():
    result = review(stable())
    assert result.recommendation is Recommendation.REVIEW_STEP_DOWN
    assert result.codes() == ("screens_negative", "hours_met", "scores_stable", "goals_met")
    assert result.missing_for_step_down == ()
    assert result.signals[0].evidence == (
        "2 screens in 28 days, none unexpected: 2026-11-10, 2026-11-24"
    )
    assert "PHQ-9 7 (mild) on 2026-11-09, 5 (mild) on 2026-11-30" in result.signals[2].evidence


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"goals_met": None}, ("goals_met",)),
        ({"goals_met": False}, ("goals_met",)),
        ({"weeks": weeks(MET, MET, MET)}, ("hours_met",)),
        ({"screens": (ScreenRecord(day(6), False),)}, ("screens_negative",)),
        ({"screens": (ScreenRecord(day(40), False), ScreenRecord(day(6), False))},
         ("screens_negative",)),
        ({"scores": (phq(0, 5, "mild"),)}, ("scores_stable",)),
        ({"scores": (), "goals_met": False}, ("scores_stable", "goals_met")),
    ],
)  # fmt: skip
def test_step_down_needs_every_signal(changes, missing):
    result = review(stable(**changes))
    assert result.recommendation is Recommendation.NONE
    assert result.missing_for_step_down == missing
    assert all(s.direction is Direction.STEP_DOWN for s in result.signals)


def test_goals_can_be_left_out_of_step_down():
    policy = ReviewPolicy(require_goals_met=False)
    result = review(stable(goals_met=None), policy)
    assert result.recommendation is Recommendation.REVIEW_STEP_DOWN
    assert "goals_met" not in result.codes()


def test_no_step_down_from_outpatient():
    assert review(stable(level=Tier.OUTPATIENT)).recommendation is Recommendation.NONE


def test_step_up_takes_precedence_over_step_down():
    # Everything says step down except one unexpected-screen streak.
    screens = (ScreenRecord(day(25), True), ScreenRecord(day(12), True), ScreenRecord(day(3), True))
    result = review(stable(screens=screens))
    assert result.recommendation is Recommendation.REVIEW_STEP_UP
    assert {s.direction for s in result.signals} == {Direction.STEP_UP}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (lambda: ReviewPolicy(unexpected_screens=0), "unexpected_screens"),
        (lambda: ReviewPolicy(missed_weeks=True), "missed_weeks"),
        (lambda: ScoreRecord("PHQ-8", TODAY, 3, "minimal"), "PHQ-8"),
        (lambda: ScoreRecord("GAD-7", TODAY, 17, "moderately severe"), "band"),
        (lambda: CravingRecord(TODAY, 11), "0–10"),
        (lambda: WeekRecord(LAST_WEEK, "lost"), "lost"),
    ],
)
def test_bad_input_is_refused(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        bad()


def test_review_all_keys_by_enrollment():
    results = review_all([(1, stable()), (2, neutral(weeks=weeks(MISSED, MISSED)))])
    assert results[1].recommendation is Recommendation.REVIEW_STEP_DOWN
    assert results[2].recommendation is Recommendation.REVIEW_STEP_UP


# --- properties -------------------------------------------------------------------------

offsets = st.integers(-3, 60)
bands = {name: list(options) for name, options in BANDS.items()}


@st.composite
def inputs(draw) -> ReviewInput:
    n_weeks = draw(st.integers(0, 8))
    statuses = draw(st.lists(st.sampled_from(list(WeekStatus)), min_size=n_weeks,
                             max_size=n_weeks))  # fmt: skip
    week_records = tuple(WeekRecord(LAST_WEEK.shift(1 - i), s) for i, s in enumerate(statuses))
    screens = draw(st.lists(st.builds(ScreenRecord, offsets.map(day), st.booleans()), max_size=8))
    scores = []
    for name in BANDS:
        for n, rank in draw(st.lists(st.tuples(offsets, st.integers(0, len(bands[name]) - 1)),
                                     max_size=5)):  # fmt: skip
            scores.append(ScoreRecord(name, day(n), rank * 5, bands[name][rank]))
    cravings = draw(st.lists(st.builds(CravingRecord, offsets.map(day), st.integers(0, 10)),
                             max_size=6))  # fmt: skip
    flags = draw(st.lists(st.builds(SafetyFlag, offsets.map(day), st.just("C-SSRS high")),
                          max_size=2))  # fmt: skip
    return ReviewInput(
        TODAY,
        draw(st.sampled_from(list(Tier))),
        week_records,
        tuple(screens),
        tuple(scores),
        tuple(cravings),
        tuple(flags),
        draw(st.sampled_from([None, True, False])),
    )


policies = st.builds(
    ReviewPolicy,
    unexpected_screens=st.integers(1, 4),
    missed_weeks=st.integers(1, 3),
    craving_rise=st.integers(1, 3),
    stable_weeks_met=st.integers(1, 4),
    stable_min_screens=st.integers(0, 3),
    require_goals_met=st.booleans(),
)


@settings(max_examples=300)
@given(inputs(), policies)
def test_never_both_directions(data, policy):
    result = review(data, policy)
    directions = {s.direction for s in result.signals}
    assert len(directions) <= 1
    if result.recommendation is Recommendation.REVIEW_STEP_UP:
        assert directions == {Direction.STEP_UP}
    if result.recommendation is Recommendation.REVIEW_STEP_DOWN:
        assert directions == {Direction.STEP_DOWN}
        assert result.missing_for_step_down == ()
    if Direction.STEP_UP in directions:
        assert result.recommendation is (
            Recommendation.NONE if data.level == Tier.INPATIENT else Recommendation.REVIEW_STEP_UP
        )


@settings(max_examples=300)
@given(inputs(), policies)
def test_evidence_names_the_data(data, policy):
    inputs_dates = (
        {w.week.monday for w in data.weeks}
        | {s.collected_on for s in data.screens}
        | {s.taken_on for s in data.scores}
        | {c.rated_on for c in data.cravings}
        | {f.flagged_on for f in data.safety_flags}
        | {TODAY}
    )
    for signal in review(data, policy).signals:
        for quoted in signal.dates:
            assert quoted.isoformat() in signal.evidence
            assert quoted in inputs_dates
            assert quoted <= TODAY


@settings(max_examples=200)
@given(inputs(), policies, st.randoms(use_true_random=False))
def test_input_order_does_not_matter(data, policy, rnd: random.Random):
    shuffled = ReviewInput(
        data.today,
        data.level,
        tuple(rnd.sample(data.weeks, len(data.weeks))),
        tuple(rnd.sample(data.screens, len(data.screens))),
        tuple(rnd.sample(data.scores, len(data.scores))),
        tuple(rnd.sample(data.cravings, len(data.cravings))),
        tuple(rnd.sample(data.safety_flags, len(data.safety_flags))),
        data.goals_met,
    )
    assert review(shuffled, policy) == review(data, policy)


@settings(max_examples=200)
@given(inputs(), policies, st.integers(0, 60))
def test_a_recent_safety_flag_always_recommends_step_up_below_inpatient(data, policy, n):
    flagged = ReviewInput(
        data.today, data.level, data.weeks, data.screens, data.scores, data.cravings,
        (*data.safety_flags, SafetyFlag(day(n % policy.safety_window_days), "PHQ-9 item 9")),
        data.goals_met,
    )  # fmt: skip
    expected = Recommendation.REVIEW_STEP_UP if data.level < Tier.INPATIENT else Recommendation.NONE
    assert review(flagged, policy).recommendation is expected


@settings(max_examples=200)
@given(inputs(), policies, offsets)
def test_one_more_unexpected_screen_never_turns_step_up_off(data, policy, n):
    before = review(data, policy)
    more = ReviewInput(
        data.today, data.level, data.weeks, (*data.screens, ScreenRecord(day(n), True)),
        data.scores, data.cravings, data.safety_flags, data.goals_met,
    )  # fmt: skip
    after = review(more, policy)
    if before.recommendation is Recommendation.REVIEW_STEP_UP:
        assert after.recommendation is Recommendation.REVIEW_STEP_UP
    if 0 <= n < policy.stable_window_days:
        assert after.recommendation is not Recommendation.REVIEW_STEP_DOWN


# --- edges found by mutation ------------------------------------------------------------


def test_a_craving_rise_must_hold_for_the_latest_ratings():
    dipped = [CravingRecord(day(n), r) for n, r in ((20, 3), (10, 3), (3, 6))]
    assert review(neutral(cravings=dipped)).recommendation is Recommendation.NONE


def test_a_band_up_older_than_the_score_window_still_blocks_step_down():
    policy = ReviewPolicy(score_window_days=7)
    data = stable(scores=(phq(21, 7, "mild"), phq(14, 12, "moderate"), gad(20, 6, "mild")))
    result = review(data, policy)
    assert result.recommendation is Recommendation.NONE
    assert result.missing_for_step_down == ("scores_stable",)


def test_a_week_not_enrolled_neither_counts_nor_breaks_the_run():
    data = neutral(weeks=weeks(MISSED, MISSED, WeekStatus.NOT_ENROLLED))
    assert review(data).codes() == ("missed_hours",)


def test_same_day_scores_give_one_answer_whatever_their_order():
    scores = [phq(20, 8, "mild"), phq(1, 16, "moderately severe"), phq(1, 4, "minimal")]
    forward = review(neutral(scores=scores))
    backward = review(neutral(scores=list(reversed(scores))))
    assert forward == backward
    assert forward.codes() == ("phq9_band_up",)
