from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.medications.catalog import MEDICATIONS, get_medication
from openiop.medications.schedule import (
    RULES,
    SUBLINGUAL_BUPRENORPHINE,
    Administration,
    DueStatus,
    FirstDoseFacts,
    InjectableOrder,
    InjectableRule,
    administration_warnings,
    current_series,
    first_dose_warnings,
    injections_due,
    injections_due_this_week,
    next_window,
    rotation_warnings,
    rule_for,
    site_warnings,
    status_on,
    sublocade_warnings,
    suggest_site,
    timing_of,
    vivitrol_warnings,
)

LAST = date(2026, 3, 2)  # a Monday
INJECTABLES = ("sublocade", "brixadi_weekly", "brixadi_monthly", "vivitrol")
DAY_ORDER = [DueStatus.NOT_YET_DUE, DueStatus.DUE, DueStatus.OVERDUE]
GIVEN_ORDER = [DueStatus.TOO_EARLY, DueStatus.DUE, DueStatus.OVERDUE]


def day(n: int) -> date:
    """``n`` days after the last injection."""
    return LAST + timedelta(days=n)


def test_it_schedules_exactly_the_catalogue_s_clinic_injectables():
    assert set(RULES) == {m.code for m in MEDICATIONS if m.injected_in_clinic}
    assert set(INJECTABLES) == set(RULES)
    assert get_medication(SUBLINGUAL_BUPRENORPHINE).injected_in_clinic is False


# --- Windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "earliest", "target", "latest"),
    [
        ("sublocade", 26, 28, 28),
        ("brixadi_weekly", 5, 7, 9),
        ("brixadi_monthly", 21, 28, 35),
        ("vivitrol", 28, 28, 28),
    ],
)
def test_it_opens_the_domain_windows(code, earliest, target, latest):
    window = next_window(code, [LAST - timedelta(days=30), LAST])
    assert window.last_given_on == LAST
    assert (window.earliest, window.target, window.latest) == (
        day(earliest),
        day(target),
        day(latest),
    )


@pytest.mark.parametrize(
    ("code", "days", "status"),
    [
        ("sublocade", 0, DueStatus.NOT_YET_DUE),
        ("sublocade", 25, DueStatus.NOT_YET_DUE),
        ("sublocade", 26, DueStatus.DUE),
        ("sublocade", 28, DueStatus.DUE),
        ("sublocade", 29, DueStatus.OVERDUE),
        ("brixadi_weekly", 4, DueStatus.NOT_YET_DUE),
        ("brixadi_weekly", 5, DueStatus.DUE),
        ("brixadi_weekly", 7, DueStatus.DUE),
        ("brixadi_weekly", 9, DueStatus.DUE),
        ("brixadi_weekly", 10, DueStatus.OVERDUE),
        ("brixadi_monthly", 20, DueStatus.NOT_YET_DUE),
        ("brixadi_monthly", 21, DueStatus.DUE),
        ("brixadi_monthly", 35, DueStatus.DUE),
        ("brixadi_monthly", 36, DueStatus.OVERDUE),
        ("vivitrol", 27, DueStatus.NOT_YET_DUE),
        ("vivitrol", 28, DueStatus.DUE),
        ("vivitrol", 29, DueStatus.OVERDUE),
    ],
)
def test_it_gives_the_status_of_each_boundary_day(code, days, status):
    assert status_on(next_window(code, [LAST]), day(days)) is status


@pytest.mark.parametrize(
    ("code", "days", "timing"),
    [
        ("sublocade", 25, DueStatus.TOO_EARLY),
        ("sublocade", 26, DueStatus.DUE),
        ("brixadi_weekly", 4, DueStatus.TOO_EARLY),
        ("brixadi_weekly", 5, DueStatus.DUE),
        ("brixadi_weekly", 9, DueStatus.DUE),
        ("brixadi_weekly", 10, DueStatus.OVERDUE),
        ("brixadi_monthly", 20, DueStatus.TOO_EARLY),
        ("brixadi_monthly", 21, DueStatus.DUE),
        ("brixadi_monthly", 35, DueStatus.DUE),
        ("brixadi_monthly", 36, DueStatus.OVERDUE),
        ("vivitrol", 27, DueStatus.TOO_EARLY),
        ("vivitrol", 28, DueStatus.DUE),
        ("vivitrol", 29, DueStatus.OVERDUE),
    ],
)
def test_it_times_an_injection_given_at_each_boundary(code, days, timing):
    assert timing_of(next_window(code, [LAST]), day(days)) is timing


