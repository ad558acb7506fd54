"""The setup screens under /setup/: pages, forms, errors, site scoping and query counts."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.programs.models import Program, Track
from openiop.scheduling.models import GroupSeries, Room, Session
from tests.factories import sign_in
from tests.factories_programs import (
    group_type,
    level_of_care,
    make_program,
    make_room,
    make_series,
    make_track,
)
from tests.factories_scheduling import make_session

NOW = datetime(2026, 2, 25, 18, 0, tzinfo=UTC)


@pytest.fixture
def director(client, dana, site):
    sign_in(client, dana, site=site)
    return client


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _build(site, tom, count: int) -> Program:
    """``count`` programs, each with two tracks of two groups, plus rooms and site groups."""
    first = None
    for i in range(count):
        program = make_program(site, name=f"Program {i}")
        first = first or program
        for t in range(2):
            track = make_track(program, f"Track {t}")
            room = make_room(site, f"Room {i}-{t}")
            make_series(track, tom, t, time(9, 0), room=room, title=f"Group {i}-{t}-a")
            make_series(track, tom, t + 2, time(13, 0), title=f"Group {i}-{t}-b")
        make_series(site, tom, 5, time(10, 0), title=f"Saturday {i}")
    assert first is not None
    return first


@pytest.mark.parametrize("name", ["setup-home", "setup-levels", "setup-group-types", "setup-rooms"])
def test_list_pages_use_a_constant_number_of_queries(
    director, site, tom, django_assert_num_queries, name
):
    _build(site, tom, 1)
    director.get(reverse(name))  # warm the session and caches
    with CaptureQueriesContext(connection) as small:
        assert director.get(reverse(name)).status_code == 200
    for i in range(4):
        program = make_program(site, name=f"More {i}")
        track = make_track(program)
        make_series(track, tom, i, time(15, 0), room=make_room(site, f"Extra {i}"))
    with django_assert_num_queries(len(small.captured_queries)):
        assert director.get(reverse(name)).status_code == 200


def test_program_detail_uses_a_constant_number_of_queries(
    director, site, tom, django_assert_num_queries
):
    program = _build(site, tom, 1)
    url = reverse("setup-program-detail", args=[program.pk])
    director.get(url)
    with CaptureQueriesContext(connection) as small:
        director.get(url)
    for t in range(2, 6):
        track = make_track(program, f"Track {t}")
        for weekday in range(4):
            make_series(track, tom, weekday, time(17, 0), room=make_room(site, f"R{t}{weekday}"))
    with django_assert_num_queries(len(small.captured_queries)):
        response = director.get(url)
    assert response.content.decode().count('data-testid="grid-series"') == 2 * 2 + 4 * 4


def test_setup_home_shows_programs_by_level_and_empty_states(director, site, tom):
    response = director.get(reverse("setup-home"))
    assert "No programs at this site yet" in response.content.decode()
    assert "No rooms yet" in response.content.decode()
    program = make_program(site, name="Adult IOP")
    track = make_track(program, "Evening")
    make_series(track, tom, 1, time(18, 0), duration_minutes=180)
    html = director.get(reverse("setup-home")).content.decode()
    assert "Intensive outpatient (IOP)" in html
    assert "Adult IOP" in html
    assert "9–12 h" in html
    assert "1 group, 3 h/week" in html


def test_program_detail_shows_the_weekly_grid(director, site, tom):
    program = make_program(site)
    track = make_track(program, "Evening")
    room = make_room(site, "Group Room A")
    make_series(track, tom, 1, time(18, 0), room=room, title="Relapse prevention", capacity=10)
    html = director.get(reverse("setup-program-detail", args=[program.pk])).content.decode()
    assert "18:00–19:30" in html
    assert "Relapse prevention" in html
    assert "Tom Fakename" in html
    assert "Group Room A · 10 seats" in html
    assert "1.5 h a week — below the 9 h target" in html


def test_another_sites_objects_are_not_found(director, other_site, oscar):
    program = make_program(other_site, name="Their IOP")
    track = make_track(program)
    series = make_series(track, oscar, 0, time(9, 0))
    room = make_room(other_site)
    for url in [
        reverse("setup-program-detail", args=[program.pk]),
        reverse("setup-program-edit", args=[program.pk]),
        reverse("setup-track-edit", args=[track.pk]),
        reverse("setup-series-edit", args=[series.pk]),
        reverse("setup-series-end", args=[series.pk]),
        reverse("setup-room-edit", args=[room.pk]),
    ]:
        assert director.get(url).status_code == 404, url


def test_a_therapist_reads_setup_without_edit_links(client, tom, site):
    program = make_program(site)
    sign_in(client, tom, site=site)
    html = client.get(reverse("setup-program-detail", args=[program.pk])).content.decode()
    assert "Edit program" not in html
    assert client.get(reverse("setup-program-create")).status_code == 403


def test_a_director_creates_a_program_and_sees_errors_by_field(director, site):
    url = reverse("setup-program-create")
    assert director.get(url).status_code == 200
    data = {
        "name": "Adult IOP",
        "level_of_care": level_of_care("2.1").pk,
        "weekly_hours_min": "8",
        "weekly_hours_max": "12",
        "typical_length_weeks": "12",
    }
    response = director.post(url, data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "needs at least 9 h a week" in html
    assert 'id="id_weekly_hours_min"' in html and "is-invalid" in html
    # The chosen level stays selected after the error.
    assert f'<option value="{data["level_of_care"]}" selected>' in html
    assert not Program.objects.exists()
    response = director.post(url, {**data, "weekly_hours_min": "9"})
    program = Program.objects.get()
    assert response.url == reverse("setup-program-detail", args=[program.pk])


def test_a_director_edits_a_level(director):
    level = level_of_care("1")
    url = reverse("setup-level-edit", args=[level.pk])
    response = director.post(
        url, {"name": "Outpatient", "weekly_hours_min": "0", "weekly_hours_max": "8.5"}
    )
    assert response.url == reverse("setup-levels")
    level.refresh_from_db()
    assert str(level.weekly_hours_max) == "8.5"
    bad = director.post(url, {"name": "", "weekly_hours_min": "5", "weekly_hours_max": "2"})
    assert bad.status_code == 422


def test_a_director_adds_edits_and_closes_a_track(director, site):
    program = make_program(site)
    url = reverse("setup-track-create", args=[program.pk])
    director.post(url, {"name": "Morning — Mon/Wed/Fri 09:00–12:00"})
    track = Track.objects.get()
    duplicate = director.post(url, {"name": "Morning — Mon/Wed/Fri 09:00–12:00"})
    assert "This program already has a track with that name." in duplicate.content.decode()
    director.post(reverse("setup-track-edit", args=[track.pk]), {"name": "Morning"})
    director.post(reverse("setup-track-active", args=[track.pk]), {"is_active": "false"})
    track.refresh_from_db()
    assert (track.name, track.is_active) == ("Morning", False)


def _series_data(track, tom, **overrides):
    data = {
        "track": track.pk,
        "group_type": group_type("cbt").pk,
        "title": "CBT group",
        "weekday": "1",
        "start_time": "18:00",
        "duration_minutes": "90",
        "facilitator": tom.pk,
        "room": "",
        "capacity": "12",
        "starts_on": "2026-03-01",
        "ends_on": "",
    }
    data.update(overrides)
    return data


def test_creating_a_series_reports_sessions_and_conflicts(director, site, tom, frozen):
    track = make_track(make_program(site))
    make_session(site, tom, datetime(2026, 3, 18, 0, 0, tzinfo=UTC), 60, title="DBT group")
    response = director.post(reverse("setup-series-create"), _series_data(track, tom), follow=True)
    html = response.content.decode()
    assert "“CBT group” was created: 7 sessions created." in html
    assert "Skipped — CBT group on Tue Mar 17: Tom Fakename already leads “DBT group”" in html
    assert Session.objects.filter(group_series__isnull=False).count() == 7


def test_a_series_form_shows_errors_and_first_meeting_clashes(director, site, tom, frozen):
    track = make_track(make_program(site))
    url = reverse("setup-series-create") + f"?track={track.pk}"
    assert f'<option value="{track.pk}" selected>' in director.get(url).content.decode()
    bad = director.post(url, _series_data(track, tom, duration_minutes="5", start_time="25:00"))
    assert bad.status_code == 422
    make_session(site, tom, datetime(2026, 3, 4, 0, 0, tzinfo=UTC), 60, title="DBT group")
    clash = director.post(url, _series_data(track, tom))
    assert clash.status_code == 422
    assert "The first meeting clashes: Tom Fakename already leads “DBT group”" in (
        clash.content.decode()
    )
    assert not GroupSeries.objects.exists()


def test_editing_a_series_moves_its_sessions_and_refuses_stale_forms(director, site, tom, frozen):
    track = make_track(make_program(site))
    director.post(reverse("setup-series-create"), _series_data(track, tom))
    series = GroupSeries.objects.get()
    url = reverse("setup-series-edit", args=[series.pk])
    data = _series_data(track, tom, start_time="17:00", version="1")
    del data["track"]
    response = director.post(url, data, follow=True)
    assert "8 future sessions moved" in response.content.decode()
    stale = director.post(url, data)
    assert stale.status_code == 422
    assert "Someone else changed this group series" in stale.content.decode()


def test_ending_a_series(director, site, tom, frozen):
    track = make_track(make_program(site))
    director.post(reverse("setup-series-create"), _series_data(track, tom))
    series = GroupSeries.objects.get()
    response = director.post(
        reverse("setup-series-end", args=[series.pk]), {"ends_on": "2026-03-12"}, follow=True
    )
    assert "was ended: 6 cancelled, 0 sessions created." in response.content.decode()


def test_group_types_and_rooms(director, site):
    director.post(reverse("setup-room-create"), {"name": "Group Room A", "capacity": "14"})
    room = Room.objects.get()
    assert room.site == site
    dup = director.post(reverse("setup-room-create"), {"name": "Group Room A"})
    assert "This site already has a room with that name." in dup.content.decode()
    director.post(reverse("setup-room-edit", args=[room.pk]), {"name": "Room A", "capacity": ""})
    room.refresh_from_db()
    assert (room.name, room.capacity, room.is_active) == ("Room A", None, False)
    response = director.post(
        reverse("setup-group-type-create"), {"code": "anger", "name": "Anger management"}
    )
    assert response.url == reverse("setup-group-types")
    bad = director.post(reverse("setup-group-type-create"), {"code": "cbt", "name": "Again"})
    assert bad.status_code == 422
