"""The admit, discharge, transfer, individual-therapy and drop-in screens, through HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.programs.models import Enrollment, EnrollmentStatus
from openiop.scheduling.models import AttendanceStatus, Booking, BookingKind, IndividualSeries
from tests.factories import sign_in
from tests.factories_enrollment import (
    NOW,
    TODAY,
    iop_with_tracks,
    local,
    make_enrollment,
    mondays,
    track_sessions,
)
from tests.factories_patients import make_patient
from tests.factories_programs import make_program, make_track
from tests.factories_scheduling import make_booking, make_session


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
def as_tom(client, tom, site):
    sign_in(client, tom, site=site)
    return client


def chart(patient):
    return reverse("patient-chart", args=[patient.pk])


def test_the_admit_form_prefills_today_and_lists_the_programs_tracks(as_tom, pat, iop):
    program, evening, morning = iop
    response = as_tom.get(reverse("enrollment-admit", args=[pat.pk]))
    assert response.status_code == 200
    assert 'value="2026-03-02"' in response.content.decode()
    # htmx asks for the tracks of the chosen program; the fragment comes back alone.
    response = as_tom.get(
        reverse("enrollment-admit", args=[pat.pk]), {"program": program.pk}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert evening.name in html and morning.name in html
    assert 'value="9.0"' in html and 'value="12.0"' in html
    assert AuditEvent.objects.filter(patient_id=pat.pk, action="view").exists()


def test_admitting_books_the_track_and_goes_to_the_chart(as_tom, pat, iop, tom):
    program, evening, _ = iop
    track_sessions(evening, tom, days=mondays(2))
    response = as_tom.post(
        reverse("enrollment-admit", args=[pat.pk]),
        {
            "program": program.pk,
            "track": evening.pk,
            "admitted_on": "2026-03-02",
            "weekly_hours_min": "9",
            "weekly_hours_max": "12",
            "primary_therapist": tom.pk,
            "individual_cadence": "weekly",
        },
        follow=True,
    )
    assert response.redirect_chain[0] == (chart(pat), 302)
    assert "2 sessions booked" in response.content.decode()
    assert Enrollment.objects.get(patient=pat).primary_therapist == tom
    assert Booking.objects.filter(patient=pat).count() == 2


def test_the_admit_form_shows_the_rules_beside_their_fields(as_tom, pat, iop):
    program, evening, _ = iop
    response = as_tom.post(
        reverse("enrollment-admit", args=[pat.pk]),
        {
            "program": program.pk,
            "track": evening.pk,
            "admitted_on": "2026-03-02",
            "weekly_hours_min": "4",
            "individual_cadence": "weekly",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_weekly_hours_min-error"' in html and "outside Intensive outpatient" in html
    assert not Enrollment.objects.exists()


def test_the_admit_form_refuses_a_second_enrollment_at_the_top(as_tom, pat, iop):
    program, evening, morning = iop
    make_enrollment(pat, program, evening, admitted_on=TODAY)
    response = as_tom.post(
        reverse("enrollment-admit", args=[pat.pk]),
        {"program": program.pk, "track": morning.pk, "admitted_on": "2026-03-02",
         "individual_cadence": "weekly"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "already has an active enrollment" in response.content.decode()


def test_another_sites_patient_is_not_found(as_tom, other_site, iop):
    stranger = make_patient(other_site, first_name="Far", last_name="Away")
    assert as_tom.get(reverse("enrollment-admit", args=[stranger.pk])).status_code == 404
    program, evening, _ = iop
    pat = make_patient(program.site)
    enrollment = make_enrollment(pat, program, evening)
    url = reverse("enrollment-discharge", args=[stranger.pk, enrollment.pk])
    assert as_tom.get(url).status_code == 404


def test_discharging_cancels_future_bookings(as_tom, pat, iop, tom):
    program, evening, _ = iop
    enrollment = make_enrollment(pat, program, evening, admitted_on=TODAY - timedelta(days=14))
    later = make_booking(make_session(program.site, tom, local(TODAY + timedelta(days=2), 9)), pat)
    url = reverse("enrollment-discharge", args=[pat.pk, enrollment.pk])
    page = as_tom.get(url).content.decode()
    assert "1 upcoming session after the discharge day will be cancelled" in page
    response = as_tom.post(
        url, {"discharged_on": "2026-03-02", "reason": "completed", "note": "", "version": 1}
    )
    assert response.status_code == 302 and response["Location"] == chart(pat)
    later.refresh_from_db()
    assert later.status == AttendanceStatus.CANCELLED
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.DISCHARGED


def test_a_stale_discharge_is_refused_on_the_form(as_tom, pat, iop):
    program, evening, _ = iop
    enrollment = make_enrollment(pat, program, evening, admitted_on=TODAY)
    response = as_tom.post(
        reverse("enrollment-discharge", args=[pat.pk, enrollment.pk]),
        {"discharged_on": "2026-03-02", "reason": "completed", "version": 5},
    )
    assert response.status_code == 422
    assert "Someone changed this enrollment" in response.content.decode()
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE


def test_transferring_steps_up_inside_the_episode(as_tom, pat, iop, site):
    program, evening, _ = iop
    php = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    day = make_track(php, "Day")
    enrollment = make_enrollment(pat, program, evening, admitted_on=TODAY - timedelta(days=14))
    url = reverse("enrollment-transfer", args=[pat.pk, enrollment.pk])
    assert as_tom.get(url).status_code == 200
    response = as_tom.post(
        url,
        {"program": php.pk, "track": day.pk, "on": "2026-03-02", "kind": "",
         "reason": "Three positive screens", "individual_cadence": "weekly", "version": 1},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    new = Enrollment.objects.get(patient=pat, status=EnrollmentStatus.ACTIVE)
    assert new.transfer_kind == "step_up" and new.episode_id == enrollment.episode_id
    assert new.weekly_hours_min == 20


def test_setting_the_individual_slot_books_ahead(as_tom, pat, iop, tom):
    program, evening, _ = iop
    enrollment = make_enrollment(pat, program, evening, admitted_on=TODAY, primary_therapist=tom)
    url = reverse("individual-schedule", args=[pat.pk, enrollment.pk])
    assert "No recurring individual therapy yet" in as_tom.get(url).content.decode()
    response = as_tom.post(
        url, {"weekday": 2, "start_time": "13:00", "duration_minutes": 50}, follow=True
    )
    assert "Individual therapy scheduled. 8 sessions booked." in response.content.decode()
    assert IndividualSeries.objects.get().interval_weeks == 1


def test_a_one_off_session_that_double_books_is_refused_with_the_conflict(as_tom, pat, iop, tom):
    program, evening, _ = iop
    make_enrollment(pat, program, evening, admitted_on=TODAY)
    make_session(program.site, tom, local(TODAY, 10), 60, title="Staff meeting")
    url = reverse("individual-book", args=[pat.pk])
    data = {"therapist": tom.pk, "day": "2026-03-02", "start_time": "10:30", "duration_minutes": 50}
    response = as_tom.post(url, data)
    assert response.status_code == 422
    assert "Tom Fakename already leads “Staff meeting” 10:00–11:00 on Mon Mar 2." in (
        response.content.decode()
    )
    response = as_tom.post(url, {**data, "start_time": "11:00"})
    assert response.status_code == 302
    assert Booking.objects.filter(patient=pat, kind=BookingKind.INDIVIDUAL).count() == 1


def test_a_drop_in_goes_back_to_the_roster_with_the_outcome(as_tom, pat, iop, tom, site):
    program, evening, _ = iop
    make_enrollment(pat, program, evening, admitted_on=TODAY)
    group = make_session(site, tom, local(TODAY + timedelta(days=1), 9), 90, capacity=1)
    url = reverse("drop-in-book", args=[group.pk])
    response = as_tom.post(url, {"patient_id": pat.pk}, follow=True)
    assert response.redirect_chain[0] == (reverse("session-roster", args=[group.pk]), 302)
    assert "added as a drop-in" in response.content.decode()
    other = make_patient(site, first_name="Casey", last_name="Sample")
    make_enrollment(other, program, evening, admitted_on=TODAY)
    response = as_tom.post(url, {"patient_id": other.pk}, follow=True)
    assert "is full (1 of 1)" in response.content.decode()
    assert as_tom.get(url).status_code == 405
    assert as_tom.post(url, {"patient_id": 999999}).status_code == 404