def test_it_counts_calendar_days_across_a_daylight_saving_change():
    # US clocks spring forward on 2026-03-08; dates do not care.
    window = next_window("brixadi_weekly", [date(2026, 3, 6)])
    assert (window.earliest, window.target, window.latest) == (
        date(2026, 3, 11),
        date(2026, 3, 13),
        date(2026, 3, 15),
    )


def test_it_has_no_window_before_a_first_dose():
    assert next_window("sublocade", []) is None


def test_it_takes_the_latest_date_whatever_the_order():
    window = next_window("vivitrol", [LAST, LAST - timedelta(days=28), LAST - timedelta(days=56)])
    assert window.target == day(28)


def test_it_takes_each_interval_as_a_parameter():
    rules = {**RULES, "sublocade": dataclasses.replace(RULES["sublocade"], minimum_days=27)}
    window = next_window("sublocade", [LAST], rules=rules)
    assert status_on(window, day(26)) is DueStatus.NOT_YET_DUE
    assert status_on(window, day(27)) is DueStatus.DUE


@pytest.mark.parametrize(("low", "target", "high"), [(0, 7, 9), (8, 7, 9), (5, 10, 9)])
def test_it_refuses_a_rule_out_of_order(low, target, high):
    with pytest.raises(ValueError, match="minimum ≤ interval ≤ maximum"):
        InjectableRule("x", "X", low, target, high, ("thigh_left",))


@pytest.mark.parametrize("code", ["bup_nx_sl", "methadone_otp", "sertraline", "nope"])
def test_it_refuses_a_medicine_without_an_injection_schedule(code):
    with pytest.raises(ValueError, match="not an injectable"):
        next_window(code, [LAST])


# --- Series ----------------------------------------------------------------------------------


def give(code: str, n: int, site: str = "", patient_id: int = 1) -> Administration:
    return Administration(patient_id=patient_id, medication=code, given_on=day(n), site=site)


def test_it_starts_a_new_series_when_the_product_changes():
    history = [
        give("brixadi_weekly", 0),
        give("brixadi_weekly", 7),
        give("brixadi_monthly", 14),
    ]
    assert current_series("brixadi_weekly", history) == []
    assert current_series("brixadi_monthly", history) == [day(14)]


def test_it_starts_over_when_a_product_comes_back():
    history = [
        give("brixadi_weekly", 14),
        give("brixadi_monthly", 7),
        give("brixadi_weekly", 0),
    ]
    assert current_series("brixadi_weekly", history) == [day(14)]
    assert current_series("brixadi_monthly", history) == []


def test_it_keeps_a_series_through_sublingual_doses():
    history = [give("sublocade", 0), give("bup_nx_sl", 3), give("sublocade", 28)]
    assert current_series("sublocade", history) == [day(0), day(28)]


@given(
    st.lists(
        st.tuples(st.sampled_from(INJECTABLES), st.integers(min_value=0, max_value=400)),
        max_size=12,
        unique_by=lambda t: t[1],
    ),
    st.sampled_from(INJECTABLES),
)
def test_it_keeps_only_the_last_run_of_a_product(events, code):
    history = [give(c, n) for c, n in events]
    series = current_series(code, history)
    later_others = [
        a for a in history if a.medication != code and series and a.given_on > series[0]
    ]
    assert not later_others
    assert all(d in {a.given_on for a in history if a.medication == code} for d in series)
    last = max(history, key=lambda a: a.given_on, default=None)
    if last is not None and last.medication == code:
        assert series and series[-1] == last.given_on


# --- Properties of windows -------------------------------------------------------------------

codes = st.sampled_from(INJECTABLES)
offsets = st.integers(min_value=-3650, max_value=3650)


