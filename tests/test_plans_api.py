"""GET /api/v1/patients/{id}/treatment-plans, /treatment-plans/{id} and the RPP."""

from __future__ import annotations

import pytest

from openiop.accounts.services import create_api_token
from openiop.audit.models import AuditEvent
from openiop.clinical.goals import check_goals
from openiop.clinical.plans import acknowledge_plan, start_review
from openiop.clinical.relapse_prevention import save_relapse_prevention_plan
from tests.factories_clinical import make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program


def _get(client, user, path):
    secret = create_api_token(user=user, name="test").secret
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def enrollment(site, tom):
    patient = make_patient(site, first_name="Robin", last_name="Apifake")
    return make_enrollment(patient, make_program(site), primary_therapist=tom)


def test_it_lists_the_versions(client, tom, enrollment):
    first = make_plan(enrollment.patient, enrollment, tom)
    acknowledge_plan(first, typed_name="Robin Apifake", recorded_by=tom)
    review = start_review(enrollment, author=tom)
    response = _get(client, tom, f"/api/v1/patients/{enrollment.patient_id}/treatment-plans")
    assert response.status_code == 200
    body = response.json()
    assert [(v["number"], v["status"], v["kind"]) for v in body] == [
        (2, "draft", "review"),
        (1, "signed", "initial"),
    ]
    assert body[0]["previous_id"] == first.pk
    assert body[1]["acknowledged_name"] == "Robin Apifake"
    assert set(body[0]) == {
        "id",
        "patient_id",
        "enrollment_id",
        "number",
        "kind",
        "status",
        "previous_id",
        "author",
        "created_at",
        "signed_at",
        "signer_name",
        "content_sha256",
        "review_due_on",
        "acknowledged_at",
        "acknowledged_name",
    }
    assert body[0]["id"] == review.pk


def test_it_gives_the_tree_with_goal_ids_notes_may_name(client, tom, enrollment):
    plan = make_plan(enrollment.patient, enrollment, tom, goals=("Stay sober", "Find work"))
    response = _get(client, tom, f"/api/v1/treatment-plans/{plan.pk}")
    assert response.status_code == 200
    body = response.json()
    goals = [goal for problem in body["problems"] for goal in problem["goals"]]
    assert [g["statement"] for g in goals] == ["Stay sober", "Find work"]
    assert goals[0]["objectives"][0]["target_date"]
    assert goals[0]["interventions"][0]["responsible"] == "Tom Fakename, LCSW"
    assert goals[0]["last_addressed_at"] is None
    ids = [g["id"] for g in goals]
    assert check_goals(enrollment.patient_id, ids) == sorted(ids)
    assert AuditEvent.objects.filter(
        patient_id=enrollment.patient_id, object_type="treatment_plan", actor=tom
    ).exists()


def test_plans_of_another_site_are_not_found(client, oscar, tom, enrollment):
    plan = make_plan(enrollment.patient, enrollment, tom)
    assert _get(client, oscar, f"/api/v1/treatment-plans/{plan.pk}").status_code == 404
    path = f"/api/v1/patients/{enrollment.patient_id}/treatment-plans"
    assert _get(client, oscar, path).status_code == 404
    path = f"/api/v1/patients/{enrollment.patient_id}/relapse-prevention-plan"
    assert _get(client, oscar, path).status_code == 404
    assert _get(client, oscar, "/api/v1/treatment-plans/999999").status_code == 404


def test_an_auditor_may_not_read_plans(client, audrey, enrollment):
    path = f"/api/v1/patients/{enrollment.patient_id}/treatment-plans"
    assert _get(client, audrey, path).status_code == 403


def test_it_gives_the_latest_relapse_prevention_plan(client, tom, enrollment):
    patient = enrollment.patient
    path = f"/api/v1/patients/{patient.pk}/relapse-prevention-plan"
    response = _get(client, tom, path)
    assert response.status_code == 404
    assert response.json() == {"detail": "This patient has no relapse-prevention plan yet."}
    data = {
        "triggers": "Payday",
        "supports": [{"name": "Sam Sponsorfake", "phone": "555-010-0142", "relationship": ""}],
    }
    save_relapse_prevention_plan(patient, author=tom, data=data, based_on_number=None)
    save_relapse_prevention_plan(
        patient, author=tom, data={**data, "triggers": "Payday, old bar"}, based_on_number=1
    )
    body = _get(client, tom, path).json()
    assert body["number"] == 2
    assert body["triggers"] == "Payday, old bar"
    assert body["supports"] == [
        {"name": "Sam Sponsorfake", "phone": "555-010-0142", "relationship": ""}
    ]
