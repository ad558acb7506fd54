from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openiop.measures.placement import (
    DEFAULT_RULES,
    LEVEL_CODES,
    Answer,
    Assessment,
    Condition,
    ConditionKind,
    ContraIndication,
    DimensionRating,
    PlacementError,
    Rule,
    Tier,
    indicate,
    record_decision,
    rules_from_json,
    rules_to_json,
)

YES, NO, UNKNOWN = Answer.YES, Answer.NO, Answer.UNKNOWN
ALL_YES = (YES,) * 6


def assess(ratings, criteria=ALL_YES, contra=(), edition=3) -> Assessment:
    return Assessment(edition, tuple(ratings), tuple(criteria), frozenset(contra))


# --- the default table, case by case ----------------------------------------------------


@pytest.mark.parametrize(
    ("edition", "ratings", "criteria", "contra", "level", "deciding"),
    [
        (3, (0, 0, 0, 0, 0, 0), (YES, YES, YES, YES, NO, NO), (), "1", ()),
        (4, (0, 0, 0, 0, 0, 0), (YES, YES, YES, YES, NO, NO), (), "1.5", ()),
        (3, (1, 1, 1, 1, 1, 1), (YES, YES, YES, YES, NO, NO), (), "1", ()),
        (3, (0, 0, 0, 2, 0, 0), (YES, YES, YES, YES, NO, NO), (), "2.1", ("any-moderate",)),
        (3, (0, 0, 0, 0, 0, 0), (YES, YES, YES, YES, YES, NO), (), "2.1", ("relapse-signs",)),
        (3, (0, 0, 3, 1, 1, 1), ALL_YES, (), "2.5", ("psychiatric-significant",)),
        (3, (0, 0, 0, 3, 3, 0), ALL_YES, (), "2.5", ("several-significant",)),
        (3, (3, 0, 0, 0, 0, 0), ALL_YES, (), "3.x", ("withdrawal-first",)),
        (3, (0, 0, 3, 0, 0, 3), ALL_YES, (), "3.x", ("psychiatric-and-environment",)),
        # In the 4th edition the recovery environment is D5, not D6.
        (4, (0, 0, 3, 0, 0, 3), ALL_YES, (), "2.5", ("psychiatric-significant",
                                                      "several-significant")),
        (4, (0, 0, 3, 0, 3, 0), ALL_YES, (), "3.x", ("psychiatric-and-environment-4th",)),
        (3, (0, 0, 0, 0, 0, 4), ALL_YES, (), "3.x", ("any-severe",)),
        (3, (4, 0, 0, 0, 0, 0), ALL_YES, (), "4", ("withdrawal-severe",)),
        (3, (0, 0, 4, 0, 0, 0), ALL_YES, (), "4", ("psychiatric-severe",)),
        (3, (0, 0, 0, 0, 0, 0), (YES, YES, NO, YES, YES, YES), (), "3.x",
         ("not-stable-at-home",)),
        (3, (0, 0, 0, 0, 0, 0), (NO, YES, YES, YES, YES, YES), (), "3.x", ("detox-not-done",)),
        (3, (0, 0, 0, 0, 0, 0), (YES, NO, YES, YES, YES, YES), (), "3.x", ("needs-24-7",)),
        (3, (1, 1, 1, 1, 1, 1), ALL_YES, (ContraIndication.IMMINENT_DANGER,), "4",
         ("imminent-danger",)),
        (3, (1, 1, 1, 1, 1, 1), ALL_YES, (ContraIndication.FAILED_IOP,), "2.5",
         ("failed-iop",)),
        (4, (1, 1, 1, 1, 1, 1), ALL_YES, (ContraIndication.UNSAFE_HOME,), "3.x",
         ("unsafe-home",)),
        # Unknown criteria fire nothing.
        (3, (0, 0, 0, 0, 0, 0), (UNKNOWN,) * 6, (), "1", ()),
    ],
)  # fmt: skip
def test_default_table(edition, ratings, criteria, contra, level, deciding):
    result = indicate(assess(ratings, criteria, contra, edition))
    assert result.level == level
    assert result.deciding == deciding
    assert result.referral == (result.tier >= Tier.RESIDENTIAL)


