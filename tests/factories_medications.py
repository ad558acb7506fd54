"""Medication orders, doses given in clinic and opioid screens for tests. Everyone is fictional.

The rows are written directly (no audit event); the services have their own tests.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from openiop.accounts.models import User
from openiop.lib.dates import at_local, local_today
from openiop.medications.catalog import get_medication
from openiop.medications.models import Administration, MedicationOrder
from openiop.patients.models import Patient


def today_at(patient: Patient) -> date:
    return local_today(patient.site.time_zone)


def make_order(
    patient: Patient,
    medication: str,
    *,
    by: User,
    started_on: date,
    ended_on: date | None = None,
    dose: str = "300",
    prescriber: User | None = None,
    dispensing: str | None = None,
    external_prescriber: str = "",
    **fields: Any,
) -> MedicationOrder:
    entry = get_medication(medication)
    return MedicationOrder.objects.create(
        site=patient.site,
        patient=patient,
        medication=medication,
        dose=Decimal(dose),
        route=entry.route.value,
        frequency=fields.pop("frequency", "as prescribed"),
        started_on=started_on,
        ended_on=ended_on,
        prescriber=prescriber if prescriber is not None else (None if external_prescriber else by),
        dispensing=dispensing or entry.default_dispensing.value,
        external_prescriber=external_prescriber,
        created_by=by,
        **fields,
    )


def give_dose(
    order: MedicationOrder,
    *,
    on: date,
    by: User,
    site: str = "",
    at: time = time(10, 0),
    dose: str | None = None,
) -> Administration:
    return Administration.objects.create(
        order=order,
        patient=order.patient,
        given_at=at_local(on, at, order.patient.site.time_zone),
        dose=Decimal(dose) if dose is not None else order.dose,
        injection_site=site,
        given_by=by,
    )


def make_screen(
    patient: Patient,
    *,
    on: date,
    results: dict[str, str],
    validity: str = "valid",
    method: str = "presumptive",
) -> Any:
    """A collected urine screen on ``on`` with {analyte: positive|negative|inconclusive}."""
    from openiop.screening.models import DrugScreen, ScreenResult

    collected_at: datetime = at_local(on, time(9, 0), patient.site.time_zone)
    screen = DrugScreen.objects.create(
        site=patient.site,
        patient=patient,
        reason="random",
        status="collected",
        selected_on=on,
        specimen="urine",
        collected_at=collected_at,
        validity=validity,
        created_by_label="test",
    )
    ScreenResult.objects.bulk_create(
        ScreenResult(
            screen=screen, analyte=analyte, method=method, result=result, entered_at=collected_at
        )
        for analyte, result in results.items()
    )
    return screen
