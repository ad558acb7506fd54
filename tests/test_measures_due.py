"""The questionnaires-due list: intake, periodic and discharge items, constant queries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.measures.due import DueItem, due_for_patient, due_for_site
from openiop.programs.models import EnrollmentStatus, Episode
from tests.factories_enrollment import make_enrollment
from tests.factories_measures import GAD7_MODERATE, enrolled, measure, schedule, strike
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 20)
ADMITTED = date(2026, 3, 2)


def reasons(items: list[DueItem]) -> list[tuple[str, str, date, bool]]:
    return [(i.instrument, i.reason, i.due_on, i.overdue) for i in items]


@pytest.fixture
def program(site):
    program = make_program(site, typical_length_weeks=4)  # expected end 2026-03-30
    schedule(program, "PHQ-9", at_intake=True, every_days=14, at_discharge=True)
    schedule(program, "GAD-7", at_intake=True)
    return program


def test_it_lists_intake_due_on_admission_until_given(site, tom, program):
    patient, _ = enrolled(site, therapist=tom, program=program, admitted_on=ADMITTED)
    assert reasons(due_for_patient(patient, ADMITTED)) == [
        ("GAD-7", "intake", ADMITTED, False),
        ("PHQ-9", "intake", ADMITTED, False),
    ]
    assert reasons(due_for_patient(patient, ADMITTED + timedelta(days=1)))[0][3] is True
    measure(patient, "GAD-7", GAD7_MODERATE, by=tom, taken_on=ADMITTED)
    assert reasons(due_for_patient(patient, ADMITTED)) == [("PHQ-9", "intake", ADMITTED, False)]


def test_a_struck_intake_response_does_not_count(site, tom, program):
    patient, _ = enrolled(site, therapist=tom, program=program, admitted_on=ADMITTED)
    gad = measure(patient, "GAD-7", GAD7_MODERATE, by=tom, taken_on=ADMITTED)
    measure(patient, "PHQ-9", by=tom, taken_on=ADMITTED)
    assert due_for_patient(patient, ADMITTED) == []
    strike(gad, by=tom)
    assert reasons(due_for_patient(patient, ADMITTED)) == [("GAD-7", "intake", ADMITTED, False)]


def test_a_response_before_the_episode_does_not_count_for_intake(site, tom, program):
    patient, _ = enrolled(site, therapist=tom, program=program, admitted_on=ADMITTED)
    measure(patient, "GAD-7", GAD7_MODERATE, by=tom, taken_on=ADMITTED - timedelta(days=1))
    assert ("GAD-7", "intake", ADMITTED, False) in reasons(due_for_patient(patient, ADMITTED))


def test_a_transfer_inside_the_episode_asks_no_second_intake(site, tom, program):
    patient = make_patient(site)
    episode = Episode.objects.create(patient=patient, opened_on=date(2026, 2, 1))
    make_enrollment(
        patient,
        make_program(site, name="PHP"),
        admitted_on=date(2026, 2, 1),
        discharged_on=ADMITTED,
        status=EnrollmentStatus.DISCHARGED,
        episode=episode,
    )
    make_enrollment(patient, program, admitted_on=ADMITTED, episode=episode)
    measure(patient, "GAD-7", GAD7_MODERATE, by=tom, taken_on=date(2026, 2, 3))
    assert "GAD-7" not in [i.instrument for i in due_for_patient(patient, ADMITTED)]


def test_periodic_is_due_every_n_days_after_the_last_response(site, tom, program):
    patient, _ = enrolled(site, therapist=tom, program=program, admitted_on=ADMITTED)
    measure(patient, "GAD-7", GAD7_MODERATE, by=tom, taken_on=ADMITTED)
    measure(patient, "PHQ-9", by=tom, taken_on=date(2026, 3, 3))
    assert due_for_patient(patient, date(2026, 3, 16)) == []
    assert reasons(due_for_patient(patient, date(2026, 3, 17))) == [
        ("PHQ-9", "periodic", date(2026, 3, 17), False)
    ]
    assert reasons(due_for_patient(patient, date(2026, 3, 18))) == [
        ("PHQ-9", "periodic", date(2026, 3, 17), True)
    ]
    measure(patient, "PHQ-9", by=tom, taken_on=date(2026, 3, 18))
    assert due_for_patient(patient, date(2026, 3, 18)) == []


def test_periodic_without_intake_counts_from_admission(site, tom):
    program = make_program(site)
    schedule(program, "CRAVING", at_intake=False, every_days=7)
    patient, _ = enrolled(site, therapist=tom, program=program, admitted_on=ADMITTED)
    assert due_for_patient(patient, date(2026, 3, 8)) == []
    assert reasons(due_for_patient(patient, date(2026, 3, 9))) == [
        ("CRAVING", "periodic", date(2026, 3, 9), False)
    ]


def test_discharge_is_due_in_the_last_week_unless_given_recently(site, tom, program):
    patient, _ = enrolled(site, therapist=tom, program=program, admitted_on=ADMITTED)
    measure(patient, "GAD-7", GAD7_MODERATE, by=tom, taken_on=ADMITTED)
    measure(patient, "PHQ-9", by=tom, taken_on=date(2026, 3, 16))
    end = date(2026, 3, 30)
    assert due_for_patient(patient, date(2026, 3, 22)) == []  # 8 days before, recent PHQ-9
    assert reasons(due_for_patient(patient, date(2026, 3, 23))) == [
        ("PHQ-9", "discharge", end, False)
    ]
    assert reasons(due_for_patient(patient, date(2026, 3, 31))) == [
        ("PHQ-9", "discharge", end, True)
    ]
    measure(patient, "PHQ-9", by=tom, taken_on=date(2026, 3, 24), occasion="discharge")
    assert due_for_patient(patient, date(2026, 3, 25)) == []


def test_it_skips_ended_enrollments_and_other_sites(site, other_site, tom, program):
    patient, enrollment = enrolled(site, therapist=tom, program=program, admitted_on=ADMITTED)
    elsewhere, _ = enrolled(other_site, program=make_program(other_site), admitted_on=ADMITTED)
    schedule(elsewhere.enrollments.get().program, "PHQ-9")
    assert {i.patient for i in due_for_site(site, TODAY)} == {patient}
    type(enrollment).objects.filter(pk=enrollment.pk).update(
        status=EnrollmentStatus.DISCHARGED, discharged_on=TODAY
    )
    assert due_for_site(site, TODAY) == []


def _patients(site, program, tom, count: int) -> None:
    for n in range(count):
        patient, _ = enrolled(
            site, therapist=tom, program=program, admitted_on=ADMITTED, last_name=f"Dueson{n}"
        )
        measure(patient, "PHQ-9", by=tom, taken_on=ADMITTED)


def _count(site) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        items = due_for_site(site, TODAY)
    return len(queries), len(items)


def test_it_costs_the_same_queries_for_3_or_12_patients(site, tom, program):
    _patients(site, program, tom, 3)
    small, small_items = _count(site)
    _patients(site, program, tom, 9)
    large, large_items = _count(site)
    assert small == large == 3
    assert (small_items, large_items) == (6, 24)  # GAD-7 intake + PHQ-9 periodic each


def test_it_sorts_oldest_due_first(site, tom, program):
    late, _ = enrolled(site, program=program, admitted_on=ADMITTED, last_name="Aardvark")
    early, _ = enrolled(
        site, program=program, admitted_on=ADMITTED - timedelta(days=3), last_name="Zed"
    )
    items = due_for_site(site, TODAY)
    assert [i.patient for i in items] == [early, early, late, late]