def test_fired_rules_carry_their_evidence():
    result = indicate(assess((1, 2, 3, 0, 1, 3)))
    fired = {f.rule_id: f for f in result.fired}
    assert fired["psychiatric-and-environment"].evidence == (
        "D3 rated 3 (≥ 3)",
        "D6 rated 3 (≥ 3)",
    )
    assert fired["several-significant"].evidence == ("2 dimension(s) rated ≥ 3: D3=3, D6=3",)
    assert "any-severe" not in fired
    assert result.deciding == ("psychiatric-and-environment",)


def test_unknown_criteria_are_listed():
    result = indicate(assess((0,) * 6, (YES, UNKNOWN, YES, UNKNOWN, NO, NO)))
    assert result.unknown_criteria == (2, 4)
    assert any("2, 4" in note for note in result.notes)


def test_a_single_severe_rating_is_not_diluted_by_zeros():
    # Averaged, (4,0,0,0,0,0) would be 0.67 — outpatient. The table refers to a 24-hour level.
    assert indicate(assess((0, 0, 0, 0, 4, 0))).tier == Tier.RESIDENTIAL


def test_rules_skip_other_editions():
    only_fourth = Rule("x", "D1 ≥ 1 in the 4th edition", (_dim(1, 1),), Tier.PHP, frozenset({4}))
    assert indicate(assess((1, 0, 0, 0, 0, 0), edition=3), [only_fourth]).tier == Tier.OUTPATIENT
    assert indicate(assess((1, 0, 0, 0, 0, 0), edition=4), [only_fourth]).tier == Tier.PHP


def test_base_level_applies_when_nothing_fires():
    result = indicate(assess((0,) * 6), [], base=Tier.IOP)
    assert (result.level, result.fired) == ("2.1", ())


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Assessment(5, (0,) * 6), "edition"),
        (lambda: Assessment(True, (0,) * 6), "edition"),
        (lambda: Assessment(3, (0,) * 5), "6 dimensions"),
        (lambda: Assessment(3, (0, 0, 5, 0, 0, 0)), "D3"),
        (lambda: Assessment(3, (0, 0, -1, 0, 0, 0)), "D3"),
        (lambda: Assessment(3, (0, 0, 0, 0, 0, 2.5)), "D6"),
        (lambda: Assessment(3, (0,) * 6, ("yes",) * 5), "6 answers"),
        (lambda: Assessment(3, (0,) * 6, ("yes", "maybe", "yes", "yes", "yes", "yes")),
         "criterion 2"),
        (lambda: Assessment(3, (0,) * 6, contraindications=frozenset({"tired"})), "tired"),
    ],
)  # fmt: skip
def test_bad_assessments_are_refused(build, message):
    with pytest.raises(PlacementError, match=message):
        build()


def test_ratings_keep_their_rationale():
    a = Assessment(3, (DimensionRating(2, "shaky hands"), 0, 0, 0, 0, 0))
    assert a.ratings[0] == DimensionRating(2, "shaky hands")
    assert a.rating(1) == 2


# --- the rule table as data -------------------------------------------------------------


def _dim(dimension: int, at_least: int) -> Condition:
    return Condition(ConditionKind.DIMENSION, dimension=dimension, at_least=at_least)


def test_default_table_round_trips_through_json():
    text = rules_to_json(DEFAULT_RULES)
    assert rules_from_json(text) == DEFAULT_RULES
    first = json.loads(text)[0]
    assert first == {
        "id": "any-severe",
        "description": "Any dimension rated severe: refer to a 24-hour level.",
        "conditions": [{"kind": "dimensions", "count": 1, "at_least": 4}],
        "level": "residential",
        "editions": [3, 4],
    }


