"""record_placement, record_level_decision, the rule table's versions and placements_due."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from openiop.audit.models import AuditEvent
from openiop.measures.models import PlacementAssessment, PlacementRuleTable, ProgramMeasureSettings
from openiop.measures.placement import DEFAULT_RULES, rules_to_json
from openiop.measures.services_placement import (
    PlacementConflict,
    current_rules,
    placements_due,
    record_level_decision,
    record_placement,
    save_rule_table,
)
from openiop.programs.models import EnrollmentStatus
from tests.factories_patients import make_patient
from tests.factories_placement import criteria, enrolled, make_placement, ratings
from tests.factories_programs import make_program

NOW = "2026-03-02 14:00:00+00:00"
TODAY = date(2026, 3, 2)

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def enrollment(site):
    return enrolled(site)


def _record(enrollment, by, values, **kwargs):
    return make_placement(enrollment.patient, by, values, **kwargs)


# --- the indication ------------------------------------------------------------------------


def test_it_stores_the_indication_with_its_evidence_and_context(enrollment, tom):
    placement = _record(enrollment, tom, (0, 0, 3, 1, 1, 0), criteria=criteria(c1="yes"))
    placement.refresh_from_db()
    assert placement.indicated_level == "2.5"
    assert placement.indicated_tier == "php"
    assert placement.deciding_rules == ["psychiatric-significant"]
    fired = {row["rule_id"]: row for row in placement.fired_rules}
    assert set(fired) == {"psychiatric-significant", "any-moderate"}
    assert fired["psychiatric-significant"]["evidence"] == ["D3 rated 3 (≥ 3)"]
    assert fired["psychiatric-significant"]["level"] == "php"
    assert fired["psychiatric-significant"]["dimensions"] == [3]
    assert placement.enrollment == enrollment
    assert placement.episode_id == enrollment.episode_id
    assert placement.program_id == enrollment.program_id
    assert placement.rule_table is None
    assert placement.kind == "intake"
    assert placement.assessed_on == TODAY
    assert placement.ratings["3"] == {"rating": 3, "rationale": "Observed at the interview."}
    assert placement.criteria["1"] == {"answer": "yes", "note": ""}
    assert placement.criteria["2"] == {"answer": "unknown", "note": ""}
    assert placement.provided_level == ""
    event = AuditEvent.objects.get(object_type="placement_assessment", action="create")
    assert event.patient_id == enrollment.patient_id
    assert "indicated 2.5" in event.detail


def test_the_highest_risk_dimension_drives_the_level(enrollment, tom):
    placement = _record(enrollment, tom, (0, 0, 0, 0, 0, 4))
    assert placement.indicated_level == "3.x"
    assert placement.deciding_rules == ["any-severe"]


@pytest.mark.parametrize(
    ("low", "high", "low_level", "high_level"),
    [
        ((2, 2, 2, 2, 2, 2), (0, 0, 4, 0, 4, 4), "2.1", "4"),
        ((1, 1, 1, 1, 1, 1), (0, 0, 0, 0, 3, 3), "1", "2.5"),
    ],
)
def test_it_never_averages_the_same_mean_gives_different_levels(
    site, tom, low, high, low_level, high_level
):
    assert sum(low) == sum(high)
    first = _record(enrolled(site, last_name="Evenfake"), tom, low)
    second = _record(enrolled(site, last_name="Peakfake"), tom, high)
    assert first.indicated_level == low_level
    assert second.indicated_level == high_level


def test_a_second_assessment_of_the_episode_is_a_reassessment(enrollment, tom):
    _record(enrollment, tom, (0, 0, 0, 0, 0, 0))
    assert _record(enrollment, tom, (0, 0, 0, 0, 0, 0)).kind == "reassessment"


def test_without_enrollment_the_sites_iop_program_applies(site, dana, tom):
    make_program(site, "2.5", name="Day PHP")
    iop = make_program(site, name="Evening IOP")
    save_rule_table(
        program=iop,
        rules_json_or_list=[
            {
                "id": "strict",
                "description": "Any mild rating: IOP.",
                "conditions": [{"kind": "dimensions", "count": 1, "at_least": 1}],
                "level": "iop",
            }
        ],
        note="",
        by=dana,
        expected_version=0,
    )
    patient = make_patient(site, first_name="Noel", last_name="Unenrolled")
    placement = make_placement(patient, tom, (1, 0, 0, 0, 0, 0))
    assert placement.program == iop
    assert placement.enrollment is None
    assert placement.rule_table.version == 1
    assert placement.indicated_level == "2.1"
    assert placement.deciding_rules == ["strict"]


def test_without_any_program_the_defaults_apply(site, tom):
    patient = make_patient(site, first_name="Noel", last_name="Noprogram")
    placement = make_placement(patient, tom, (1, 0, 0, 0, 0, 0))
    assert placement.program is None
    assert placement.rule_table is None
    assert placement.indicated_level == "1"
    assert placement.notes[0] == "No rule fired: the base level applies."


# --- bad input -----------------------------------------------------------------------------


def _errors(enrollment, tom, **overrides):
    kwargs = {
        "patient": enrollment.patient,
        "kind": "intake",
        "edition": 3,
        "criteria": criteria(),
        "ratings": ratings(0, 0, 0, 0, 0, 0),
        "by": tom,
    }
    kwargs.update(overrides)
    with pytest.raises(ValidationError) as caught:
        record_placement(**kwargs)
    assert not PlacementAssessment.objects.exists()
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"ratings": {**ratings(0, 0, 0, 0, 0, 0), 3: (5, "x")}}, "ratings.3", "outside"),
        ({"ratings": {**ratings(0, 0, 0, 0, 0, 0), 3: (-1, "x")}}, "ratings.3", "outside"),
        ({"ratings": {**ratings(0, 0, 0, 0, 0, 0), 2: ("2", "x")}}, "ratings.2", "whole"),
        ({"ratings": {**ratings(0, 0, 0, 0, 0, 0), 2: (True, "x")}}, "ratings.2", "whole"),
        ({"ratings": {**ratings(0, 0, 0, 0, 0, 0), 4: (2, "  ")}}, "ratings.4", "rationale"),
        ({"ratings": {**ratings(0, 0, 0, 0, 0, 0), 7: (1, "")}}, "ratings.7", "no dimension"),
        ({"ratings": {1: (0, "")}}, "ratings.2", "Rate dimension 2"),
        ({"criteria": {9: ("yes", "")}}, "criteria.9", "no criterion"),
        ({"criteria": {2: ("maybe", "")}}, "criteria.2", "yes, no or unknown"),
        ({"edition": 5}, "edition", "3 (2013) or 4"),
        ({"edition": "3"}, "edition", "3 (2013) or 4"),
        ({"kind": "weekly"}, "kind", "intake or reassessment"),
        ({"contraindications": ["bored"]}, "contraindications", "Unknown"),
        ({"assessed_on": TODAY + timedelta(days=1)}, "assessed_on", "future"),
        ({"assessed_on": date(1989, 12, 31)}, "assessed_on", "before the patient was born"),
        ({"provided_level": "9"}, "provided_level", "not a level of the 3rd edition"),
        ({"provided_level": "2.5"}, "reason", "required"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(enrollment, tom, overrides, field, words):
    errors = _errors(enrollment, tom, **overrides)
    assert field in errors, errors
    assert words in " ".join(errors[field])


# --- the decision --------------------------------------------------------------------------


def test_the_decision_in_the_same_call(enrollment, tom):
    placement = _record(enrollment, tom, (0, 0, 0, 2, 0, 0), provided_level="2.1")
    placement.refresh_from_db()
    assert (placement.indicated_level, placement.provided_level) == ("2.1", "2.1")
    assert placement.decided_by == tom
    assert placement.decided_at is not None


def test_a_clinician_override_is_recorded_with_its_reason(enrollment, tom):
    placement = _record(enrollment, tom, (0, 0, 0, 2, 0, 0))
    decided = record_level_decision(
        assessment=placement,
        provided_level="2.5",
        reason="Lives alone, no transport on most days; PHP van service available.",
        by=tom,
        expected_version=1,
    )
    decided.refresh_from_db()
    assert decided.indicated_level == "2.1"
    assert decided.provided_level == "2.5"
    assert decided.provided_reason.startswith("Lives alone")
    assert decided.version == 2
    event = AuditEvent.objects.get(object_type="placement_assessment", action="update")
    assert "provided 2.5, indicated 2.1" in event.detail
    assert "Lives alone" in event.detail


def test_a_different_level_needs_a_reason(enrollment, tom):
    placement = _record(enrollment, tom, (0, 0, 0, 2, 0, 0))
    with pytest.raises(ValidationError) as caught:
        record_level_decision(
            assessment=placement, provided_level="1", reason=" ", by=tom, expected_version=1
        )
    assert "reason" in caught.value.message_dict
    placement.refresh_from_db()
    assert placement.provided_level == ""


def test_a_residential_code_matches_an_indicated_3x_without_reason(enrollment, tom):
    placement = _record(enrollment, tom, (3, 0, 0, 0, 0, 0))
    assert placement.indicated_level == "3.x"
    decided = record_level_decision(
        assessment=placement, provided_level="3.7", reason="", by=tom, expected_version=1
    )
    assert decided.provided_level == "3.7"


def test_the_decision_is_made_once(enrollment, tom, dana):
    placement = _record(enrollment, tom, (0, 0, 0, 2, 0, 0))
    record_level_decision(
        assessment=placement, provided_level="2.1", reason="", by=tom, expected_version=1
    )
    with pytest.raises(PlacementConflict, match="already recorded"):
        record_level_decision(
            assessment=placement, provided_level="2.5", reason="later", by=dana, expected_version=2
        )
    placement.refresh_from_db()
    assert (placement.provided_level, placement.decided_by) == ("2.1", tom)


def test_a_stale_version_is_a_conflict(enrollment, tom):
    placement = _record(enrollment, tom, (0, 0, 0, 2, 0, 0))
    with pytest.raises(PlacementConflict, match="changed since"):
        record_level_decision(
            assessment=placement, provided_level="2.1", reason="", by=tom, expected_version=7
        )


def test_the_database_refuses_changing_a_decided_placement(enrollment, tom):
    placement = _record(enrollment, tom, (0, 0, 0, 2, 0, 0), provided_level="2.1")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        PlacementAssessment.objects.filter(pk=placement.pk).update(provided_level="4")
    with pytest.raises(DatabaseError), transaction.atomic():
        PlacementAssessment.objects.filter(pk=placement.pk).delete()
    placement.refresh_from_db()
    assert placement.provided_level == "2.1"


# --- the rule table ------------------------------------------------------------------------


def _strict_table():
    rules = [r.as_dict() for r in DEFAULT_RULES]
    rules.append(
        {
            "id": "any-mild",
            "description": "Any mild rating: IOP at least.",
            "conditions": [{"kind": "dimensions", "count": 1, "at_least": 1}],
            "level": "iop",
        }
    )
    return rules


def test_an_edited_table_changes_the_indication_and_old_ones_keep_their_version(
    enrollment, tom, dana
):
    before = _record(enrollment, tom, (0, 1, 0, 0, 0, 0))
    assert before.indicated_level == "1"
    table = save_rule_table(
        program=enrollment.program,
        rules_json_or_list=_strict_table(),
        note="Stricter after the audit",
        by=dana,
        expected_version=0,
    )
    after = _record(enrollment, tom, (0, 1, 0, 0, 0, 0))
    assert after.indicated_level == "2.1"
    assert after.deciding_rules == ["any-mild"]
    assert after.rule_table == table
    before.refresh_from_db()
    assert before.indicated_level == "1"
    assert before.rule_table is None
    second = save_rule_table(
        program=enrollment.program,
        rules_json_or_list=rules_to_json(DEFAULT_RULES),
        note="Back",
        by=dana,
        expected_version=1,
    )
    assert second.version == 2
    after.refresh_from_db()
    assert after.rule_table.version == 1
    assert current_rules(enrollment.program) == (second, DEFAULT_RULES)
    assert PlacementRuleTable.objects.filter(program=enrollment.program).count() == 2
    event = AuditEvent.objects.filter(object_type="placement_rule_table").latest("pk")
    assert "version 2" in event.detail


def test_a_stale_table_version_is_a_conflict(enrollment, dana):
    save_rule_table(
        program=enrollment.program,
        rules_json_or_list=_strict_table(),
        note="",
        by=dana,
        expected_version=0,
    )
    with pytest.raises(PlacementConflict, match="now version 1"):
        save_rule_table(
            program=enrollment.program,
            rules_json_or_list=_strict_table(),
            note="",
            by=dana,
            expected_version=0,
        )
    assert PlacementRuleTable.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[", "not valid JSON"),
        ("{}", "must be a list"),
        ("[]", "at least one rule"),
        (
            '[{"id": "ok", "description": "d", "level": "iop",'
            ' "conditions": [{"kind": "dimension", "dimension": 1, "at_least": 2}]},'
            ' {"id": "bad", "description": "d", "level": "iop",'
            ' "conditions": [{"kind": "criterion", "criterion": 2, "answer": "maybe"}]}]',
            "rule #2: rule bad: answer 'maybe' is not yes, no or unknown",
        ),
        ('[{"id": "x", "description": "d", "conditions": [], "level": "iop"}]', "rule x"),
        (
            '[{"id": "x", "description": "d", "level": "spa",'
            ' "conditions": [{"kind": "dimension", "dimension": 1, "at_least": 2}]}]',
            "'spa'",
        ),
        (
            '[{"id": "x", "description": "d", "level": "iop",'
            ' "conditions": [{"kind": "dimension", "dimension": 8, "at_least": 2}]}]',
            "dimension 8 is outside 1–6",
        ),
    ],
)
def test_a_bad_table_names_the_rule_and_field(enrollment, dana, text, words):
    with pytest.raises(ValidationError) as caught:
        save_rule_table(
            program=enrollment.program,
            rules_json_or_list=text,
            note="",
            by=dana,
            expected_version=0,
        )
    assert words in " ".join(caught.value.message_dict["rules"])
    assert not PlacementRuleTable.objects.exists()


def test_a_bad_rule_in_a_list_names_its_position(enrollment, dana):
    rules = [*_strict_table(), {"id": "broken", "description": "d", "level": "iop"}]
    with pytest.raises(ValidationError) as caught:
        save_rule_table(
            program=enrollment.program,
            rules_json_or_list=rules,
            note="",
            by=dana,
            expected_version=0,
        )
    assert caught.value.message_dict["rules"] == [
        f"rule #{len(rules)}: rule broken: conditions is required"
    ]


def test_the_database_keeps_table_versions_append_only(enrollment, dana):
    table = save_rule_table(
        program=enrollment.program,
        rules_json_or_list=_strict_table(),
        note="",
        by=dana,
        expected_version=0,
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        PlacementRuleTable.objects.filter(pk=table.pk).update(note="rewritten")


# --- due -----------------------------------------------------------------------------------


def test_placements_due(site, tom, django_assert_num_queries):
    never = enrolled(site, last_name="Neverfake", admitted_on=date(2026, 2, 20))
    fresh = enrolled(site, last_name="Freshfake")
    old = enrolled(site, last_name="Oldfake")
    custom = enrolled(site, last_name="Customfake", program=make_program(site, name="Short IOP"))
    ProgramMeasureSettings.objects.create(program=custom.program, placement_review_days=7)
    enrolled(site, last_name="Gonefake", status=EnrollmentStatus.DISCHARGED)
    make_placement(fresh.patient, tom, assessed_on=TODAY - timedelta(days=10))
    make_placement(old.patient, tom, assessed_on=TODAY - timedelta(days=45))
    newest_old = make_placement(old.patient, tom, assessed_on=TODAY - timedelta(days=30))
    make_placement(custom.patient, tom, assessed_on=TODAY - timedelta(days=8))
    with django_assert_num_queries(3):
        due = placements_due(site, TODAY)
    rows = {row.patient.last_name: row for row in due}
    assert set(rows) == {"Neverfake", "Oldfake", "Customfake"}
    assert rows["Neverfake"].last is None
    assert rows["Neverfake"].due_on == date(2026, 2, 20)
    assert rows["Neverfake"].enrollment == never
    assert rows["Oldfake"].last == newest_old
    assert rows["Oldfake"].due_on == TODAY
    assert rows["Customfake"].due_on == TODAY - timedelta(days=1)


def test_placements_due_queries_do_not_grow(site, tom, django_assert_num_queries):
    for n in range(6):
        row = enrolled(site, last_name=f"Manyfake{n}")
        make_placement(row.patient, tom, assessed_on=TODAY - timedelta(days=40))
    with django_assert_num_queries(3):
        assert len(placements_due(site, TODAY)) == 6


def test_no_enrollment_no_query_beyond_one(other_site, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert placements_due(other_site, TODAY) == []
