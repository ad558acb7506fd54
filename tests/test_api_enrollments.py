"""POST /enrollments, discharge, transfer, GET a patient's enrollments, sessions and drop-ins."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from openiop.accounts.services import create_api_token
from openiop.audit.models import AuditEvent
from openiop.programs.models import Enrollment, EnrollmentStatus, Episode
from openiop.scheduling.models import Booking, Session, SessionKind
from tests.factories_enrollment import (
    NOW,
    TODAY,
    iop_with_tracks,
    local,
    make_enrollment,
    make_prescriber,
    mondays,
    track_sessions,
)
from tests.factories_patients import make_patient
from tests.factories_programs import make_program, make_track
from tests.factories_scheduling import make_booking, make_session

ENROLLMENT_KEYS = {
    "id", "patient_id", "episode_id", "program_id", "program_name", "level_of_care",
    "track_id", "track_name", "admitted_on", "discharged_on", "status", "discharge_reason",
    "discharge_note", "weekly_hours_min", "weekly_hours_max", "primary_therapist_id",
    "prescriber_id", "individual_cadence", "previous_id", "transfer_kind", "transfer_reason",
    "version",
}  # fmt: skip


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def iop(site):
    return iop_with_tracks(site)


@pytest.fixture
def pat(site):
    return make_patient(site)


@pytest.fixture
def api(tom):
    secret = create_api_token(user=tom, name="tests").secret
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def call(method, path, body=None):
        return client.generic(
            method, f"/api/v1{path}", "{}" if body is None else json.dumps(body),
            content_type="application/json",
        )  # fmt: skip

    return call


def admission(pat, iop, **kw):
    program, evening, _ = iop
    body = {
        "patient_id": pat.pk,
        "program_id": program.pk,
        "track_id": evening.pk,
        "admitted_on": str(TODAY),
    }
    body.update(kw)
    return body


def fields_of(response):
    """The fields named by a 422, without the body's "payload." prefix."""
    return {error["field"].removeprefix("payload.") for error in response.json()["detail"]}


def test_it_admits_and_books_the_track(api, pat, iop, tom, site):
    _, evening, _ = iop
    track_sessions(evening, tom, days=mondays(3))
    prescriber = make_prescriber(site)
    response = api(
        "post",
        "/enrollments",
        admission(pat, iop, primary_therapist_id=tom.pk, prescriber_id=prescriber.pk,
                  weekly_hours_min=10, individual_cadence="biweekly"),
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ENROLLMENT_KEYS | {"sessions_booked", "skipped"}
    assert body["sessions_booked"] == 3 and body["skipped"] == []
    assert body["weekly_hours_min"] == 10.0 and body["weekly_hours_max"] == 12.0
    assert body["status"] == "active" and body["individual_cadence"] == "biweekly"
    assert Booking.objects.filter(patient=pat).count() == 3
    assert AuditEvent.objects.filter(patient_id=pat.pk, object_type="enrollment").count() == 2


def test_it_lists_a_patients_enrollments_newest_first(api, pat, iop):
    program, evening, morning = iop
    make_enrollment(
        pat, program, morning, admitted_on=TODAY - timedelta(days=60),
        discharged_on=TODAY - timedelta(days=30), status=EnrollmentStatus.DISCHARGED,
    )  # fmt: skip
    make_enrollment(pat, program, evening, admitted_on=TODAY)
    response = api("get", f"/patients/{pat.pk}/enrollments")
    assert response.status_code == 200
    body = response.json()
    assert [e["track_name"] for e in body] == [evening.name, morning.name]
    assert set(body[0]) == ENROLLMENT_KEYS
    assert AuditEvent.objects.filter(patient_id=pat.pk, action="view").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"admitted_on": "2026-02-30"}, "admitted_on"),
        ({"admitted_on": "1970-01-01"}, "admitted_on"),
        ({"weekly_hours_min": 5}, "weekly_hours_min"),
        ({"weekly_hours_max": 30}, "weekly_hours_max"),
        ({"weekly_hours_min": 9.25}, "weekly_hours_min"),
        ({"individual_cadence": "monthly"}, "individual_cadence"),
    ],
)
def test_it_answers_422_naming_the_field(api, pat, iop, change, field):
    response = api("post", "/enrollments", admission(pat, iop, **change))
    assert response.status_code == 422, response.content
    assert field in fields_of(response)
    assert not Enrollment.objects.exists() and not Episode.objects.exists()


def test_it_answers_422_for_a_track_of_another_program(api, pat, iop, site):
    other_track = make_track(make_program(site, name="Second IOP"), "Noon")
    response = api("post", "/enrollments", admission(pat, iop, track_id=other_track.pk))
    assert response.status_code == 422
    assert fields_of(response) == {"track_id"}


@pytest.mark.parametrize("field", ["patient_id", "program_id", "track_id", "prescriber_id"])
def test_it_answers_404_for_unknown_ids(api, pat, iop, field):
    response = api("post", "/enrollments", admission(pat, iop, **{field: 999999}))
    assert response.status_code == 404
    assert not Enrollment.objects.exists()


def test_it_answers_404_for_another_sites_patient_and_program(api, iop, other_site, pat):
    stranger = make_patient(other_site, first_name="Far", last_name="Away")
    assert api("post", "/enrollments", admission(stranger, iop)).status_code == 404
    elsewhere = make_program(other_site, name="Far IOP")
    response = api("post", "/enrollments", admission(pat, iop, program_id=elsewhere.pk))
    assert response.status_code == 404
    assert api("get", f"/patients/{stranger.pk}/enrollments").status_code == 404