@given(codes, offsets, st.integers(min_value=0, max_value=1000))
def test_it_moves_the_window_later_after_an_injection_in_the_window(code, offset, pick):
    last = LAST + timedelta(days=offset)
    window = next_window(code, [last])
    span = (window.latest - window.earliest).days
    given_on = window.earliest + timedelta(days=pick % (span + 1))
    assert timing_of(window, given_on) is DueStatus.DUE
    following = next_window(code, [last, given_on])
    assert following.earliest > given_on
    assert following.earliest > window.earliest
    assert following.target > window.target
    assert following.latest > window.latest


@given(codes, offsets, st.integers(min_value=-60, max_value=60))
def test_it_never_walks_the_day_status_backwards(code, offset, n):
    window = next_window(code, [LAST + timedelta(days=offset)])
    today = window.last_given_on + timedelta(days=n)
    before = DAY_ORDER.index(status_on(window, today))
    after = DAY_ORDER.index(status_on(window, today + timedelta(days=1)))
    assert before <= after <= before + 1


@given(codes, st.integers(min_value=-60, max_value=60))
def test_it_never_walks_the_timing_backwards(code, n):
    window = next_window(code, [LAST])
    given_on = LAST + timedelta(days=n)
    assert GIVEN_ORDER.index(timing_of(window, given_on)) <= GIVEN_ORDER.index(
        timing_of(window, given_on + timedelta(days=1))
    )


@given(codes, st.integers(min_value=-60, max_value=60))
def test_it_agrees_with_the_rule_everywhere(code, n):
    rule = rule_for(code)
    today = day(n)
    if n < rule.minimum_days:
        expected = DueStatus.NOT_YET_DUE
    elif n <= rule.maximum_days:
        expected = DueStatus.DUE
    else:
        expected = DueStatus.OVERDUE
    assert status_on(next_window(code, [LAST]), today) is expected


# --- Recording an injection ------------------------------------------------------------------


def test_it_warns_of_a_sublocade_injection_given_too_early():
    assert administration_warnings("sublocade", given_on=day(25), previous=[LAST]) == [
        "Too early: 25 days after the last Sublocade injection (2026-03-02); Sublocade needs "
        "at least 26 days, so the earliest day is 2026-03-28."
    ]
    assert administration_warnings("sublocade", given_on=day(26), previous=[LAST]) == []


def test_it_warns_of_a_late_brixadi_weekly_injection():
    assert administration_warnings("brixadi_weekly", given_on=day(10), previous=[LAST]) == [
        "Late: 10 days after the last Brixadi weekly injection (2026-03-02); it was due by "
        "2026-03-11."
    ]


def test_it_warns_of_a_duplicate_injection():
    warnings = administration_warnings("vivitrol", given_on=LAST, previous=[LAST])
    assert warnings == ["Vivitrol is already recorded on 2026-03-02."]


def test_it_does_not_warn_about_a_first_injection():
    assert administration_warnings("vivitrol", given_on=LAST, previous=[]) == []


# --- First-dose preconditions ----------------------------------------------------------------

DOSE = date(2026, 4, 20)


def before(n: int) -> date:
    return DOSE - timedelta(days=n)


def codes_of(preconditions) -> list[str]:
    return [p.code for p in preconditions]


@pytest.mark.parametrize(
    ("use", "positive", "negative", "long_acting", "expected"),
    [
        (None, None, None, False, ["opioid_free_unknown", "no_negative_screen"]),
        (None, None, before(1), False, ["opioid_free_unknown"]),
        (before(6), None, before(1), False, ["opioid_free_too_short"]),
        (before(7), None, before(1), False, []),
        (None, before(6), before(1), False, ["opioid_free_too_short"]),
        (None, before(7), before(0), False, []),
        # The later of reported use and a positive screen counts.
        (before(20), before(5), before(1), False, ["opioid_free_too_short"]),
        (before(5), before(20), before(1), False, ["opioid_free_too_short"]),
        # 7–10: ten after methadone or buprenorphine.
        (before(9), None, before(1), True, ["opioid_free_too_short"]),
        (before(10), None, before(1), True, []),
        (before(8), None, None, False, ["no_negative_screen"]),
        (before(8), None, before(8), False, ["negative_screen_before_use"]),
        (before(30), None, before(7), False, []),
        (before(30), None, before(8), False, ["negative_screen_old"]),
    ],
)
def test_it_checks_the_opioid_free_days_before_vivitrol(
    use, positive, negative, long_acting, expected
):
    warnings = vivitrol_warnings(
        on=DOSE,
        last_opioid_use_on=use,
        last_positive_opioid_screen_on=positive,
        last_negative_opioid_screen_on=negative,
        long_acting_opioid=long_acting,
    )
    assert codes_of(warnings) == expected


