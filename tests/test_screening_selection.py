from __future__ import annotations

import itertools
import json
import math
import random
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openiop.screening import selection
from openiop.screening.selection import (
    Candidate,
    Period,
    ScreeningPolicy,
    assess,
    month_end,
    screen_probability,
    select_screens,
    week_end,
)

MONDAY = date(2026, 11, 23)  # ISO week 2026-W48, all in November
NOV_30 = date(2026, 11, 30)  # a Monday; its ISO week runs into December
JUNE_1 = date(2026, 6, 1)  # a Monday and the first of the month


def weekdays(start: date, end: date) -> frozenset[date]:
    """Monday–Friday from ``start`` to ``end`` inclusive."""
    days = (start + timedelta(days=i) for i in range((end - start).days + 1))
    return frozenset(d for d in days if d.isoweekday() <= 5)


class FixedDraw(random.Random):
    """A generator whose every draw is ``value``: pins the draw to test the threshold."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def candidate(
    policy: ScreeningPolicy,
    on_site: frozenset[date],
    *,
    week: int = 0,
    month: int = 0,
    patient_id: int | str = "p-1",
) -> Candidate:
    return Candidate(patient_id, policy, on_site, screens_this_week=week, screens_this_month=month)


# --- the rule, case by case -------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "day", "on_site", "week", "month", "probability", "reason"),
    [
        (
            ScreeningPolicy(per_week=1),
            MONDAY,
            weekdays(MONDAY, MONDAY + timedelta(days=4)),
            0,
            0,
            Fraction(1, 5),
            "needs 1 more this week, 5 on-site days left → 1/5",
        ),
        (
            ScreeningPolicy(per_week=2),
            MONDAY + timedelta(days=2),
            weekdays(MONDAY + timedelta(days=2), MONDAY + timedelta(days=4)),
            0,
            0,
            Fraction(2, 3),
            "needs 2 more this week, 3 on-site days left → 2/3",
        ),
        (
            ScreeningPolicy(per_week=2),
            MONDAY + timedelta(days=3),
            weekdays(MONDAY + timedelta(days=3), MONDAY + timedelta(days=4)),
            1,
            1,
            Fraction(1, 2),
            "needs 1 more this week, 2 on-site days left → 1/2",
        ),
        # k == n: forced.
        (
            ScreeningPolicy(per_week=1),
            MONDAY + timedelta(days=4),
            frozenset({MONDAY + timedelta(days=4)}),
            0,
            0,
            Fraction(1),
            "needs 1 more this week, 1 on-site day left → certain",
        ),
        (
            ScreeningPolicy(per_week=2),
            MONDAY + timedelta(days=3),
            weekdays(MONDAY + timedelta(days=3), MONDAY + timedelta(days=4)),
            0,
            0,
            Fraction(1),
            "needs 2 more this week, 2 on-site days left → certain",
        ),
        # Minimum met, no extra chance: the classic safe window.
        (
            ScreeningPolicy(per_week=1),
            MONDAY + timedelta(days=1),
            weekdays(MONDAY + timedelta(days=1), MONDAY + timedelta(days=4)),
            1,
            1,
            Fraction(0),
            "week minimum met (1 of 1) → 0",
        ),
        (
            ScreeningPolicy(per_month=2),
            MONDAY,
            weekdays(MONDAY, MONDAY + timedelta(days=40)),
            2,
            3,
            Fraction(0),
            "month minimum met (3 of 2) → 0",
        ),
        (
            ScreeningPolicy(),
            MONDAY,
            weekdays(MONDAY, MONDAY + timedelta(days=4)),
            0,
            0,
            Fraction(0),
            "no minimum in the policy → 0",
        ),
        # Month only: the month's on-site days count, those after the month do not.
        (
            ScreeningPolicy(per_month=4),
            MONDAY,
            weekdays(MONDAY, MONDAY + timedelta(days=40)),
            0,
            1,
            Fraction(1, 2),
            "needs 3 more this month, 6 on-site days left → 1/2",
        ),
        # Week and month: the month forces the last day of November although the week is young.
        (
            ScreeningPolicy(per_week=1, per_month=1),
            NOV_30,
            weekdays(NOV_30, NOV_30 + timedelta(days=40)),
            0,
            0,
            Fraction(1),
            "needs 1 more this week, 5 on-site days left → 1/5; "
            "needs 1 more this month, 1 on-site day left → certain; the larger applies",
        ),
        # The next day the week (screened Monday) is met, and December starts from zero.
        (
            ScreeningPolicy(per_week=1, per_month=2),
            NOV_30 + timedelta(days=1),
            weekdays(NOV_30 + timedelta(days=1), NOV_30 + timedelta(days=40)),
            1,
            0,
            Fraction(2, 23),
            "week minimum met (1 of 1) → 0; "
            "needs 2 more this month, 23 on-site days left → 2/23; the larger applies",
        ),
        # The month owes as many screens as it has days left: certain, whatever the week says.
        (
            ScreeningPolicy(per_week=1, per_month=5),
            NOV_30 + timedelta(days=1),
            weekdays(NOV_30 + timedelta(days=1), NOV_30 + timedelta(days=3)),
            0,
            2,
            Fraction(1),
            "needs 1 more this week, 3 on-site days left → 1/3; "
            "needs 3 more this month, 3 on-site days left → certain; the larger applies",
        ),
        # Both periods ask the same: no "larger" to name.
        (
            ScreeningPolicy(per_week=1, per_month=1),
            MONDAY + timedelta(days=3),
            weekdays(MONDAY + timedelta(days=3), MONDAY + timedelta(days=4)) | {date(2026, 12, 1)},
            0,
            0,
            Fraction(1, 2),
            "needs 1 more this week, 2 on-site days left → 1/2; "
            "needs 1 more this month, 2 on-site days left → 1/2",
        ),
    ],
)
def test_it_follows_the_rule_case_by_case(policy, day, on_site, week, month, probability, reason):
    assessment = assess(day, candidate(policy, on_site, week=week, month=month))
    assert assessment.probability == float(probability)
    assert assessment.reason == reason


def test_it_explains_the_extra_chance():
    on_site = weekdays(MONDAY + timedelta(days=1), MONDAY + timedelta(days=4))
    met = assess(
        MONDAY + timedelta(days=1),
        candidate(ScreeningPolicy(per_week=1), on_site, week=1),
        extra_chance=0.25,
    )
    assert met.probability == 0.25
    assert met.reason == "week minimum met (1 of 1) → extra chance 25.0%"
    owed = assess(
        MONDAY + timedelta(days=1),
        candidate(ScreeningPolicy(per_week=1), on_site),
        extra_chance=0.25,
    )
    # e · P(Bin(3, e) >= 0) / P(Bin(4, e) >= 1) = 0.25 / (1 - 0.75**4)
    assert owed.probability == pytest.approx(0.25 / (1 - 0.75**4))
    assert owed.reason == "needs 1 more this week, 4 on-site days left, extra chance 25.0% → 36.6%"
    nothing = assess(MONDAY, candidate(ScreeningPolicy(), on_site | {MONDAY}), extra_chance=0.1)
    assert nothing.reason == "no minimum in the policy → extra chance 10.0%"


def test_it_forces_the_screen_whatever_the_draw():
    friday = MONDAY + timedelta(days=4)
    pool = [candidate(ScreeningPolicy(per_week=1), frozenset({friday}))]
    result = select_screens(friday, pool, rng=FixedDraw(0.9999999999))
    assert result.selected == ("p-1",)
    assert result.decisions[0].assessment.forced


def test_it_selects_nobody_whose_minimum_is_met_without_extra_chance():
    on_site = weekdays(MONDAY, MONDAY + timedelta(days=4))
    pool = [
        candidate(ScreeningPolicy(per_week=1), on_site, week=1, month=1, patient_id=1),
        candidate(ScreeningPolicy(per_week=2), on_site, week=3, month=3, patient_id=2),
        candidate(ScreeningPolicy(per_month=2), on_site, week=2, month=2, patient_id=3),
    ]
    result = select_screens(MONDAY, pool, rng=FixedDraw(0.0))
    assert result.selected == ()
    assert [d.probability for d in result.decisions] == [0.0, 0.0, 0.0]


def test_it_flags_a_minimum_that_cannot_be_met_and_screens_every_day():
    thursday = MONDAY + timedelta(days=3)
    on_site = weekdays(thursday, thursday + timedelta(days=1))
    assessment = assess(thursday, candidate(ScreeningPolicy(per_week=3), on_site))
    assert assessment.probability == 1.0
    assert assessment.shortfall
    assert assessment.week is not None and assessment.week.needed == 3
    assert assessment.reason == (
        "needs 3 more this week, 2 on-site days left → certain "
        "(shortfall: the minimum cannot be met; screen every on-site day)"
    )
    ok = assess(thursday, candidate(ScreeningPolicy(per_week=2), on_site))
    assert ok.forced and not ok.shortfall


def test_it_selects_exactly_when_the_draw_is_below_the_probability():
    on_site = weekdays(MONDAY, MONDAY + timedelta(days=4))
    pool = [candidate(ScreeningPolicy(per_week=k), on_site, patient_id=f"p-{k}") for k in range(6)]
    result = select_screens(MONDAY, pool, rng=FixedDraw(0.4))
    # probabilities 0, 1/5, 2/5, 3/5, 4/5, 1: 2/5 is not strictly above 0.4.
    assert result.selected == ("p-3", "p-4", "p-5")
    seeded = select_screens(MONDAY, pool, rng=random.Random(7))
    for decision in seeded.decisions:
        assert decision.selected == (decision.draw < decision.probability)


def test_it_uses_the_cryptographic_generator_by_default(monkeypatch):
    made = []

    class Recording(random.SystemRandom):
        def __init__(self) -> None:
            made.append(self)
            super().__init__()

    monkeypatch.setattr(selection.secrets, "SystemRandom", Recording)
    on_site = weekdays(MONDAY, MONDAY + timedelta(days=4))
    select_screens(MONDAY, [candidate(ScreeningPolicy(per_week=1), on_site)])
    assert len(made) == 1


def test_it_keeps_a_json_record_of_the_pool_and_the_reasons():
    on_site = weekdays(MONDAY, MONDAY + timedelta(days=4))
    pool = [
        candidate(ScreeningPolicy(per_week=1), frozenset({MONDAY}), patient_id=11),
        candidate(ScreeningPolicy(per_month=2), on_site, week=1, month=2, patient_id=12),
    ]
    record = select_screens(MONDAY, pool, extra_chance=0, rng=random.Random(1)).as_record()
    assert json.loads(json.dumps(record)) == record
    assert record["day"] == "2026-11-23"
    assert record["extra_chance"] == 0.0
    assert record["selected"] == [11]
    first, second = record["decisions"]
    assert set(first) == {
        "patient_id",
        "selected",
        "probability",
        "draw",
        "reason",
        "week_needed",
        "week_days_left",
        "month_needed",
        "month_days_left",
        "shortfall",
    }
    assert (first["week_needed"], first["week_days_left"], first["month_needed"]) == (1, 1, None)
    assert second["reason"] == "month minimum met (2 of 2) → 0"
    assert second["week_needed"] is None and second["month_needed"] == 0


def test_it_computes_period_ends():
    assert week_end(MONDAY) == date(2026, 11, 29)
    assert week_end(date(2026, 11, 29)) == date(2026, 11, 29)
    assert week_end(NOV_30) == date(2026, 12, 6)
    assert month_end(NOV_30) == date(2026, 11, 30)
    assert month_end(date(2028, 2, 3)) == date(2028, 2, 29)
    assert month_end(date(2026, 12, 31)) == date(2026, 12, 31)


def test_it_ignores_on_site_days_after_the_period():
    near = weekdays(MONDAY, MONDAY + timedelta(days=4))
    far = weekdays(MONDAY, MONDAY + timedelta(days=60))
    policy = ScreeningPolicy(per_week=1)
    assert assess(MONDAY, candidate(policy, near)) == assess(MONDAY, candidate(policy, far))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: assess(MONDAY, candidate(ScreeningPolicy(per_week=1), frozenset())), "not on"),
        (
            lambda: assess(
                MONDAY,
                candidate(ScreeningPolicy(per_week=1), frozenset({MONDAY - timedelta(days=1)})),
            ),
            "not on",
        ),
        (
            lambda: assess(
                MONDAY,
                candidate(ScreeningPolicy(per_week=1), frozenset({MONDAY - timedelta(1), MONDAY})),
            ),
            "must start",
        ),
        (lambda: ScreeningPolicy(per_week=-1), "negative"),
        (lambda: candidate(ScreeningPolicy(), frozenset({MONDAY}), week=-1), "negative"),
        (
            lambda: assess(
                MONDAY, candidate(ScreeningPolicy(), frozenset({MONDAY})), extra_chance=1.5
            ),
            "between 0 and 1",
        ),
        (
            lambda: select_screens(
                MONDAY, [candidate(ScreeningPolicy(), frozenset({MONDAY}))], extra_chance=-0.1
            ),
            "between 0 and 1",
        ),
        (
            lambda: select_screens(
                MONDAY,
                [
                    candidate(ScreeningPolicy(), frozenset({MONDAY}), patient_id=5),
                    candidate(ScreeningPolicy(), frozenset({MONDAY}), patient_id=5),
                ],
            ),
            "twice",
        ),
        (lambda: screen_probability(1, 0), "at least 1"),
        (lambda: screen_probability(-1, 3), "negative"),
    ],
)
def test_it_refuses_bad_input(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: ScreeningPolicy(per_week=True),
        lambda: ScreeningPolicy(per_month=1.0),
        lambda: candidate(ScreeningPolicy(), frozenset({MONDAY}), month="1"),
        lambda: screen_probability(1, 2, extra_chance=True),
        lambda: screen_probability(1.0, 2),
    ],
)
def test_it_refuses_what_is_not_a_count(build):
    with pytest.raises(TypeError):
        build()


# --- properties -------------------------------------------------------------------------

chances = st.one_of(
    st.just(0.0), st.floats(min_value=1e-12, max_value=1.0, allow_nan=False), st.just(1e-300)
)


@given(st.integers(0, 12), st.integers(1, 31), chances)
def test_it_gives_a_probability_that_keeps_the_minimum(needed, days_left, chance):
    q = screen_probability(needed, days_left, chance)
    assert 0.0 <= q <= 1.0
    assert (q == 1.0) == (needed >= days_left or chance == 1.0)
    if needed == 0 and days_left > 0:
        assert q == pytest.approx(chance)
    # Never below the classic k/n, nor below the extra chance.
    assert q >= min(1.0, needed / days_left) - 1e-12
    assert q >= min(chance, 1.0) - 1e-12
    if chance == 0:
        assert q == min(1.0, needed / days_left)


@settings(max_examples=50)
@given(st.integers(1, 10), st.integers(2, 25), chances)
def test_it_raises_the_chance_as_more_is_owed_or_fewer_days_remain(needed, days_left, chance):
    q = screen_probability(needed, days_left, chance)
    assert screen_probability(needed - 1, days_left, chance) <= q + 1e-12
    assert screen_probability(needed, days_left - 1, chance) >= q - 1e-12


@given(st.integers(1, 8), st.integers(1, 9))
def test_it_tends_to_k_over_n_as_the_extra_chance_vanishes(needed, days_left):
    classic = min(1.0, needed / days_left)
    assert screen_probability(needed, days_left, 1e-9) == pytest.approx(classic, abs=1e-6)


@settings(max_examples=60)
@given(
    st.integers(0, 7),
    st.integers(1, 7),
    st.fractions(min_value=Fraction(1, 100), max_value=1, max_denominator=100),
)
def test_it_matches_the_definition_counted_by_hand(needed, days_left, chance):
    """P(today) for iid screen days conditioned on at least ``needed``, by enumeration."""
    weight = Fraction(0)
    today = Fraction(0)
    for pattern in itertools.product((0, 1), repeat=days_left):
        if sum(pattern) < needed:
            continue
        w = chance ** sum(pattern) * (1 - chance) ** (days_left - sum(pattern))
        weight += w
        today += w * pattern[0]
    expected = today / weight if weight else Fraction(1)
    if needed > days_left:
        expected = Fraction(1)
    assert screen_probability(needed, days_left, chance) == pytest.approx(float(expected))


def simulate(
    policy: ScreeningPolicy,
    schedule: frozenset[date],
    until: date,
    *,
    patients: int,
    seed: int,
    extra_chance: float = 0.0,
) -> list[list[date]]:
    """Run ``select_screens`` on every on-site day up to ``until`` for identical patients.

    The counts start at zero on the first scheduled day, so the schedule should start on a
    Monday that is also the first of the month when the month is checked. Returns each
    patient's screen days.
    """
    rng = random.Random(seed)
    days = sorted(schedule)
    screens: list[list[date]] = [[] for _ in range(patients)]
    for index, day in enumerate(days):
        if day > until:
            break
        ahead = frozenset(days[index:])
        week, month = day.isocalendar()[:2], (day.year, day.month)
        pool = [
            Candidate(
                patient,
                policy,
                ahead,
                screens_this_week=sum(1 for s in mine if s.isocalendar()[:2] == week),
                screens_this_month=sum(1 for s in mine if (s.year, s.month) == month),
            )
            for patient, mine in enumerate(screens)
        ]
        for decision in select_screens(day, pool, extra_chance=extra_chance, rng=rng).decisions:
            if decision.selected:
                screens[decision.patient_id].append(day)
    return screens


@settings(max_examples=40, deadline=None)
@given(
    st.sets(st.integers(0, 60), max_size=61),
    st.integers(0, 3),
    st.integers(0, 8),
    st.sampled_from([0.0, 0.05, 0.3]),
    st.integers(0, 2**32),
)
def test_it_meets_every_reachable_minimum(offsets, per_week, per_month, chance, seed):
    """Any schedule, any policy: each period gets its minimum, or every on-site day if fewer."""
    schedule = frozenset(JUNE_1 + timedelta(days=o) for o in offsets)
    until = JUNE_1 + timedelta(days=34)  # Sunday 5 July: five whole ISO weeks and all of June
    policy = ScreeningPolicy(per_week=per_week, per_month=per_month)
    (mine,) = simulate(policy, schedule, until, patients=1, seed=seed, extra_chance=chance)
    assert set(mine) <= schedule
    for w in range(5):
        monday = JUNE_1 + timedelta(weeks=w)
        on_site = sum(1 for d in schedule if monday <= d <= monday + timedelta(days=6))
        done = sum(1 for d in mine if monday <= d <= monday + timedelta(days=6))
        assert done >= min(per_week, on_site)
    june_on_site = sum(1 for d in schedule if d.month == 6)
    assert sum(1 for d in mine if d.month == 6) >= min(per_month, june_on_site)
    if chance == 0 and per_month == 0:
        for w in range(5):
            monday = JUNE_1 + timedelta(weeks=w)
            on_site = sum(1 for d in schedule if monday <= d <= monday + timedelta(days=6))
            done = sum(1 for d in mine if monday <= d <= monday + timedelta(days=6))
            assert done == min(per_week, on_site)  # exact count: no screen beyond the minimum


# --- statistics over many simulated weeks -----------------------------------------------
#
# Every simulation is seeded, so each test is deterministic. The bounds are what a correct rule
# passes for all but about 1 seed in 1,000: chi-square against its 0.999 quantile, and rates
# within 4 standard errors. ``test_the_uniformity_check_catches_a_front_loaded_rule`` shows the
# same check failing a plausible wrong rule, so the bounds are not too loose to matter.

Z_999 = 3.090  # one-sided 0.999 quantile of the standard normal


def chi2_critical(df: int) -> float:
    """The 0.999 quantile of chi-square with ``df`` degrees of freedom (Wilson–Hilferty).

    Within 2 % of the exact value from 4 degrees of freedom up (18.72 for df 4 against 18.47),
    and on the lenient side, so a correct rule is not failed by the approximation.
    """
    h = 2 / (9 * df)
    return df * (1 - h + Z_999 * math.sqrt(h)) ** 3


def chi2(counts: Sequence[int]) -> float:
    """Pearson's statistic of ``counts`` against equal expected counts."""
    total = sum(counts)
    expected = total / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts)


