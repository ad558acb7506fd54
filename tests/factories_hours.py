"""make_* helpers for the hours, chart, census and at-risk tests. Fictional people only.

Enrollments are written directly (no services) so a test can lay out any history cheaply,
including ones the enrollment services would build through transfers.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from openiop.accounts.models import Site, User
from openiop.lib.dates import at_local
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus, Episode, Program, Track
from openiop.scheduling.models import AttendanceStatus, Booking, BookingKind, Session


def make_enrollment(
    patient: Patient,
    program: Program,
    *,
    track: Track | None = None,
    admitted_on: date,
    discharged_on: date | None = None,
    status: str | None = None,
    episode: Episode | None = None,
    weekly_hours_min: Decimal | int | str | None = None,
    weekly_hours_max: Decimal | int | str | None = None,
    **fields: Any,
) -> Enrollment:
    if episode is None:
        episode = Episode.objects.create(patient=patient, opened_on=admitted_on)
    if status is None:
        status = EnrollmentStatus.ACTIVE if discharged_on is None else EnrollmentStatus.DISCHARGED
    return Enrollment.objects.create(
        episode=episode,
        patient=patient,
        program=program,
        track=track,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        status=status,
        weekly_hours_min=Decimal(str(weekly_hours_min or program.weekly_hours_min)),
        weekly_hours_max=Decimal(str(weekly_hours_max or program.weekly_hours_max)),
        **fields,
    )


def make_attended_session(
    site: Site,
    facilitator: User,
    patient: Patient,
    *,
    day: date,
    clock: time = time(18, 0),
    minutes: int = 180,
    status: str = AttendanceStatus.PRESENT,
    minutes_attended: int | None = None,
    session_status: str = "scheduled",
) -> Booking:
    """A one-off group on ``day`` at the site's local ``clock`` with ``patient`` booked in."""
    starts_at: datetime = at_local(day, clock, site.time_zone)
    session = Session.objects.create(
        site=site,
        kind="group",
        title="Relapse prevention group",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        duration_minutes=minutes,
        facilitator=facilitator,
        status=session_status,
    )
    if minutes_attended is None and status in ("present", "late", "left_early"):
        minutes_attended = minutes
    return Booking.objects.create(
        session=session,
        patient=patient,
        kind=BookingKind.TRACK,
        status=status,
        minutes_attended=minutes_attended,
    )