def test_it_says_the_vivitrol_warnings_in_plain_words():
    unknown, too_short = (
        vivitrol_warnings(
            on=DOSE,
            last_opioid_use_on=use,
            last_positive_opioid_screen_on=None,
            last_negative_opioid_screen_on=before(0),
        )[0]
        for use in (None, before(3))
    )
    assert unknown.message == (
        "The last opioid use is not documented. Vivitrol needs 7–10 opioid-free days first; "
        "record the last use or a positive screen before the first dose."
    )
    assert too_short.message == (
        "Only 3 opioid-free days since 2026-04-17; Vivitrol needs at least 7. "
        "Risk of precipitated withdrawal."
    )


def test_it_refuses_a_screen_dated_after_the_dose():
    with pytest.raises(ValueError, match="after the dose date"):
        vivitrol_warnings(
            on=DOSE,
            last_opioid_use_on=None,
            last_positive_opioid_screen_on=None,
            last_negative_opioid_screen_on=DOSE + timedelta(days=1),
        )


@given(
    st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
)
def test_it_is_never_silent_unless_seven_opioid_free_days_are_documented(use, negative):
    warnings = vivitrol_warnings(
        on=DOSE,
        last_opioid_use_on=None if use is None else before(use),
        last_positive_opioid_screen_on=None,
        last_negative_opioid_screen_on=None if negative is None else before(negative),
    )
    documented = use is not None and use >= 7 and negative is not None and negative < use
    assert (warnings == []) == (documented and negative <= 7)
    if use is None or use < 7:
        assert warnings


@pytest.mark.parametrize(
    ("started", "ended", "expected"),
    [
        (None, None, ["no_sublingual"]),
        (-3, None, ["no_sublingual"]),  # the order starts after the dose
        (0, None, ["sublingual_too_short"]),
        (6, None, ["sublingual_too_short"]),
        (7, None, []),
        (30, None, []),
        (7, 1, []),  # ended the day before: no gap
        (7, 0, []),
        (30, 2, ["sublingual_gap"]),
        (8, 3, ["sublingual_too_short", "sublingual_gap"]),  # 6 days, then a 3-day gap
        (9, 3, ["sublingual_gap"]),  # 7 days: the end day counts
        (10, 3, ["sublingual_gap"]),
    ],
)
def test_it_checks_the_sublingual_days_before_sublocade(started, ended, expected):
    warnings = sublocade_warnings(
        on=DOSE,
        sublingual_started_on=None if started is None else before(started),
        sublingual_ended_on=None if ended is None else before(ended),
    )
    assert codes_of(warnings) == expected


def test_it_says_the_sublocade_warnings_in_plain_words():
    [none] = sublocade_warnings(on=DOSE, sublingual_started_on=None)
    [short] = sublocade_warnings(on=DOSE, sublingual_started_on=before(4))
    assert none.message == (
        "No sublingual buprenorphine order is on record. Sublocade needs at least 7 days of "
        "sublingual buprenorphine first."
    )
    assert short.message == (
        "Only 4 days of sublingual buprenorphine (from 2026-04-16); Sublocade needs at least 7."
    )


@given(st.integers(min_value=0, max_value=60))
def test_it_warns_for_sublocade_exactly_below_seven_days(days):
    warnings = sublocade_warnings(on=DOSE, sublingual_started_on=before(days))
    assert (warnings != []) == (days < 7)


def test_it_dispatches_first_dose_checks_by_product():
    facts = FirstDoseFacts()
    assert codes_of(first_dose_warnings("vivitrol", on=DOSE, facts=facts)) == [
        "opioid_free_unknown",
        "no_negative_screen",
    ]
    assert codes_of(first_dose_warnings("sublocade", on=DOSE, facts=facts)) == ["no_sublingual"]
    assert first_dose_warnings("brixadi_weekly", on=DOSE, facts=facts) == []
    ready = FirstDoseFacts(
        sublingual_started_on=before(7), last_positive_opioid_screen_on=before(9)
    )
    assert first_dose_warnings("sublocade", on=DOSE, facts=ready) == []