def assert_uniform(counts: Sequence[int]) -> None:
    assert min(counts) > 0
    statistic = chi2(counts)
    assert statistic < chi2_critical(len(counts) - 1), (counts, statistic)


def assert_near(hits: int, trials: int, p: float) -> None:
    """``hits`` of ``trials`` within 4 standard errors of ``p``."""
    assert trials > 0
    tolerance = 4 * math.sqrt(p * (1 - p) / trials)
    assert abs(hits / trials - p) <= tolerance, (hits, trials, p)


WEEK = [MONDAY + timedelta(days=i) for i in range(5)]  # Monday–Friday on site
WEEK_SET = frozenset(WEEK)
SUNDAY = MONDAY + timedelta(days=6)


def next_screen_counts(weeks: list[list[date]], after: int) -> list[int]:
    """Among weeks with no screen before day ``after``, how often the next screen is each day."""
    firsts = Counter(min(w) for w in weeks if w and min(w) >= WEEK[after])
    return [firsts[d] for d in WEEK[after:]]


def test_once_a_week_meets_the_minimum_and_leaves_the_day_uniform():
    """20,000 weeks at 1/week, on site Monday–Friday.

    Every week has exactly one screen; its day is uniform; and given what the patient sees —
    no screen yet by Tuesday, Wednesday, Thursday — the next screen is uniform over the days
    left (the last case, Friday alone, is certain and needs no test).
    """
    weeks = simulate(ScreeningPolicy(per_week=1), WEEK_SET, SUNDAY, patients=20_000, seed=48)
    assert all(len(w) == 1 for w in weeks)
    for after in range(4):
        assert_uniform(next_screen_counts(weeks, after))