def test_an_edited_table_is_used():
    text = json.dumps(
        [
            {
                "id": "strict",
                "description": "Moderate psychiatric risk needs PHP here.",
                "conditions": [{"kind": "dimension", "dimension": 3, "at_least": 2}],
                "level": "php",
            }
        ]
    )
    result = indicate(assess((0, 0, 2, 0, 0, 0)), rules_from_json(text))
    assert (result.level, result.deciding) == ("2.5", ("strict",))


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("{", "not valid JSON"),
        ("{}", "list of rules"),
        ('[{"id": "a", "description": "d", "level": "iop"}]', "conditions is required"),
        ('[{"id": "a", "description": "d", "conditions": [], "level": "iop"}]',
         "at least one condition"),
        ('[{"id": "a", "description": " ", "conditions": [{"kind": "dimension", "dimension": 1,'
         ' "at_least": 2}], "level": "iop"}]', "description is required"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "dimension", "dimension": 7,'
         ' "at_least": 2}], "level": "iop"}]', "rule a: dimension 7"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "dimension", "dimension": 1,'
         ' "at_least": 0}], "level": "iop"}]', "at_least 0"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "dimension", "dimension": 1}],'
         ' "level": "iop"}]', "needs at_least"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "dimension", "dimension": 1,'
         ' "at_least": 2, "count": 2}], "level": "iop"}]', "takes no count"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "average", "at_least": 2}],'
         ' "level": "iop"}]', "average"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "criterion", "criterion": 3,'
         ' "answer": "perhaps"}], "level": "iop"}]', "perhaps"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "contraindication",'
         ' "code": "x"}], "level": "iop"}]', "'x'"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "dimensions", "count": 1,'
         ' "at_least": 2}], "level": "hospital"}]', "hospital"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "dimensions", "count": 1,'
         ' "at_least": 2}], "level": "iop", "editions": [5]}]', "edition 5"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "dimensions", "count": 1,'
         ' "at_least": 2}], "level": "iop", "weight": 2}]', "weight"),
        ('[{"id": "a", "description": "d", "conditions": [{"kind": "dimensions", "count": 1,'
         ' "at_least": 2}], "level": "iop"}, {"id": "a", "description": "e", "conditions":'
         ' [{"kind": "dimensions", "count": 1, "at_least": 3}], "level": "php"}]', "twice"),
    ],
)  # fmt: skip
def test_bad_rule_tables_are_refused(rules, message):
    with pytest.raises(PlacementError, match=message):
        rules_from_json(rules)


# --- the clinician's decision -----------------------------------------------------------


def test_provided_level_matching_needs_no_reason():
    indication = indicate(assess((0, 0, 0, 2, 0, 0)))
    decision = record_decision(indication, "2.1")
    assert (decision.indicated, decision.provided, decision.differs) == ("2.1", "2.1", False)


def test_a_residential_code_matches_an_indicated_3x():
    indication = indicate(assess((3, 0, 0, 0, 0, 0)))
    assert not record_decision(indication, "3.7").differs


def test_override_requires_a_reason():
    indication = indicate(assess((0, 0, 3, 0, 0, 0)))  # PHP indicated
    with pytest.raises(PlacementError, match="reason is required"):
        record_decision(indication, "2.1", "   ")
    decision = record_decision(indication, "2.1", " No PHP within 50 miles. ")
    assert decision.differs
    assert decision.reason == "No PHP within 50 miles."


@pytest.mark.parametrize(("edition", "code"), [(3, "1.5"), (4, "1"), (3, "2.7"), (3, "9")])
def test_provided_level_must_exist_in_the_edition(edition, code):
    indication = indicate(assess((0,) * 6, edition=edition))
    with pytest.raises(PlacementError, match="not a level"):
        record_decision(indication, code, "why")


# --- properties -------------------------------------------------------------------------

ratings_st = st.tuples(*[st.integers(0, 4)] * 6)
answers_st = st.tuples(*[st.sampled_from(list(Answer))] * 6)
contra_st = st.frozensets(st.sampled_from(list(ContraIndication)))
editions_st = st.sampled_from([3, 4])

