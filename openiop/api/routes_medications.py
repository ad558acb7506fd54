"""Medications over the API: the catalogue, a patient's orders and in-clinic administrations.

Medicines are named by catalogue code (``GET /medications/catalog``). Every read and write of a
patient's medications reaches the patient through ``patients.access`` and is audited; the
writes are the services of ``openiop.medications.services``.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the operations'
# annotations at import time.

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from openiop.api.auth import api_guard
from openiop.api.schemas import Detail
from openiop.medications.catalog import MEDICATIONS, Medication
from openiop.medications.schedule import RULES, site_label

router = Router(tags=["medications"])


# --- Catalogue ---------------------------------------------------------------------------


class InjectionSiteOut(Schema):
    code: str = Field(description='Send it as `injection_site` ("abdomen_upper_left").')
    label: str


class InjectionScheduleOut(Schema):
    minimum_days: int = Field(description="Earliest day after the last injection (inclusive).")
    interval_days: int = Field(description="The target day after the last injection.")
    maximum_days: int = Field(description="Latest day; the day after is overdue.")
    sites: list[InjectionSiteOut] = Field(description="Injection sites, in rotation order.")


class MedicationOut(Schema):
    code: str = Field(description='Send it as `medication` ("sublocade").')
    name: str
    short_name: str
    medication_class: str = Field(description="moud, naltrexone, rescue or psychiatric")
    form: str
    route: str = Field(description="The usual route: sublingual, subcutaneous, intramuscular …")
    injected_in_clinic: bool
    default_dispensing: str = Field(description="clinic, pharmacy or external_otp")
    is_external: bool = Field(description="Only dispensed by an Opioid Treatment Program.")
    blocks_opioids: bool
    explains: list[str] = Field(description="Analyte codes a positive of which it explains.")
    expected: list[str] = Field(description="Analyte codes expected positive when taken.")
    cross_reacts: list[str] = Field(
        description="Presumptive false positives commonly reported (verify per kit)."
    )
    injection: InjectionScheduleOut | None = Field(
        description="The due window of an injectable product; null for the others."
    )


def _medication_out(medication: Medication) -> dict[str, Any]:
    rule = RULES.get(medication.code)
    return {
        "code": medication.code,
        "name": medication.name,
        "short_name": medication.short_name,
        "medication_class": medication.medication_class.value,
        "form": medication.form,
        "route": medication.route.value,
        "injected_in_clinic": medication.injected_in_clinic,
        "default_dispensing": medication.default_dispensing.value,
        "is_external": medication.is_external,
        "blocks_opioids": medication.blocks_opioids,
        "explains": sorted(medication.explains),
        "expected": sorted(medication.expected),
        "cross_reacts": sorted(medication.cross_reacts),
        "injection": None
        if rule is None
        else {
            "minimum_days": rule.minimum_days,
            "interval_days": rule.interval_days,
            "maximum_days": rule.maximum_days,
            "sites": [{"code": code, "label": site_label(code)} for code in rule.sites],
        },
    }


CATALOG = [_medication_out(medication) for medication in MEDICATIONS]


@router.get(
    "/medications/catalog",
    response={200: list[MedicationOut], 401: Detail, 403: Detail},
    summary="The medication catalogue: every code `medication` accepts",
    auth=api_guard("medications.view"),
)
def list_medication_catalog(request: HttpRequest) -> list[dict[str, Any]]:
    return CATALOG
