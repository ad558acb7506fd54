"""Drug screens for the collection/results tests. Rows are written directly; everyone is
fictional. Tests of the services go through the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from openiop.accounts.models import Site, User
from openiop.accounts.roles import Role
from openiop.lib.dates import local_today
from openiop.medications.catalog import get_medication
from openiop.medications.models import MedicationOrder
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, Program
from openiop.screening.models import DrugScreen, Panel, ScreenReason, ScreenStatus
from tests.factories import make_user
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program


@dataclass
class ScreenCase:
    patient: Patient
    enrollment: Enrollment
    therapist: User
    prescriber: User
    screen: DrugScreen


def default_panel() -> Panel:
    return Panel.objects.get(is_default=True, specimen="urine")


def make_screen(
    patient: Patient,
    *,
    enrollment: Enrollment | None = None,
    reason: str = ScreenReason.RANDOM,
    selected_on: date | None = None,
    **fields: Any,
) -> DrugScreen:
    return DrugScreen.objects.create(
        site=patient.site,
        patient=patient,
        enrollment=enrollment,
        reason=reason,
        cause=fields.pop("cause", "" if reason == ScreenReason.RANDOM else "Staff concern"),
        status=fields.pop("status", ScreenStatus.SELECTED),
        selected_on=selected_on or local_today(patient.site.time_zone),
        created_by_label="test",
        **fields,
    )


def screen_case(site: Site, therapist: User, *, prescriber: User | None = None) -> ScreenCase:
    """An enrolled patient (primary therapist, prescriber) with a random screen selected today."""
    prescriber = prescriber or make_user(
        f"priya{site.pk}",
        site=site,
        role=Role.PRESCRIBER,
        first_name="Priya",
        last_name="Pretend",
    )
    patient = make_patient(site, first_name="Sam", last_name="Specimen")
    program = Program.objects.filter(site=site).first() or make_program(site)
    enrollment = make_enrollment(
        patient, program, primary_therapist=therapist, prescriber=prescriber
    )
    screen = make_screen(patient, enrollment=enrollment)
    return ScreenCase(patient, enrollment, therapist, prescriber, screen)


def order(patient: Patient, medication: str, *, by: User, days_ago: int = 30, **fields: Any):
    entry = get_medication(medication)
    return MedicationOrder.objects.create(
        site=patient.site,
        patient=patient,
        medication=medication,
        dose=Decimal(fields.pop("dose", "8")),
        route=entry.route.value,
        frequency=fields.pop("frequency", "daily"),
        started_on=local_today(patient.site.time_zone) - timedelta(days=days_ago),
        prescriber=by,
        dispensing=fields.pop("dispensing", entry.default_dispensing.value),
        created_by=by,
        **fields,
    )


def collection(**overrides: Any) -> dict[str, Any]:
    """Valid collection fields: a warm, normal urine collected 10 minutes ago."""
    data: dict[str, Any] = {
        "specimen": "urine",
        "observed": True,
        "collected_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
        "temperature_c": "34.5",
        "temperature_read_minutes": "2",
        "creatinine_mg_dl": "80",
        "specific_gravity": "1.015",
        "ph": "6.5",
    }
    data.update(overrides)
    return data


TWELVE = [
    "thc",
    "cocaine",
    "opiates",
    "hydrocodone",
    "oxycodone",
    "6am",
    "pcp",
    "fentanyl",
    "amphetamines",
    "mdma",
    "benzodiazepines",
    "etg",
]


def negatives(codes: list[str] | None = None, **positives: str) -> list[dict[str, Any]]:
    """Presumptive results: negative for ``codes`` except those given, e.g. fentanyl="positive"."""
    return [
        {"analyte": code, "method": "presumptive", "result": positives.get(code, "negative")}
        for code in (codes if codes is not None else TWELVE)
    ]