# --- Sites -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recent", "expected"),
    [
        ([], "gluteal_left"),
        (["gluteal_left"], "gluteal_right"),
        (["gluteal_left", "gluteal_right"], "gluteal_left"),
        (["gluteal_right", "gluteal_left", "gluteal_right"], "gluteal_left"),
    ],
)
def test_it_alternates_vivitrol_buttocks(recent, expected):
    assert suggest_site("vivitrol", recent).site == expected


def test_it_walks_the_abdominal_quadrants_for_sublocade():
    used: list[str] = []
    for _ in range(8):
        used.append(suggest_site("sublocade", used).site)
    assert (
        used
        == [
            "abdomen_upper_left",
            "abdomen_upper_right",
            "abdomen_lower_right",
            "abdomen_lower_left",
        ]
        * 2
    )


def test_it_picks_the_site_unused_for_longest():
    recent = [
        "abdomen_lower_left",
        "abdomen_upper_left",
        "abdomen_upper_right",
        "abdomen_lower_right",
    ]
    suggestion = suggest_site("sublocade", recent)
    assert suggestion.site == "abdomen_lower_left"
    assert suggestion.label == "abdomen, lower left quadrant"
    assert suggestion.warnings == ()


def test_it_warns_of_a_site_repeated_back_to_back():
    suggestion = suggest_site("vivitrol", ["gluteal_left", "gluteal_right", "gluteal_right"])
    assert suggestion.site == "gluteal_left"
    assert suggestion.warnings == (
        "Vivitrol was given in the right gluteal muscle twice in a row; rotate sites.",
    )


def test_it_warns_of_a_site_the_product_does_not_list():
    suggestion = suggest_site("vivitrol", ["thigh_left"])
    assert suggestion.site == "gluteal_left"
    assert suggestion.warnings == ("left thigh is not a listed site for Vivitrol.",)


def test_it_checks_a_site_being_recorded():
    assert site_warnings("vivitrol", "gluteal_left", previous_site="gluteal_left") == [
        "Same site as the last Vivitrol injection (left gluteal muscle); rotate sites."
    ]
    assert site_warnings("vivitrol", "gluteal_right", previous_site="gluteal_left") == []
    assert site_warnings("vivitrol", "gluteal_right", previous_site=None) == []
    assert site_warnings("brixadi_monthly", "upper_arm_left", previous_site=None) == [
        "back of the left upper arm is not a listed site for Brixadi monthly."
    ]


@given(codes, st.data())
def test_it_never_suggests_the_last_site_when_there_is_another(code, data):
    sites = RULES[code].sites
    recent = data.draw(st.lists(st.sampled_from(sites), min_size=1, max_size=10))
    suggestion = suggest_site(code, recent)
    assert suggestion.site in sites
    assert suggestion.site != recent[-1]
    repeats = sum(a == b for a, b in pairwise(recent))
    assert len(rotation_warnings(code, recent)) == repeats


@given(codes, st.integers(min_value=1, max_value=30))
def test_it_never_repeats_back_to_back_when_following_its_own_suggestions(code, n):
    used: list[str] = []
    for _ in range(n):
        used.append(suggest_site(code, used).site)
    assert rotation_warnings(code, used) == []


# --- The week's list -------------------------------------------------------------------------

# Week of Monday 2026-03-30 to Sunday 2026-04-05; LAST is Monday 2026-03-02 (day 0).
MONDAY = day(28)
SUNDAY = day(34)


def order(order_id: int, patient_id: int, code: str, started: int = -60, ended: int | None = None):
    return InjectableOrder(
        order_id=order_id,
        patient_id=patient_id,
        medication=code,
        started_on=day(started),
        ended_on=None if ended is None else day(ended),
    )


