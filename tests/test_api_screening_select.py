"""POST /screens/select: the day's random selection over the API — idempotent, never ahead."""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.audit.models import Action, AuditEvent
from openiop.lib.dates import at_local
from openiop.screening.models import DrugScreen, ScreenSelection
from tests.factories import make_user
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program
from tests.factories_scheduling import make_booking, make_session

NOW = "2026-03-04T14:00:00Z"  # Wednesday 08:00 in Chicago
TODAY = date(2026, 3, 4)
SELECTION_KEYS = {
    "id",
    "site_id",
    "date",
    "created",
    "ran_at",
    "ran_by_id",
    "ran_by",
    "pool_size",
    "selected",
    "decisions",
}


def post(user: Any, body: Any) -> Any:
    secret = create_api_token(user=user, name="test").secret
    return Client().post(
        "/api/v1/screens/select",
        body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def fields(response: Any) -> list[str]:
    return [error["field"] for error in response.json()["detail"]]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def nina(site):
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Mockwell")


@pytest.fixture
def clinic(site, tom):
    """Two patients in their first month, booked Monday, Wednesday and Friday this week: with
    two screens a week owed and two on-site days left, both are selected today."""
    program = make_program(site)
    patients = []
    for first in ("Alpha", "Bravo"):
        patient = make_patient(site, first_name=first, last_name="Testcase")
        make_enrollment(patient, program, admitted_on=date(2026, 2, 25))
        patients.append(patient)
    for offset in (-2, 0, 2):
        day = TODAY + timedelta(days=offset)
        session = make_session(site, tom, at_local(day, time(18, 0), site.time_zone), 180)
        for patient in patients:
            make_booking(session, patient)
    return patients


def test_it_runs_the_selection_once_and_answers_the_same_one_again(nina, site, clinic):
    first = post(nina, {"site_id": site.pk, "date": TODAY.isoformat()})
    assert first.status_code == 201, first.content
    body = first.json()
    assert set(body) == SELECTION_KEYS
    assert body["created"] is True
    assert body["date"] == "2026-03-04"
    assert body["ran_by_id"] == nina.pk
    assert body["pool_size"] == 2
    assert sorted(item["patient_id"] for item in body["selected"]) == sorted(p.pk for p in clinic)
    assert all(item["status"] == "selected" for item in body["selected"])
    assert {d["patient_id"] for d in body["decisions"]} == {p.pk for p in clinic}
    assert all(
        set(d) == {"patient_id", "selected", "reason", "shortfall"} for d in body["decisions"]
    )
    assert DrugScreen.objects.filter(selected_on=TODAY).count() == 2

    second = post(nina, {"site_id": site.pk, "date": TODAY.isoformat()})
    assert second.status_code == 200
    assert second.json() == {**body, "created": False}
    assert ScreenSelection.objects.count() == 1
    assert DrugScreen.objects.count() == 2
    # The second answer lists patients: it is audited as a read of the selection.
    assert AuditEvent.objects.filter(
        action=Action.VIEW, object_type="screen_selection", object_id=str(body["id"])
    ).exists()


def test_a_second_caller_gets_the_first_callers_selection(nina, dana, site, clinic):
    first = post(nina, {"site_id": site.pk, "date": TODAY.isoformat()}).json()
    other = post(dana, {"site_id": site.pk, "date": TODAY.isoformat()})
    assert other.status_code == 200
    assert other.json()["id"] == first["id"]
    assert other.json()["ran_by_id"] == nina.pk


def test_an_empty_day_is_a_selection_too(nina, site):
    response = post(nina, {"site_id": site.pk, "date": TODAY.isoformat()})
    assert response.status_code == 201
    assert response.json()["selected"] == []
    assert response.json()["pool_size"] == 0
    assert post(nina, {"site_id": site.pk, "date": TODAY.isoformat()}).status_code == 200


@pytest.mark.parametrize("ahead", [1, 2, 365])
def test_it_never_selects_ahead(nina, site, clinic, ahead):
    day = TODAY + timedelta(days=ahead)
    response = post(nina, {"site_id": site.pk, "date": day.isoformat()})
    assert response.status_code == 422
    assert fields(response) == ["payload.date"]
    assert not ScreenSelection.objects.exists()
    assert not DrugScreen.objects.exists()


def test_the_site_day_decides_what_is_ahead(nina, site, clinic, frozen):
    # 23:30 in Chicago on Wednesday is already Thursday in UTC: Thursday is still ahead.
    frozen.move_to("2026-03-05T05:30:00Z")
    assert post(nina, {"site_id": site.pk, "date": "2026-03-05"}).status_code == 422
    assert post(nina, {"site_id": site.pk, "date": "2026-03-04"}).status_code == 201


def test_a_past_day_is_read_back_but_never_run_late(nina, site, clinic, frozen):
    assert post(nina, {"site_id": site.pk, "date": "2026-03-03"}).status_code == 422
    made = post(nina, {"site_id": site.pk, "date": TODAY.isoformat()}).json()
    frozen.move_to("2026-03-06T14:00:00Z")
    again = post(nina, {"site_id": site.pk, "date": TODAY.isoformat()})
    assert again.status_code == 200
    assert again.json() == {**made, "created": False}
    missed = post(nina, {"site_id": site.pk, "date": "2026-03-05"})
    assert missed.status_code == 422
    assert fields(missed) == ["payload.date"]
    assert "command line" in missed.json()["detail"][0]["message"]


def test_it_refuses_a_site_the_caller_cannot_select_for(nina, other_site, oscar):
    response = post(nina, {"site_id": other_site.pk, "date": TODAY.isoformat()})
    assert response.status_code == 422
    assert fields(response) == ["payload.site_id"]
    assert not ScreenSelection.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2026-03-04"}, "payload.site_id"),
        ({"site_id": 1}, "payload.date"),
        ({"site_id": 0, "date": "2026-03-04"}, "payload.site_id"),
        ({"site_id": 2**63, "date": "2026-03-04"}, "payload.site_id"),
        ({"site_id": "one", "date": "2026-03-04"}, "payload.site_id"),
        ({"site_id": 1, "date": "2026-02-30"}, "payload.date"),
        ({"site_id": 1, "date": "today"}, "payload.date"),
        ({"site_id": 1, "date": "2026-03-04T10:00:00Z"}, "payload.date"),
        ({"site_id": 1, "date": None}, "payload.date"),
        ({"site_id": 1, "date": "2026-03-04", "rng": "mine"}, "payload.rng"),
    ],
)
def test_it_names_the_bad_field(nina, site, body, field):
    body = {
        key: (site.pk if key == "site_id" and value == 1 else value) for key, value in body.items()
    }
    response = post(nina, body)
    assert response.status_code == 422, response.content
    assert field in fields(response)
    assert not ScreenSelection.objects.exists()


@pytest.mark.parametrize("raw", ["", "[]", "null", "{", '"2026-03-04"'])
def test_it_answers_malformed_bodies_with_4xx(nina, raw):
    response = post(nina, raw)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.DIRECTOR, True),
        (Role.THERAPIST, True),
        (Role.PRESCRIBER, True),
        (Role.NURSE, True),
        (Role.FRONT_DESK, False),
        (Role.BILLING, False),
        (Role.AUDITOR, False),
    ],
)
def test_only_clinical_staff_select(site, role, allowed):
    user = make_user(f"u-{role}", site=site, role=role)
    response = post(user, {"site_id": site.pk, "date": TODAY.isoformat()})
    assert response.status_code == (201 if allowed else 403)
