"""Program setup services (openiop.programs.services) and cancel_session."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from openiop.audit.models import AuditEvent
from openiop.programs import services
from openiop.programs.models import LevelOfCare, Program
from openiop.scheduling import series as schedule
from openiop.scheduling.models import AttendanceStatus, GroupType, Room, SessionStatus
from tests.factories_patients import make_patient
from tests.factories_programs import level_of_care, make_program, make_room, make_track
from tests.factories_scheduling import make_booking, make_session


def _program(site, dana, **overrides):
    values = {
        "site": site,
        "level_of_care": level_of_care("2.1"),
        "name": "Adult IOP",
        "weekly_hours_min": Decimal(9),
        "weekly_hours_max": Decimal(12),
        "by": dana,
    }
    values.update(overrides)
    return services.create_program(**values)


def test_it_creates_a_program_inside_the_levels_range_and_audits_it(site, dana):
    program = _program(site, dana)
    assert program.weekly_hours_max == Decimal("12.0")
    event = AuditEvent.objects.get(object_type="program", action="create")
    assert event.site == site
    assert event.patient_id is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"weekly_hours_min": Decimal(8)},
            "weekly_hours_min",
            "Intensive outpatient (IOP) (ASAM 2.1) needs at least 9 h a week.",
        ),
        (
            {"weekly_hours_max": Decimal(20)},
            "weekly_hours_max",
            "Intensive outpatient (IOP) (ASAM 2.1) allows at most 19 h a week.",
        ),
        (
            {"weekly_hours_min": Decimal(12), "weekly_hours_max": Decimal(10)},
            "weekly_hours_max",
            "The weekly ceiling cannot be below the floor.",
        ),
        ({"typical_length_weeks": 0}, "typical_length_weeks", "Enter a length between 1"),
        ({"name": ""}, "name", "This field cannot be blank."),
    ],
)
def test_it_names_the_field_that_is_wrong(site, dana, overrides, field, message):
    with pytest.raises(ValidationError) as caught:
        _program(site, dana, **overrides)
    assert any(m.startswith(message) for m in caught.value.message_dict[field])
    assert not Program.objects.exists()


def test_php_has_no_ceiling(site, dana):
    program = _program(
        site,
        dana,
        level_of_care=level_of_care("2.5"),
        name="PHP",
        weekly_hours_min=Decimal(20),
        weekly_hours_max=Decimal(30),
    )
    assert program.weekly_hours_min == 20


def test_a_duplicate_name_is_an_error_on_the_name(site, dana):
    _program(site, dana)
    with pytest.raises(ValidationError) as caught:
        _program(site, dana)
    assert caught.value.message_dict == {
        "name": ["This site already has a program with that name."]
    }


def test_it_updates_a_program(site, dana):
    program = make_program(site)
    services.update_program(
        program=program,
        level_of_care=program.level_of_care,
        name="Adult IOP (evenings)",
        weekly_hours_min=Decimal("9.5"),
        weekly_hours_max=Decimal(12),
        typical_length_weeks=16,
        by=dana,
    )
    program.refresh_from_db()
    assert (program.name, program.weekly_hours_min, program.typical_length_weeks) == (
        "Adult IOP (evenings)",
        Decimal("9.5"),
        16,
    )


def test_editing_a_level_refuses_to_strand_its_programs(site, dana):
    make_program(site, weekly_hours_min=9, weekly_hours_max=12)
    level = level_of_care("2.1")
    with pytest.raises(ValidationError) as caught:
        services.update_level_of_care(
            level=level,
            name=level.name,
            weekly_hours_min=Decimal(10),
            weekly_hours_max=Decimal(19),
            by=dana,
        )
    assert "Adult IOP (Testville Clinic)" in caught.value.message_dict["weekly_hours_min"][0]
    level.refresh_from_db()
    assert level.weekly_hours_min == 9


def test_a_director_edits_a_levels_hours(dana):
    level = level_of_care("2.1", edition=4)
    services.update_level_of_care(
        level=level,
        name="IOP",
        weekly_hours_min=Decimal(6),
        weekly_hours_max=None,
        by=dana,
    )
    level = LevelOfCare.objects.get(pk=level.pk)
    assert (level.name, level.weekly_hours_min, level.weekly_hours_max) == ("IOP", 6, None)
    with pytest.raises(ValidationError) as caught:
        services.update_level_of_care(
            level=level,
            name="IOP",
            weekly_hours_min=Decimal(9),
            weekly_hours_max=Decimal(8),
            by=dana,
        )
    assert "weekly_hours_max" in caught.value.message_dict


def test_tracks_are_unique_per_program_and_close_only_when_empty(site, dana):
    program = make_program(site)
    track = services.create_track(program=program, name="Evening", by=dana)
    with pytest.raises(ValidationError) as caught:
        services.create_track(program=program, name="Evening", by=dana)
    assert list(caught.value.message_dict) == ["name"]
    services.set_track_active(track=track, is_active=False, by=dana)
    track.refresh_from_db()
    assert not track.is_active


def test_closing_a_program_waits_for_its_patients(site, dana):
    from tests.factories_hours import make_enrollment

    program = make_program(site)
    make_enrollment(make_patient(site), program, admitted_on=timezone.localdate())
    with pytest.raises(ValidationError) as caught:
        services.set_program_active(program=program, is_active=False, by=dana)
    assert "1 patient is still enrolled" in caught.value.message_dict["is_active"][0]


def test_rooms_and_group_types(site, dana):
    room = schedule.create_room(site=site, name="Group Room A", capacity=14, by=dana)
    with pytest.raises(ValidationError) as caught:
        schedule.create_room(site=site, name="Group Room A", by=dana)
    assert list(caught.value.message_dict) == ["name"]
    schedule.update_room(room=room, name="Group Room A", capacity=16, is_active=False, by=dana)
    assert not Room.objects.get(pk=room.pk).is_active
    gt = schedule.create_group_type(code="anger_mgmt", name="Anger management", by=dana)
    with pytest.raises(ValidationError) as caught:
        schedule.create_group_type(code="cbt", name="CBT again", by=dana)
    assert "code" in caught.value.message_dict
    schedule.update_group_type(
        group_type=gt, name="Anger", description="", is_active=False, by=dana
    )
    assert not GroupType.objects.get(pk=gt.pk).is_active


# --- cancel_session ---------------------------------------------------------------------------


def test_cancelling_a_session_cancels_its_bookings_by_clinic(site, tom, dana):
    session = make_session(site, tom, timezone.now() + timedelta(days=2))
    first, second = make_patient(site), make_patient(site)
    kept = make_booking(session, first)
    dropped = make_booking(session, second, status=AttendanceStatus.CANCELLED)
    assert schedule.cancel_session(session=session, reason=" Thanksgiving ", by=dana) == 1
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
    assert session.cancel_reason == "Thanksgiving"
    assert session.cancelled_at is not None
    kept.refresh_from_db()
    dropped.refresh_from_db()
    assert kept.status == AttendanceStatus.CANCELLED_BY_CLINIC
    assert dropped.status == AttendanceStatus.CANCELLED
    assert AuditEvent.objects.filter(object_type="booking", patient_id=first.pk).exists()
    assert AuditEvent.objects.filter(object_type="session", object_id=str(session.pk)).exists()


def test_a_cancellation_needs_a_reason(site, tom, dana):
    session = make_session(site, tom, timezone.now() + timedelta(days=2))
    with pytest.raises(ValidationError) as caught:
        schedule.cancel_session(session=session, reason="  ", by=dana)
    assert list(caught.value.message_dict) == ["reason"]
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


def test_a_held_session_cannot_be_cancelled(site, tom, dana):
    session = make_session(site, tom, timezone.now() - timedelta(hours=4))
    booking = make_booking(session, make_patient(site), status=AttendanceStatus.PRESENT)
    with pytest.raises(ValidationError) as caught:
        schedule.cancel_session(session=session, reason="Oops", by=dana)
    assert "Attendance has been recorded" in caught.value.message_dict["session"][0]
    booking.refresh_from_db()
    assert booking.status == AttendanceStatus.PRESENT


def test_a_session_is_cancelled_once(site, tom, dana):
    session = make_session(site, tom, timezone.now() + timedelta(days=1))
    schedule.cancel_session(session=session, reason="Snow day", by=dana)
    with pytest.raises(ValidationError) as caught:
        schedule.cancel_session(session=session, reason="Again", by=dana)
    assert caught.value.message_dict == {"session": ["This session is already cancelled."]}


def test_a_track_series_books_the_tracks_patients(site, tom, dana):
    from tests.factories_hours import make_enrollment

    program = make_program(site)
    track = make_track(program)
    patient = make_patient(site)
    make_enrollment(patient, program, track=track, admitted_on=timezone.localdate())
    change = schedule.create_group_series(
        site=site,
        track=track,
        group_type=GroupType.objects.get(code="cbt"),
        title="CBT group",
        weekday=(timezone.localdate().weekday() + 2) % 7,
        start_time=timezone.localtime().time().replace(hour=18, minute=0),
        duration_minutes=90,
        facilitator=tom,
        room=make_room(site),
        starts_on=timezone.localdate(),
        by=dana,
    )
    assert change.created == 8
    assert change.materialized.booked == 8
