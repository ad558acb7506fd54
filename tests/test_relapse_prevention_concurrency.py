"""Relapse-prevention saves and plan starts racing on separate connections (SQLite file and
PostgreSQL): one wins, the others are refused with a clear message, nothing is lost."""

from __future__ import annotations

from openiop.clinical.errors import NoteConflict
from openiop.clinical.models import RelapsePreventionPlan, TreatmentPlan
from openiop.clinical.plans import start_initial_plan
from openiop.clinical.relapse_prevention import save_relapse_prevention_plan
from tests.factories import make_site, make_user
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program
from tests.file_database import rerun_on_a_file_database
from tests.test_patients_concurrency import _in_threads

THREADS = 4


def test_concurrent_saves_of_the_same_version_keep_one(request, tmp_path, transactional_db):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site()
    author = make_user("tom", site=site, role="therapist", credentials="LCSW")
    patient = make_patient(site, first_name="Race", last_name="Rppcase")

    def save(index: int) -> None:
        save_relapse_prevention_plan(
            patient,
            author=author,
            data={"triggers": f"Trigger from writer {index}"},
            based_on_number=None,
        )

    errors = _in_threads(save, THREADS)
    assert RelapsePreventionPlan.objects.filter(patient=patient).count() == 1
    assert len(errors) == THREADS - 1
    assert all(isinstance(error, NoteConflict) for error in errors), errors
    assert all("saved version 1" in error.message for error in errors)


def test_concurrent_plan_starts_make_one_draft(request, tmp_path, transactional_db):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site()
    author = make_user("tom", site=site, role="therapist", credentials="LCSW")
    patient = make_patient(site, first_name="Race", last_name="Plancase")
    enrollment = make_enrollment(patient, make_program(site))

    errors = _in_threads(lambda index: start_initial_plan(enrollment, author=author), THREADS)
    assert TreatmentPlan.objects.filter(patient=patient).count() == 1
    assert len(errors) == THREADS - 1
    assert all(isinstance(error, NoteConflict) for error in errors), errors
