"""GET /api/v1/sessions, GET …/roster, POST …/attendance and POST …/cancel."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from openiop.accounts.models import Membership
from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.audit.models import AuditEvent
from openiop.scheduling.models import AttendanceStatus, Booking, SessionStatus
from tests.factories import make_user
from tests.factories_patients import make_patient
from tests.factories_programs import make_room
from tests.factories_scheduling import make_booking, make_session

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue Dec 1, 09:00 in Chicago
DURING = START + timedelta(hours=1)

SESSION_KEYS = {
    "id",
    "site_id",
    "kind",
    "title",
    "group_type",
    "group_type_name",
    "starts_at",
    "ends_at",
    "duration_minutes",
    "facilitator_id",
    "facilitator_name",
    "room_id",
    "room_name",
    "capacity",
    "status",
    "state",
    "cancel_reason",
    "booked_count",
    "present_count",
}
ENTRY_KEYS = {
    "booking_id",
    "patient_id",
    "mrn",
    "first_name",
    "last_name",
    "preferred_name",
    "kind",
    "status",
    "minutes_attended",
    "checked_in_at",
    "checked_out_at",
    "recorded_at",
    "recorded_by_id",
    "version",
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(DURING, tick=False) as traveller:
        yield traveller


def bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user=user, name='test').secret}"}


@pytest.fixture
def as_tom(tom):
    return bearer(tom)


@pytest.fixture
def session(site, tom):
    return make_session(
        site, tom, START, 180, title="Morning process", room=make_room(site, "Room 2")
    )


@pytest.fixture
def casey(site, session):
    patient = make_patient(site, first_name="Casey", last_name="Sample", preferred_name="Case")
    make_booking(session, patient)
    return patient


@pytest.fixture
def robin(site, session):
    patient = make_patient(site, first_name="Robin", last_name="Example")
    make_booking(session, patient)
    return patient


def post(client, path: str, body, headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def fields(response) -> list[str]:
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert all(set(error) == {"field", "message", "type"} for error in detail)
    return [error["field"] for error in detail]


# GET /sessions


def test_it_lists_sessions_with_exactly_the_documented_fields(client, as_tom, session, casey):
    make_booking(
        session, make_patient(session.site, last_name="Here"), status=AttendanceStatus.PRESENT
    )

    response = client.get(
        "/api/v1/sessions", {"start": "2026-12-01", "end": "2026-12-01"}, **as_tom
    )

    assert response.status_code == 200
    [item] = response.json()
    assert set(item) == SESSION_KEYS
    assert item["id"] == session.pk
    assert item["starts_at"].startswith("2026-12-01T15:00:00")
    assert item["duration_minutes"] == 180
    assert item["facilitator_name"] == "Tom Fakename"
    assert item["room_name"] == "Room 2"
    assert item["group_type"] == "relapse_prevention"
    assert (item["booked_count"], item["present_count"]) == (2, 1)
    assert (item["status"], item["state"]) == ("scheduled", "in_progress")


def test_it_reads_dates_in_the_sites_time_zone(client, as_tom, site, tom):
    late = make_session(site, tom, datetime(2026, 12, 2, 5, 0, tzinfo=UTC), 60)  # Dec 1, 23:00
    make_session(site, tom, datetime(2026, 12, 2, 6, 30, tzinfo=UTC), 60)  # Dec 2, 00:30

    response = client.get(
        "/api/v1/sessions", {"start": "2026-12-01", "end": "2026-12-01"}, **as_tom
    )

    assert [item["id"] for item in response.json()] == [late.pk]


def test_it_takes_instants_with_an_offset(client, as_tom, session, site, tom):
    later = make_session(site, tom, START + timedelta(hours=4), 60)

    response = client.get(
        "/api/v1/sessions",
        {"start": "2026-12-01T10:00:00-06:00", "end": "2026-12-01T20:00:00Z"},
        **as_tom,
    )

    assert [item["id"] for item in response.json()] == [later.pk]


def test_it_lists_only_sites_where_the_role_sees_the_schedule(
    client, site, other_site, tom, oscar, session
):
    theirs = make_session(other_site, oscar, START, 60)
    Membership.objects.create(user=tom, site=other_site, role=Role.AUDITOR)
    headers = bearer(tom)
    window = {"start": "2026-11-30", "end": "2026-12-02"}

    assert [s["id"] for s in client.get("/api/v1/sessions", window, **headers).json()] == [
        session.pk
    ]
    only_other = {**window, "site_id": other_site.pk}
    assert client.get("/api/v1/sessions", only_other, **headers).json() == []
    assert [s["id"] for s in client.get("/api/v1/sessions", window, **bearer(oscar)).json()] == [
        theirs.pk
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "query.start"),
        ({"start": "2026-12-01"}, "query.end"),
        ({"start": "yesterday", "end": "2026-12-01"}, "query.start"),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "query.start"),
        ({"start": "2026-12-01T09:00:00", "end": "2026-12-02"}, "query.start"),
        ({"start": "2026-12-05", "end": "2026-12-01"}, "query.end"),
        ({"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T10:00:00Z"}, "query.end"),
        ({"start": "2026-01-01", "end": "2026-03-04"}, "query.end"),
        ({"start": "2026-01-01", "end": "9999-12-31"}, "query.end"),
        ({"start": "2026-12-01", "end": "2026-12-02", "site_id": 0}, "query.site_id"),
    ],
)
def test_it_explains_bad_parameters(client, as_tom, params, field):
    response = client.get("/api/v1/sessions", params, **as_tom)

    assert field in fields(response)


def test_it_allows_62_days_but_not_63(client, as_tom):
    ok = client.get("/api/v1/sessions", {"start": "2026-01-01", "end": "2026-03-03"}, **as_tom)
    too_long = client.get(
        "/api/v1/sessions", {"start": "2026-01-01", "end": "2026-03-04"}, **as_tom
    )

    assert ok.status_code == 200
    assert too_long.status_code == 422
    assert "At most 62 days" in too_long.json()["detail"][0]["message"]


def test_it_refuses_an_auditor(client, audrey):
    response = client.get(
        "/api/v1/sessions", {"start": "2026-12-01", "end": "2026-12-01"}, **bearer(audrey)
    )

    assert response.status_code == 403


@pytest.mark.parametrize("sessions", [3, 12])
def test_it_lists_in_a_constant_number_of_queries(
    client, as_tom, site, tom, dana, sessions, django_assert_num_queries
):
    for index in range(sessions):
        session = make_session(
            site,
            [tom, dana][index % 2],
            START + timedelta(hours=index),
            60,
            room=make_room(site, f"Room {index}"),
        )
        for number in range(index % 3 + 1):
            make_booking(session, make_patient(site, last_name=f"Placeholder{index}-{number}"))

    with django_assert_num_queries(5):
        response = client.get(
            "/api/v1/sessions", {"start": "2026-12-01", "end": "2026-12-02"}, **as_tom
        )

    assert len(response.json()) == sessions


# GET /sessions/{id}/roster


def test_it_gives_the_roster_with_exactly_the_documented_fields(
    client, as_tom, session, casey, robin
):
    response = client.get(f"/api/v1/sessions/{session.pk}/roster", **as_tom)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"session", "bookings"}
    assert set(body["session"]) == SESSION_KEYS
    assert [set(entry) for entry in body["bookings"]] == [ENTRY_KEYS, ENTRY_KEYS]
    assert [entry["last_name"] for entry in body["bookings"]] == ["Example", "Sample"]
    entry = body["bookings"][1]
    assert (entry["patient_id"], entry["preferred_name"], entry["mrn"]) == (
        casey.pk,
        "Case",
        casey.mrn,
    )
    assert (entry["status"], entry["version"], entry["minutes_attended"]) == ("booked", 1, None)
    event = AuditEvent.objects.get(object_type="session_roster")
    assert event.actor.username == "tom"
    assert event.object_id == str(session.pk)


def test_it_answers_404_for_another_sites_roster(client, as_tom, other_site, oscar):
    theirs = make_session(other_site, oscar, START, 60)

    response = client.get(f"/api/v1/sessions/{theirs.pk}/roster", **as_tom)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# POST /sessions/{id}/attendance


def test_it_records_attendance_and_answers_the_roster(client, as_tom, session, casey, robin):
    body = [
        {"patient_id": casey.pk, "status": "present"},
        {
            "patient_id": robin.pk,
            "status": "late",
            "checked_in_at": "2026-12-01T09:30:00-06:00",
        },
    ]

    response = post(client, f"/api/v1/sessions/{session.pk}/attendance", body, as_tom)

    assert response.status_code == 200, response.content
    by_patient = {entry["patient_id"]: entry for entry in response.json()["bookings"]}
    assert by_patient[casey.pk]["status"] == "present"
    assert by_patient[casey.pk]["minutes_attended"] == 180
    assert by_patient[robin.pk]["minutes_attended"] == 150
    assert by_patient[robin.pk]["version"] == 2
    assert response.json()["session"]["present_count"] == 2
    events = AuditEvent.objects.filter(object_type="attendance")
    assert sorted(events.values_list("patient_id", flat=True)) == sorted([casey.pk, robin.pk])


def test_it_refuses_a_future_session_with_422(client, as_tom, session, casey, clock):
    clock.move_to(START - timedelta(minutes=15))

    response = post(
        client,
        f"/api/v1/sessions/{session.pk}/attendance",
        [{"patient_id": casey.pk, "status": "present"}],
        as_tom,
    )

    assert fields(response) == ["session"]
    assert "once the session has started at 09:00" in response.json()["detail"][0]["message"]


def test_it_names_an_unknown_patient_and_writes_nothing(client, as_tom, site, session, casey):
    stranger = make_patient(site, last_name="Stranger")

    response = post(
        client,
        f"/api/v1/sessions/{session.pk}/attendance",
        [
            {"patient_id": casey.pk, "status": "present"},
            {"patient_id": stranger.pk, "status": "present"},
        ],
        as_tom,
    )

    assert fields(response) == ["entries.1.patient_id"]
    assert f"Patient {stranger.pk} is not booked" in response.json()["detail"][0]["message"]
    assert Booking.objects.get(patient=casey).status == AttendanceStatus.BOOKED


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"status": "present", "minutes": 181}, "entries.0.minutes"),
        ({"status": "present", "minutes": -1}, "entries.0.minutes"),
        ({"status": "sleeping"}, "entries.0.status"),
        ({"status": "booked"}, "entries.0.status"),
        ({"status": "present", "checked_in_at": "2026-12-01T09:10:00"}, "entries.0.checked_in_at"),
        (
            {
                "status": "left_early",
                "checked_in_at": "2026-12-01T09:40:00-06:00",
                "checked_out_at": "2026-12-01T09:20:00-06:00",
            },
            "entries.0.checked_out_at",
        ),
        ({"status": "no_show", "minutes": 30}, "entries.0.minutes"),
    ],
)
def test_it_explains_bad_entries(client, as_tom, session, casey, entry, field):
    response = post(
        client,
        f"/api/v1/sessions/{session.pk}/attendance",
        [{"patient_id": casey.pk, **entry}],
        as_tom,
    )

    assert field in fields(response)
    assert Booking.objects.get(patient=casey).status == AttendanceStatus.BOOKED


def test_it_refuses_a_body_that_is_not_a_list(client, as_tom, session, casey):
    response = post(
        client,
        f"/api/v1/sessions/{session.pk}/attendance",
        {"patient_id": casey.pk, "status": "present"},
        as_tom,
    )

    assert fields(response) == ["entries"]


def test_it_refuses_a_cancelled_session_with_409(client, as_tom, session, casey):
    session.status = SessionStatus.CANCELLED
    session.cancel_reason = "Snow day"
    session.save()

    response = post(
        client,
        f"/api/v1/sessions/{session.pk}/attendance",
        [{"patient_id": casey.pk, "status": "present"}],
        as_tom,
    )

    assert response.status_code == 409
    assert "cancelled (Snow day)" in response.json()["detail"]


def test_it_refuses_a_stale_version_with_409(client, as_tom, session, casey):
    url = f"/api/v1/sessions/{session.pk}/attendance"
    post(client, url, [{"patient_id": casey.pk, "status": "no_show", "version": 1}], as_tom)

    response = post(
        client, url, [{"patient_id": casey.pk, "status": "present", "version": 1}], as_tom
    )

    assert response.status_code == 409
    assert "changed by someone else" in response.json()["detail"]
    assert Booking.objects.get(patient=casey).status == AttendanceStatus.NO_SHOW


def test_it_refuses_a_prescriber_to_record(client, site, session, casey):
    priya = make_user("priya", site=site, role=Role.PRESCRIBER)

    response = post(
        client,
        f"/api/v1/sessions/{session.pk}/attendance",
        [{"patient_id": casey.pk, "status": "present"}],
        bearer(priya),
    )

    assert response.status_code == 403


def test_it_answers_404_for_another_sites_attendance(client, as_tom, other_site, oscar):
    theirs = make_session(other_site, oscar, START, 60)
    patient = make_patient(other_site, last_name="Theirs")
    make_booking(theirs, patient)

    response = post(
        client,
        f"/api/v1/sessions/{theirs.pk}/attendance",
        [{"patient_id": patient.pk, "status": "present"}],
        as_tom,
    )

    assert response.status_code == 404
    assert Booking.objects.get(patient=patient).status == AttendanceStatus.BOOKED


# POST /sessions/{id}/cancel


def test_it_lets_a_director_cancel_a_session(client, dana, session, casey):
    response = post(
        client, f"/api/v1/sessions/{session.pk}/cancel", {"reason": "Snow day"}, bearer(dana)
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["cancelled_bookings"] == 1
    assert (body["session"]["status"], body["session"]["cancel_reason"]) == (
        "cancelled",
        "Snow day",
    )
    assert Booking.objects.get(patient=casey).status == AttendanceStatus.CANCELLED_BY_CLINIC


def test_it_refuses_to_cancel_a_held_session_with_409(client, dana, session, casey):
    post(
        client,
        f"/api/v1/sessions/{session.pk}/attendance",
        [{"patient_id": casey.pk, "status": "present"}],
        bearer(dana),
    )

    response = post(
        client, f"/api/v1/sessions/{session.pk}/cancel", {"reason": "Oops"}, bearer(dana)
    )

    assert response.status_code == 409
    assert "cannot be cancelled" in response.json()["detail"]


def test_it_refuses_to_cancel_twice_with_409(client, dana, session):
    url = f"/api/v1/sessions/{session.pk}/cancel"
    post(client, url, {"reason": "Snow day"}, bearer(dana))

    response = post(client, url, {"reason": "Snow day"}, bearer(dana))

    assert response.status_code == 409


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 301}, {"reason": "   "}])
def test_it_wants_a_reason_to_cancel(client, dana, session, body):
    response = post(client, f"/api/v1/sessions/{session.pk}/cancel", body, bearer(dana))

    assert any(field.endswith("reason") for field in fields(response))
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


def test_it_lets_no_therapist_cancel(client, as_tom, session):
    response = post(client, f"/api/v1/sessions/{session.pk}/cancel", {"reason": "x"}, as_tom)

    assert response.status_code == 403


def test_it_answers_404_for_cancelling_another_sites_session(client, dana, other_site, oscar):
    theirs = make_session(other_site, oscar, START, 60)

    response = post(client, f"/api/v1/sessions/{theirs.pk}/cancel", {"reason": "x"}, bearer(dana))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == SessionStatus.SCHEDULED
