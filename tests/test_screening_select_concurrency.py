"""Two servers running the day's selection at once: exactly one selection results.

Each run is a thread on its own database connection, released together by a barrier; the
pure core is slowed down so both are inside ``run_selection`` at the same time (asserted).
On PostgreSQL both compute a selection and the unique (site, day) constraint lets one insert
through; the other gets the first's row back and writes nothing. On SQLite the IMMEDIATE
transactions queue the runs and the second finds the first's row.

SQLite's in-memory test database is shared between threads through "shared cache", whose
table locks fail at once instead of waiting — not how a clinic's SQLite file behaves — so on
an in-memory run the test re-runs itself in a child pytest on a file database
(``SQLITE_TEST_NAME``), as tests/test_booking_concurrency.py does.
"""

from __future__ import annotations

import threading
import time

from django.db import connection

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.lib.dates import local_today
from openiop.screening import services_selection
from openiop.screening.models import DrugScreen, ScreenSelection
from openiop.screening.services_selection import run_selection
from tests.factories import make_site, make_user
from tests.factories_programs import make_program
from tests.factories_screening_select import enrolled_patient, mon_wed_fri
from tests.file_database import rerun_on_a_file_database

PAUSE = 0.3


def test_two_servers_selecting_the_same_day_make_one_selection(
    request, tmp_path, monkeypatch, transactional_db
):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site("Race Clinic")
    therapist = make_user("theo", site=site, role=Role.THERAPIST, first_name="Theo")
    director = make_user("rita", site=site, role=Role.DIRECTOR, first_name="Rita")
    program = make_program(site)
    today = local_today(site.time_zone)
    for n in range(10):
        enrolled_patient(
            site, program, therapist, f"Racer{n}", days=[*mon_wed_fri(today, 2), today]
        )

    real = services_selection.select_screens

    computed: list[int] = []

    def slow_select(*args, **kwargs):
        chosen = real(*args, **kwargs)
        computed.append(1)
        time.sleep(PAUSE)  # hold the transaction open: the other run must not slip in
        return chosen

    monkeypatch.setattr(services_selection, "select_screens", slow_select)
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]
    entered = [0.0, 0.0]
    left = [0.0, 0.0]

    def work(index: int) -> None:
        try:
            barrier.wait()
            entered[index] = time.monotonic()
            outcomes[index] = run_selection(site, today, by=[None, director][index])
        except Exception as exc:  # reported by the asserts below
            outcomes[index] = exc
        finally:
            left[index] = time.monotonic()
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert max(entered) < min(left), "the two runs did not overlap"
    assert all(isinstance(o, ScreenSelection) for o in outcomes), outcomes
    first, second = outcomes
    assert first.pk == second.pk
    assert sorted([first.was_created, second.was_created]) == [False, True]
    assert ScreenSelection.objects.count() == 1
    selection = ScreenSelection.objects.get()
    screens = list(DrugScreen.objects.values_list("patient_id", flat=True))
    assert sorted(screens) == sorted(selection.record["selected"])
    assert len(screens) == len(set(screens))
    assert AuditEvent.objects.filter(object_type="screen_selection").count() == 1
    assert AuditEvent.objects.filter(object_type="drug_screen").count() == len(screens)
    if connection.vendor == "postgresql":
        # Both computed a selection: the unique constraint, not a queue, decided.
        assert len(computed) == 2
    else:
        assert len(computed) == 1  # the second run waited at BEGIN and found the first's
