"""make_* helpers for episodes and enrollments. Rows are written directly (no bookings).

Tests of the admission services call ``openiop.scheduling.enrollment.admit_patient``; other
tests that only need "a patient enrolled in this track" use ``make_enrollment``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from openiop.accounts.models import User
from openiop.patients.models import Patient
from openiop.programs.models import Cadence, Enrollment, EnrollmentStatus, Episode, Program, Track


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
