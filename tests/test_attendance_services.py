"""record_attendance and mark_everyone_present: all or nothing, audited, never overwriting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from openiop.audit.models import Action, AuditEvent
from openiop.scheduling.attendance import (
    AttendanceConflict,
    AttendanceEntry,
    AttendanceInvalid,
    mark_everyone_present,
    record_attendance,
)
from openiop.scheduling.models import AttendanceStatus, Booking, SessionStatus
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_booking, make_session

# Tuesday Dec 1 2026, 09:00–12:00 in Chicago (UTC-6).
START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
DURING = START + timedelta(hours=1)  # 10:00 local
AFTER = START + timedelta(hours=4)  # 13:00 local
BEFORE = START - timedelta(minutes=30)


@pytest.fixture
def session(site, tom):
    return make_session(site, tom, START, 180, title="Morning process group")


@pytest.fixture
def casey(site, session):
    patient = make_patient(site, first_name="Casey", last_name="Sample")
    make_booking(session, patient)
    return patient


@pytest.fixture
def robin(site, session):
    patient = make_patient(site, first_name="Robin", last_name="Example", preferred_name="Rob")
    make_booking(session, patient)
    return patient


def booking_of(patient) -> Booking:
    return Booking.objects.get(patient=patient)


def attendance_events():
    return AuditEvent.objects.filter(object_type="attendance").order_by("pk")


def fields_of(exc: AttendanceInvalid) -> list[tuple[int | None, str]]:
    return [(error.index, error.field) for error in exc.errors]


@time_machine.travel(DURING, tick=False)
def test_it_records_a_present_patient_for_the_whole_session(session, casey, tom):
    [booking] = record_attendance(
        session=session, entries=[AttendanceEntry(patient_id=casey.pk, status="present")], by=tom
    )

    booking.refresh_from_db()
    assert booking.status == AttendanceStatus.PRESENT
    assert booking.minutes_attended == 180
    assert booking.recorded_by == tom
    assert booking.recorded_at == DURING
    assert booking.version == 2
    event = attendance_events().get()
    assert event.action == Action.UPDATE
    assert event.patient_id == casey.pk
    assert event.actor == tom
    assert event.object_id == str(booking.pk)
    assert event.site == session.site
    assert "nothing recorded → present (180 min)" in event.detail


@time_machine.travel(DURING + timedelta(minutes=5), tick=False)
def test_it_checks_a_late_arrival_in_when_tapped_during_the_session(session, casey, tom):
    record_attendance(
        session=session, entries=[AttendanceEntry(patient_id=casey.pk, status="late")], by=tom
    )

    booking = booking_of(casey)
    assert booking.checked_in_at == DURING + timedelta(minutes=5)
    assert booking.minutes_attended == 115


@time_machine.travel(DURING, tick=False)
def test_it_checks_an_early_leaver_out_when_tapped_during_the_session(session, casey, tom):
    record_attendance(
        session=session,
        entries=[AttendanceEntry(patient_id=casey.pk, status="left_early")],
        by=tom,
    )

    assert booking_of(casey).checked_out_at == DURING
    assert booking_of(casey).minutes_attended == 60


@time_machine.travel(AFTER, tick=False)
def test_it_asks_for_the_check_in_time_of_a_late_arrival_recorded_afterwards(session, casey, tom):
    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(
            session=session, entries=[AttendanceEntry(patient_id=casey.pk, status="late")], by=tom
        )

    assert fields_of(caught.value) == [(0, "checked_in_at")]
    assert "Casey Sample's check-in time" in str(caught.value)


@time_machine.travel(AFTER, tick=False)
def test_it_counts_minutes_from_times_entered_afterwards(session, casey, robin, tom):
    record_attendance(
        session=session,
        entries=[
            AttendanceEntry(
                patient_id=casey.pk, status="late", checked_in_at=START + timedelta(minutes=25)
            ),
            AttendanceEntry(
                patient_id=robin.pk,
                status="left_early",
                checked_out_at=START + timedelta(minutes=100),
            ),
        ],
        by=tom,
    )

    assert booking_of(casey).minutes_attended == 155
    assert booking_of(robin).minutes_attended == 100


@time_machine.travel(AFTER, tick=False)
def test_it_writes_nothing_when_one_entry_is_wrong(session, casey, robin, tom):
    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(
            session=session,
            entries=[
                AttendanceEntry(patient_id=casey.pk, status="present"),
                AttendanceEntry(patient_id=robin.pk, status="present", minutes=181),
            ],
            by=tom,
        )

    assert fields_of(caught.value) == [(1, "minutes")]
    assert "between 0 and 180" in caught.value.errors[0].message
    assert set(Booking.objects.values_list("status", flat=True)) == {"booked"}
    assert set(Booking.objects.values_list("version", flat=True)) == {1}
    assert not attendance_events().exists()


@time_machine.travel(AFTER, tick=False)
def test_it_names_every_wrong_entry_at_once(site, session, casey, robin, tom):
    stranger = make_patient(site, first_name="Sam", last_name="Stranger")
    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(
            session=session,
            entries=[
                AttendanceEntry(patient_id=stranger.pk, status="present"),
                AttendanceEntry(patient_id=casey.pk, status="sleeping"),
                AttendanceEntry(
                    patient_id=robin.pk,
                    status="left_early",
                    checked_in_at=START + timedelta(minutes=60),
                    checked_out_at=START + timedelta(minutes=30),
                ),
            ],
            by=tom,
        )

    assert fields_of(caught.value) == [(0, "patient_id"), (1, "status"), (2, "checked_out_at")]
    assert f"Patient {stranger.pk} is not booked in this session" in caught.value.errors[0].message
    assert "before the check-in time" in caught.value.errors[2].message
    assert not attendance_events().exists()


@time_machine.travel(AFTER, tick=False)
def test_it_refuses_a_patient_listed_twice(session, casey, tom):
    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(
            session=session,
            entries=[
                AttendanceEntry(patient_id=casey.pk, status="present"),
                AttendanceEntry(patient_id=casey.pk, status="no_show"),
            ],
            by=tom,
        )

    assert fields_of(caught.value) == [(1, "patient_id")]
    assert "listed twice" in str(caught.value)


@time_machine.travel(AFTER, tick=False)
def test_it_refuses_an_empty_list(session, tom):
    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(session=session, entries=[], by=tom)

    assert fields_of(caught.value) == [(None, "entries")]


@time_machine.travel(AFTER, tick=False)
def test_it_refuses_times_on_an_absence(session, casey, tom):
    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(
            session=session,
            entries=[
                AttendanceEntry(
                    patient_id=casey.pk, status="no_show", minutes=30, checked_in_at=START
                )
            ],
            by=tom,
        )

    assert fields_of(caught.value) == [(0, "minutes"), (0, "checked_in_at")]
    assert "A no-show attends 0 minutes" in str(caught.value)


@time_machine.travel(DURING, tick=False)
def test_it_refuses_a_check_in_in_the_future(session, casey, tom):
    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(
            session=session,
            entries=[
                AttendanceEntry(
                    patient_id=casey.pk, status="late", checked_in_at=DURING + timedelta(minutes=1)
                )
            ],
            by=tom,
        )

    assert fields_of(caught.value) == [(0, "checked_in_at")]


@time_machine.travel(AFTER, tick=False)
def test_it_refuses_a_booking_the_clinic_cancelled(site, session, tom):
    patient = make_patient(site, first_name="Alex", last_name="Dummy")
    make_booking(session, patient, status=AttendanceStatus.CANCELLED_BY_CLINIC)

    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(
            session=session,
            entries=[AttendanceEntry(patient_id=patient.pk, status="present")],
            by=tom,
        )

    assert "Alex Dummy's booking in this session was cancelled" in str(caught.value)


@time_machine.travel(BEFORE, tick=False)
def test_it_refuses_a_session_that_has_not_started(session, casey, tom):
    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(
            session=session,
            entries=[AttendanceEntry(patient_id=casey.pk, status="present")],
            by=tom,
        )

    assert fields_of(caught.value) == [(None, "session")]
    assert str(caught.value) == "Attendance can be recorded once the session has started at 09:00."
    assert booking_of(casey).status == AttendanceStatus.BOOKED


@time_machine.travel(START - timedelta(days=2), tick=False)
def test_it_names_the_day_of_a_session_that_is_not_today(session, casey, tom):
    with pytest.raises(AttendanceInvalid) as caught:
        record_attendance(
            session=session,
            entries=[AttendanceEntry(patient_id=casey.pk, status="present")],
            by=tom,
        )

    assert "has started at Tue Dec 1 at 09:00" in str(caught.value)


@time_machine.travel(AFTER, tick=False)
def test_it_refuses_a_cancelled_session(session, casey, tom):
    session.status = SessionStatus.CANCELLED
    session.cancel_reason = "Snow day"
    session.save()

    with pytest.raises(AttendanceConflict) as caught:
        record_attendance(
            session=session,
            entries=[AttendanceEntry(patient_id=casey.pk, status="present")],
            by=tom,
        )

    assert "cancelled (Snow day)" in caught.value.message
    assert booking_of(casey).status == AttendanceStatus.BOOKED


@time_machine.travel(AFTER, tick=False)
def test_it_audits_a_later_correction_with_the_before_and_after(session, casey, tom, dana):
    record_attendance(
        session=session, entries=[AttendanceEntry(patient_id=casey.pk, status="present")], by=tom
    )
    record_attendance(
        session=session,
        entries=[
            AttendanceEntry(
                patient_id=casey.pk,
                status="late",
                checked_in_at=START + timedelta(minutes=20),
                version=2,
            )
        ],
        by=dana,
    )

    booking = booking_of(casey)
    assert (booking.status, booking.minutes_attended, booking.version) == ("late", 160, 3)
    assert booking.recorded_by == dana
    _first, second = attendance_events()
    assert second.actor == dana
    assert second.patient_id == casey.pk
    assert second.detail.endswith("present (180 min) → late (160 min)")


@time_machine.travel(AFTER, tick=False)
def test_it_refuses_a_stale_version_and_keeps_the_other_change(session, casey, tom, dana):
    record_attendance(
        session=session,
        entries=[AttendanceEntry(patient_id=casey.pk, status="no_show", version=1)],
        by=dana,
    )

    with pytest.raises(AttendanceConflict) as caught:
        record_attendance(
            session=session,
            entries=[AttendanceEntry(patient_id=casey.pk, status="present", version=1)],
            by=tom,
        )

    assert "Casey Sample's attendance was changed by someone else" in caught.value.message
    assert caught.value.booking_id == booking_of(casey).pk
    assert booking_of(casey).status == AttendanceStatus.NO_SHOW
    assert attendance_events().count() == 1


@time_machine.travel(AFTER, tick=False)
def test_it_writes_nothing_when_the_same_tap_comes_twice(session, casey, tom):
    entry = AttendanceEntry(patient_id=casey.pk, status="present")
    record_attendance(session=session, entries=[entry], by=tom)
    record_attendance(session=session, entries=[entry], by=tom)

    assert booking_of(casey).version == 2
    assert attendance_events().count() == 1


@time_machine.travel(AFTER, tick=False)
def test_it_clears_times_when_a_patient_is_corrected_to_an_absence(session, casey, tom):
    record_attendance(
        session=session,
        entries=[AttendanceEntry(patient_id=casey.pk, status="late", minutes=90)],
        by=tom,
    )
    record_attendance(
        session=session, entries=[AttendanceEntry(patient_id=casey.pk, status="excused")], by=tom
    )

    booking = booking_of(casey)
    assert (booking.status, booking.minutes_attended, booking.checked_in_at) == ("excused", 0, None)
    assert attendance_events().last().detail.endswith("late (90 min) → excused absence")


@time_machine.travel(DURING, tick=False)
def test_it_marks_everyone_not_yet_recorded_present(site, session, casey, robin, tom):
    record_attendance(
        session=session, entries=[AttendanceEntry(patient_id=robin.pk, status="no_show")], by=tom
    )
    gone = make_patient(site, first_name="Gale", last_name="Gone")
    make_booking(session, gone, status=AttendanceStatus.CANCELLED)

    changed = mark_everyone_present(session=session, by=tom)

    assert [booking.patient_id for booking in changed] == [casey.pk]
    assert booking_of(casey).status == AttendanceStatus.PRESENT
    assert booking_of(casey).minutes_attended == 180
    assert booking_of(robin).status == AttendanceStatus.NO_SHOW
    assert booking_of(gone).status == AttendanceStatus.CANCELLED
    assert attendance_events().filter(patient_id=casey.pk).count() == 1
    assert mark_everyone_present(session=session, by=tom) == []


@time_machine.travel(BEFORE, tick=False)
def test_it_does_not_mark_everyone_present_before_the_start(session, casey, tom):
    with pytest.raises(AttendanceInvalid):
        mark_everyone_present(session=session, by=tom)

    assert booking_of(casey).status == AttendanceStatus.BOOKED
