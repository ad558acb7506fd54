"""GET/POST /api/v1/patients, GET/PATCH /api/v1/patients/{id}, deactivate and reactivate."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.test import Client

from openiop.accounts.models import Membership
from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.audit.models import Action, AuditEvent
from openiop.patients.models import Patient
from openiop.patients.services import STALE_EDIT_MESSAGE
from tests.factories import make_user
from tests.factories_patients import make_patient

PATIENT_KEYS = {
    "id",
    "mrn",
    "site_id",
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "pronouns",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
    "primary_language",
    "is_active",
    "version",
    "created_at",
    "updated_at",
}

NEW = {
    "first_name": "Casey",
    "last_name": "Sample",
    "preferred_name": "Cas",
    "date_of_birth": "1988-04-02",
    "pronouns": "they/them",
    "phone": "(555) 010-0199",
    "email": "casey.sample@example.test",
    "city": "Sampletown",
    "emergency_contact_name": "Robin Sample",
    "emergency_contact_relationship": "sibling",
    "primary_language": "Spanish",
}


class Api:
    def __init__(self, user) -> None:
        self.client = Client()
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user=user, name='t').secret}"}

    def get(self, path: str, params: dict[str, Any] | None = None):
        return self.client.get(f"/api/v1{path}", params or {}, **self.auth)

    def send(self, method: str, path: str, body: Any = None):
        return self.client.generic(
            method,
            f"/api/v1{path}",
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            **self.auth,
        )


@pytest.fixture
def as_tom(tom):
    return Api(tom)


@pytest.fixture
def as_dana(dana):
    return Api(dana)


@pytest.fixture
def as_oscar(oscar):
    return Api(oscar)


def fields_of(response) -> set[str]:
    return {error["field"] for error in response.json()["detail"]}


class TestRegister:
    def test_it_registers_at_the_users_one_site(self, as_tom, site, tom):
        response = as_tom.send("POST", "/patients", NEW)
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == PATIENT_KEYS
        patient = Patient.objects.get()
        assert body["id"] == patient.pk and body["mrn"] == patient.mrn
        assert body["version"] == 1 and body["site_id"] == site.pk
        assert body["primary_language"] == "Spanish" and body["address_line1"] == ""
        event = AuditEvent.objects.get(action=Action.CREATE)
        assert event.patient_id == patient.pk and event.actor == tom

    def test_it_needs_site_id_from_a_member_of_several_sites(self, site, other_site, tom):
        Membership.objects.create(user=tom, site=other_site, role=Role.FRONT_DESK)
        api = Api(tom)
        response = api.send("POST", "/patients", NEW)
        assert response.status_code == 422 and fields_of(response) == {"payload.site_id"}
        assert not Patient.objects.exists()
        response = api.send("POST", "/patients", {**NEW, "site_id": other_site.pk})
        assert response.status_code == 201
        assert Patient.objects.get().site == other_site

    def test_it_ignores_sites_where_the_role_may_not_register(self, site, other_site, tom):
        Membership.objects.create(user=tom, site=other_site, role=Role.NURSE)
        assert Api(tom).send("POST", "/patients", NEW).status_code == 201

    @pytest.mark.parametrize("site_id", [999999, "other"])
    def test_it_refuses_an_unknown_or_foreign_site(self, as_tom, other_site, site_id):
        body = {**NEW, "site_id": other_site.pk if site_id == "other" else site_id}
        response = as_tom.send("POST", "/patients", body)
        assert response.status_code == 422
        assert fields_of(response) == {"payload.site_id"}
        assert not Patient.objects.exists()

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"date_of_birth": "2999-01-01"}, "payload.date_of_birth"),
            ({"date_of_birth": "1850-01-01"}, "payload.date_of_birth"),
            ({"date_of_birth": "02/30/1990"}, "payload.date_of_birth"),
            ({"email": "casey-at-example"}, "payload.email"),
            ({"first_name": ""}, "payload.first_name"),
            ({"last_name": "   "}, "payload.last_name"),
            ({"first_name": None}, "payload.first_name"),
            ({"phone": "call me"}, "payload.phone"),
            ({"ssn": "000-00-0000"}, "payload.ssn"),
            ({"mrn": "OI0000001"}, "payload.mrn"),
            ({"site_id": "here"}, "payload.site_id"),
        ],
    )
    def test_it_refuses_bad_input_naming_the_field(self, as_tom, changes, field):
        response = as_tom.send("POST", "/patients", {**NEW, **changes})
        assert response.status_code == 422, response.content
        assert field in fields_of(response)
        assert not Patient.objects.exists()
        assert not AuditEvent.objects.filter(action=Action.CREATE).exists()

    def test_it_refuses_missing_names_and_birth_date(self, as_tom):
        response = as_tom.send("POST", "/patients", {"email": "x@example.test"})
        assert response.status_code == 422
        assert fields_of(response) == {
            "payload.first_name",
            "payload.last_name",
            "payload.date_of_birth",
        }

    def test_a_nurse_may_not_register(self, site):
        nurse = make_user("nia", site=site, role=Role.NURSE)
        assert Api(nurse).send("POST", "/patients", NEW).status_code == 403


class TestRead:
    def test_it_reads_one_patient_and_audits_it(self, as_tom, site, tom):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        response = as_tom.get(f"/patients/{patient.pk}")
        assert response.status_code == 200
        assert set(response.json()) == PATIENT_KEYS
        assert response.json()["mrn"] == patient.mrn
        event = AuditEvent.objects.get(patient_id=patient.pk)
        assert event.action == Action.VIEW and event.actor == tom

    def test_it_answers_404_for_other_sites_and_unknown_ids(self, as_oscar, as_tom, site):
        patient = make_patient(site)
        assert as_oscar.get(f"/patients/{patient.pk}").status_code == 404
        assert as_tom.get("/patients/999999").json() == {"detail": "Not found."}
        assert not AuditEvent.objects.filter(patient_id=patient.pk).exists()

    @pytest.mark.parametrize("bad", ["abc", "0", "-3", "99999999999999999999999"])
    def test_it_refuses_a_malformed_id(self, as_tom, bad):
        response = as_tom.get(f"/patients/{bad}")
        assert response.status_code == 422
        assert fields_of(response) == {"path.patient_id"}


class TestSearch:
    @pytest.fixture
    def people(self, site, other_site):
        return [
            make_patient(
                site, first_name="Casey", last_name="Sample", date_of_birth=date(1988, 4, 2)
            ),
            make_patient(site, first_name="Pat", last_name="Placeholder"),
            make_patient(site, first_name="Gone", last_name="Sample", is_active=False),
            make_patient(other_site, first_name="Casey", last_name="Sample"),
        ]

    def names(self, response) -> list[str]:
        assert response.status_code == 200, response.content
        return [f"{p['last_name']}, {p['first_name']}" for p in response.json()["results"]]

    def test_it_searches_by_name_mrn_and_birth_date(self, as_tom, people):
        assert self.names(as_tom.get("/patients", {"q": "Sample, Ca"})) == ["Sample, Casey"]
        assert self.names(as_tom.get("/patients", {"q": "casey sample"})) == ["Sample, Casey"]
        assert self.names(as_tom.get("/patients", {"q": people[1].mrn.lower()})) == [
            "Placeholder, Pat"
        ]
        assert self.names(as_tom.get("/patients", {"q": "04/02/1988"})) == ["Sample, Casey"]
        event = AuditEvent.objects.filter(object_type="patient_search").first()
        assert event.detail.startswith("date of birth search")
        assert "1988" not in event.detail

    def test_it_lists_every_active_patient_in_order_with_paging(self, as_tom, people):
        response = as_tom.get("/patients", {"limit": 1})
        body = response.json()
        assert set(body) == {"count", "results", "next_offset"}
        assert body["count"] == 2 and body["next_offset"] == 1
        assert set(body["results"][0]) == PATIENT_KEYS
        assert self.names(as_tom.get("/patients", {"limit": 1, "offset": 1})) == ["Sample, Casey"]
        assert self.names(as_tom.get("/patients", {"include_inactive": "true"})) == [
            "Placeholder, Pat",
            "Sample, Casey",
            "Sample, Gone",
        ]

    def test_oscar_never_sees_our_patients(self, as_oscar, people):
        response = as_oscar.get("/patients", {"q": "Sample"})
        assert response.json()["count"] == 1
        assert response.json()["results"][0]["id"] == people[3].pk

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"q": "02/30/1990"}, "query.q"),
            ({"limit": 0}, "query.limit"),
            ({"limit": 101}, "query.limit"),
            ({"offset": -1}, "query.offset"),
            ({"include_inactive": "maybe"}, "query.include_inactive"),
            ({"q": "x" * 101}, "query.q"),
        ],
    )
    def test_it_refuses_bad_parameters(self, as_tom, params, field):
        response = as_tom.get("/patients", params)
        assert response.status_code == 422
        assert fields_of(response) == {field}

    def test_it_issues_a_constant_number_of_queries(self, as_tom, site, django_assert_num_queries):
        for n in range(3):
            make_patient(site, first_name=f"Pat{n}", last_name="Sample")
        as_tom.get("/patients")  # the token's last-used time is written at most once a minute
        # Token with its user, memberships (guard), memberships (scope), count, page, audit.
        with django_assert_num_queries(QUERIES_PER_SEARCH):
            assert len(as_tom.get("/patients", {"q": "Sample"}).json()["results"]) == 3
        for n in range(37):
            make_patient(site, first_name=f"Pat{n}", last_name="Sample")
        with django_assert_num_queries(QUERIES_PER_SEARCH):
            assert (
                len(as_tom.get("/patients", {"q": "Sample", "limit": 100}).json()["results"]) == 40
            )


QUERIES_PER_SEARCH = 6


class TestPatch:
    def test_it_changes_only_the_fields_given_and_returns_the_new_version(self, as_tom, site):
        patient = make_patient(site, first_name="Casey", last_name="Sample", city="Sampletown")
        response = as_tom.send(
            "PATCH", f"/patients/{patient.pk}", {"version": 1, "phone": "555-010-0199"}
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == PATIENT_KEYS
        assert body["version"] == 2 and body["phone"] == "555-010-0199"
        assert body["city"] == "Sampletown"
        event = AuditEvent.objects.get(action=Action.UPDATE, patient_id=patient.pk)
        assert event.detail == "changed: phone"

    def test_it_refuses_the_second_of_two_edits_from_one_version(self, as_tom, as_dana, site):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        first = as_dana.send("PATCH", f"/patients/{patient.pk}", {"version": 1, "city": "First"})
        assert first.status_code == 200
        second = as_tom.send("PATCH", f"/patients/{patient.pk}", {"version": 1, "city": "Second"})
        assert second.status_code == 409
        assert second.json() == {"detail": STALE_EDIT_MESSAGE}
        assert STALE_EDIT_MESSAGE.startswith("Someone else changed this patient since you opened")
        patient.refresh_from_db()
        assert patient.city == "First" and patient.version == 2
        assert AuditEvent.objects.filter(action=Action.UPDATE).count() == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"city": "Elm"}, "payload.version"),
            ({"version": "one", "city": "Elm"}, "payload.version"),
            ({"version": 1, "email": "nope"}, "payload.email"),
            ({"version": 1, "date_of_birth": "2999-12-31"}, "payload.date_of_birth"),
            ({"version": 1, "first_name": None}, "payload.first_name"),
            ({"version": 1, "last_name": ""}, "payload.last_name"),
            ({"version": 1, "mrn": "OI9999999"}, "payload.mrn"),
            ({"version": 1, "is_active": False}, "payload.is_active"),
            ({"version": 1, "site_id": 2}, "payload.site_id"),
        ],
    )
    def test_it_refuses_bad_input_and_writes_nothing(self, as_tom, site, body, field):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        response = as_tom.send("PATCH", f"/patients/{patient.pk}", body)
        assert response.status_code == 422, response.content
        assert field in fields_of(response)
        patient.refresh_from_db()
        assert patient.version == 1 and patient.city == "" and patient.is_active

    def test_it_answers_404_for_another_sites_patient(self, as_oscar, site):
        patient = make_patient(site)
        response = as_oscar.send("PATCH", f"/patients/{patient.pk}", {"version": 1, "city": "X"})
        assert response.status_code == 404
        patient.refresh_from_db()
        assert patient.city == ""

    def test_a_billing_clerk_may_not_edit(self, site):
        clerk = make_user("bill", site=site, role=Role.BILLING)
        patient = make_patient(site)
        response = Api(clerk).send("PATCH", f"/patients/{patient.pk}", {"version": 1, "city": "X"})
        assert response.status_code == 403


class TestDeactivate:
    def test_a_director_deactivates_and_reactivates(self, as_dana, site):
        patient = make_patient(site)
        response = as_dana.send("POST", f"/patients/{patient.pk}/deactivate")
        assert response.status_code == 200 and response.json()["is_active"] is False
        assert response.json()["version"] == 2
        assert as_dana.get("/patients").json()["count"] == 0
        response = as_dana.send("POST", f"/patients/{patient.pk}/reactivate")
        assert response.json()["is_active"] is True
        assert as_dana.get("/patients").json()["count"] == 1

    def test_a_therapist_may_not(self, as_tom, site):
        patient = make_patient(site)
        assert as_tom.send("POST", f"/patients/{patient.pk}/deactivate").status_code == 403
        patient.refresh_from_db()
        assert patient.is_active

    def test_another_sites_director_gets_404(self, as_oscar, site):
        patient = make_patient(site)
        assert as_oscar.send("POST", f"/patients/{patient.pk}/deactivate").status_code == 404
        patient.refresh_from_db()
        assert patient.is_active
