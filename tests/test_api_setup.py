"""Program setup over the API: levels of care, programs, tracks, group types, rooms, series."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.test import Client

from openiop.accounts.services import create_api_token
from openiop.programs.models import LevelOfCare, Program, Track
from openiop.scheduling.models import GroupSeries, Session
from tests.factories_programs import make_program, make_room, make_track
from tests.factories_scheduling import make_session

NOW = datetime(2026, 2, 25, 18, 0, tzinfo=UTC)  # Wednesday, noon in Chicago


def call(user, method, path, body=None):
    secret = create_api_token(user=user, name="tests").secret
    return Client().generic(
        method,
        f"/api/v1{path}",
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def fields_of(response):
    assert response.status_code == 422, response.content
    return [error["field"] for error in response.json()["detail"]]


def test_it_lists_levels_of_care_with_numeric_hours(tom):
    response = call(tom, "get", "/levels-of-care")
    assert response.status_code == 200
    iop = next(row for row in response.json() if row["code"] == "2.1" and row["edition"] == 3)
    assert set(iop) == {
        "id",
        "code",
        "edition",
        "name",
        "weekly_hours_min",
        "weekly_hours_max",
        "is_residential",
    }
    assert iop["weekly_hours_min"] == 9
    assert iop["weekly_hours_max"] == 19
    php = next(row for row in response.json() if row["code"] == "2.5" and row["edition"] == 3)
    assert php["weekly_hours_max"] is None


def _program_body(site, **overrides):
    body = {
        "site_id": site.pk,
        "level_of_care_id": LevelOfCare.objects.get(code="2.1", edition=3).pk,
        "name": "Adult IOP",
        "weekly_hours_min": 9,
        "weekly_hours_max": 12,
    }
    body.update(overrides)
    return body


def test_a_director_creates_a_program(dana, site):
    response = call(dana, "post", "/programs", _program_body(site, typical_length_weeks=16))
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {
        "id",
        "site_id",
        "level_of_care_id",
        "name",
        "weekly_hours_min",
        "weekly_hours_max",
        "typical_length_weeks",
        "is_active",
    }
    assert data["weekly_hours_min"] == 9
    assert data["typical_length_weeks"] == 16
    assert Program.objects.get(pk=data["id"]).site == site
    listed = call(dana, "get", "/programs").json()
    assert [p["name"] for p in listed] == ["Adult IOP"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"weekly_hours_min": 8}, "weekly_hours_min"),
        ({"weekly_hours_max": 20}, "weekly_hours_max"),
        ({"weekly_hours_min": 12, "weekly_hours_max": 10}, "weekly_hours_max"),
        ({"weekly_hours_min": -1}, "weekly_hours_min"),
        ({"name": ""}, "name"),
        ({"level_of_care_id": 999999}, "level_of_care_id"),
        ({"typical_length_weeks": 0}, "typical_length_weeks"),
    ],
)
def test_it_names_the_field_of_a_bad_program(dana, site, overrides, field):
    response = call(dana, "post", "/programs", _program_body(site, **overrides))
    assert any(f.endswith(field) for f in fields_of(response))
    assert not Program.objects.exists()


def test_it_refuses_a_program_at_a_foreign_site(dana, other_site):
    response = call(dana, "post", "/programs", _program_body(other_site))
    assert fields_of(response) == ["payload.site_id"]


def test_it_refuses_a_duplicate_program_name(dana, site):
    make_program(site)
    response = call(dana, "post", "/programs", _program_body(site))
    assert fields_of(response) == ["payload.name"]


def test_a_therapist_reads_but_cannot_create(tom, site):
    make_program(site)
    assert call(tom, "get", "/programs").status_code == 200
    assert call(tom, "post", "/programs", _program_body(site)).status_code == 403


def test_it_creates_and_lists_tracks(dana, site):
    program = make_program(site)
    response = call(dana, "post", f"/programs/{program.pk}/tracks", {"name": "Evening"})
    assert response.status_code == 201
    assert set(response.json()) == {"id", "program_id", "name", "description", "is_active"}
    assert [t["name"] for t in call(dana, "get", f"/programs/{program.pk}/tracks").json()] == [
        "Evening"
    ]
    again = call(dana, "post", f"/programs/{program.pk}/tracks", {"name": "Evening"})
    assert fields_of(again) == ["payload.name"]


def test_tracks_of_another_sites_program_are_not_found(dana, other_site):
    program = make_program(other_site, name="Their IOP")
    assert call(dana, "get", f"/programs/{program.pk}/tracks").status_code == 404
    response = call(dana, "post", f"/programs/{program.pk}/tracks", {"name": "Sneaky"})
    assert response.status_code == 404
    assert not Track.objects.exists()


def test_it_lists_group_types_and_rooms(dana, site, other_site):
    make_room(site, "Group Room A")
    make_room(other_site, "Their room")
    codes = [t["code"] for t in call(dana, "get", "/group-types").json()]
    assert "cbt" in codes
    rooms = call(dana, "get", f"/rooms?site_id={site.pk}").json()
    assert [r["name"] for r in rooms] == ["Group Room A"]
    assert set(rooms[0]) == {"id", "site_id", "name", "capacity", "is_active"}
    assert call(dana, "get", f"/rooms?site_id={other_site.pk}").status_code == 404


# --- POST /group-series ------------------------------------------------------------------------


@pytest.fixture
def track(site):
    return make_track(make_program(site))


def _series_body(track, facilitator, **overrides):
    body = {
        "track_id": track.pk,
        "group_type": "cbt",
        "title": "CBT group",
        "weekday": 1,
        "start_time": "18:00",
        "duration_minutes": 90,
        "facilitator_id": facilitator.pk,
        "starts_on": "2026-03-01",
    }
    body.update(overrides)
    return body


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_creates_a_series_and_its_sessions(dana, tom, track, frozen):
    response = call(dana, "post", "/group-series", _series_body(track, tom, capacity=10))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["sessions_created"] == 8
    assert data["skipped_conflicts"] == []
    assert data["group_type"] == "cbt"
    assert data["start_time"] == "18:00"
    assert data["capacity"] == 10
    series = GroupSeries.objects.get(pk=data["id"])
    assert Session.objects.filter(group_series=series).count() == 8


def test_it_takes_the_group_type_id_and_defaults_capacity_to_12(dana, tom, track, frozen):
    from tests.factories_programs import group_type

    body = _series_body(track, tom, group_type=group_type("dbt").pk)
    response = call(dana, "post", "/group-series", body)
    assert response.status_code == 201
    assert response.json()["group_type"] == "dbt"
    assert response.json()["capacity"] == 12


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"weekday": 7}, "weekday"),
        ({"start_time": "25:00"}, "start_time"),
        ({"start_time": "6pm"}, "start_time"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"capacity": 0}, "capacity"),
        ({"track_id": 999999}, "track_id"),
        ({"group_type": "astrology"}, "group_type"),
        ({"starts_on": "2026-02-30"}, "starts_on"),
        ({"ends_on": "2026-02-01"}, "ends_on"),
        ({"facilitator_id": 999999}, "facilitator_id"),
    ],
)
def test_it_names_the_field_of_a_bad_series(dana, tom, track, frozen, overrides, field):
    response = call(dana, "post", "/group-series", _series_body(track, tom, **overrides))
    assert any(f.endswith(field) for f in fields_of(response)), response.json()
    assert not GroupSeries.objects.exists()


def test_it_refuses_a_facilitator_who_is_not_at_the_site(dana, oscar, track, frozen):
    response = call(dana, "post", "/group-series", _series_body(track, oscar))
    assert fields_of(response) == ["payload.facilitator_id"]
    assert "not active staff" in response.json()["detail"][0]["message"]


def test_it_refuses_a_room_of_another_site(dana, tom, track, other_site, frozen):
    room = make_room(other_site)
    response = call(dana, "post", "/group-series", _series_body(track, tom, room_id=room.pk))
    assert fields_of(response) == ["payload.room_id"]


def test_it_refuses_a_track_of_another_site(dana, tom, other_site, frozen):
    their_track = make_track(make_program(other_site, name="Their IOP"))
    response = call(dana, "post", "/group-series", _series_body(their_track, tom))
    assert fields_of(response) == ["payload.track_id"]


def test_a_clash_at_the_first_meeting_is_a_409_naming_it(dana, tom, track, site, frozen):
    room = make_room(site, "Group Room A")
    make_session(
        site, dana, datetime(2026, 3, 4, 0, 0, tzinfo=UTC), 60, room=room, title="Family group"
    )
    body = _series_body(track, tom, room_id=room.pk)
    response = call(dana, "post", "/group-series", body)
    assert response.status_code == 409
    assert (
        "Group Room A is already taken by “Family group” 18:00–19:00 on Tue Mar 3"
        in (response.json()["detail"])
    )
    assert not GroupSeries.objects.exists()


def test_later_clashes_are_listed(dana, tom, track, site, frozen):
    make_session(site, tom, datetime(2026, 3, 18, 0, 0, tzinfo=UTC), 60, title="DBT group")
    response = call(dana, "post", "/group-series", _series_body(track, tom))
    assert response.status_code == 201
    assert response.json()["sessions_created"] == 7
    assert "Tom Fakename already leads “DBT group”" in response.json()["skipped_conflicts"][0]


def test_a_therapist_cannot_create_a_series(tom, track):
    response = call(tom, "post", "/group-series", _series_body(track, tom))
    assert response.status_code == 403


def test_it_starts_in_the_past_only_from_today(dana, tom, track, frozen):
    body = _series_body(track, tom, starts_on=date(2025, 1, 1).isoformat())
    response = call(dana, "post", "/group-series", body)
    assert response.status_code == 201
    first = Session.objects.order_by("starts_at").first()
    assert first.starts_at > NOW
