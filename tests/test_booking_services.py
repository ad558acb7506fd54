"""Booking services: track groups, capacity, drop-ins, individual sessions and cadence."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from openiop.audit.models import AuditEvent
from openiop.programs.models import Cadence
from openiop.scheduling.booking import (
    BookingConflict,
    book_active_track_enrollments,
    book_drop_in,
    book_enrollment_into_future_sessions,
    book_individual_session,
    cancel_future_bookings,
    schedule_individual_series,
    set_individual_schedule,
)
from openiop.scheduling.models import (
    AttendanceStatus,
    Booking,
    BookingKind,
    Session,
    SessionKind,
    SessionStatus,
)
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
from tests.factories_programs import make_room
from tests.factories_scheduling import make_booking, make_session


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def iop(site):
    return iop_with_tracks(site)


def enrolled(site, iop, name="Pat", *, therapist=None, cadence=Cadence.WEEKLY, track=None):
    program, evening, _ = iop
    patient = make_patient(site, first_name=name, last_name="Placeholder")
    return make_enrollment(
        patient,
        program,
        track or evening,
        admitted_on=TODAY,
        primary_therapist=therapist,
        individual_cadence=cadence,
    )


def test_it_skips_and_reports_full_sessions(site, iop, tom):
    _, evening, _ = iop
    _, (full, open_) = track_sessions(evening, tom, days=mondays(2), capacity=1)
    make_booking(full, make_patient(site, first_name="Casey", last_name="Sample"))
    enrollment = enrolled(site, iop)
    summary = book_enrollment_into_future_sessions(enrollment)
    assert summary.booked == 1
    assert summary.skipped == ("“CBT group” 18:00–19:30 on Mon Mar 2 is full (1 of 1).",)
    assert Booking.objects.filter(patient=enrollment.patient).get().session == open_


def test_it_skips_and_reports_a_patients_overlapping_session(site, iop, tom, dana):
    _, evening, _ = iop
    _, (tonight,) = track_sessions(evening, tom, days=[TODAY])
    enrollment = enrolled(site, iop)
    other = make_session(site, dana, local(TODAY, 17, 30), 60, title="Family group")
    make_booking(other, enrollment.patient, kind=BookingKind.DROP_IN)
    summary = book_enrollment_into_future_sessions(enrollment)
    assert summary.booked == 0
    assert "Pat Placeholder is already booked" in summary.skipped[0]
    assert not Booking.objects.filter(session=tonight).exists()


def test_it_revives_a_cancelled_seat_instead_of_duplicating_it(site, iop, tom):
    _, evening, _ = iop
    _, (session,) = track_sessions(evening, tom, days=[TODAY])
    enrollment = enrolled(site, iop)
    make_booking(session, enrollment.patient, status=AttendanceStatus.CANCELLED)
    assert book_enrollment_into_future_sessions(enrollment).booked == 1
    booking = Booking.objects.get()
    assert booking.status == AttendanceStatus.BOOKED and booking.enrollment == enrollment


def test_the_materializer_books_every_active_enrollment_within_capacity(site, iop, tom):
    _, evening, morning = iop
    patients = [enrolled(site, iop, f"P{n}") for n in range(3)]
    late = enrolled(site, iop, "Later", track=morning)
    _, sessions = track_sessions(evening, tom, days=mondays(2), capacity=2)
    assert book_active_track_enrollments(sessions=sessions) == 4
    for session in sessions:
        assert session.bookings.count() == 2
    assert not Booking.objects.filter(patient=late.patient).exists()
    # Idempotent: a second run books nobody twice.
    assert book_active_track_enrollments(sessions=sessions) == 0
    assert len(patients) == 3


def test_the_materializer_skips_enrollments_admitted_after_the_session(site, iop, tom):
    _, evening, _ = iop
    program = evening.program
    patient = make_patient(site, first_name="Future", last_name="Sample")
    make_enrollment(patient, program, evening, admitted_on=TODAY + timedelta(days=8))
    _, sessions = track_sessions(evening, tom, days=mondays(3))
    assert book_active_track_enrollments(sessions=sessions) == 1
    assert Booking.objects.get().session == sessions[2]


def test_the_materializer_uses_a_constant_number_of_queries(
    site, iop, tom, django_assert_max_num_queries
):
    _, evening, _ = iop
    for n in range(2):
        enrolled(site, iop, f"A{n}")
    _, small = track_sessions(evening, tom, days=mondays(2), title="Small")
    with django_assert_max_num_queries(10):
        book_active_track_enrollments(sessions=small)
    for n in range(10):
        enrolled(site, iop, f"B{n}")
    _, large = track_sessions(evening, tom, days=mondays(6, TODAY + timedelta(days=2)), title="L")
    with django_assert_max_num_queries(10):
        assert book_active_track_enrollments(sessions=large) == 72


def test_cancel_future_bookings_leaves_the_past_and_recorded_alone(site, iop, tom, dana):
    enrollment = enrolled(site, iop)
    patient = enrollment.patient
    past = make_booking(make_session(site, tom, local(TODAY, 6), 60, title="Early"), patient)
    later = make_booking(make_session(site, tom, local(TODAY, 18), 60, title="Late"), patient)
    done = make_booking(
        make_session(site, dana, local(TODAY, 19), 60, title="Done"),
        patient,
        status=AttendanceStatus.PRESENT,
    )
    assert cancel_future_bookings(patient=patient, after=NOW, reason="Discharged") == 1
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses == {
        past.pk: AttendanceStatus.BOOKED,
        later.pk: AttendanceStatus.CANCELLED,
        done.pk: AttendanceStatus.PRESENT,
    }


def test_a_drop_in_takes_a_free_seat_and_is_audited(site, iop, tom, dana):
    _, _, morning = iop
    _, (session,) = track_sessions(morning, tom, days=[TODAY + timedelta(days=2)], hour=9)
    enrollment = enrolled(site, iop)
    booking = book_drop_in(session=session, patient=enrollment.patient, by=dana)
    assert booking.kind == BookingKind.DROP_IN and booking.enrollment == enrollment
    event = AuditEvent.objects.get(object_type="booking")
    assert event.patient_id == enrollment.patient_id and event.actor == dana


def test_a_drop_in_into_a_full_group_names_it(site, iop, tom, dana):
    _, _, morning = iop
    _, (session,) = track_sessions(morning, tom, days=[TODAY + timedelta(days=2)], capacity=2)
    for n in range(2):
        make_booking(session, make_patient(site, first_name=f"Seat{n}", last_name="Sample"))
    enrollment = enrolled(site, iop)
    with pytest.raises(BookingConflict, match=r"^“CBT group” on Wed Mar 4 is full \(2 of 2\)\.$"):
        book_drop_in(session=session, patient=enrollment.patient, by=dana)
    assert session.bookings.count() == 2


def test_a_drop_in_refuses_double_booking_and_unenrolled_patients(site, iop, tom, dana):
    _, evening, _ = iop
    enrollment = enrolled(site, iop)
    _, (own,) = track_sessions(evening, tom, days=[TODAY])
    book_enrollment_into_future_sessions(enrollment)
    with pytest.raises(BookingConflict, match="already booked in “CBT group” 18:00–19:30"):
        book_drop_in(session=own, patient=enrollment.patient, by=dana)
    clash = make_session(site, dana, local(TODAY, 19), 60, title="Skills group")
    with pytest.raises(BookingConflict, match="already booked in “CBT group” 18:00–19:30"):
        book_drop_in(session=clash, patient=enrollment.patient, by=dana)
    stranger = make_patient(site, first_name="Nobody", last_name="Enrolled")
    with pytest.raises(ValidationError, match="no active enrollment"):
        book_drop_in(session=clash, patient=stranger, by=dana)
    over = make_session(site, dana, local(TODAY, 6), 60, title="Dawn group")
    with pytest.raises(ValidationError, match="is over"):
        book_drop_in(session=over, patient=enrollment.patient, by=dana)
    over.status = SessionStatus.CANCELLED
    assert Booking.objects.filter(kind=BookingKind.DROP_IN).count() == 0


def test_an_individual_session_is_booked_with_its_patient(site, iop, tom, dana):
    enrollment = enrolled(site, iop, therapist=tom)
    room = make_room(site, "Office 2", capacity=2)
    session = book_individual_session(
        patient=enrollment.patient,
        therapist=tom,
        starts_at=local(TODAY, 10),
        duration_minutes=50,
        room=room,
        by=dana,
    )
    assert session.kind == SessionKind.INDIVIDUAL and session.capacity == 1
    assert session.ends_at - session.starts_at == timedelta(minutes=50)
    booking = session.bookings.get()
    assert booking.patient == enrollment.patient and booking.kind == BookingKind.INDIVIDUAL
    assert AuditEvent.objects.filter(object_type="session", patient_id=booking.patient_id)


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("therapist", "Tom Fakename already leads “CBT group” 18:00–19:30 on Mon Mar 2."),
        ("room", "Group Room A is already taken by “CBT group” 18:00–19:30 on Mon Mar 2."),
        ("patient", "Pat Placeholder is already booked in “CBT group” 18:00–19:30 on Mon Mar 2."),
    ],
)
def test_an_individual_session_refuses_each_double_booking(site, iop, tom, dana, who, message):
    from openiop.accounts.roles import Role
    from tests.factories import make_user

    _, evening, _ = iop
    room = make_room(site)
    _, (group,) = track_sessions(evening, tom, days=[TODAY])
    Session.objects.filter(pk=group.pk).update(room=room)
    enrollment = enrolled(site, iop)
    theo = make_user("theo", site=site, role=Role.THERAPIST, first_name="Theo")
    if who == "patient":
        book_enrollment_into_future_sessions(enrollment)
    patient = enrollment.patient
    if who != "patient":
        patient = enrolled(site, iop, "Casey").patient
    with pytest.raises(BookingConflict) as caught:
        book_individual_session(
            patient=patient,
            therapist=tom if who == "therapist" else theo,
            starts_at=local(TODAY, 19),
            duration_minutes=50,
            room=room if who == "room" else None,
            by=dana,
        )
    assert str(caught.value) == message
    assert not Session.objects.filter(kind=SessionKind.INDIVIDUAL).exists()


def test_an_individual_session_needs_a_clinician_and_a_future_time(site, iop, tom, dana):
    from openiop.accounts.roles import Role
    from tests.factories import make_user

    enrollment = enrolled(site, iop)
    nurse = make_user("nia", site=site, role=Role.NURSE)
    with pytest.raises(ValidationError) as caught:
        book_individual_session(
            patient=enrollment.patient, therapist=nurse, starts_at=local(TODAY, 10),
            duration_minutes=50, by=dana,
        )  # fmt: skip
    assert "therapist_id" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        book_individual_session(
            patient=enrollment.patient, therapist=tom, starts_at=local(TODAY, 7),
            duration_minutes=50, by=dana,
        )  # fmt: skip
    assert "starts_at" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        book_individual_session(
            patient=enrollment.patient, therapist=tom, starts_at=local(TODAY, 10),
            duration_minutes=400, by=dana,
        )  # fmt: skip
    assert "duration_minutes" in caught.value.message_dict


def test_a_weekly_schedule_books_eight_weeks_and_skips_conflicts(site, iop, tom, dana):
    enrollment = enrolled(site, iop, therapist=tom)
    blocker = make_session(site, tom, local(TODAY + timedelta(days=15), 11), 60, title="Staffing")
    series, summary = schedule_individual_series(
        enrollment=enrollment, weekday=1, start_time=time(11, 0), by=dana
    )
    assert series.interval_weeks == 1 and series.therapist == tom
    assert summary.booked == 7
    assert summary.skipped == ("Tom Fakename already leads “Staffing” 11:00–12:00 on Tue Mar 17.",)
    days = [
        s.starts_at for s in Session.objects.filter(individual_series=series).order_by("starts_at")
    ]
    assert days[0] == local(TODAY + timedelta(days=1), 11)
    assert blocker.pk not in set(Session.objects.filter(individual_series=series).values_list("pk"))


def test_a_biweekly_schedule_books_every_other_week_and_replaces_the_old_slot(site, iop, tom, dana):
    enrollment = enrolled(site, iop, therapist=tom, cadence=Cadence.BIWEEKLY)
    first = set_individual_schedule(
        enrollment=enrollment, weekday=3, start_time=time(15, 0), by=dana
    )
    assert first.interval_weeks == 2
    starts = list(
        Session.objects.filter(individual_series=first)
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
    )
    # Local wall-clock times: the DST change of March 8 makes one gap 23 hours shorter in UTC.
    assert starts == [local(TODAY + timedelta(days=3 + 14 * n), 15) for n in range(4)]
    second = set_individual_schedule(
        enrollment=enrollment, weekday=4, start_time=time(9, 0), by=dana
    )
    first.refresh_from_db()
    assert not first.is_active and second.is_active
    assert set(
        Session.objects.filter(individual_series=first).values_list("status", flat=True)
    ) == {SessionStatus.CANCELLED}


def test_a_schedule_needs_a_primary_therapist_and_a_cadence(site, iop, tom, dana):
    enrollment = enrolled(site, iop)
    with pytest.raises(ValidationError) as caught:
        set_individual_schedule(enrollment=enrollment, weekday=1, start_time=time(9), by=dana)
    assert "primary_therapist" in caught.value.message_dict
    none = enrolled(site, iop, "Nona", therapist=tom, cadence=Cadence.NONE)
    with pytest.raises(ValidationError) as caught:
        set_individual_schedule(enrollment=none, weekday=1, start_time=time(9), by=dana)
    assert "individual_cadence" in caught.value.message_dict
