"""The census at /census/: active patients by level of care and track, this week's movements."""

from __future__ import annotations

from datetime import date, time

import pytest
import time_machine

from openiop.lib.dates import at_local
from tests.factories import sign_in
from tests.factories_hours import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program, make_track

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 4)  # Wednesday of 2026-W10


@pytest.fixture(autouse=True)
def now(site):
    with time_machine.travel(at_local(TODAY, time(12, 0), site.time_zone), tick=False):
        yield


def _clinic(site, size):
    iop = make_program(site, name="Adult IOP")
    morning = make_track(iop, "Morning — Mon/Wed/Fri 09:00–12:00")
    evening = make_track(iop, "Evening — Tue/Wed/Thu 18:00–21:00")
    php = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    for n in range(size):
        for program, track in ((iop, morning), (iop, evening), (iop, evening), (php, None)):
            patient = make_patient(site, first_name=f"Casey{n}", last_name="Sample")
            make_enrollment(patient, program, track=track, admitted_on=date(2026, 1, 5))
    return iop, evening, php


def test_it_counts_active_patients_by_level_and_track(client, site, tom):
    _clinic(site, 2)
    sign_in(client, tom, site=site)
    response = client.get("/census/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="census-active">8<' in body
    level = body[body.index('data-testid="census-by-level"') :]
    assert level.index("ASAM 2.1, 3rd ed.") < level.index("ASAM 2.5, 3rd ed.")
    track = body[body.index('data-testid="census-by-track"') :]
    assert "Evening — Tue/Wed/Thu 18:00–21:00" in track
    assert "No track" in track
    assert '<td class="text-end fw-semibold">4</td>' in track
    assert " style=" not in body


def test_it_counts_this_weeks_admissions_transfers_and_discharges(client, site, tom):
    iop, _, php = _clinic(site, 0)
    new = make_patient(site, first_name="Nova")
    make_enrollment(new, iop, admitted_on=date(2026, 3, 2))
    moved = make_patient(site, first_name="Moved")
    first = make_enrollment(
        moved,
        iop,
        admitted_on=date(2026, 1, 5),
        discharged_on=date(2026, 3, 3),
        status="transferred",
    )
    make_enrollment(
        moved,
        php,
        admitted_on=date(2026, 3, 3),
        episode=first.episode,
        previous=first,
        transfer_kind="step_up",
    )
    done = make_patient(site, first_name="Done")
    make_enrollment(
        done,
        iop,
        admitted_on=date(2026, 1, 5),
        discharged_on=date(2026, 3, 2),
        discharge_reason="completed",
    )
    earlier = make_patient(site, first_name="Earlier")
    make_enrollment(earlier, iop, admitted_on=date(2026, 1, 5), discharged_on=date(2026, 2, 27))
    sign_in(client, tom, site=site)
    body = client.get("/census/").content.decode()
    assert 'data-testid="census-admissions">1<' in body
    assert 'data-testid="census-transfers">1<' in body
    assert 'data-testid="census-discharges">1<' in body
    assert 'data-testid="census-active">2<' in body


def test_it_shows_only_my_sites_patients(client, site, other_site, oscar):
    _clinic(site, 1)
    sign_in(client, oscar, site=other_site)
    body = client.get("/census/").content.decode()
    assert 'data-testid="census-active">0<' in body
    assert "No one is enrolled at Elsewhere Recovery Center right now" in body


def test_it_is_denied_to_the_auditor(client, site, audrey):
    sign_in(client, audrey, site=site)
    assert client.get("/census/").status_code == 403


@pytest.mark.parametrize("size", [1, 6])
def test_it_runs_a_constant_number_of_queries(client, site, tom, size, django_assert_num_queries):
    _clinic(site, size)
    sign_in(client, tom, site=site)
    # session, user, second factor, membership; by level; by track; movements; the
    # session's last-seen update (savepoint, update, release).
    with django_assert_num_queries(11):
        assert client.get("/census/").status_code == 200
