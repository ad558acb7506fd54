"""The today screen: the sessions of my site on one day, mine first, with counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from openiop.accounts.roles import Role
from openiop.scheduling.models import AttendanceStatus, SessionStatus
from tests.factories import make_user, sign_in
from tests.factories_patients import make_patient
from tests.factories_programs import make_room
from tests.factories_scheduling import make_booking, make_session

# Tuesday Dec 1 2026 in Chicago (UTC-6): 10:00 local.
NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
URL = reverse("today")


def local(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) + timedelta(hours=6)


def session_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-session-id="(\d+)"', response.content.decode())]


@pytest.fixture
def as_tom(client, tom, site):
    sign_in(client, tom, site=site)
    return client


@pytest.fixture(autouse=True)
def _at_ten_in_the_morning():
    with time_machine.travel(NOW, tick=False):
        yield


def book(session, count: int, site, **fields) -> None:
    for index in range(count):
        patient = make_patient(site, first_name=f"Pat{index}", last_name=f"Placeholder{index}")
        make_booking(session, patient, **fields)


def test_it_lists_my_sessions_first_then_the_others_by_time(as_tom, site, tom, dana):
    early = make_session(site, dana, local(8), 60, title="Early DBT")
    mine_late = make_session(site, tom, local(18), 180, title="Evening process")
    mine_early = make_session(site, tom, local(9), 180, title="Morning process")
    midday = make_session(site, dana, local(12), 90, title="Midday skills")

    response = as_tom.get(URL)

    assert response.status_code == 200
    assert session_ids(response) == [mine_early.pk, mine_late.pk, early.pk, midday.pk]
    html = response.content.decode()
    assert "Your sessions" in html
    assert "Other sessions at Testville Clinic" in html
    assert "Tuesday, December 1, 2026" in html


def test_it_shows_time_title_type_facilitator_room_counts_and_status(as_tom, site, tom, dana):
    room = make_room(site, "Group Room A")
    held = make_session(site, dana, local(7), 120, title="Early CBT", group_type="cbt", room=room)
    book(held, 2, site, status=AttendanceStatus.PRESENT)
    make_booking(held, make_patient(site, last_name="Absent"), status=AttendanceStatus.NO_SHOW)
    running = make_session(site, tom, local(9), 180, title="Morning process", group_type="process")
    book(running, 3, site)
    make_booking(running, make_patient(site, last_name="Gone"), status=AttendanceStatus.CANCELLED)
    upcoming = make_session(site, dana, local(18), 180, title="Evening relapse prevention")
    cancelled = make_session(
        site,
        dana,
        local(13),
        60,
        title="Family group",
        status=SessionStatus.CANCELLED,
        cancel_reason="Facilitator off sick",
    )

    html = as_tom.get(URL).content.decode()

    def row(session) -> str:
        match = re.search(rf'<tr data-session-id="{session.pk}".*?</tr>', html, re.S)
        assert match, f"no row for {session}"
        return match.group(0)

    early = row(held)
    assert "07:00</time>–09:00" in early
    assert "Early CBT" in early and ">CBT<" in early
    assert "Dana Testperson" in early and "Group Room A" in early
    assert re.search(r'data-testid="booked-count">3 <span[^>]*>/ 12', early)
    assert 'data-testid="present-count">2<' in early
    assert "Held" in early
    morning = row(running)
    assert re.search(r'data-testid="booked-count">3 ', morning)  # the cancelled one holds no seat
    assert "In progress" in morning and ">Attendance<" in morning
    assert ">You<" in morning
    assert "Upcoming" in row(upcoming)
    assert "Cancelled" in row(cancelled) and "Facilitator off sick" in row(cancelled)
    assert f'href="/sessions/{running.pk}/"' in morning
    summary = re.search(r'data-testid="today-summary">(.*?)</p>', html, re.S).group(1)
    assert " ".join(summary.split()) == (
        "4 sessions · <strong>1</strong> yours · 6 booked · 2 present"
    )


def test_it_uses_the_sites_calendar_day(as_tom, site, tom):
    late_evening = make_session(site, tom, local(23, 30), 60, title="Late group")
    make_session(site, tom, local(0, 30, day=2), 60, title="After midnight")
    make_session(site, tom, local(23) - timedelta(days=1), 60, title="Monday")

    assert session_ids(as_tom.get(URL)) == [late_evening.pk]


def test_it_shows_another_day_from_the_date_parameter(as_tom, site, tom):
    make_session(site, tom, local(9), 180, title="Today")
    tomorrow = make_session(site, tom, local(9, day=2), 180, title="Tomorrow")

    response = as_tom.get(URL, {"date": "2026-12-02"})

    assert session_ids(response) == [tomorrow.pk]
    html = response.content.decode()
    assert "Wednesday, December 2, 2026" in html
    assert "Back to today" in html
    assert 'href="/today/?date=2026-12-01"' in html
    assert 'href="/today/?date=2026-12-03"' in html


@pytest.mark.parametrize("bad", ["tomorrow", "2026-02-30", "2026-12-1", "9999-12-31", "0001-01-01"])
def test_it_explains_a_bad_date_and_shows_today(as_tom, site, tom, bad):
    today = make_session(site, tom, local(9), 180)

    response = as_tom.get(URL, {"date": bad})

    assert response.status_code == 200
    assert "is not a date like 2026-12-01" in response.content.decode()
    assert session_ids(response) == [today.pk]


def test_it_shows_an_empty_state(as_tom):
    response = as_tom.get(URL, {"date": "2026-12-25"})

    html = response.content.decode()
    assert 'data-testid="today-empty"' in html
    assert "No sessions on Friday, December 25" in html


def test_it_never_shows_another_sites_sessions(as_tom, other_site, oscar):
    make_session(other_site, oscar, local(9), 180, title="Their group")

    html = as_tom.get(URL).content.decode()

    assert "Their group" not in html
    assert 'data-testid="today-empty"' in html


def test_it_refuses_an_auditor(client, site, audrey):
    sign_in(client, audrey, site=site)

    assert client.get(URL).status_code == 403


def test_it_sends_a_stranger_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("sessions", [3, 12])
def test_it_issues_a_constant_number_of_queries(
    as_tom, site, tom, dana, sessions, django_assert_num_queries
):
    nurse = make_user("nia", site=site, role=Role.NURSE)
    staff = [tom, dana, nurse]
    for index in range(sessions):
        session = make_session(
            site, staff[index % 3], local(8 + index), 60, room=make_room(site, f"Room {index}")
        )
        book(session, index % 4 + 1, site, status=AttendanceStatus.PRESENT)

    with django_assert_num_queries(9):
        response = as_tom.get(URL)

    assert len(session_ids(response)) == sessions
