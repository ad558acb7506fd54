"""Two tablets tapping the same roster row at once: one change wins, the other is told.

Runs on separate connections (SQLite file and PostgreSQL). On the in-memory SQLite test
database the test re-runs itself in a child pytest on a file database, where writers queue
on the file lock as they do in a clinic (see tests/test_patients_concurrency.py).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.scheduling.attendance import AttendanceConflict, AttendanceEntry, record_attendance
from openiop.scheduling.models import Booking
from tests.factories import make_site, make_user
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_booking, make_session
from tests.file_database import rerun_on_a_file_database

TABLETS = 4


@pytest.mark.django_db(transaction=True)
def test_it_lets_one_of_several_simultaneous_taps_win(transactional_db, request, tmp_path):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site()
    staff = [make_user(f"tablet{i}", site=site, role=Role.NURSE) for i in range(TABLETS)]
    session = make_session(site, staff[0], timezone.now() - timedelta(minutes=30), 180)
    patient = make_patient(site, first_name="Casey", last_name="Sample")
    booking = make_booking(session, patient)
    statuses = ["present", "no_show", "excused", "unexcused"]

    barrier = threading.Barrier(TABLETS)
    won: list[str] = []
    refused: list[str] = []
    crashed: list[BaseException] = []

    def tap(index: int) -> None:
        try:
            barrier.wait()
            record_attendance(
                session=session,
                entries=[AttendanceEntry(patient_id=patient.pk, status=statuses[index], version=1)],
                by=staff[index],
            )
            won.append(statuses[index])
        except AttendanceConflict:
            refused.append(statuses[index])
        except BaseException as exc:
            crashed.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tap, args=(i,)) for i in range(TABLETS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert crashed == []
    assert len(won) == 1
    assert len(refused) == TABLETS - 1
    booking = Booking.objects.get(pk=booking.pk)
    assert booking.status == won[0]
    assert booking.version == 2
    assert AuditEvent.objects.filter(object_type="attendance", patient_id=patient.pk).count() == 1
