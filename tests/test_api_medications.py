"""The medications API: a patient's orders, new orders (external methadone included) and
doses given in clinic, with the bad inputs of issue 5."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.db import reset_queries
from django.test import Client

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.audit.models import Action, AuditEvent
from openiop.medications.models import Administration, MedicationOrder
from tests.factories import make_user
from tests.factories_enrollment import make_prescriber
from tests.factories_medications import give_dose, make_order
from tests.factories_patients import make_patient

NOW = "2026-03-04T16:00:00Z"  # Wednesday 10:00 in Chicago
TODAY = date(2026, 3, 4)

ORDER_KEYS = {
    "id",
    "patient_id",
    "site_id",
    "medication",
    "medication_name",
    "dose",
    "dose_unit",
    "route",
    "frequency",
    "started_on",
    "ended_on",
    "is_active",
    "prescriber_id",
    "prescriber_name",
    "dispensing",
    "external_prescriber",
    "notes",
    "created_by_id",
    "created_at",
    "version",
    "administrations",
}
ADMINISTRATION_KEYS = {
    "id",
    "order_id",
    "medication",
    "given_at",
    "dose",
    "injection_site",
    "injection_site_label",
    "lot",
    "given_by_id",
    "given_by_name",
    "notes",
}


class Api:
    def __init__(self, user: Any) -> None:
        self.client = Client()
        self.auth = f"Bearer {create_api_token(user=user, name='test').secret}"

    def call(self, method: str, url: str, body: Any = None) -> Any:
        return self.client.generic(
            method,
            f"/api/v1{url}",
            body if isinstance(body, str) else json.dumps(body) if body is not None else "",
            content_type="application/json",
            HTTP_AUTHORIZATION=self.auth,
        )

    def get(self, url: str) -> Any:
        return self.call("GET", url)

    def post(self, url: str, body: Any) -> Any:
        return self.call("POST", url, body)


def fields(response: Any) -> list[str]:
    return [error["field"] for error in response.json()["detail"]]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def priya(site):
    return make_prescriber(site)


@pytest.fixture
def nina(site):
    """Nurse Nina Mockwell."""
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Mockwell")


@pytest.fixture
def pat(site):
    return make_patient(site, first_name="Pat", last_name="Placeholder")


def sublocade(**changes: Any) -> dict[str, Any]:
    body = {
        "medication": "sublocade",
        "dose": 300,
        "route": "subcutaneous",
        "frequency": "monthly",
        "started_on": "2026-03-01",
        "dispensing": "clinic",
    }
    body.update(changes)
    return body


def test_it_orders_a_medication_and_lists_it(priya, pat):
    api = Api(priya)
    response = api.post(f"/patients/{pat.pk}/medications", sublocade())
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ORDER_KEYS
    assert body["medication"] == "sublocade"
    assert body["dose"] == 300
    assert body["dose_unit"] == "mg"
    assert body["prescriber_id"] == priya.pk  # the ordering prescriber by default
    assert body["prescriber_name"] == priya.signature_name
    assert body["is_active"] is True
    assert body["administrations"] == []
    order = MedicationOrder.objects.get(pk=body["id"])
    assert (order.patient, order.dispensing, order.created_by) == (pat, "clinic", priya)
    assert AuditEvent.objects.filter(
        action=Action.CREATE, object_type="medication_order", patient_id=pat.pk
    ).exists()

    listed = api.get(f"/patients/{pat.pk}/medications")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [order.pk]
    assert listed.json()[0] == body


def test_it_records_methadone_as_external_from_a_named_program(priya, pat):
    response = Api(priya).post(
        f"/patients/{pat.pk}/medications",
        {
            "medication": "methadone_otp",
            "dose": 80,
            "route": "oral",
            "frequency": "daily",
            "started_on": "2026-02-01",
            "dispensing": "external_otp",
            "external_prescriber": "Fakeville Opioid Treatment Program",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["dispensing"] == "external_otp"
    assert body["prescriber_id"] is None
    assert body["external_prescriber"] == "Fakeville Opioid Treatment Program"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"medication": "unicorn_tears"}, "payload.medication"),
        ({"medication": ""}, "payload.medication"),
        ({"medication": 7}, "payload.medication"),
        ({"dose": 0}, "payload.dose"),
        ({"dose": -5}, "payload.dose"),
        ({"dose": "lots"}, "payload.dose"),
        ({"dose": 1.234}, "payload.dose"),
        ({"dose": "NaN"}, "payload.dose"),
        ({"dose": 1e300}, "payload.dose"),
        ({"dose_unit": "buckets"}, "payload.dose_unit"),
        ({"route": "oral"}, "payload.route"),
        ({"route": "telepathic"}, "payload.route"),
        ({"frequency": ""}, "payload.frequency"),
        ({"frequency": "daily\u0000"}, "payload.frequency"),
        ({"started_on": "2026-02-30"}, "payload.started_on"),
        ({"started_on": "2030-01-01"}, "payload.started_on"),
        ({"ended_on": "2026-02-01"}, "payload.ended_on"),
        ({"dispensing": "mail"}, "payload.dispensing"),
        ({"prescriber_id": 999999}, "payload.prescriber_id"),
        ({"prescriber_id": 0}, "payload.prescriber_id"),
        ({"surprise": True}, "payload.surprise"),
    ],
)
def test_it_refuses_a_bad_order_naming_the_field(priya, pat, changes, field):
    response = Api(priya).post(f"/patients/{pat.pk}/medications", sublocade(**changes))
    assert response.status_code == 422, response.content
    assert field in fields(response)
    assert not MedicationOrder.objects.exists()


def test_it_refuses_methadone_dispensed_anywhere_but_an_otp(priya, pat):
    response = Api(priya).post(
        f"/patients/{pat.pk}/medications",
        sublocade(medication="methadone_otp", route="oral", dispensing="pharmacy"),
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.dispensing"]
    assert "opioid treatment program" in response.json()["detail"][0]["message"]


def test_it_refuses_an_external_order_without_its_program(priya, pat):
    response = Api(priya).post(
        f"/patients/{pat.pk}/medications",
        sublocade(medication="methadone_otp", route="oral", dispensing="external_otp"),
    )
    assert response.status_code == 422
    assert "payload.external_prescriber" in fields(response)


def test_it_names_a_prescriber_who_is_not_one_at_the_site(priya, pat, tom):
    response = Api(priya).post(f"/patients/{pat.pk}/medications", sublocade(prescriber_id=tom.pk))
    assert response.status_code == 422
    assert fields(response) == ["payload.prescriber_id"]


def test_it_refuses_a_second_order_of_the_same_medicine_over_the_same_days(priya, pat):
    api = Api(priya)
    assert api.post(f"/patients/{pat.pk}/medications", sublocade()).status_code == 201
    again = api.post(f"/patients/{pat.pk}/medications", sublocade(dose=100))
    assert again.status_code == 422
    assert fields(again) == ["payload.medication"]
    assert MedicationOrder.objects.count() == 1


@pytest.mark.parametrize(
    "raw", ["", "not json", "[]", "null", '{"medication": "sublocade"', '"sublocade"']
)
def test_it_answers_malformed_bodies_with_4xx(priya, pat, raw):
    response = Api(priya).call("POST", f"/patients/{pat.pk}/medications", raw)
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/json")


def test_it_hides_patients_of_other_sites(priya, other_site, oscar):
    elsewhere = make_patient(other_site, first_name="Ellis", last_name="Elsewhere")
    api = Api(priya)
    assert api.get(f"/patients/{elsewhere.pk}/medications").status_code == 404
    assert api.post(f"/patients/{elsewhere.pk}/medications", sublocade()).status_code == 404
    assert api.get("/patients/999999999/medications").status_code == 404
    assert api.get(f"/patients/{2**63}/medications").status_code == 422
    assert not MedicationOrder.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.THERAPIST, 403), (Role.NURSE, 403), (Role.FRONT_DESK, 403), (Role.PRESCRIBER, 201)],
)
def test_only_prescribers_and_directors_order(site, priya, pat, role, status):
    user = priya if role == Role.PRESCRIBER else make_user(f"u-{role}", site=site, role=role)
    response = Api(user).post(f"/patients/{pat.pk}/medications", sublocade())
    assert response.status_code == status


# --- Administrations ---------------------------------------------------------------------


def test_it_records_an_injection_with_its_first_dose_warnings(priya, nina, pat):
    order = make_order(pat, "sublocade", by=priya, started_on=date(2026, 3, 1))
    response = Api(nina).post(
        f"/patients/{pat.pk}/administrations",
        {
            "order_id": order.pk,
            "given_at": "2026-03-04T09:30:00-06:00",
            "dose": 300,
            "injection_site": "abdomen_upper_left",
            "lot": "LOT-FAKE-1",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ADMINISTRATION_KEYS | {"warnings"}
    assert body["order_id"] == order.pk
    assert body["medication"] == "sublocade"
    assert body["injection_site_label"] == "abdomen, upper left quadrant"
    assert body["given_by_id"] == nina.pk
    # No sublingual buprenorphine documented before a first Sublocade dose.
    assert body["warnings"], body
    assert all(set(w) == {"code", "message"} for w in body["warnings"])
    given = Administration.objects.get(pk=body["id"])
    assert (given.patient, given.given_by, given.lot) == (pat, nina, "LOT-FAKE-1")

    listed = Api(priya).get(f"/patients/{pat.pk}/medications").json()
    assert [a["id"] for a in listed[0]["administrations"]] == [given.pk]
    assert set(listed[0]["administrations"][0]) == ADMINISTRATION_KEYS


def test_it_finds_the_order_by_its_medication_code(priya, nina, pat):
    order = make_order(pat, "vivitrol", by=priya, started_on=date(2026, 2, 1), dose="380")
    give_dose(order, on=date(2026, 2, 4), by=nina, site="gluteal_left")
    response = Api(nina).post(
        f"/patients/{pat.pk}/administrations",
        {
            "medication": "vivitrol",
            "given_at": "2026-03-04T09:30:00-06:00",
            "dose": 380,
            "injection_site": "gluteal_right",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["order_id"] == order.pk
    assert response.json()["warnings"] == []  # 28 days on, the other side


def test_it_refuses_a_dose_of_a_medicine_not_ordered(priya, nina, pat):
    response = Api(nina).post(
        f"/patients/{pat.pk}/administrations",
        {
            "medication": "vivitrol",
            "given_at": "2026-03-04T09:30:00-06:00",
            "dose": 380,
            "injection_site": "gluteal_left",
        },
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.medication"]
    assert "not ordered" in response.json()["detail"][0]["message"]
    assert not Administration.objects.exists()


def test_it_refuses_another_patients_order(priya, nina, pat, site):
    other = make_patient(site, first_name="Robin", last_name="Roleplay")
    order = make_order(other, "sublocade", by=priya, started_on=date(2026, 3, 1))
    response = Api(nina).post(
        f"/patients/{pat.pk}/administrations",
        {
            "order_id": order.pk,
            "given_at": "2026-03-04T09:30:00-06:00",
            "dose": 300,
            "injection_site": "abdomen_upper_left",
        },
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.order_id"]
    assert not Administration.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"given_at": "2026-03-05T09:30:00-06:00"}, "payload.given_at"),  # tomorrow
        ({"given_at": "2026-03-04T09:30:00"}, "payload.given_at"),  # no offset
        ({"given_at": "yesterday"}, "payload.given_at"),
        ({"given_at": "0001-01-01T00:00:00Z"}, "payload.given_at"),
        ({"dose": 0}, "payload.dose"),
        ({"injection_site": "elbow"}, "payload.injection_site"),
        ({"injection_site": ""}, "payload.injection_site"),
        ({"medication": "unicorn_tears", "order_id": None}, "payload.medication"),
        ({"order_id": None}, "payload"),
        ({"order_id": 999999}, "payload.order_id"),
        ({"lot": "x" * 61}, "payload.lot"),
        ({"lot": "LOT\u00001"}, "payload.lot"),
    ],
)
def test_it_refuses_a_bad_dose_naming_the_field(priya, nina, pat, changes, field):
    order = make_order(pat, "sublocade", by=priya, started_on=date(2026, 3, 1))
    body = {
        "order_id": order.pk,
        "given_at": "2026-03-04T09:30:00-06:00",
        "dose": 300,
        "injection_site": "abdomen_upper_left",
    }
    body.update(changes)
    body = {key: value for key, value in body.items() if value is not None}
    response = Api(nina).post(f"/patients/{pat.pk}/administrations", body)
    assert response.status_code == 422, response.content
    assert field in fields(response)
    assert not Administration.objects.exists()


def test_it_refuses_a_dose_of_an_order_not_given_in_clinic(priya, nina, pat):
    order = make_order(pat, "sertraline", by=priya, started_on=date(2026, 3, 1), dose="50")
    response = Api(nina).post(
        f"/patients/{pat.pk}/administrations",
        {"order_id": order.pk, "given_at": "2026-03-04T09:30:00-06:00", "dose": 50},
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.order_id"]


def test_it_refuses_a_dose_of_an_order_that_ended(priya, nina, pat):
    order = make_order(
        pat, "sublocade", by=priya, started_on=date(2026, 1, 1), ended_on=date(2026, 2, 1)
    )
    response = Api(nina).post(
        f"/patients/{pat.pk}/administrations",
        {
            "order_id": order.pk,
            "given_at": "2026-03-04T09:30:00-06:00",
            "dose": 300,
            "injection_site": "abdomen_upper_left",
        },
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.order_id"]


def test_therapists_read_but_do_not_give(tom, priya, pat):
    make_order(pat, "sublocade", by=priya, started_on=date(2026, 3, 1))
    api = Api(tom)
    assert api.get(f"/patients/{pat.pk}/medications").status_code == 200
    response = api.post(
        f"/patients/{pat.pk}/administrations",
        {"medication": "sublocade", "given_at": "2026-03-04T09:30:00-06:00", "dose": 300},
    )
    assert response.status_code == 403


def test_the_list_costs_the_same_for_many_orders_and_doses(
    priya, nina, pat, django_assert_max_num_queries
):
    api = Api(priya)
    first = make_order(pat, "vivitrol", by=priya, started_on=date(2026, 1, 1), dose="380")
    give_dose(first, on=date(2026, 1, 5), by=nina, site="gluteal_left")
    reset_queries()  # a request resets the log: count from zero
    with django_assert_max_num_queries(12) as counted:
        assert api.get(f"/patients/{pat.pk}/medications").status_code == 200
    queries = len(counted.captured_queries)
    for index, code in enumerate(("sertraline", "clonazepam", "gabapentin", "prazosin")):
        make_order(pat, code, by=priya, started_on=TODAY - timedelta(days=index), dose="10")
    for week in range(1, 5):
        give_dose(first, on=date(2026, 1, 5) + timedelta(weeks=4 * week), by=nina)
    reset_queries()  # a request resets the log: count from zero
    with django_assert_max_num_queries(queries):
        response = api.get(f"/patients/{pat.pk}/medications")
    assert len(response.json()) == 5
