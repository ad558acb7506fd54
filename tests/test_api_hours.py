"""GET /api/v1/patients/{id}/hours."""

from __future__ import annotations

from datetime import date, time

import pytest
import time_machine

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.audit.models import AuditEvent
from openiop.lib.dates import at_local
from tests.factories import make_user
from tests.factories_hours import make_attended_session, make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db

KEYS = {"week", "attended_hours", "scheduled_hours", "target_min", "target_max", "status"}


def _get(client, user, path):
    secret = create_api_token(user=user, name="test").secret
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def patient(site, tom):
    patient = make_patient(site, first_name="Casey", last_name="Sample")
    make_enrollment(patient, make_program(site), admitted_on=date(2026, 1, 5))
    make_attended_session(site, tom, patient, day=date(2026, 11, 23), minutes=180)
    make_attended_session(
        site, tom, patient, day=date(2026, 11, 24), status="late", minutes_attended=150
    )
    make_attended_session(site, tom, patient, day=date(2026, 11, 26), status="booked")
    return patient


def test_it_answers_the_hours_of_a_week(client, site, tom, patient):
    now = at_local(date(2026, 11, 25), time(12, 0), site.time_zone)
    with time_machine.travel(now, tick=False):
        response = _get(client, tom, f"/api/v1/patients/{patient.pk}/hours?week=2026-W48")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == KEYS
    assert body == {
        "week": "2026-W48",
        "attended_hours": 5.5,
        "scheduled_hours": 8.5,
        "target_min": 9.0,
        "target_max": 12.0,
        "status": "at_risk",
    }
    event = AuditEvent.objects.get(object_type="hours", patient_id=patient.pk)
    assert (event.actor, event.action, event.site) == (tom, "view", site)


def test_it_defaults_to_the_current_week_of_the_patients_site(client, site, tom, patient):
    # Monday 00:30 in Chicago is still Sunday nowhere, but 06:30 UTC; the site's week wins.
    now = at_local(date(2026, 11, 30), time(0, 30), site.time_zone)
    with time_machine.travel(now, tick=False):
        body = _get(client, tom, f"/api/v1/patients/{patient.pk}/hours").json()
    assert (body["week"], body["attended_hours"], body["status"]) == ("2026-W49", 0.0, "at_risk")


def test_it_reports_a_finished_week(client, site, tom, patient):
    now = at_local(date(2026, 12, 2), time(12, 0), site.time_zone)
    with time_machine.travel(now, tick=False):
        body = _get(client, tom, f"/api/v1/patients/{patient.pk}/hours?week=2026-W48").json()
    # The booked Thursday group was never recorded: nothing is ahead once the week is over.
    assert (body["scheduled_hours"], body["status"]) == (5.5, "missed")


def test_it_says_not_enrolled_before_admission(client, tom, patient):
    body = _get(client, tom, f"/api/v1/patients/{patient.pk}/hours?week=2025-W50").json()
    assert body == {
        "week": "2025-W50",
        "attended_hours": 0.0,
        "scheduled_hours": 0.0,
        "target_min": None,
        "target_max": None,
        "status": "not_enrolled",
    }


@pytest.mark.parametrize("week", ["2026-48", "2026-W54", "W48", "2026-W00", "soon", ""])
def test_it_refuses_a_bad_week_naming_the_field(client, tom, patient, week):
    response = _get(client, tom, f"/api/v1/patients/{patient.pk}/hours?week={week}")
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["field"] == "week"
    assert not AuditEvent.objects.filter(object_type="hours").exists()


def test_it_answers_404_for_another_sites_patient(client, other_site, oscar, patient):
    response = _get(client, oscar, f"/api/v1/patients/{patient.pk}/hours")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    # Nothing was read; the refused attempt itself is in the trail (DESIGN.md §7).
    assert not AuditEvent.objects.filter(object_type="hours", action="view").exists()
    assert AuditEvent.objects.filter(object_type="hours", action="access_denied").exists()


@pytest.mark.parametrize("patient_id", ["999999", "0", "99999999999999999999999", "abc"])
def test_it_answers_4xx_for_ids_that_do_not_exist(client, tom, patient_id):
    response = _get(client, tom, f"/api/v1/patients/{patient_id}/hours")
    assert response.status_code in (404, 422)


def test_it_is_denied_to_the_auditor(client, site, audrey, patient):
    response = _get(client, audrey, f"/api/v1/patients/{patient.pk}/hours")
    assert response.status_code == 403


def test_billing_may_read_hours(client, site, patient):
    billie = make_user("billie", site=site, role=Role.BILLING)
    assert _get(client, billie, f"/api/v1/patients/{patient.pk}/hours").status_code == 200


def test_it_needs_a_token(client, patient):
    assert client.get(f"/api/v1/patients/{patient.pk}/hours").status_code == 401
