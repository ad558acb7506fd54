"""The patient list, registration, edit and deactivate screens."""

from __future__ import annotations

from datetime import date

import pytest

from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from openiop.patients.forms import PatientForm
from openiop.patients.models import Patient
from openiop.patients.services import EDITABLE_FIELDS
from tests.factories import make_user, sign_in
from tests.factories_patients import make_patient

REGISTRATION = {
    "first_name": "Casey",
    "last_name": "Sample",
    "preferred_name": "Cas",
    "date_of_birth": "1988-04-02",
    "pronouns": "they/them",
    "phone": "(555) 010-0199",
    "email": "casey.sample@example.test",
    "address_line1": "1 Placeholder Lane",
    "address_line2": "",
    "city": "Sampletown",
    "state": "IL",
    "postal_code": "60000",
    "emergency_contact_name": "Robin Sample",
    "emergency_contact_phone": "555-010-0100",
    "emergency_contact_relationship": "sibling",
    "primary_language": "English",
}


def _form_data(patient: Patient, **changes: object) -> dict[str, object]:
    data = {name: getattr(patient, name) or "" for name in EDITABLE_FIELDS}
    data["date_of_birth"] = patient.date_of_birth.isoformat()
    data["version"] = patient.version
    data.update(changes)
    return data


@pytest.fixture
def front_desk(site):
    return make_user("fran", site=site, role=Role.FRONT_DESK, first_name="Fran")


def test_the_form_covers_every_editable_field():
    assert tuple(PatientForm.base_fields) == EDITABLE_FIELDS


class TestList:
    def test_it_lists_patients_with_age_and_audits_the_search_kind(self, client, site, tom):
        casey = make_patient(
            site, first_name="Casey", last_name="Sample", preferred_name="Cas", phone="555-0100"
        )
        sign_in(client, tom, site=site)
        response = client.get("/patients/", {"q": "Sample, Casey"})
        assert response.status_code == 200
        html = response.content.decode()
        assert "Sample, Casey" in html and "Goes by Cas" in html and casey.mrn in html
        assert f'href="/patients/{casey.pk}/"' in html
        event = AuditEvent.objects.get(object_type="patient_search")
        assert event.action == Action.VIEW and event.detail == "name search, page 1"
        assert "Casey" not in event.detail and event.actor == tom

    def test_it_shows_the_first_empty_state_with_a_register_button(self, client, site, tom):
        sign_in(client, tom, site=site)
        html = client.get("/patients/").content.decode()
        assert "No patients registered yet" in html
        assert 'href="/patients/new/"' in html

    def test_it_hides_the_register_button_from_roles_that_cannot(self, client, site):
        nurse = make_user("nia", site=site, role=Role.NURSE)
        sign_in(client, nurse, site=site)
        html = client.get("/patients/").content.decode()
        assert "No patients registered yet" in html
        assert 'href="/patients/new/"' not in html

    def test_it_says_when_nothing_matches(self, client, site, tom):
        make_patient(site, first_name="Casey", last_name="Sample")
        sign_in(client, tom, site=site)
        html = client.get("/patients/", {"q": "Zed"}).content.decode()
        assert "No patients match “Zed”" in html

    def test_it_explains_an_impossible_date(self, client, site, tom):
        make_patient(site)
        sign_in(client, tom, site=site)
        html = client.get("/patients/", {"q": "02/30/1990"}).content.decode()
        assert "is not a real date" in html
        assert AuditEvent.objects.get(object_type="patient_search").detail.startswith("invalid")

    def test_it_hides_inactive_patients_unless_asked(self, client, site, tom):
        make_patient(site, first_name="Gone", last_name="Sample", is_active=False)
        sign_in(client, tom, site=site)
        html = client.get("/patients/").content.decode()
        assert "No active patients" in html and "Sample, Gone" not in html
        html = client.get("/patients/", {"status": "all"}).content.decode()
        assert "Sample, Gone" in html and "Inactive" in html

    def test_it_never_lists_another_sites_patients(self, client, site, other_site, oscar):
        make_patient(site, first_name="Casey", last_name="Sample")
        sign_in(client, oscar, site=other_site)
        html = client.get("/patients/", {"q": "Sample"}).content.decode()
        assert "Sample, Casey" not in html and "No patients match" in html

    def test_it_paginates_by_25(self, client, site, tom):
        for n in range(30):
            make_patient(site, first_name=f"Pat{n:02d}", last_name="Sample")
        sign_in(client, tom, site=site)
        first = client.get("/patients/").content.decode()
        assert first.count("data-patient-id") == 25 and "Showing 1–25 of 30" in first
        second = client.get("/patients/", {"page": 2}).content.decode()
        assert second.count("data-patient-id") == 5

    @pytest.mark.parametrize("q", ["", "Sample", "OI00000", "1990-01-01"])
    def test_it_issues_a_constant_number_of_queries(
        self, client, site, tom, django_assert_num_queries, q
    ):
        sign_in(client, tom, site=site)
        for n in range(3):
            make_patient(site, first_name=f"Pat{n}", last_name="Sample")
        client.get("/patients/", {"q": q})  # warm the session and caches
        with django_assert_num_queries(QUERIES_PER_LIST) as small:
            assert client.get("/patients/", {"q": q}).status_code == 200
        for n in range(37):
            make_patient(site, first_name=f"Pat{n}", last_name="Sample", phone="555-0100")
        with django_assert_num_queries(len(small.captured_queries)):
            assert client.get("/patients/", {"q": q}).status_code == 200


