"""One tap on a roster row (htmx or a plain form), everyone present, and cancelling a session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.scheduling.models import AttendanceStatus, Booking, SessionStatus
from tests.factories import sign_in
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_booking, make_session

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue Dec 1, 09:00 in Chicago
DURING = START + timedelta(hours=1)  # 10:00
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(DURING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def session(site, tom):
    return make_session(site, tom, START, 180, title="Morning process group")


@pytest.fixture
def booking(site, session):
    patient = make_patient(site, first_name="Casey", last_name="Sample")
    return make_booking(session, patient)


def signed_in(client, user, site):
    sign_in(client, user, site=site)
    return client


@pytest.fixture
def as_tom(client, site, tom):
    return signed_in(client, tom, site)


def tap(client, booking, status: str, *, htmx: bool = True, **fields):
    data = {"booking": booking.pk, "version": booking.version, "status": status, **fields}
    url = reverse("session-attendance", kwargs={"session_id": booking.session_id})
    return client.post(url, data, **(HTMX if htmx else {}))


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_it_answers_htmx_with_just_the_updated_row_and_the_counts(as_tom, booking):
    response = tap(as_tom, booking, "present")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.count('class="list-group-item roster-row') == 1
    assert f'id="booking-{booking.pk}"' in html
    assert 'data-status="present"' in html
    assert '<span data-testid="row-minutes">180</span> min' in html
    assert 'name="version" value="2"' in html
    assert 'hx-swap-oob="true"' in html and 'data-testid="count-present">1<' in html
    booking.refresh_from_db()
    assert (booking.status, booking.minutes_attended) == ("present", 180)
    assert AuditEvent.objects.filter(object_type="attendance", patient_id=booking.patient_id)


def test_it_renders_the_same_row_fragment_in_the_full_page(as_tom, booking):
    fragment = tap(as_tom, booking, "present").content.decode()
    page = as_tom.get(reverse("session-roster", kwargs={"session_id": booking.session_id}))

    row = fragment[fragment.index("<li") : fragment.index("</li>") + 5]
    # Each render masks the CSRF token differently.
    row = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", row)
    whole = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page.content.decode())
    # The fragment adds only a visually hidden confirmation for screen readers.
    row = row.replace(
        '<div class="visually-hidden" role="status">Casey Sample: present, 180 min.</div>', ""
    )
    assert " ".join(row.split()) in " ".join(whole.split())


def test_it_redirects_a_plain_form_post_back_to_the_row(as_tom, booking):
    response = tap(as_tom, booking, "no_show", htmx=False)

    assert response.status_code == 302
    assert response["Location"] == f"/sessions/{booking.session_id}/#booking-{booking.pk}"
    assert messages_of(response) == ["Casey Sample: no-show."]
    booking.refresh_from_db()
    assert (booking.status, booking.minutes_attended) == ("no_show", 0)


def test_it_takes_times_in_the_sites_clock(client, site, tom, booking, clock):
    clock.move_to(START + timedelta(hours=3, minutes=30))
    as_tom = signed_in(client, tom, site)

    tap(as_tom, booking, "left_early", checked_in_at="09:10", checked_out_at="11:05")

    booking.refresh_from_db()
    assert booking.checked_in_at == START + timedelta(minutes=10)
    assert booking.checked_out_at == START + timedelta(minutes=125)
    assert booking.minutes_attended == 115


def test_it_checks_a_late_arrival_in_at_the_tap(as_tom, booking):
    html = tap(as_tom, booking, "late").content.decode()

    assert 'value="10:00"' in html
    assert '<span data-testid="row-minutes">120</span>' in html


def test_it_keeps_minutes_entered_by_hand_in_the_input(as_tom, booking):
    html = tap(as_tom, booking, "present", minutes="150").content.decode()

    assert 'name="minutes" value="150"' in html


def test_it_shows_minutes_beyond_the_session_on_the_row_with_422(as_tom, booking):
    response = tap(as_tom, booking, "present", minutes="200")

    assert response.status_code == 422
    html = response.content.decode()
    assert "Minutes must be between 0 and 180, the session&#x27;s length." in html
    assert 'name="minutes" value="200"' in html and "is-invalid" in html
    booking.refresh_from_db()
    assert booking.status == AttendanceStatus.BOOKED


def test_it_refuses_a_check_out_before_the_check_in(client, site, tom, booking, clock):
    clock.move_to(START + timedelta(hours=3, minutes=30))
    as_tom = signed_in(client, tom, site)

    response = tap(as_tom, booking, "left_early", checked_in_at="10:00", checked_out_at="09:30")

    assert response.status_code == 422
    assert "before the check-in time" in response.content.decode()
    assert Booking.objects.get(pk=booking.pk).status == AttendanceStatus.BOOKED


def test_it_explains_a_malformed_time(as_tom, booking):
    response = tap(as_tom, booking, "present", checked_in_at="half past nine")

    assert response.status_code == 422
    assert "Enter a valid time." in response.content.decode()


def test_it_tells_a_plain_form_post_what_was_wrong(as_tom, booking):
    response = tap(as_tom, booking, "present", htmx=False, minutes="-5")

    assert response.status_code == 302
    assert messages_of(response) == [
        "Casey Sample: Ensure this value is greater than or equal to 0."
    ]


def test_it_refuses_a_tap_on_a_row_someone_else_changed(as_tom, booking):
    stale = Booking.objects.get(pk=booking.pk)
    tap(as_tom, booking, "no_show")

    response = tap(as_tom, stale, "present")

    assert response.status_code == 409
    html = response.content.decode()
    assert "changed by someone else" in html
    assert 'data-status="no_show"' in html  # the row shows what is really recorded now
    assert 'name="version" value="2"' in html
    assert Booking.objects.get(pk=booking.pk).status == AttendanceStatus.NO_SHOW


def test_it_refuses_a_tap_before_the_session_starts(as_tom, booking, clock):
    clock.move_to(START - timedelta(minutes=10))

    response = tap(as_tom, booking, "present")

    assert response.status_code == 422
    assert "once the session has started at 09:00" in response.content.decode()
    assert Booking.objects.get(pk=booking.pk).status == AttendanceStatus.BOOKED


def test_it_refuses_a_tap_on_a_cancelled_session(as_tom, session, booking):
    Booking.objects.filter(pk=booking.pk).update(status=AttendanceStatus.CANCELLED_BY_CLINIC)
    session.status = SessionStatus.CANCELLED
    session.cancel_reason = "Snow day"
    session.save()

    response = tap(as_tom, booking, "present")

    assert response.status_code == 409
    assert "cancelled (Snow day)" in response.content.decode()


def test_it_answers_404_for_a_booking_of_another_session(as_tom, site, tom, booking):
    elsewhere = make_session(site, tom, START - timedelta(days=1), 60)
    data = {"booking": booking.pk, "version": 1, "status": "present"}

    response = as_tom.post(reverse("session-attendance", kwargs={"session_id": elsewhere.pk}), data)

    assert response.status_code == 404


def test_it_answers_404_for_another_sites_session(as_tom, other_site, oscar):
    theirs = make_session(other_site, oscar, START, 180)
    booking = make_booking(theirs, make_patient(other_site, last_name="Theirs"))

    assert tap(as_tom, booking, "present").status_code == 404
    assert Booking.objects.get(pk=booking.pk).status == AttendanceStatus.BOOKED


def test_it_marks_everyone_present(as_tom, site, session, booking):
    other = make_booking(session, make_patient(site, last_name="Example"))
    Booking.objects.filter(pk=other.pk).update(status=AttendanceStatus.EXCUSED, minutes_attended=0)
    url = reverse("session-mark-present", kwargs={"session_id": session.pk})

    response = as_tom.post(url)

    assert response.status_code == 302
    assert messages_of(response) == ["Marked 1 patient present for the whole session (180 min)."]
    assert Booking.objects.get(pk=booking.pk).status == AttendanceStatus.PRESENT
    assert Booking.objects.get(pk=other.pk).status == AttendanceStatus.EXCUSED


def test_it_does_not_mark_everyone_present_before_the_start(as_tom, session, booking, clock):
    clock.move_to(START - timedelta(minutes=5))

    response = as_tom.post(reverse("session-mark-present", kwargs={"session_id": session.pk}))

    assert messages_of(response) == [
        "Attendance can be recorded once the session has started at 09:00."
    ]
    assert Booking.objects.get(pk=booking.pk).status == AttendanceStatus.BOOKED


def test_it_lets_a_director_cancel_a_session(client, site, dana, session, booking):
    sign_in(client, dana, site=site)

    response = client.post(
        reverse("session-cancel", kwargs={"session_id": session.pk}), {"reason": "Snow day"}
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Session cancelled. 1 booking marked “cancelled by clinic”."]
    session.refresh_from_db()
    assert (session.status, session.cancel_reason) == ("cancelled", "Snow day")
    assert Booking.objects.get(pk=booking.pk).status == AttendanceStatus.CANCELLED_BY_CLINIC


def test_it_asks_for_a_reason_to_cancel(client, site, dana, session, booking):
    sign_in(client, dana, site=site)

    response = client.post(
        reverse("session-cancel", kwargs={"session_id": session.pk}), {"reason": " "}
    )

    assert messages_of(response) == ["Not cancelled: Say why the session is cancelled."]
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


def test_it_does_not_cancel_a_session_that_was_held(client, site, dana, session, booking):
    sign_in(client, dana, site=site)
    tap(client, booking, "present")

    response = client.post(
        reverse("session-cancel", kwargs={"session_id": session.pk}), {"reason": "Oops"}
    )

    assert "it was held and cannot be cancelled" in messages_of(response)[0]
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


def test_it_lets_no_therapist_cancel_a_session(as_tom, session, booking):
    response = as_tom.post(
        reverse("session-cancel", kwargs={"session_id": session.pk}), {"reason": "Tired"}
    )

    assert response.status_code == 403
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


@pytest.mark.parametrize("booking_id", ["", "abc", "0", "99999999999999999999"])
def test_it_answers_404_for_a_malformed_booking_id(as_tom, session, booking, booking_id):
    url = reverse("session-attendance", kwargs={"session_id": session.pk})

    response = as_tom.post(url, {"booking": booking_id, "version": 1, "status": "present"})

    assert response.status_code == 404
    assert Booking.objects.get(pk=booking.pk).status == AttendanceStatus.BOOKED