def test_it_lists_the_injections_due_this_week():
    orders = [
        order(1, 1, "vivitrol"),  # given day 0 → due day 28 (Monday)
        order(2, 2, "sublocade"),  # given day -5 → 21–23: overdue
        order(3, 3, "brixadi_weekly"),  # given day 25 → 30–34: opens Wednesday
        order(4, 4, "brixadi_monthly"),  # given day 20 → 41: not this week
        order(5, 5, "bup_nx_sl"),  # not an injectable
        order(6, 6, "sublocade", started=30),  # first dose from Wednesday
        order(7, 7, "vivitrol", ended=20),  # ended
        order(8, 8, "vivitrol", started=40),  # starts next week
    ]
    history = [
        give("vivitrol", 0, "gluteal_left", patient_id=1),
        give("vivitrol", -28, "gluteal_right", patient_id=1),
        give("sublocade", -5, "abdomen_upper_left", patient_id=2),
        give("brixadi_weekly", 25, "thigh_left", patient_id=3),
        give("brixadi_monthly", 20, patient_id=4),
        give("bup_nx_sl", 27, patient_id=5),
        give("vivitrol", 0, patient_id=7),
    ]
    items = injections_due_this_week(orders, history, today=MONDAY)
    assert [(i.order_id, i.status, i.first_dose) for i in items] == [
        (2, DueStatus.OVERDUE, False),
        (1, DueStatus.DUE, False),
        (6, DueStatus.NOT_YET_DUE, True),
        (3, DueStatus.NOT_YET_DUE, False),
    ]
    vivitrol, sublocade_first, brixadi = items[1], items[2], items[3]
    assert (vivitrol.due_from, vivitrol.target, vivitrol.latest) == (MONDAY, MONDAY, MONDAY)
    assert vivitrol.last_given_on == LAST
    assert vivitrol.last_site == "gluteal_left"
    assert (sublocade_first.due_from, sublocade_first.latest) == (day(30), None)
    assert (brixadi.due_from, brixadi.target, brixadi.latest) == (day(30), day(32), day(34))
    assert items[0].latest == day(23)


def test_it_ends_the_week_on_sunday():
    orders = [order(1, 1, "brixadi_weekly")]
    history = [give("brixadi_weekly", 29)]  # opens day 34, Sunday
    assert [i.order_id for i in injections_due_this_week(orders, history, today=MONDAY)] == [1]
    assert injections_due_this_week(orders, [give("brixadi_weekly", 30)], today=MONDAY) == []
    # On the Sunday itself the week is one day long.
    assert [i.order_id for i in injections_due_this_week(orders, history, today=SUNDAY)] == [1]


def test_it_follows_the_current_series_after_a_switch():
    orders = [order(1, 1, "brixadi_monthly", started=20)]
    history = [give("brixadi_weekly", 20), give("brixadi_monthly", 27)]
    [item] = injections_due(orders, history, today=MONDAY, through=day(60))
    assert item.last_given_on == day(27)
    assert (item.due_from, item.target, item.latest) == (day(48), day(55), day(62))
    history = [give("brixadi_monthly", 0), give("brixadi_weekly", 20)]
    [item] = injections_due(orders, history, today=MONDAY, through=SUNDAY)
    assert item.first_dose
    assert item.status is DueStatus.DUE


def test_it_refuses_a_period_that_ends_before_it_starts():
    with pytest.raises(ValueError, match="ends before it starts"):
        injections_due([], [], today=MONDAY, through=MONDAY - timedelta(days=1))


@given(
    st.lists(
        st.tuples(codes, st.integers(min_value=-80, max_value=27)),
        min_size=1,
        max_size=8,
    ),
    st.integers(min_value=0, max_value=6),
)
def test_it_lists_exactly_the_windows_open_by_sunday(events, weekday):
    today = MONDAY + timedelta(days=weekday)
    orders = [order(i, i, code) for i, (code, _) in enumerate(events)]
    history = [give(code, n, patient_id=i) for i, (code, n) in enumerate(events)]
    items = injections_due_this_week(orders, history, today=today)
    listed = {i.order_id for i in items}
    for i, (code, n) in enumerate(events):
        window = next_window(code, [day(n)])
        assert (i in listed) == (window.earliest <= SUNDAY)
    for item in items:
        window = next_window(item.medication, [item.last_given_on])
        assert item.status is status_on(window, today)
    overdue = [i.status is DueStatus.OVERDUE for i in items]
    assert overdue == sorted(overdue, reverse=True)