condition_st = st.one_of(
    st.builds(
        Condition,
        kind=st.just(ConditionKind.DIMENSION),
        dimension=st.integers(1, 6),
        at_least=st.integers(1, 4),
    ),
    st.builds(
        Condition,
        kind=st.just(ConditionKind.DIMENSIONS),
        count=st.integers(1, 6),
        at_least=st.integers(1, 4),
    ),
    st.builds(
        Condition,
        kind=st.just(ConditionKind.CRITERION),
        criterion=st.integers(1, 6),
        answer=st.sampled_from(list(Answer)),
    ),
    st.builds(
        Condition,
        kind=st.just(ConditionKind.CONTRAINDICATION),
        code=st.sampled_from(list(ContraIndication)),
    ),
)


@st.composite
def tables(draw) -> tuple[Rule, ...]:
    n = draw(st.integers(0, 8))
    return tuple(
        Rule(
            f"r{i}",
            f"generated rule {i}",
            tuple(draw(st.lists(condition_st, min_size=1, max_size=3))),
            draw(st.sampled_from(list(Tier))),
            draw(st.sampled_from([frozenset({3}), frozenset({4}), frozenset({3, 4})])),
        )
        for i in range(n)
    )


@settings(max_examples=200)
@given(
    tables() | st.just(DEFAULT_RULES),
    editions_st,
    ratings_st,
    answers_st,
    contra_st,
    st.integers(0, 5),
    st.integers(1, 4),
)
def test_raising_a_rating_never_lowers_the_level(
    rules, edition, ratings, answers, contra, which, step
):
    before = indicate(assess(ratings, answers, contra, edition), rules)
    raised = list(ratings)
    raised[which] = min(4, raised[which] + step)
    after = indicate(assess(raised, answers, contra, edition), rules)
    assert after.tier >= before.tier


@settings(max_examples=200)
@given(editions_st, ratings_st, answers_st, contra_st, st.integers(0, 5))
def test_a_single_severe_rating_decides_whatever_the_others(
    edition, ratings, answers, contra, which
):
    severe = list(ratings)
    severe[which] = 4
    result = indicate(assess(severe, answers, contra, edition))
    assert result.tier >= Tier.RESIDENTIAL
    assert result.referral


@settings(max_examples=200)
@given(tables() | st.just(DEFAULT_RULES), editions_st, ratings_st, answers_st, contra_st)
def test_the_level_is_the_highest_fired_floor(rules, edition, ratings, answers, contra):
    a = assess(ratings, answers, contra, edition)
    result = indicate(a, rules)
    assert result.tier == max([Tier.OUTPATIENT, *(f.level for f in result.fired)])
    assert result.deciding == tuple(f.rule_id for f in result.fired if f.level == result.tier)
    assert result.level in LEVEL_CODES[edition]
    # Every fired rule applies to the edition and names one line of evidence per condition.
    by_id = {r.id: r for r in rules}
    for fired in result.fired:
        assert edition in by_id[fired.rule_id].editions
        assert len(fired.evidence) == len(by_id[fired.rule_id].conditions)


@settings(max_examples=100)
@given(ratings_st, answers_st, contra_st)
def test_permuting_the_other_ratings_keeps_the_single_dimension_rules(ratings, answers, contra):
    # "Any N dimensions" rules depend on the multiset of ratings, not an average: a table made
    # only of such rules gives the same level for any order of the ratings.
    rules = [r for r in DEFAULT_RULES if all(c.kind is ConditionKind.DIMENSIONS
                                             for c in r.conditions)]  # fmt: skip
    forward = indicate(assess(ratings, answers, contra), rules)
    backward = indicate(assess(tuple(reversed(ratings)), answers, contra), rules)
    assert forward.tier == backward.tier


@settings(max_examples=100)
@given(tables())
def test_any_valid_table_round_trips(rules):
    assert rules_from_json(rules_to_json(rules)) == rules