# Session, user, second factor, memberships (middleware), count, page, audit insert, and the
# session save (savepoint, update, release) for the "last seen" clock.
QUERIES_PER_LIST = 11


class TestRegister:
    def test_it_registers_and_opens_the_chart(self, client, site, front_desk):
        sign_in(client, front_desk, site=site)
        response = client.post("/patients/new/", REGISTRATION)
        patient = Patient.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"/patients/{patient.pk}/"
        assert patient.site == site and patient.mrn.startswith("OI")
        assert patient.date_of_birth == date(1988, 4, 2) and patient.emergency_contact_name
        assert AuditEvent.objects.get(action=Action.CREATE).patient_id == patient.pk

    def test_it_shows_every_problem_at_once(self, client, site, front_desk):
        sign_in(client, front_desk, site=site)
        bad = {"last_name": "", "date_of_birth": "2999-01-01", "email": "x", "phone": "call me"}
        html = client.post("/patients/new/", {**REGISTRATION, **bad}).content.decode()
        for message in ("legal last name", "cannot be in the future", "valid email", "digits"):
            assert message in html

    def test_it_accepts_us_dates(self, client, site, front_desk):
        sign_in(client, front_desk, site=site)
        client.post("/patients/new/", {**REGISTRATION, "date_of_birth": "04/02/1988"})
        assert Patient.objects.get().date_of_birth == date(1988, 4, 2)

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"date_of_birth": "2999-01-01"}, "cannot be in the future"),
            ({"date_of_birth": "1850-01-01"}, "before 1900"),
            ({"date_of_birth": "soon"}, "YYYY-MM-DD or MM/DD/YYYY"),
            ({"email": "casey-at-example"}, "valid email"),
            ({"first_name": ""}, "legal first name"),
            ({"last_name": "  "}, "legal last name"),
            ({"phone": "call me"}, "phone number"),
        ],
    )
    def test_it_shows_errors_and_writes_nothing(self, client, site, front_desk, changes, message):
        sign_in(client, front_desk, site=site)
        response = client.post("/patients/new/", {**REGISTRATION, **changes})
        assert response.status_code == 422
        html = response.content.decode()
        assert message in html and "is-invalid" in html
        assert 'value="Sampletown"' in html  # the rest of the input is kept
        assert not Patient.objects.exists()
        assert not AuditEvent.objects.filter(action=Action.CREATE).exists()

    def test_it_shows_the_empty_form(self, client, site, front_desk):
        sign_in(client, front_desk, site=site)
        html = client.get("/patients/new/").content.decode()
        for heading in ("Identity", "Contact", "Address", "Emergency contact", "Language"):
            assert f">{heading}</h2>" in html
        assert 'value="English"' in html


