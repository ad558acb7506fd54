"""Admission, discharge and transfer services: the rules, the constraint and atomicity."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.programs.enrollment import ActiveEnrollmentExists, StaleEnrollment
from openiop.programs.models import (
    Cadence,
    DischargeReason,
    Enrollment,
    EnrollmentStatus,
    Episode,
    TransferKind,
)
from openiop.scheduling import booking
from openiop.scheduling.enrollment import admit_patient, discharge_patient, transfer_patient
from openiop.scheduling.models import AttendanceStatus, Booking, BookingKind
from tests.factories import make_user
from tests.factories_enrollment import (
    NOW,
    TODAY,
    iop_with_tracks,
    make_enrollment,
    make_prescriber,
    mondays,
    track_sessions,
)
from tests.factories_patients import make_patient
from tests.factories_programs import make_program, make_track


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def iop(site):
    return iop_with_tracks(site)


@pytest.fixture
def pat(site):
    return make_patient(site, first_name="Pat", last_name="Placeholder")


def admit(pat, iop, by, **kw):
    program, evening, _ = iop
    values = {"admitted_on": TODAY, "primary_therapist": None}
    values.update(kw)
    return admit_patient(patient=pat, program=program, track=evening, by=by, **values)


def test_it_admits_into_a_new_episode_with_the_programs_hours(pat, iop, dana, tom):
    result = admit(pat, iop, dana, primary_therapist=tom)
    enrollment = result.enrollment
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert (enrollment.weekly_hours_min, enrollment.weekly_hours_max) == (Decimal(9), Decimal(12))
    assert enrollment.episode.opened_on == TODAY and enrollment.episode.closed_on is None
    event = AuditEvent.objects.get(object_type="enrollment", action="create")
    assert event.patient_id == pat.pk and event.actor == dana


def test_it_books_the_tracks_future_sessions_on_admission(pat, iop, dana, tom):
    _, evening, morning = iop
    _, sessions = track_sessions(evening, tom, days=mondays(3, TODAY - timedelta(weeks=1)))
    track_sessions(morning, tom, days=mondays(2), hour=9, title="Morning process")
    result = admit(pat, iop, dana)
    # Last week's session is past; the morning track is not the patient's.
    assert result.bookings.booked == 2
    booked = Booking.objects.filter(patient=pat).order_by("session__starts_at")
    assert [b.session_id for b in booked] == [s.pk for s in sessions[1:]]
    assert {b.kind for b in booked} == {BookingKind.TRACK}
    assert {b.enrollment_id for b in booked} == {result.enrollment.pk}


def test_it_refuses_a_second_active_enrollment(pat, iop, dana):
    admit(pat, iop, dana)
    with pytest.raises(ActiveEnrollmentExists, match="already has an active enrollment"):
        admit(pat, iop, dana)
    assert Enrollment.objects.count() == 1
    assert Episode.objects.count() == 1


def test_the_database_itself_refuses_a_second_active_enrollment(pat, iop):
    program, evening, morning = iop
    make_enrollment(pat, program, evening)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_enrollment(pat, program, morning)
    # A closed enrollment beside the active one is fine.
    make_enrollment(
        pat,
        program,
        morning,
        admitted_on=date(2025, 1, 6),
        discharged_on=date(2025, 3, 1),
        status=EnrollmentStatus.DISCHARGED,
    )
    assert Enrollment.objects.filter(patient=pat).count() == 2


def test_the_database_refuses_a_discharge_before_admission(pat, iop):
    program, evening, _ = iop
    with pytest.raises(IntegrityError), transaction.atomic():
        make_enrollment(
            pat,
            program,
            evening,
            admitted_on=date(2026, 2, 2),
            discharged_on=date(2026, 2, 1),
            status=EnrollmentStatus.DISCHARGED,
        )


@pytest.mark.parametrize(
    ("field", "kw", "message"),
    [
        ("weekly_hours_min", {"weekly_hours_min": 6}, "outside Intensive outpatient"),
        ("weekly_hours_max", {"weekly_hours_max": 25}, "above Intensive outpatient"),
        ("weekly_hours_max", {"weekly_hours_min": 12, "weekly_hours_max": 10}, "below the floor"),
        ("admitted_on", {"admitted_on": date(1980, 1, 1)}, "before the patient's date of birth"),
        ("admitted_on", {"admitted_on": TODAY + timedelta(days=120)}, "more than 90 days"),
        ("individual_cadence", {"individual_cadence": "monthly"}, "not a cadence"),
    ],
)
def test_it_names_the_field_of_bad_input(pat, iop, dana, field, kw, message):
    with pytest.raises(ValidationError) as caught:
        admit(pat, iop, dana, **kw)
    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])
    assert not Enrollment.objects.exists() and not Episode.objects.exists()


def test_it_refuses_a_track_of_another_program(pat, iop, dana, site):
    other = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    php_track = make_track(other, "Day")
    program, _, _ = iop
    with pytest.raises(ValidationError) as caught:
        admit_patient(patient=pat, program=program, track=php_track, admitted_on=TODAY, by=dana)
    assert "is not a track of" in caught.value.message_dict["track"][0]


def test_it_refuses_a_program_of_another_site_or_inactive(pat, dana, other_site, site):
    elsewhere = make_program(other_site, name="Elsewhere IOP")
    with pytest.raises(ValidationError) as caught:
        admit_patient(patient=pat, program=elsewhere, track=None, admitted_on=TODAY, by=dana)
    assert "not offered at the patient's site" in caught.value.message_dict["program"][0]
    closed = make_program(site, name="Old IOP", is_active=False)
    with pytest.raises(ValidationError) as caught:
        admit_patient(patient=pat, program=closed, track=None, admitted_on=TODAY, by=dana)
    assert "no longer active" in caught.value.message_dict["program"][0]


def test_it_checks_the_care_teams_roles_at_the_site(pat, iop, dana, tom, site, other_site):
    nurse = make_user("nia", site=site, role=Role.NURSE, first_name="Nia", last_name="Nobody")
    outsider = make_user("otto", site=other_site, role=Role.THERAPIST)
    for therapist in (nurse, outsider):
        with pytest.raises(ValidationError) as caught:
            admit(pat, iop, dana, primary_therapist=therapist)
        assert "not an active therapist" in caught.value.message_dict["primary_therapist"][0]
    with pytest.raises(ValidationError) as caught:
        admit(pat, iop, dana, prescriber=tom)
    assert "not an active prescriber" in caught.value.message_dict["prescriber"][0]
    tom.is_active = False
    tom.save()
    with pytest.raises(ValidationError):
        admit(pat, iop, dana, primary_therapist=tom)
    result = admit(pat, iop, dana, prescriber=make_prescriber(site))
    assert result.enrollment.prescriber.username == "priya"


def test_it_discharges_cancelling_only_future_bookings(pat, iop, dana, tom):
    _, evening, _ = iop
    _, sessions = track_sessions(evening, tom, days=[TODAY, TODAY + timedelta(days=2)], hour=18)
    result = admit(pat, iop, dana)
    assert result.bookings.booked == 2
    tonight, wednesday = (Booking.objects.get(session=s, patient=pat) for s in sessions)
    discharge_patient(
        enrollment=result.enrollment,
        discharged_on=TODAY,
        reason=DischargeReason.COMPLETED,
        by=dana,
    )
    tonight.refresh_from_db()
    wednesday.refresh_from_db()
    # Tonight's group is still on the discharge day; Wednesday's is after it.
    assert tonight.status == AttendanceStatus.BOOKED
    assert wednesday.status == AttendanceStatus.CANCELLED
    enrollment = Enrollment.objects.get()
    assert enrollment.status == EnrollmentStatus.DISCHARGED
    assert enrollment.discharge_reason == DischargeReason.COMPLETED
    assert enrollment.episode.closed_on == TODAY


def test_it_keeps_recorded_attendance_on_discharge(pat, iop, dana, tom):
    _, evening, _ = iop
    _, (session,) = track_sessions(evening, tom, days=[TODAY + timedelta(days=7)])
    result = admit(pat, iop, dana)
    Booking.objects.filter(session=session).update(status=AttendanceStatus.EXCUSED)
    discharge_patient(
        enrollment=result.enrollment, discharged_on=TODAY, reason="administrative", by=dana
    )
    assert Booking.objects.get(session=session).status == AttendanceStatus.EXCUSED


@pytest.mark.parametrize(
    ("day", "message"),
    [(TODAY - timedelta(days=1), "before the admission"), (TODAY + timedelta(days=1), "future")],
)
def test_it_refuses_a_bad_discharge_date(pat, iop, dana, day, message):
    result = admit(pat, iop, dana)
    with pytest.raises(ValidationError) as caught:
        discharge_patient(
            enrollment=result.enrollment, discharged_on=day, reason="completed", by=dana
        )
    assert message in caught.value.message_dict["discharged_on"][0]
    assert Enrollment.objects.get().status == EnrollmentStatus.ACTIVE


def test_it_refuses_an_unknown_reason_and_a_stale_version(pat, iop, dana):
    enrollment = admit(pat, iop, dana).enrollment
    with pytest.raises(ValidationError) as caught:
        discharge_patient(enrollment=enrollment, discharged_on=TODAY, reason="bored", by=dana)
    assert "reason" in caught.value.message_dict
    with pytest.raises(StaleEnrollment):
        discharge_patient(
            enrollment=enrollment,
            discharged_on=TODAY,
            reason="completed",
            by=dana,
            expected_version=7,
        )
    assert Enrollment.objects.get().status == EnrollmentStatus.ACTIVE


def test_it_readmits_in_a_new_episode_after_discharge(pat, iop, dana):
    first = admit(pat, iop, dana, admitted_on=TODAY - timedelta(days=30)).enrollment
    discharge_patient(
        enrollment=first, discharged_on=TODAY - timedelta(days=10), reason="completed", by=dana
    )
    with pytest.raises(ValidationError) as caught:
        admit(pat, iop, dana, admitted_on=TODAY - timedelta(days=20))
    assert "before the last discharge" in caught.value.message_dict["admitted_on"][0]
    second = admit(pat, iop, dana).enrollment
    assert second.episode_id != first.episode_id
    assert Episode.objects.filter(patient=pat).count() == 2


def test_it_changes_track_inside_the_episode_moving_the_bookings(pat, iop, dana, tom):
    program, evening, morning = iop
    _, evening_sessions = track_sessions(evening, tom, days=mondays(2, TODAY + timedelta(days=7)))
    _, morning_sessions = track_sessions(
        morning, tom, days=mondays(2, TODAY + timedelta(days=7)), hour=9, title="Process"
    )
    old = admit(pat, iop, dana, primary_therapist=tom).enrollment
    result = transfer_patient(
        enrollment=old, program=program, track=morning, on=TODAY, reason="New job", by=dana
    )
    new = result.enrollment
    old.refresh_from_db()
    assert old.status == EnrollmentStatus.TRANSFERRED and old.discharged_on == TODAY
    assert new.previous_id == old.pk and new.episode_id == old.episode_id
    assert new.transfer_kind == TransferKind.CHANGE_TRACK and new.transfer_reason == "New job"
    assert new.primary_therapist == tom  # the care team carries over
    assert result.cancelled == 2 and result.bookings.booked == 2
    statuses = {
        b.session_id: b.status for b in Booking.objects.filter(patient=pat).select_related()
    }
    assert {statuses[s.pk] for s in evening_sessions} == {AttendanceStatus.CANCELLED}
    assert {statuses[s.pk] for s in morning_sessions} == {AttendanceStatus.BOOKED}
    assert Episode.objects.get().closed_on is None


def test_it_infers_step_up_and_step_down_from_the_levels(pat, iop, dana, site):
    program, _, _ = iop
    php = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    outpatient = make_program(site, "1", name="Outpatient", weekly_hours_min=1, weekly_hours_max=3)
    first = admit(pat, iop, dana).enrollment
    up = transfer_patient(
        enrollment=first, program=php, track=None, on=TODAY, reason="Positive screens", by=dana
    ).enrollment
    assert up.transfer_kind == TransferKind.STEP_UP
    assert (up.weekly_hours_min, up.weekly_hours_max) == (Decimal(20), Decimal(30))
    first.refresh_from_db()
    assert first.discharge_reason == DischargeReason.STEPPED_UP
    with pytest.raises(ValidationError) as caught:
        transfer_patient(
            enrollment=up, program=outpatient, track=None, on=TODAY, reason="x", kind="step_up",
            by=dana,
        )  # fmt: skip
    assert "is a step down, not a step up" in caught.value.message_dict["kind"][0]
    down = transfer_patient(
        enrollment=up, program=outpatient, track=None, on=TODAY, reason="Stable", by=dana
    ).enrollment
    assert down.transfer_kind == TransferKind.STEP_DOWN
    assert Enrollment.objects.filter(episode=first.episode).count() == 3
    assert program.pk != down.program_id


def test_a_transfer_that_fails_half_way_writes_nothing(pat, iop, dana, tom, monkeypatch):
    program, evening, morning = iop
    track_sessions(evening, tom, days=mondays(2, TODAY + timedelta(days=7)))
    track_sessions(morning, tom, days=mondays(2, TODAY + timedelta(days=7)), hour=9)
    old = admit(pat, iop, dana).enrollment
    before = list(Booking.objects.order_by("pk").values_list("pk", "status", "enrollment_id"))
    events = AuditEvent.objects.count()

    def explode(*args, **kwargs):
        raise RuntimeError("the booking step failed")

    monkeypatch.setattr(booking, "book_enrollment_into_future_sessions", explode)
    with pytest.raises(RuntimeError):
        transfer_patient(
            enrollment=old, program=program, track=morning, on=TODAY, reason="Job", by=dana
        )
    old.refresh_from_db()
    assert old.status == EnrollmentStatus.ACTIVE and old.discharged_on is None
    assert old.version == 1
    assert Enrollment.objects.count() == 1
    assert list(Booking.objects.order_by("pk").values_list("pk", "status", "enrollment_id")) == (
        before
    )
    assert AuditEvent.objects.count() == events


def test_it_refuses_a_transfer_to_the_same_track_or_without_reason(pat, iop, dana):
    program, evening, morning = iop
    old = admit(pat, iop, dana).enrollment
    with pytest.raises(ValidationError) as caught:
        transfer_patient(
            enrollment=old, program=program, track=evening, on=TODAY, reason="x", by=dana
        )
    assert "already in this program and track" in caught.value.message_dict["track"][0]
    with pytest.raises(ValidationError) as caught:
        transfer_patient(
            enrollment=old, program=program, track=morning, on=TODAY, reason=" ", by=dana
        )
    assert "reason" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        transfer_patient(
            enrollment=old, program=program, track=morning, on=TODAY - timedelta(days=3),
            reason="x", by=dana,
        )  # fmt: skip
    assert "before the admission" in caught.value.message_dict["on"][0]
    assert Enrollment.objects.get().status == EnrollmentStatus.ACTIVE


def test_the_individual_series_follows_a_track_change(pat, iop, dana, tom):
    program, _, morning = iop
    old = admit(pat, iop, dana, primary_therapist=tom).enrollment
    series, summary = booking.schedule_individual_series(
        enrollment=old, weekday=1, start_time=time(11, 0), by=dana
    )
    assert summary.booked == 8
    new = transfer_patient(
        enrollment=old, program=program, track=morning, on=TODAY, reason="Job", by=dana
    ).enrollment
    series.refresh_from_db()
    assert series.enrollment_id == new.pk and series.is_active
    individual = Booking.objects.filter(kind=BookingKind.INDIVIDUAL)
    assert set(individual.values_list("enrollment_id", "status")) == {
        (new.pk, AttendanceStatus.BOOKED)
    }


def test_the_individual_series_ends_when_the_therapist_changes(pat, iop, dana, tom, site):
    program, _, morning = iop
    theo = make_user("theo", site=site, role=Role.THERAPIST, first_name="Theo")
    old = admit(pat, iop, dana, primary_therapist=tom, individual_cadence=Cadence.BIWEEKLY)
    series, summary = booking.schedule_individual_series(
        enrollment=old.enrollment, weekday=1, start_time=time(11, 0),
        by=dana,
    )  # fmt: skip
    assert summary.booked == 4  # every other week over eight weeks
    transfer_patient(
        enrollment=old.enrollment, program=program, track=morning, on=TODAY, reason="Job",
        primary_therapist=theo, by=dana,
    )  # fmt: skip
    series.refresh_from_db()
    assert not series.is_active
    assert set(Booking.objects.values_list("status", flat=True)) == {AttendanceStatus.CANCELLED}


def test_a_backdated_transfer_books_only_sessions_still_ahead(pat, iop, dana, tom):
    program, _, morning = iop
    old = admit(pat, iop, dana, admitted_on=TODAY - timedelta(weeks=3)).enrollment
    _, held = track_sessions(morning, tom, days=mondays(2, TODAY - timedelta(weeks=2)), hour=9)
    _, ahead = track_sessions(morning, tom, days=mondays(2, TODAY + timedelta(days=7)), hour=9)
    new = transfer_patient(
        enrollment=old,
        program=program,
        track=morning,
        on=TODAY - timedelta(weeks=2),
        reason="Recorded late: moved to mornings two weeks ago",
        by=dana,
    ).enrollment
    booked = set(Booking.objects.filter(enrollment=new).values_list("session_id", flat=True))
    assert booked == {s.pk for s in ahead}
    assert not booked & {s.pk for s in held}
