"""Decisions and rule-table saves racing on separate connections (SQLite file and
PostgreSQL): one wins, the others get a conflict, nothing is overwritten."""

from __future__ import annotations

from openiop.measures.models import PlacementAssessment, PlacementRuleTable
from openiop.measures.placement import DEFAULT_RULES
from openiop.measures.services_placement import (
    PlacementConflict,
    record_level_decision,
    save_rule_table,
)
from tests.factories import make_site, make_user
from tests.factories_placement import enrolled, make_placement
from tests.file_database import rerun_on_a_file_database
from tests.test_patients_concurrency import _in_threads

THREADS = 4
LEVELS = ["1", "2.1", "2.5", "3.5"]


def test_concurrent_decisions_keep_the_first(request, tmp_path, transactional_db):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site()
    tom = make_user("tom", site=site, role="therapist")
    enrollment = enrolled(site)
    placement = make_placement(enrollment.patient, tom, (0, 0, 0, 2, 0, 0))

    def decide(index: int) -> None:
        record_level_decision(
            assessment=PlacementAssessment.objects.get(pk=placement.pk),
            provided_level=LEVELS[index],
            reason=f"Writer {index}",
            by=tom,
            expected_version=1,
        )

    errors = _in_threads(decide, THREADS)
    placement.refresh_from_db()
    assert placement.provided_level in LEVELS
    assert placement.version == 2
    assert len(errors) == THREADS - 1
    assert all(isinstance(error, PlacementConflict) for error in errors), errors


def test_concurrent_table_saves_make_one_version(request, tmp_path, transactional_db):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site()
    dana = make_user("dana", site=site, role="director")
    program = enrolled(site).program

    def save(index: int) -> None:
        save_rule_table(
            program=program,
            rules_json_or_list=list(DEFAULT_RULES),
            note=f"Writer {index}",
            by=dana,
            expected_version=0,
        )

    errors = _in_threads(save, THREADS)
    assert list(PlacementRuleTable.objects.values_list("version", flat=True)) == [1]
    assert len(errors) == THREADS - 1
    assert all(isinstance(error, PlacementConflict) for error in errors), errors