def test_the_uniformity_check_catches_a_front_loaded_rule():
    """The same check fails "1 in 5 every day, forced on Friday" — the power of the test."""
    rng = random.Random(48)
    weeks = []
    for _ in range(20_000):
        day = next((d for d in WEEK[:4] if rng.random() < 0.2), WEEK[4])
        weeks.append([day])
    counts = next_screen_counts(weeks, 0)
    assert chi2(counts) > 10 * chi2_critical(4)


def test_twice_a_week_picks_a_uniform_pair_of_days():
    """10,000 weeks at 2/week: exactly two screens, each of the 10 pairs of days equally likely,
    and after a Monday screen the second is uniform over Tuesday–Friday."""
    weeks = simulate(ScreeningPolicy(per_week=2), WEEK_SET, SUNDAY, patients=10_000, seed=2)
    assert all(len(w) == 2 for w in weeks)
    pairs = Counter(tuple(sorted(w)) for w in weeks)
    assert_uniform([pairs[p] for p in itertools.combinations(WEEK, 2)])
    after_monday = Counter(max(w) for w in weeks if min(w) == WEEK[0])
    assert_uniform([after_monday[d] for d in WEEK[1:]])


def test_twice_a_month_spreads_over_the_whole_month():
    """4,000 months at 2/month, on site Monday, Wednesday and Friday of June 2026 (13 days):
    exactly two screens each month, every one of the 78 pairs of days equally likely, so no day
    of the month — early or late — is safer than another."""
    june = frozenset(d for d in weekdays(JUNE_1, date(2026, 7, 31)) if d.isoweekday() in (1, 3, 5))
    months = simulate(ScreeningPolicy(per_month=2), june, date(2026, 6, 30), patients=4_000, seed=6)
    assert all(len(m) == 2 for m in months)
    june_days = sorted(d for d in june if d.month == 6)
    assert len(june_days) == 13
    pairs = Counter(tuple(sorted(m)) for m in months)
    assert_uniform([pairs[p] for p in itertools.combinations(june_days, 2)])


