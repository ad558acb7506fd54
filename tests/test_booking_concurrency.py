"""Two requests racing for the last seat, one facilitator's slot or one patient's slot.

Each race runs two threads on separate database connections, released together by a
barrier; inside the critical section the conflict check is slowed down so the threads
really overlap (asserted: both were inside the service before either returned). Exactly one
must win and the other must get the conflict message.

SQLite's in-memory test database is shared between threads through "shared cache", whose
table locks fail at once instead of waiting — not how a clinic's SQLite file behaves — so on
an in-memory run each test re-runs itself in a child pytest on a file database
(``SQLITE_TEST_NAME``), where IMMEDIATE transactions queue on the file lock. On PostgreSQL
the row locks of ``lock_for_booking`` do the queuing.
"""

from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.programs.enrollment import ActiveEnrollmentExists
from openiop.scheduling import booking
from openiop.scheduling.booking import BookingConflict, book_drop_in, book_individual_session
from openiop.scheduling.enrollment import admit_patient
from openiop.scheduling.models import Booking, Session, SessionKind
from tests.factories import make_site, make_user
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program, make_track
from tests.factories_scheduling import make_booking, make_session
from tests.file_database import rerun_on_a_file_database

PAUSE = 0.3


SEEDS = (
    "openiop.programs.migrations.0002_seed_levels_of_care",
    "openiop.scheduling.migrations.0002_seed_group_types",
)


@pytest.fixture
def seeded(transactional_db):
    """The migrations' reference data, which an earlier transactional test's flush removed."""
    for module in SEEDS:
        importlib.import_module(module).seed(django_apps, None)


def race(work, monkeypatch) -> list[object]:
    """Run ``work(0)`` and ``work(1)`` at once; return each outcome (result or exception)."""
    real = booking.find_conflicts

    def slow_find_conflicts(**kwargs):
        found = real(**kwargs)
        time.sleep(PAUSE)  # hold the locks a while: the other thread must wait, not slip in
        return found

    monkeypatch.setattr(booking, "find_conflicts", slow_find_conflicts)
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]
    entered: list[float] = [0.0, 0.0]
    left: list[float] = [0.0, 0.0]

    def run(index: int) -> None:
        try:
            barrier.wait()
            entered[index] = time.monotonic()
            outcomes[index] = work(index)
        except Exception as exc:
            outcomes[index] = exc
        finally:
            left[index] = time.monotonic()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Both were inside the service before either returned: a real race. That only one wins
    # (checked by the caller) shows the locks serialized them.
    assert max(entered) < min(left), "the two requests did not overlap"
    return outcomes


def one_won(outcomes: list[object], error: type[Exception], message: str) -> object:
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    wins = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(wins) == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], error), repr(errors[0])
    assert message in str(errors[0])
    return wins[0]


def clinic():
    site = make_site("Race Clinic")
    director = make_user("rita", site=site, role=Role.DIRECTOR, first_name="Rita")
    therapist = make_user(
        "theo", site=site, role=Role.THERAPIST, first_name="Theo", last_name="Testwell"
    )
    program = make_program(site)
    track = make_track(program)
    return site, director, therapist, program, track


def enrolled(site, program, track, name):
    patient = make_patient(site, first_name=name, last_name="Sample")
    make_enrollment(patient, program, track, admitted_on=timezone.localdate() - timedelta(days=7))
    return patient


@pytest.mark.django_db(transaction=True)
def test_two_drop_ins_racing_for_the_last_seat(seeded, request, tmp_path, monkeypatch):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site, director, therapist, program, track = clinic()
    session = make_session(site, therapist, timezone.now() + timedelta(days=2), 90, capacity=2)
    make_booking(session, make_patient(site, first_name="Seated", last_name="Sample"))
    racers = [enrolled(site, program, track, f"Racer{n}") for n in range(2)]
    outcomes = race(
        lambda i: book_drop_in(session=session, patient=racers[i], by=director), monkeypatch
    )
    one_won(outcomes, BookingConflict, "is full (2 of 2)")
    assert Booking.objects.filter(session=session).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_bookings_racing_for_one_facilitator(seeded, request, tmp_path, monkeypatch):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site, director, therapist, program, track = clinic()
    racers = [enrolled(site, program, track, f"Racer{n}") for n in range(2)]
    starts_at = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    outcomes = race(
        lambda i: book_individual_session(
            patient=racers[i], therapist=therapist, starts_at=starts_at + timedelta(minutes=10 * i),
            duration_minutes=50, by=director,
        ),
        monkeypatch,
    )  # fmt: skip
    one_won(outcomes, BookingConflict, "Theo Testwell already leads “Individual therapy”")
    assert Session.objects.filter(kind=SessionKind.INDIVIDUAL, facilitator=therapist).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_bookings_racing_for_one_patient(seeded, request, tmp_path, monkeypatch):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site, director, therapist, program, track = clinic()
    other = make_user("tara", site=site, role=Role.THERAPIST, first_name="Tara")
    patient = enrolled(site, program, track, "Casey")
    starts_at = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    outcomes = race(
        lambda i: book_individual_session(
            patient=patient, therapist=[therapist, other][i], starts_at=starts_at,
            duration_minutes=50, by=director,
        ),
        monkeypatch,
    )  # fmt: skip
    one_won(outcomes, BookingConflict, "Casey Sample is already booked in “Individual therapy”")
    assert Booking.objects.filter(patient=patient).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_admissions_racing_for_one_patient(seeded, request, tmp_path, monkeypatch):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site, director, _therapist, program, track = clinic()
    patient = make_patient(site, first_name="Casey", last_name="Sample")
    real = booking.book_enrollment_into_future_sessions

    def slow_booking(enrollment, **kwargs):
        time.sleep(PAUSE)
        return real(enrollment, **kwargs)

    monkeypatch.setattr(booking, "book_enrollment_into_future_sessions", slow_booking)
    outcomes = race(
        lambda i: admit_patient(
            patient=patient, program=program, track=track, admitted_on=timezone.localdate(),
            by=director,
        ),
        monkeypatch,
    )  # fmt: skip
    one_won(outcomes, ActiveEnrollmentExists, "already has an active enrollment")
    assert patient.enrollments.count() == 1
