"""make_* helpers for measurement-based care: an enrolled patient, schedules, responses.

Responses go through ``record_measure`` (the service under test elsewhere) unless a test needs
a response on a date or state the service would not produce; every person is fictional.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from openiop.accounts.models import Site, User
from openiop.measures.models import MeasureSchedule, MeasureStrike
from openiop.measures.services import record_measure
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, Program
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

PHQ9_MILD = [1, 1, 1, 1, 1, 1, 1, 0, 0]  # total 7, item 9 = 0
PHQ9_ITEM9 = [0, 0, 0, 0, 0, 0, 0, 0, 1]  # total 1 (minimal), item 9 > 0
PHQ9_SEVERE_NO_ITEM9 = [3, 3, 3, 3, 3, 3, 3, 3, 0]  # total 24, item 9 = 0
GAD7_MODERATE = [2, 2, 2, 2, 2, 0, 0]  # total 10


def enrolled(
    site: Site,
    *,
    therapist: User | None = None,
    program: Program | None = None,
    admitted_on: date | None = None,
    **patient_fields: Any,
) -> tuple[Patient, Enrollment]:
    """A patient with an active enrollment in ``program`` (a new IOP when none given)."""
    program = program or make_program(site)
    patient = make_patient(site, **patient_fields)
    enrollment = make_enrollment(
        patient, program, admitted_on=admitted_on, primary_therapist=therapist
    )
    return patient, enrollment


def schedule(
    program: Program,
    instrument: str,
    *,
    at_intake: bool = True,
    every_days: int | None = None,
    at_discharge: bool = False,
) -> MeasureSchedule:
    return MeasureSchedule.objects.create(
        program=program,
        instrument=instrument,
        at_intake=at_intake,
        every_days=every_days,
        at_discharge=at_discharge,
    )


def measure(
    patient: Patient,
    instrument: str = "PHQ-9",
    answers: list[int | None] | None = None,
    *,
    by: User,
    taken_on: date | None = None,
    **fields: Any,
):
    return record_measure(
        patient=patient,
        instrument=instrument,
        answers=answers if answers is not None else PHQ9_MILD,
        taken_on=taken_on,
        by=by,
        **fields,
    )


def strike(response, *, by: User, reason: str = "entered for the wrong patient") -> MeasureStrike:
    from openiop.measures.services import strike_measure

    return strike_measure(response=response, reason=reason, by=by)