def test_weekly_and_monthly_minimums_hold_together():
    """1,000 patients at 1/week and 6/month, on site every weekday of June 2026 and into July:
    every ISO week (the last one straddles June and July) and June itself meet the minimum."""
    schedule = weekdays(JUNE_1, date(2026, 7, 31))
    until = date(2026, 7, 5)
    policy = ScreeningPolicy(per_week=1, per_month=6)
    patients = simulate(policy, schedule, until, patients=1_000, seed=27)
    week_counts = Counter()
    for mine in patients:
        assert sum(1 for d in mine if d.month == 6) >= 6
        weeks = Counter(d.isocalendar()[1] for d in mine)
        for iso_week in range(23, 28):
            assert weeks[iso_week] >= 1
        week_counts.update(weeks)
    # The monthly minimum exceeds what the weekly one alone gives in June (4 or 5), so some
    # weeks carry a second screen.
    assert any(week_counts[w] > 1_000 for w in range(23, 27))


def test_an_extra_chance_leaves_no_safe_window():
    """20,000 weeks at 1/week with a 20 % extra chance, on site Monday–Friday.

    Every day is a screen day independently with probability 0.2, conditioned on at least one
    a week. So: the minimum always holds; a screen on Tuesday leaves each of Wednesday–Friday a
    0.2 chance, another screen that week 1 - 0.8³ = 48.8 %; and given what the patient sees
    (screened or not so far), the days left are equally likely to be screen days.
    """
    chance = 0.2
    weeks = simulate(
        ScreeningPolicy(per_week=1),
        WEEK_SET,
        SUNDAY,
        patients=20_000,
        seed=5,
        extra_chance=chance,
    )
    assert all(len(w) >= 1 for w in weeks)
    tuesday = [set(w) for w in weeks if WEEK[1] in w]
    later = sum(1 for w in tuesday if any(d in w for d in WEEK[2:]))
    assert later > 0
    assert_near(later, len(tuesday), 1 - (1 - chance) ** 3)
    for day in WEEK[2:]:
        assert_near(sum(1 for w in tuesday if day in w), len(tuesday), chance)
    # Exchangeable: weeks with one screen put it on a uniform day, weeks with two on a uniform
    # pair, and the number of screens follows Binomial(5, 0.2) conditioned on at least one.
    sizes = Counter(len(w) for w in weeks)
    at_least_one = 1 - (1 - chance) ** 5
    assert_near(sizes[1], len(weeks), 5 * chance * (1 - chance) ** 4 / at_least_one)
    assert_uniform([sum(1 for w in weeks if w == [d]) for d in WEEK])
    pairs = Counter(tuple(w) for w in weeks if len(w) == 2)
    assert_uniform([pairs[p] for p in itertools.combinations(WEEK, 2)])
    # Not screened Monday or Tuesday: Wednesday, Thursday and Friday equally likely.
    unscreened = [set(w) for w in weeks if not {WEEK[0], WEEK[1]} & set(w)]
    assert_uniform([sum(1 for w in unscreened if d in w) for d in WEEK[2:]])


def test_without_extra_chance_the_safe_window_is_real():
    """The contrast: at 1/week and no extra chance, a Tuesday screen is the week's last."""
    weeks = simulate(ScreeningPolicy(per_week=1), WEEK_SET, SUNDAY, patients=2_000, seed=9)
    tuesday = [w for w in weeks if WEEK[1] in w]
    assert tuesday
    assert all(w == [WEEK[1]] for w in tuesday)


def test_it_draws_each_patient_independently_of_the_pool():
    """A patient's probability and outcome do not depend on who else is in the pool."""
    on_site = weekdays(MONDAY, MONDAY + timedelta(days=4))
    alone = [candidate(ScreeningPolicy(per_week=1), on_site, patient_id="a")]
    crowd = [
        *alone,
        *(candidate(ScreeningPolicy(per_week=2), on_site, patient_id=i) for i in range(50)),
    ]
    first = select_screens(MONDAY, alone, rng=random.Random(3)).decisions[0]
    second = select_screens(MONDAY, crowd, rng=random.Random(3)).decisions[0]
    assert first == second
    assert first.assessment.week is not None
    assert first.assessment.week.period is Period.WEEK
