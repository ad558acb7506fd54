"""The session roster screen: one row per booked patient, usable on a tablet."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from openiop.scheduling.models import AttendanceStatus, BookingKind, SessionStatus
from tests.factories import make_user, sign_in
from tests.factories_patients import make_patient
from tests.factories_programs import make_room
from tests.factories_scheduling import make_booking, make_session

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue Dec 1, 09:00 in Chicago
DURING = START + timedelta(hours=1)
BEFORE = START - timedelta(minutes=45)


def url(session) -> str:
    return reverse("session-roster", kwargs={"session_id": session.pk})


def rows(html: str) -> list[str]:
    return re.findall(r'<li class="list-group-item roster-row.*?</li>', html, re.S)


@pytest.fixture(autouse=True)
def clock():
    """Ten in the morning, during the group; tests may move it back (never forward past the
    idle timeout of the signed-in session)."""
    with time_machine.travel(DURING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def session(site, tom):
    return make_session(
        site, tom, START, 180, title="Morning process group", room=make_room(site, "Room 2")
    )


@pytest.fixture
def casey(site, session):
    patient = make_patient(site, first_name="Casey", last_name="Sample", preferred_name="Case")
    make_booking(session, patient)
    return patient


@pytest.fixture
def as_tom(client, site, tom):
    sign_in(client, tom, site=site)
    return client


def test_it_shows_the_header_and_one_row_per_booked_patient(as_tom, site, session, casey):
    robin = make_patient(site, first_name="Robin", last_name="Example")
    make_booking(
        session,
        robin,
        kind=BookingKind.DROP_IN,
        status=AttendanceStatus.LATE,
        checked_in_at=START + timedelta(minutes=20),
        minutes_attended=160,
    )

    response = as_tom.get(url(session))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Morning process group" in html
    assert "Tue Dec 1, 09:00</time>–12:00 (180 min)" in html
    assert "Tom Fakename, LCSW" in html and "Room 2" in html
    assert 'data-testid="count-booked">2<' in html
    assert 'data-testid="count-present">1<' in html
    assert "booked of 12" in html
    first, second = rows(html)
    assert "Robin Example" in first and "Drop-in" in first  # by last name: Example, Sample
    assert 'value="09:20"' in first
    assert '<strong>Late</strong> · <span data-testid="row-minutes">160</span> min' in first
    assert "Case Sample" in second and f"MRN {casey.mrn}" in second
    assert "Not recorded" in second
    for label in ["Present", "Late", "Left early", "Excused", "Unexcused", "No-show"]:
        assert f">{label}</button>" in second
    assert 'placeholder="180"' in second
    assert 'hx-post="/sessions/' in second and 'hx-target="closest .roster-row"' in second
    assert "disabled" not in second
    assert "Mark everyone present" in html


def test_it_audits_one_event_per_roster_view(as_tom, site, session, casey):
    as_tom.get(url(session))

    event = AuditEvent.objects.get(object_type="session_roster")
    assert event.action == Action.VIEW
    assert event.object_id == str(session.pk)
    assert str(casey.pk) in event.detail
    assert event.site == site


def test_it_disables_the_buttons_before_the_session_starts(as_tom, session, casey, clock):
    clock.move_to(BEFORE)

    html = as_tom.get(url(session)).content.decode()

    assert "Attendance can be recorded once the session has started at 09:00." in html
    [row] = rows(html)
    assert row.count(" disabled") >= 7
    assert "Mark everyone present" not in html


def test_it_shows_the_cancellation_reason_and_no_buttons(as_tom, site, session, casey):
    session.status = SessionStatus.CANCELLED
    session.cancel_reason = "Thanksgiving week closure"
    session.save()
    make_booking(
        session,
        make_patient(site, first_name="Alex", last_name="Dummy"),
        status=AttendanceStatus.CANCELLED_BY_CLINIC,
    )

    html = as_tom.get(url(session)).content.decode()

    assert "Thanksgiving week closure" in html
    assert 'data-testid="cancelled-rows"' in html
    assert "Alex Dummy" in html and "Cancelled by clinic" in html
    assert "Mark everyone present" not in html
    assert "Cancel this session" not in html


def test_it_shows_cancelled_bookings_apart(as_tom, site, session, casey):
    make_booking(
        session,
        make_patient(site, first_name="Gale", last_name="Gone"),
        status=AttendanceStatus.CANCELLED,
    )

    html = as_tom.get(url(session)).content.decode()

    assert len(rows(html)) == 1
    cancelled = html[html.index('data-testid="cancelled-rows"') :]
    assert "Gale Gone" in cancelled and "Booking cancelled" in cancelled


def test_it_shows_a_prescriber_the_roster_without_buttons(client, site, session, casey):
    priya = make_user("priya", site=site, role=Role.PRESCRIBER)
    sign_in(client, priya, site=site)

    html = client.get(url(session)).content.decode()

    assert "Your role can see this roster but not record attendance." in html
    assert "Case Sample" in html


def test_it_offers_a_director_to_cancel_a_session_with_nothing_recorded(
    client, site, dana, session, casey
):
    sign_in(client, dana, site=site)

    assert "Cancel this session" in client.get(url(session)).content.decode()


def test_it_shows_an_empty_roster(as_tom, session):
    html = as_tom.get(url(session)).content.decode()

    assert 'data-testid="roster-empty"' in html


def test_it_answers_404_for_another_sites_session(as_tom, other_site, oscar):
    theirs = make_session(other_site, oscar, START, 180)

    assert as_tom.get(url(theirs)).status_code == 404
    assert as_tom.get("/sessions/999999/").status_code == 404
    assert not AuditEvent.objects.filter(object_type="session_roster").exists()


@pytest.mark.parametrize("patients", [3, 12])
def test_it_issues_a_constant_number_of_queries(
    as_tom, site, session, patients, django_assert_num_queries
):
    for index in range(patients):
        patient = make_patient(site, first_name=f"Pat{index}", last_name=f"Placeholder{index}")
        make_booking(session, patient, status=AttendanceStatus.PRESENT if index % 2 else "booked")

    # One more than before the curriculum: the modules offered in the header's module picker;
    # one more for the "Screen today" badges (who is called today, one query for the roster).
    with django_assert_num_queries(13):
        response = as_tom.get(url(session))

    assert len(rows(response.content.decode())) == patients
