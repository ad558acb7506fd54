"""GET a patient's reviews and one review, POST dismiss and accept (with or without the
transfer): exact keys, 404 for what the token may not see, 409 and 422 on bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client

from openiop.accounts.services import create_api_token
from openiop.alerts.models import Alert, AlertState
from openiop.measures import engine
from openiop.measures.models import LevelReview, ReviewState
from openiop.programs.models import Enrollment, EnrollmentStatus
from tests.factories import make_user
from tests.factories_measures import enrolled
from tests.factories_programs import make_program
from tests.factories_reviews import screen_on, today_at

pytestmark = pytest.mark.django_db

REVIEW_KEYS = {
    "id", "patient_id", "enrollment_id", "site_id", "program_id", "program_name", "direction",
    "signals", "trigger", "created_at", "state", "decided_by_id", "decided_at", "reason",
    "transfer_enrollment_id", "version",
}  # fmt: skip


def _client(user):
    secret = create_api_token(user=user, name="tests").secret
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def call(method, path, body=None):
        return client.generic(
            method, f"/api/v1{path}", "{}" if body is None else json.dumps(body),
            content_type="application/json",
        )  # fmt: skip

    return call


@pytest.fixture
def api(tom):
    return _client(tom)


@pytest.fixture
def case(site, tom):
    today = today_at(site)
    iop = make_program(site, "2.1", name="Adult IOP")
    patient, enrollment = enrolled(
        site, therapist=tom, program=iop, admitted_on=today - timedelta(days=40)
    )
    for days in (20, 10, 2):
        screen_on(patient, today - timedelta(days=days), unexpected=True)
    engine.on_event(patient, trigger="screen", today=today)
    return patient, enrollment, LevelReview.objects.get()


def test_it_lists_a_patients_reviews(api, case):
    patient, enrollment, review = case

    response = api("GET", f"/patients/{patient.pk}/reviews")

    assert response.status_code == 200
    [row] = response.json()
    assert set(row) == REVIEW_KEYS
    assert (row["id"], row["enrollment_id"], row["direction"], row["state"]) == (
        review.pk,
        enrollment.pk,
        "step_up",
        "open",
    )
    assert set(row["signals"][0]) == {"code", "evidence", "dates"}
    assert row["signals"][0]["code"] == "unexpected_screens"


def test_it_reads_one_review(api, case):
    _, _, review = case

    body = api("GET", f"/reviews/{review.pk}").json()

    assert set(body) == REVIEW_KEYS and body["version"] == 1


def test_it_hides_another_sites_review(case, oscar):
    patient, _, review = case
    api = _client(oscar)

    assert api("GET", f"/reviews/{review.pk}").status_code == 404
    assert api("GET", f"/patients/{patient.pk}/reviews").status_code == 404
    response = api("POST", f"/reviews/{review.pk}/dismiss", {"reason": "x", "version": 1})
    assert response.status_code == 404
    assert LevelReview.objects.get().state == ReviewState.OPEN


def test_it_answers_404_for_a_made_up_review(api):
    assert api("GET", "/reviews/987654").status_code == 404


def test_it_refuses_a_nurse_the_decision(case, site):
    nia = make_user("nia", site=site, role="nurse")
    _, _, review = case

    api = _client(nia)
    assert api("GET", f"/reviews/{review.pk}").status_code == 200
    response = api("POST", f"/reviews/{review.pk}/dismiss", {"reason": "x", "version": 1})
    assert response.status_code == 403


def test_it_dismisses_with_a_reason(api, case, tom):
    _, _, review = case

    response = api("POST", f"/reviews/{review.pk}/dismiss", {"reason": "Explained", "version": 1})

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["reason"], body["decided_by_id"], body["version"]) == (
        "dismissed",
        "Explained",
        tom.pk,
        2,
    )
    assert Alert.objects.get(evidence_id=review.pk).state == AlertState.RESOLVED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 1}, "payload.reason"),
        ({"reason": "", "version": 1}, "payload.reason"),
        ({"reason": "ok"}, "payload.version"),
        ({"reason": "ok", "version": "x"}, "payload.version"),
        ({"reason": "ok", "version": 1, "extra": 1}, "payload.extra"),
    ],
)
def test_it_names_the_field_of_a_bad_dismissal(api, case, body, field):
    _, _, review = case

    response = api("POST", f"/reviews/{review.pk}/dismiss", body)

    assert response.status_code == 422
    assert field in [item["field"] for item in response.json()["detail"]]
    assert LevelReview.objects.get().state == ReviewState.OPEN


def test_it_refuses_a_blank_reason_and_a_nul(api, case):
    _, _, review = case

    blank = api("POST", f"/reviews/{review.pk}/dismiss", {"reason": "   ", "version": 1})
    nul = api("POST", f"/reviews/{review.pk}/dismiss", {"reason": "a\u0000b", "version": 1})

    assert blank.status_code == 422 and nul.status_code == 422
    assert blank.json()["detail"][0]["field"] == "payload.reason"


def test_it_answers_409_for_a_stale_version_and_a_second_decision(api, case):
    _, _, review = case

    stale = api("POST", f"/reviews/{review.pk}/dismiss", {"reason": "x", "version": 5})
    assert stale.status_code == 409 and "changed since" in stale.json()["detail"]
    api("POST", f"/reviews/{review.pk}/dismiss", {"reason": "x", "version": 1})
    again = api("POST", f"/reviews/{review.pk}/accept", {"reason": "y", "version": 2})
    assert again.status_code == 409 and "already decided" in again.json()["detail"]


def test_it_accepts_without_a_transfer_only_with_a_reason(api, case):
    _, _, review = case

    missing = api("POST", f"/reviews/{review.pk}/accept", {"version": 1})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "payload.reason"
    response = api("POST", f"/reviews/{review.pk}/accept", {"version": 1, "reason": "Referred"})

    assert response.status_code == 200
    assert response.json()["transfer"] is None
    assert response.json()["review"]["state"] == "accepted"


def test_it_accepts_with_the_transfer_in_one_step(api, case, site, tom):
    patient, enrollment, review = case
    php = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    today = today_at(site)

    response = api(
        "POST",
        f"/reviews/{review.pk}/accept",
        {
            "version": 1,
            "transfer": {
                "program_id": php.pk,
                "on": today.isoformat(),
                "primary_therapist_id": tom.pk,
            },
        },
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    new = Enrollment.objects.get(patient=patient, status=EnrollmentStatus.ACTIVE)
    assert body["transfer"]["id"] == new.pk and body["transfer"]["previous_id"] == enrollment.pk
    assert body["transfer"]["transfer_kind"] == "step_up"
    assert body["transfer"]["transfer_reason"].startswith(f"Step-up review #{review.pk}: 3 unexp")
    assert (body["review"]["state"], body["review"]["transfer_enrollment_id"]) == (
        "accepted",
        new.pk,
    )


@pytest.mark.parametrize(
    ("transfer", "status", "field"),
    [
        ({"program_id": 999999, "on": "2026-01-01"}, 404, None),
        ({"program_id": 1, "on": "not a date"}, 422, "payload.transfer.on"),
        ({"on": "2026-01-01"}, 422, "payload.transfer.program_id"),
    ],
)
def test_it_refuses_a_bad_transfer_and_changes_nothing(api, case, transfer, status, field):
    _, enrollment, review = case

    response = api("POST", f"/reviews/{review.pk}/accept", {"version": 1, "transfer": transfer})

    assert response.status_code == status
    if field:
        assert field in [item["field"] for item in response.json()["detail"]]
    assert LevelReview.objects.get().state == ReviewState.OPEN
    assert Enrollment.objects.get(pk=enrollment.pk).status == EnrollmentStatus.ACTIVE


def test_it_refuses_a_transfer_before_the_admission_naming_the_field(api, case, site):
    _, enrollment, review = case
    php = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    early = (enrollment.admitted_on - timedelta(days=5)).isoformat()

    response = api(
        "POST",
        f"/reviews/{review.pk}/accept",
        {"version": 1, "transfer": {"program_id": php.pk, "on": early}},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"].startswith("payload.transfer")
    assert LevelReview.objects.get().state == ReviewState.OPEN
