"""The "at risk this week" list at /at-risk/."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
import time_machine

from openiop.audit.models import AuditEvent
from openiop.lib.dates import at_local
from tests.factories import sign_in
from tests.factories_hours import make_attended_session, make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 4)  # Wednesday of 2026-W10; last week is 2026-W09


@pytest.fixture(autouse=True)
def now(site):
    with time_machine.travel(at_local(TODAY, time(12, 0), site.time_zone), tick=False):
        yield


@pytest.fixture
def iop(site):
    return make_program(site, name="Adult IOP")


def _patient(site, iop, name, **enrollment):
    patient = make_patient(site, first_name=name, last_name="Sample")
    make_enrollment(patient, iop, admitted_on=enrollment.pop("admitted_on", date(2026, 1, 5)))
    return patient


def test_it_lists_who_cannot_reach_the_floor_and_who_missed_last_week(client, site, tom, iop):
    # Ready: 3 h attended, 6 h booked → on track, and met last week.
    ready = _patient(site, iop, "Ready")
    make_attended_session(site, tom, ready, day=date(2026, 3, 2))
    make_attended_session(site, tom, ready, day=date(2026, 3, 5), status="booked")
    make_attended_session(site, tom, ready, day=date(2026, 3, 6), status="booked")
    for day in (date(2026, 2, 23), date(2026, 2, 25), date(2026, 2, 27)):
        make_attended_session(site, tom, ready, day=day)
    # Short: 3 h attended, 3 h booked → at risk, 3 h to add; last week 1 no-show, 1 excused.
    short = _patient(site, iop, "Short")
    make_attended_session(site, tom, short, day=date(2026, 3, 2))
    make_attended_session(site, tom, short, day=date(2026, 3, 5), status="booked")
    make_attended_session(site, tom, short, day=date(2026, 2, 23), status="no_show")
    make_attended_session(site, tom, short, day=date(2026, 2, 24), status="excused")
    make_attended_session(site, tom, short, day=date(2026, 2, 25), minutes=120)
    # Nothing: nothing at all this week → at risk with 9 h to add.
    nothing = _patient(site, iop, "Nothing")
    sign_in(client, tom, site=site)
    response = client.get("/at-risk/")
    assert response.status_code == 200
    body = response.content.decode()
    risk = body[body.index('data-testid="at-risk-this-week"') : body.index("at-risk-missed")]
    assert f'data-patient="{short.pk}"' in risk
    assert f'data-patient="{nothing.pk}"' in risk
    assert f'data-patient="{ready.pk}"' not in risk
    # The largest gap first.
    assert risk.index(f'data-patient="{nothing.pk}"') < risk.index(f'data-patient="{short.pk}"')
    assert f'href="/patients/{short.pk}/"' in risk
    row = risk[risk.index(f'data-patient="{short.pk}"') :]
    row = row[: row.index("</tr>")]
    for text in ("3.00 h", "9 h", "6.00 h"):
        assert text in row
    missed = body[body.index('data-testid="at-risk-missed"') :]
    assert f'data-patient="{short.pk}"' in missed
    assert f'data-patient="{ready.pk}"' not in missed
    row = missed[missed.index(f'data-patient="{short.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "2.00 h" in row and "7.00 h" in row
    # One unexcused (the no-show), one excused.
    assert row.count('<td class="text-end text-nowrap">1</td>') == 2
    event = AuditEvent.objects.get(object_type="at_risk_list")
    assert event.actor == tom
    assert event.detail == "2026-W10: 2 at risk; 2026-W09: 2 missed"


def test_it_says_everyone_is_on_track(client, site, tom, iop):
    ready = _patient(site, iop, "Ready", admitted_on=date(2026, 3, 2))
    make_attended_session(site, tom, ready, day=date(2026, 3, 5), minutes=540, status="booked")
    sign_in(client, tom, site=site)
    body = client.get("/at-risk/").content.decode()
    assert "Everyone is on track this week" in body
    assert "No one missed the floor last week" in body


def test_it_reads_well_with_no_one_enrolled(client, site, tom):
    sign_in(client, tom, site=site)
    body = client.get("/at-risk/").content.decode()
    assert "Everyone is on track this week" in body
    assert "No one is enrolled at this site right now" in body


def test_it_shows_only_my_sites_patients(client, site, other_site, oscar, iop):
    _patient(site, iop, "Ours")
    sign_in(client, oscar, site=other_site)
    body = client.get("/at-risk/").content.decode()
    assert "Ours" not in body
    assert "Everyone is on track this week" in body


def test_it_is_denied_to_the_auditor(client, site, audrey):
    sign_in(client, audrey, site=site)
    assert client.get("/at-risk/").status_code == 403


@pytest.mark.parametrize("size", [1, 8])
def test_it_runs_a_constant_number_of_queries(
    client, site, tom, iop, size, django_assert_num_queries
):
    for n in range(size):
        patient = _patient(site, iop, f"Casey{n}")
        make_attended_session(site, tom, patient, day=date(2026, 3, 2))
        make_attended_session(site, tom, patient, day=date(2026, 2, 24))
    sign_in(client, tom, site=site)
    # session, user, second factor, membership; active enrollments; overlapping enrollments;
    # hours; the programs of the rows shown (tracks and therapists too when rows have them);
    # the list's audit event; the session's last-seen update (savepoint, update, release).
    with django_assert_num_queries(13):
        assert client.get("/at-risk/").status_code == 200


def test_it_pages_long_lists_worst_first(client, site, tom, iop):
    # 53 patients with nothing attended or booked: all at risk, none missed last week
    # (admitted this week).
    for n in range(53):
        _patient(site, iop, f"Pat{n:02d}", admitted_on=date(2026, 3, 2))
    sign_in(client, tom, site=site)
    first = client.get("/at-risk/").content.decode()
    assert "53 of 53" in first
    assert len(re.findall(r'href="/patients/\d+/"', first)) == 50
    assert "1–50 of 53" in first
    assert 'href="?page=2"' in first
    second = client.get("/at-risk/", {"page": 2}).content.decode()
    assert len(re.findall(r'href="/patients/\d+/"', second)) == 3
    assert "51–53 of 53" in second
    # An out-of-range page shows the last page rather than an error.
    assert client.get("/at-risk/", {"page": 99}).status_code == 200
