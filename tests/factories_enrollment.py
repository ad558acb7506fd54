"""make_* helpers for episodes and enrollments. Rows are written directly (no bookings).

Tests of the admission services call ``openiop.scheduling.enrollment.admit_patient``; other
tests that only need "a patient enrolled in this track" use ``make_enrollment``.

The enrollment tests' calendar: the clock stands still at Monday 2 March 2026, 08:00 in
Chicago (14:00 UTC), so the week's evening groups are still ahead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from openiop.accounts.models import Site, User
from openiop.accounts.roles import Role
from openiop.lib.dates import at_local
from openiop.patients.models import Patient
from openiop.programs.models import Cadence, Enrollment, EnrollmentStatus, Episode, Program, Track
from openiop.scheduling.models import GroupSeries, Session
from tests.factories import make_user
from tests.factories_programs import make_program, make_series, make_track
from tests.factories_scheduling import make_session


def make_enrollment(
    patient: Patient,
    program: Program,
    track: Track | None = None,
    *,
    admitted_on: date | None = None,
    discharged_on: date | None = None,
    status: str = EnrollmentStatus.ACTIVE,
    discharge_reason: str = "",
    weekly_hours_min: Decimal | int | str | None = None,
    weekly_hours_max: Decimal | int | str | None = None,
    primary_therapist: User | None = None,
    prescriber: User | None = None,
    individual_cadence: str = Cadence.WEEKLY,
    episode: Episode | None = None,
    **fields: Any,
) -> Enrollment:
    """An enrollment (and its episode unless given). Hours default to the program's."""
    admitted_on = admitted_on or date(2026, 1, 5)
    if episode is None:
        episode = Episode.objects.create(
            patient=patient,
            opened_on=admitted_on,
            closed_on=discharged_on if status == EnrollmentStatus.DISCHARGED else None,
        )
    return Enrollment.objects.create(
        episode=episode,
        patient=patient,
        program=program,
        track=track,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        status=status,
        discharge_reason=discharge_reason,
        weekly_hours_min=Decimal(str(weekly_hours_min or program.weekly_hours_min)),
        weekly_hours_max=Decimal(str(weekly_hours_max or program.weekly_hours_max)),
        primary_therapist=primary_therapist,
        prescriber=prescriber,
        individual_cadence=individual_cadence,
        **fields,
    )


NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
TZ = "America/Chicago"


def make_prescriber(site: Site, username: str = "priya") -> User:
    return make_user(
        username, site=site, role=Role.PRESCRIBER, first_name="Priya", last_name="Pretend"
    )


def iop_with_tracks(site: Site) -> tuple[Program, Track, Track]:
    program = make_program(site, name="Adult IOP")
    evening = make_track(program, "Evening — Mon/Wed 18:00–21:00")
    morning = make_track(program, "Morning — Mon/Wed 09:00–12:00")
    return program, evening, morning


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return at_local(day, time(hh, mm), TZ)


def track_sessions(
    track: Track,
    facilitator: User,
    *,
    days: list[date],
    hour: int = 18,
    capacity: int = 12,
    title: str = "CBT group",
    minutes: int = 90,
) -> tuple[GroupSeries, list[Session]]:
    """A weekly series of the track and its sessions on ``days`` (materialized by hand)."""
    series = make_series(
        track,
        facilitator,
        weekday=days[0].weekday(),
        start_time=time(hour, 0),
        title=title,
        capacity=capacity,
        duration_minutes=minutes,
    )
    sessions = [
        make_session(
            track.program.site,
            facilitator,
            local(day, hour),
            minutes,
            title=title,
            group_type="cbt",
            capacity=capacity,
            group_series=series,
        )
        for day in days
    ]
    return series, sessions


def mondays(count: int, first: date = TODAY) -> list[date]:
    return [first + timedelta(weeks=n) for n in range(count)]
