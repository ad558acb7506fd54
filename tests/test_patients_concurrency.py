"""Registrations and edits racing on separate connections (SQLite file and PostgreSQL).

SQLite's in-memory test database is shared between threads through "shared cache", whose
table locks fail at once instead of waiting, which is not how a clinic's SQLite file behaves.
So on an in-memory test run the racing tests run again, together, in one child pytest with a
file database (``tests/file_database.py``), where writers queue on the file lock as they do in
production.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection

from openiop.patients.models import Patient
from openiop.patients.services import StaleEdit, register_patient, update_patient
from tests.factories import make_site, make_user
from tests.factories_patients import make_patient
from tests.file_database import rerun_on_a_file_database

THREADS = 6
EACH = 3


def _in_threads(work, count: int) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_it_gives_concurrent_registrations_distinct_sequential_mrns(
    transactional_db, request, tmp_path
):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site("Race Clinic")
    director = make_user("rita", site=site, role="director")

    def register(index: int) -> None:
        for n in range(EACH):
            register_patient(
                site=site,
                by=director,
                first_name=f"Racer{index}",
                last_name=f"Sample{n}",
                date_of_birth=date(1990, 1, 1),
            )

    errors = _in_threads(register, THREADS)
    assert errors == []
    mrns = sorted(Patient.objects.values_list("mrn", flat=True))
    assert len(mrns) == THREADS * EACH
    assert len(set(mrns)) == len(mrns)
    assert [int(m[2:]) for m in mrns] == list(range(1, THREADS * EACH + 1))


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_two_concurrent_edits_from_one_version_win(
    transactional_db, request, tmp_path
):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site("Race Clinic")
    director = make_user("rita", site=site, role="director")
    patient = make_patient(site, first_name="Casey", last_name="Sample")
    outcomes: dict[int, str] = {}

    def edit(index: int) -> None:
        try:
            update_patient(
                patient_id=patient.pk,
                expected_version=1,
                changes={"city": f"Town {index}"},
                by=director,
            )
            outcomes[index] = "saved"
        except StaleEdit:
            outcomes[index] = "stale"

    assert _in_threads(edit, 2) == []
    assert sorted(outcomes.values()) == ["saved", "stale"]
    winner = next(i for i, outcome in outcomes.items() if outcome == "saved")
    patient.refresh_from_db()
    assert patient.city == f"Town {winner}" and patient.version == 2
