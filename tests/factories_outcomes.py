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
from openiop.programs.models import Enrollment
from openiop.screening.models import DrugScreen, ScreenReason, ScreenStatus

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


def site_today(site: Site) -> date:
    from openiop.lib.dates import local_today

    return local_today(site.time_zone)