def test_a_second_active_enrollment_is_a_409(api, pat, iop):
    assert api("post", "/enrollments", admission(pat, iop)).status_code == 201
    response = api("post", "/enrollments", admission(pat, iop))
    assert response.status_code == 409
    assert response.json() == {"detail": "This patient already has an active enrollment."}
    assert Enrollment.objects.count() == 1


def test_it_discharges_and_refuses_bad_dates_and_stale_versions(api, pat, iop):
    program, evening, _ = iop
    enrollment = make_enrollment(pat, program, evening, admitted_on=TODAY - timedelta(days=20))
    url = f"/enrollments/{enrollment.pk}/discharge"
    early = {"discharged_on": str(TODAY - timedelta(days=21)), "reason": "completed"}
    response = api("post", url, early)
    assert response.status_code == 422 and fields_of(response) == {"discharged_on"}
    response = api("post", url, {"discharged_on": str(TODAY), "reason": "bored"})
    assert response.status_code == 422 and fields_of(response) == {"reason"}
    response = api("post", url, {"discharged_on": str(TODAY), "reason": "completed", "version": 9})
    assert response.status_code == 409 and "reload" in response.json()["detail"]
    response = api("post", url, {"discharged_on": str(TODAY), "reason": "left_against_advice"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "discharged" and response.json()["version"] == 2
    response = api("post", url, {"discharged_on": str(TODAY), "reason": "completed"})
    assert response.status_code == 422 and fields_of(response) == {"enrollment_id"}
    assert api("post", "/enrollments/999999/discharge", early).status_code == 404


def test_it_transfers_and_refuses_a_wrong_kind(api, pat, iop, tom, site):
    program, evening, morning = iop
    track_sessions(morning, tom, days=mondays(2), hour=9)
    enrollment = make_enrollment(pat, program, evening, admitted_on=TODAY - timedelta(days=20))
    url = f"/enrollments/{enrollment.pk}/transfer"
    body = {"program_id": program.pk, "track_id": morning.pk, "on": str(TODAY), "reason": "Job"}
    response = api("post", url, {**body, "kind": "step_up"})
    assert response.status_code == 422 and fields_of(response) == {"kind"}
    response = api("post", url, {**body, "on": str(TODAY - timedelta(days=30))})
    assert response.status_code == 422 and fields_of(response) == {"on"}
    response = api("post", url, body)
    assert response.status_code == 201, response.content
    new = response.json()
    assert new["previous_id"] == enrollment.pk and new["transfer_kind"] == "change_track"
    assert new["episode_id"] == enrollment.episode_id and new["sessions_booked"] == 2
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.TRANSFERRED


def test_it_books_an_individual_session_and_refuses_a_double_booking(api, pat, iop, tom):
    program, evening, _ = iop
    make_enrollment(pat, program, evening, admitted_on=TODAY)
    body = {
        "patient_id": pat.pk,
        "therapist_id": tom.pk,
        "starts_at": local(TODAY, 10).isoformat(),
        "duration_minutes": 50,
    }
    response = api("post", "/sessions", body)
    assert response.status_code == 201, response.content
    assert set(response.json()) == {
        "id", "site_id", "kind", "title", "starts_at", "ends_at", "duration_minutes",
        "facilitator_id", "room_id", "patient_id",
    }  # fmt: skip
    response = api("post", "/sessions", {**body, "starts_at": local(TODAY, 10, 30).isoformat()})
    assert response.status_code == 409
    assert response.json()["detail"].startswith(
        "Tom Fakename already leads “Individual therapy” 10:00–10:50 on Mon Mar 2."
    )
    naive = api("post", "/sessions", {**body, "starts_at": "2026-03-03T10:00:00"})
    assert naive.status_code == 422 and fields_of(naive) == {"starts_at"}
    past = api("post", "/sessions", {**body, "starts_at": local(TODAY, 7).isoformat()})
    assert past.status_code == 422 and fields_of(past) == {"starts_at"}
    assert api("post", "/sessions", {**body, "room_id": 999999}).status_code == 404
    assert Session.objects.filter(kind=SessionKind.INDIVIDUAL).count() == 1


def test_it_books_a_drop_in_and_refuses_a_full_group(api, pat, iop, tom, site):
    program, evening, _ = iop
    make_enrollment(pat, program, evening, admitted_on=TODAY)
    group = make_session(site, tom, local(TODAY + timedelta(days=1), 9), 90, title="DBT skills")
    response = api("post", f"/sessions/{group.pk}/bookings", {"patient_id": pat.pk})
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "drop_in"
    full = make_session(site, tom, local(TODAY + timedelta(days=2), 9), 90, capacity=1)
    make_booking(full, make_patient(site, first_name="Casey", last_name="Sample"))
    response = api("post", f"/sessions/{full.pk}/bookings", {"patient_id": pat.pk})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "“Relapse prevention group” on Wed Mar 4 is full (1 of 1)."
    }
    assert api("post", "/sessions/999999/bookings", {"patient_id": pat.pk}).status_code == 404
    response = api("post", f"/sessions/{group.pk}/bookings", {"patient_id": 999999})
    assert response.status_code == 404
