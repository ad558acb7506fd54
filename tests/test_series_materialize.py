"""materialize_series, create_group_series and the update and end of a series."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.lib.dates import zone
from openiop.scheduling import series as svc
from openiop.scheduling.models import AttendanceStatus, Session, SessionStatus
from tests.factories import make_user
from tests.factories_patients import make_patient
from tests.factories_programs import group_type, make_room, make_series
from tests.factories_scheduling import make_booking, make_session

# Wednesday Feb 25, 2026, noon in Chicago. Clocks spring forward on Sunday Mar 8.
BEFORE_DST = datetime(2026, 2, 25, 18, 0, tzinfo=UTC)


def local(session: Session) -> datetime:
    return timezone.localtime(session.starts_at, zone("America/Chicago"))


@pytest.fixture
def frozen():
    with time_machine.travel(BEFORE_DST, tick=False):
        yield


def test_it_keeps_the_local_time_across_a_daylight_saving_change(site, tom, frozen):
    series = make_series(site, tom, 0, time(9, 0), starts_on=date(2026, 3, 2))
    result = svc.materialize_series(series, horizon_end=date(2026, 3, 16))
    assert result.created_count == 3
    sessions = list(Session.objects.filter(group_series=series))
    assert [local(s).strftime("%a %Y-%m-%d %H:%M") for s in sessions] == [
        "Mon 2026-03-02 09:00",
        "Mon 2026-03-09 09:00",
        "Mon 2026-03-16 09:00",
    ]
    # 09:00 CST is 15:00 UTC; 09:00 CDT is 14:00 UTC.
    assert [s.starts_at.astimezone(UTC).hour for s in sessions] == [15, 14, 14]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=90) for s in sessions)


def test_it_creates_nothing_new_when_run_twice(site, tom, frozen):
    series = make_series(site, tom, 2, time(18, 0))
    first = svc.materialize_series(series, horizon_end=date(2026, 3, 25))
    second = svc.materialize_series(series, horizon_end=date(2026, 3, 25))
    assert first.created_count == 5  # Feb 25 (18:00, later today) … Mar 25
    assert second.created_count == 0
    assert second.already_there == 5
    assert Session.objects.filter(group_series=series).count() == 5


def test_it_starts_today_and_stops_at_the_end_date(site, tom, frozen):
    series = make_series(site, tom, 4, time(9, 0), ends_on=date(2026, 3, 13))
    svc.materialize_series(series, horizon_end=date(2026, 12, 31))
    days = [local(s).date() for s in Session.objects.filter(group_series=series)]
    assert days == [date(2026, 2, 27), date(2026, 3, 6), date(2026, 3, 13)]


def test_it_does_not_create_todays_session_once_it_is_over(site, tom, frozen):
    series = make_series(site, tom, 2, time(8, 0), duration_minutes=60)
    svc.materialize_series(series, horizon_end=date(2026, 3, 4))
    assert [local(s).date() for s in Session.objects.filter(group_series=series)] == [
        date(2026, 3, 4)
    ]


def test_it_does_not_refill_a_week_cancelled_for_a_holiday(site, tom, dana, frozen):
    series = make_series(site, tom, 0, time(9, 0))
    svc.materialize_series(series, horizon_end=date(2026, 3, 16))
    holiday = Session.objects.filter(group_series=series).first()
    svc.cancel_session(session=holiday, reason="Clinic closed", by=dana)
    again = svc.materialize_series(series, horizon_end=date(2026, 3, 16))
    assert again.created_count == 0
    assert Session.objects.filter(group_series=series).count() == 3


def test_it_skips_and_reports_occurrences_where_the_facilitator_is_busy(site, tom, frozen):
    room = make_room(site)
    busy = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # Mon Mar 2, 09:30 in Chicago
    make_session(site, tom, busy, 60, title="Family group")
    series = make_series(site, tom, 0, time(9, 0), room=room, title="CBT group")
    result = svc.materialize_series(series, horizon_end=date(2026, 3, 16))
    assert result.created_count == 2
    assert len(result.conflicts) == 1
    assert "CBT group on Mon Mar 2" in result.conflicts[0]
    assert (
        "Tom Fakename already leads “Family group” 09:30–10:30 on Mon Mar 2"
        in (result.conflicts[0])
    )


def test_it_skips_occurrences_where_the_room_is_taken(site, tom, dana, frozen):
    room = make_room(site, "Group Room B")
    make_session(site, dana, datetime(2026, 3, 9, 14, 0, tzinfo=UTC), 60, room=room)
    series = make_series(site, tom, 0, time(9, 0), room=room)
    result = svc.materialize_series(series, horizon_end=date(2026, 3, 16))
    assert result.created_count == 2
    assert "Group Room B is already taken" in result.conflicts[0]


def test_it_materializes_nothing_for_an_inactive_series(site, tom, frozen):
    series = make_series(site, tom, 0, time(9, 0), is_active=False)
    assert svc.materialize_series(series, horizon_end=date(2026, 3, 16)).created_count == 0


# --- create_group_series ----------------------------------------------------------------------


def _create(site, tom, **overrides):
    values = {
        "site": site,
        "track": None,
        "group_type": group_type("process"),
        "title": "Process group",
        "weekday": 1,
        "start_time": time(18, 0),
        "duration_minutes": 90,
        "facilitator": tom,
        "room": None,
        "capacity": 12,
        "starts_on": date(2026, 3, 1),
        "ends_on": None,
        "by": None,
    }
    values.update(overrides)
    return svc.create_group_series(**values)


def test_it_creates_a_series_with_eight_weeks_of_sessions(site, tom, frozen):
    change = _create(site, tom)
    assert change.created == 8
    assert change.series.version == 1
    assert AuditEvent.objects.filter(object_type="group_series", action="create").exists()
    assert not AuditEvent.objects.filter(patient_id__isnull=False).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"weekday": 7}, "weekday"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 601}, "duration_minutes"),
        ({"capacity": 0}, "capacity"),
        ({"title": "  "}, "title"),
        ({"ends_on": date(2026, 2, 1)}, "ends_on"),
    ],
)
def test_it_names_the_field_of_bad_input(site, tom, frozen, overrides, field):
    with pytest.raises(ValidationError) as caught:
        _create(site, tom, **overrides)
    assert field in caught.value.message_dict
    assert Session.objects.count() == 0


def test_it_refuses_a_facilitator_from_another_site(site, oscar, frozen):
    with pytest.raises(ValidationError) as caught:
        _create(site, oscar)
    assert (
        "Oscar Outsider is not active staff at Testville Clinic."
        in (caught.value.message_dict["facilitator"])
    )


def test_it_refuses_a_room_of_another_site_or_too_small(site, other_site, tom, frozen):
    with pytest.raises(ValidationError) as caught:
        _create(site, tom, room=make_room(other_site))
    assert "room" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        _create(site, tom, room=make_room(site, "Small office", capacity=6), capacity=8)
    assert caught.value.message_dict["capacity"] == [
        "Small office seats 6; lower the group's capacity."
    ]


def test_it_refuses_a_series_whose_first_meeting_clashes_and_writes_nothing(site, tom, frozen):
    make_session(site, tom, datetime(2026, 3, 4, 0, 30, tzinfo=UTC), 60, title="DBT group")
    before = Session.objects.count()
    with pytest.raises(svc.SeriesConflict) as caught:
        _create(site, tom)
    assert "Tom Fakename already leads “DBT group” 18:30–19:30 on Tue Mar 3" in str(caught.value)
    assert Session.objects.count() == before
    assert not svc.GroupSeries.objects.exists()


# --- update_group_series and end_group_series --------------------------------------------------


def _update(series, **overrides):
    values = {
        "series": series,
        "version": series.version,
        "group_type": series.group_type,
        "title": series.title,
        "weekday": series.weekday,
        "start_time": series.start_time,
        "duration_minutes": series.duration_minutes,
        "facilitator": series.facilitator,
        "room": series.room,
        "capacity": series.capacity,
        "starts_on": series.starts_on,
        "ends_on": series.ends_on,
        "by": None,
    }
    values.update(overrides)
    return svc.update_group_series(**values)


def test_a_change_moves_future_sessions_and_leaves_held_ones_alone(site, tom, dana):
    patient = make_patient(site)
    with time_machine.travel(BEFORE_DST, tick=False):
        series = _create(site, tom, starts_on=date(2026, 2, 23)).series
    # Two weeks later, Thursday Mar 12: the Mar 3 and Mar 10 groups were held.
    with time_machine.travel(datetime(2026, 3, 12, 17, 0, tzinfo=UTC), tick=False):
        held = list(Session.objects.filter(group_series=series).order_by("starts_at")[:2])
        make_booking(held[0], patient, status=AttendanceStatus.PRESENT)
        future = list(Session.objects.filter(group_series=series, starts_at__gte=timezone.now()))
        # The Mar 17 session already has someone marked excused: attendance recorded, kept.
        make_booking(future[0], patient, status=AttendanceStatus.EXCUSED)
        booked = make_booking(future[1], patient)
        change = _update(series, weekday=3, start_time=time(17, 30), duration_minutes=120)
    assert change.updated == len(future) - 1
    assert change.series.version == 2
    moved = Session.objects.get(pk=future[1].pk)
    assert local(moved).strftime("%a %H:%M") == "Thu 17:30"
    assert moved.duration_minutes == 120
    assert local(moved).isocalendar()[1] == local(future[1]).isocalendar()[1]
    booked.refresh_from_db()
    assert booked.status == AttendanceStatus.BOOKED  # still booked, at the new time
    for kept in [*held, future[0]]:
        assert Session.objects.get(pk=kept.pk).starts_at == kept.starts_at


def test_a_stale_edit_is_refused(site, tom, frozen):
    series = _create(site, tom).series
    _update(series, title="Process group (evening)")
    with pytest.raises(svc.StaleSeries):
        _update(series, version=1, title="Something else")
    series.refresh_from_db()
    assert series.title == "Process group (evening)"


def test_a_change_that_clashes_cancels_that_week_and_reports_it(site, tom, dana, frozen):
    series = _create(site, tom).series
    make_session(site, dana, datetime(2026, 3, 12, 15, 0, tzinfo=UTC), 60, title="Skills group")
    change = _update(series, facilitator=dana, weekday=3, start_time=time(9, 0))
    assert len(change.conflicts) == 1
    assert "Dana Testperson already leads “Skills group”" in change.conflicts[0]
    week = Session.objects.filter(group_series=series, status=SessionStatus.CANCELLED).get()
    assert week.cancel_reason == svc.SCHEDULE_CHANGED


def test_ending_a_series_cancels_later_sessions_and_their_bookings(site, tom, dana, frozen):
    patient = make_patient(site)
    series = _create(site, tom).series
    later = Session.objects.filter(group_series=series).order_by("starts_at")[3]
    booking = make_booking(later, patient)
    change = svc.end_group_series(series=series, ends_on=date(2026, 3, 10), by=dana)
    assert change.cancelled == 6
    assert Session.objects.filter(group_series=series, status="scheduled").count() == 2
    later.refresh_from_db()
    assert later.cancel_reason == svc.SCHEDULE_CHANGED
    booking.refresh_from_db()
    assert booking.status == AttendanceStatus.CANCELLED_BY_CLINIC
    assert AuditEvent.objects.filter(patient_id=patient.pk, object_type="booking").exists()
    # Extending it again brings the weeks back.
    change = _update(Session.objects.get(pk=later.pk).group_series, ends_on=None)
    assert Session.objects.filter(group_series=series, status="scheduled").count() == 8


def test_it_only_lets_staff_of_the_site_facilitate(site, frozen):
    nurse = make_user("nia", site=site, role=Role.NURSE, first_name="Nia", last_name="Nursely")
    nurse.is_active = False
    nurse.save()
    with pytest.raises(ValidationError) as caught:
        _create(site, nurse)
    assert "facilitator" in caught.value.message_dict