class TestEdit:
    def test_it_shows_the_form_with_the_version_and_audits_the_read(self, client, site, tom):
        patient = make_patient(
            site,
            first_name="Casey",
            last_name="Sample",
            city="Sampletown",
            date_of_birth=date(1988, 4, 2),
        )
        sign_in(client, tom, site=site)
        html = client.get(f"/patients/{patient.pk}/edit/").content.decode()
        assert 'name="version" value="1"' in html and 'value="Sampletown"' in html
        assert 'type="date" name="date_of_birth" id="id_date_of_birth"' in html
        assert 'value="1988-04-02"' in html
        event = AuditEvent.objects.get(patient_id=patient.pk)
        assert event.action == Action.VIEW and event.detail == "edit form"

    def test_it_saves_and_bumps_the_version(self, client, site, tom):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        sign_in(client, tom, site=site)
        response = client.post(f"/patients/{patient.pk}/edit/", _form_data(patient, city="Elm"))
        assert response.status_code == 302
        patient.refresh_from_db()
        assert patient.city == "Elm" and patient.version == 2
        update = AuditEvent.objects.get(action=Action.UPDATE, patient_id=patient.pk)
        assert update.detail == "changed: city"

    def test_it_refuses_the_second_of_two_edits_from_one_version(self, client, site, tom, dana):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        stale = _form_data(patient, city="Second")
        sign_in(client, dana, site=site)
        client.post(f"/patients/{patient.pk}/edit/", _form_data(patient, city="First"))
        sign_in(client, tom, site=site)
        response = client.post(f"/patients/{patient.pk}/edit/", stale)
        assert response.status_code == 409
        html = response.content.decode()
        assert "Someone else changed this patient since you opened it" in html
        assert 'value="Second"' in html  # the user's input is kept
        patient.refresh_from_db()
        assert patient.city == "First" and patient.version == 2
        assert AuditEvent.objects.filter(action=Action.UPDATE).count() == 1

    def test_it_refuses_a_form_without_a_version(self, client, site, tom):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        data = _form_data(patient, city="Elm")
        del data["version"]
        sign_in(client, tom, site=site)
        response = client.post(f"/patients/{patient.pk}/edit/", data)
        assert response.status_code == 422
        assert "missing its version" in response.content.decode()
        patient.refresh_from_db()
        assert patient.city == "" and patient.version == 1

    def test_it_shows_field_errors_and_writes_nothing(self, client, site, tom):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        sign_in(client, tom, site=site)
        response = client.post(
            f"/patients/{patient.pk}/edit/", _form_data(patient, date_of_birth="2999-01-01")
        )
        assert response.status_code == 422
        assert "cannot be in the future" in response.content.decode()
        patient.refresh_from_db()
        assert patient.version == 1

    def test_it_answers_404_for_another_sites_patient(self, client, site, other_site, oscar):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        sign_in(client, oscar, site=other_site)
        assert client.get(f"/patients/{patient.pk}/edit/").status_code == 404
        response = client.post(f"/patients/{patient.pk}/edit/", _form_data(patient, city="X"))
        assert response.status_code == 404
        patient.refresh_from_db()
        assert patient.city == ""

    def test_it_answers_404_for_an_unknown_patient(self, client, site, tom):
        sign_in(client, tom, site=site)
        assert client.get("/patients/999999/edit/").status_code == 404


class TestDeactivate:
    def test_a_director_deactivates_and_reactivates(self, client, site, dana):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        sign_in(client, dana, site=site)
        response = client.post(f"/patients/{patient.pk}/deactivate/")
        assert response.status_code == 302
        patient.refresh_from_db()
        assert not patient.is_active
        assert "Sample, Casey" not in client.get("/patients/").content.decode()
        html = client.get(f"/patients/{patient.pk}/edit/").content.decode()
        assert "Reactivate" in html
        client.post(f"/patients/{patient.pk}/reactivate/")
        patient.refresh_from_db()
        assert patient.is_active
        details = set(
            AuditEvent.objects.filter(action=Action.UPDATE, patient_id=patient.pk).values_list(
                "detail", flat=True
            )
        )
        assert details == {"deactivated", "reactivated"}

    def test_a_therapist_may_not(self, client, site, tom):
        patient = make_patient(site, first_name="Casey", last_name="Sample")
        sign_in(client, tom, site=site)
        assert client.post(f"/patients/{patient.pk}/deactivate/").status_code == 403
        patient.refresh_from_db()
        assert patient.is_active
        html = client.get(f"/patients/{patient.pk}/edit/").content.decode()
        assert "Deactivate" not in html

    def test_it_refuses_get(self, client, site, dana):
        patient = make_patient(site)
        sign_in(client, dana, site=site)
        assert client.get(f"/patients/{patient.pk}/deactivate/").status_code == 405

    def test_another_sites_director_gets_404(self, client, site, other_site, oscar):
        patient = make_patient(site)
        sign_in(client, oscar, site=other_site)
        assert client.post(f"/patients/{patient.pk}/deactivate/").status_code == 404
        patient.refresh_from_db()
        assert patient.is_active
