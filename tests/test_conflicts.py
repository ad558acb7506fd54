"""find_conflicts: what overlaps, what does not, and in how many queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from openiop.scheduling.conflicts import find_conflicts
from openiop.scheduling.models import AttendanceStatus, SessionStatus
from tests.factories_enrollment import NOW, TODAY, local
from tests.factories_patients import make_patient
from tests.factories_programs import make_room
from tests.factories_scheduling import make_booking, make_session


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def check(tom, room=None, patients=(), start=(9, 0), minutes=60, exclude=()):
    starts_at = local(TODAY, *start)
    return find_conflicts(
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        facilitator_id=tom.pk if tom else None,
        room_id=room.pk if room else None,
        patient_ids=[p.pk for p in patients],
        exclude_session_ids=exclude,
    )


def test_it_names_the_facilitator_room_and_patient_in_the_sites_time(site, tom):
    room = make_room(site, "Group Room A")
    session = make_session(site, tom, local(TODAY, 9), 90, title="CBT group", room=room)
    pat = make_patient(site)
    make_booking(session, pat)
    assert check(tom, room, [pat]) == [
        "Tom Fakename already leads “CBT group” 09:00–10:30 on Mon Mar 2.",
        "Group Room A is already taken by “CBT group” 09:00–10:30 on Mon Mar 2.",
        "Pat Placeholder is already booked in “CBT group” 09:00–10:30 on Mon Mar 2.",
    ]


@pytest.mark.parametrize(
    ("start", "minutes", "clash"),
    [
        ((8, 0), 60, False),  # ends exactly when the group starts
        ((10, 30), 30, False),  # starts exactly when it ends
        ((8, 30), 31, True),
        ((10, 29), 30, True),
        ((9, 15), 15, True),  # inside
        ((8, 0), 240, True),  # around
    ],
)
def test_it_treats_sessions_as_half_open_intervals(site, tom, start, minutes, clash):
    make_session(site, tom, local(TODAY, 9), 90, title="CBT group")
    assert bool(check(tom, start=start, minutes=minutes)) is clash


def test_cancelled_sessions_cancelled_seats_and_excluded_sessions_free_the_slot(site, tom, dana):
    cancelled = make_session(site, tom, local(TODAY, 9), 90, status=SessionStatus.CANCELLED)
    pat = make_patient(site)
    other = make_session(site, dana, local(TODAY, 9), 90, title="Other")
    make_booking(other, pat, status=AttendanceStatus.CANCELLED)
    assert check(tom, patients=[pat]) == []
    assert cancelled.pk
    mine = make_session(site, tom, local(TODAY, 9), 90, title="Mine")
    assert check(tom, exclude=[mine.pk]) == []
    # A recorded absence still held the seat.
    make_booking(mine, pat, status=AttendanceStatus.NO_SHOW)
    assert len(check(None, patients=[pat])) == 1


def test_it_asks_nothing_when_there_is_nothing_to_check(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert check(None) == []


def test_it_uses_two_queries_whatever_the_data_size(site, tom, dana, django_assert_num_queries):
    room = make_room(site)
    patients = [make_patient(site, first_name=f"P{n}", last_name="Sample") for n in range(2)]
    session = make_session(site, tom, local(TODAY, 9), 90, room=room)
    make_booking(session, patients[0])
    with django_assert_num_queries(2):
        assert len(check(tom, room, patients)) == 3
    for n in range(5):
        extra = make_session(site, tom, local(TODAY, 9, n), 30, room=room, title=f"S{n}")
        for patient in patients:
            make_booking(extra, patient)
        patients.append(make_patient(site, first_name=f"Q{n}", last_name="Sample"))
    with django_assert_num_queries(2):
        # Each extra session: facilitator, room, and every patient booked into it so far.
        assert len(check(tom, room, patients)) == 3 + sum(2 + (2 + n) for n in range(5))
    assert dana
