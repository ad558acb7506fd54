"""make_* helpers for the outcomes report tests. Fictional people only.

Scores and screens are written directly: the report reads stored rows, and a test lays out a
history (dates in the past, verdicts) that the services would take many steps to build.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from openiop.accounts.models import Site, User
from openiop.measures.instruments import score
from openiop.measures.models import MeasureResponse
from openiop.patients.models import Patient
from openiop.programs.models import DischargeReason, Enrollment, Program
from openiop.screening.models import DrugScreen, ScreenReason, ScreenStatus
from tests.factories_hours import make_attended_session, make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

_ITEMS = {"PHQ-9": 9, "GAD-7": 7}


def answers_for(instrument: str, total: int) -> dict[int, int]:
    """Answers 0–3 adding up to ``total``, item 9 of the PHQ-9 left at 0."""
    items = _ITEMS[instrument]
    usable = items - 1 if instrument == "PHQ-9" else items
    assert 0 <= total <= 3 * usable
    answers = {}
    for number in range(1, items + 1):
        take = min(3, total) if number <= usable else 0
        answers[number] = take
        total -= take
    return answers


def scored(
    patient: Patient,
    instrument: str,
    total: int,
    *,
    on: date,
    by: User,
    enrollment: Enrollment | None = None,
) -> MeasureResponse:
    result = score(instrument, answers_for(instrument, total))
    assert result.total == total
    return MeasureResponse.objects.create(
        patient=patient,
        site=patient.site,
        enrollment=enrollment,
        instrument=instrument,
        instrument_version=result.version,
        answers={str(k): v for k, v in result.answers},
        score=result.total,
        band=result.band or "",
        taken_on=on,
        recorded_by=by,
        recorded_at=timezone.now(),
    )


def read_screen(
    patient: Patient,
    *,
    enrollment: Enrollment | None,
    on: date,
    verdict: str,
    status: str = ScreenStatus.COLLECTED,
) -> DrugScreen:
    return DrugScreen.objects.create(
        site=patient.site,
        patient=patient,
        enrollment=enrollment,
        reason=ScreenReason.RANDOM,
        status=status,
        selected_on=on,
        specimen="urine" if status == ScreenStatus.COLLECTED else "",
        collected_at=timezone.now() - timedelta(days=1)
        if status == ScreenStatus.COLLECTED
        else None,
        verdict=verdict,
        created_by_label="test",
    )


TODAY = date(2026, 3, 4)  # a Wednesday; the default range is 2025-03-05 … 2026-03-04
DEC1 = date(2025, 12, 1)  # a Monday


def outcomes_clinic(site: Site, tom: User, copies: int = 1) -> tuple[Program, Program]:
    """``copies`` × (one patient still in treatment who got better, one who completed and got
    worse), plus a PHP patient. Fictional people."""
    iop = make_program(site, name="Adult IOP")
    php = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    for n in range(copies):
        better = make_patient(site, first_name=f"Avery{n}", last_name="Improvewell")
        stay = make_enrollment(better, iop, admitted_on=DEC1, primary_therapist=tom)
        scored(better, "PHQ-9", 20, on=DEC1 + timedelta(days=1), by=tom, enrollment=stay)
        scored(better, "PHQ-9", 10, on=date(2026, 1, 15), by=tom, enrollment=stay)
        scored(better, "GAD-7", 15, on=DEC1 + timedelta(days=1), by=tom, enrollment=stay)
        scored(better, "GAD-7", 10, on=date(2026, 1, 15), by=tom, enrollment=stay)
        for day in (23, 25, 27):  # 3 × 180 min in 2026-W09 (Feb 23 – Mar 1): 9 h, the floor
            make_attended_session(site, tom, better, day=date(2026, 2, day))
        read_screen(better, enrollment=stay, on=date(2026, 2, 10), verdict="expected")

        worse = make_patient(site, first_name=f"Blake{n}", last_name="Worsewell")
        left = make_enrollment(
            worse,
            iop,
            admitted_on=DEC1,
            discharged_on=date(2026, 1, 12),
            discharge_reason=DischargeReason.COMPLETED,
        )
        scored(worse, "PHQ-9", 10, on=DEC1, by=tom, enrollment=left)
        scored(worse, "PHQ-9", 12, on=date(2026, 1, 5), by=tom, enrollment=left)
        read_screen(worse, enrollment=left, on=date(2026, 1, 6), verdict="unexpected")
        read_screen(worse, enrollment=left, on=date(2026, 1, 7), verdict="", status="selected")
    php_patient = make_patient(site, first_name="Casey", last_name="Partialday")
    make_enrollment(php_patient, php, admitted_on=date(2026, 2, 2))
    return iop, php
