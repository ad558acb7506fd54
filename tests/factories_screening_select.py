"""A clinic calendar for the screen-selection tests. Every person here is obviously fictional.

The clock stands at Wednesday 4 March 2026, 08:00 in Chicago (14:00 UTC): groups meet at
18:00 local on the days each patient is booked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from openiop.accounts.models import Site, User
from openiop.lib.dates import at_local
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, Program
from openiop.scheduling.models import Session
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_booking, make_session

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
TODAY = date(2026, 3, 4)  # a Wednesday


def session_on(site: Site, facilitator: User, day: date, *, hour: int = 18) -> Session:
    """The site's evening group on ``day`` (one per day and hour, reused)."""
    starts_at = at_local(day, time(hour, 0), site.time_zone)
    found = Session.objects.filter(site=site, starts_at=starts_at).first()
    return found or make_session(site, facilitator, starts_at, 180, title="Evening group")


def enrolled_patient(
    site: Site,
    program: Program,
    facilitator: User,
    name: str,
    *,
    days: list[date],
    admitted_on: date = date(2026, 2, 20),
) -> tuple[Patient, Enrollment]:
    """An enrolled patient booked into the evening group on each of ``days``."""
    patient = make_patient(site, first_name=name, last_name="Sample")
    enrollment = make_enrollment(patient, program, admitted_on=admitted_on)
    for day in days:
        make_booking(session_on(site, facilitator, day), patient)
    return patient, enrollment


def mon_wed_fri(first: date, weeks: int = 5) -> list[date]:
    """Mondays, Wednesdays and Fridays of ``weeks`` weeks from ``first``'s week on, not before
    ``first``."""
    monday = first - timedelta(days=first.weekday())
    days = [monday + timedelta(weeks=w, days=d) for w in range(weeks) for d in (0, 2, 4)]
    return [d for d in days if d >= first]
