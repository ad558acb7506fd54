"""Medications over the API: the catalogue, a patient's orders and in-clinic administrations.

Medicines are named by catalogue code (``GET /medications/catalog``). Every read and write of a
patient's medications reaches the patient through ``patients.access`` and is audited; the
writes are the services of ``openiop.medications.services``.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the operations'
# annotations at import time.

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status
from pydantic import AfterValidator, AwareDatetime, ConfigDict, field_validator, model_validator

from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action
from openiop.lib.dates import local_today
from openiop.medications.catalog import (
    MEDICATIONS,
    Medication,
    UnknownMedicationError,
    get_medication,
    is_medication_code,
)
from openiop.medications.models import Administration, MedicationOrder
from openiop.medications.schedule import RULES, site_label
from openiop.medications.services import order_medication, record_administration
from openiop.patients.access import get_patient_for_user
from openiop.patients.models import Patient

router = Router(tags=["medications"])

MAX_ID = 2**63 - 1
INDEX = re.compile(r"\[(\d+)\]")
# Instants before this are typing slips; converting them to a site's zone could also fall off
# the calendar's start (year 1 in UTC is year 0 in Chicago).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail on the write.
    if "\x00" in value:
        raise ValueError("The text contains a NUL character.")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


def plausible_instant(value: datetime) -> datetime:
    """A pydantic validator: refuse instants before 1900."""
    if value < EARLIEST:
        raise ValueError("Give a date and time after 1900.")
    return value


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


# --- Orders and administrations ------------------------------------------------------------


class OrderIn(Schema):
    """A medication order: prescribed here, or recorded as external (methadone from an OTP)."""

    model_config = ConfigDict(extra="forbid")

    medication: Text = Field(
        min_length=1, max_length=30, description="A code of GET /medications/catalog."
    )
    dose: Decimal = Field(gt=0, max_digits=8, decimal_places=2, description="e.g. 16 or 300")
    dose_unit: Text = Field("mg", min_length=1, max_length=10, description='Default "mg".')
    route: Literal["sublingual", "subcutaneous", "intramuscular", "oral", "intranasal"] = Field(
        None, description="Default: the catalogue's route."
    )
    frequency: Text = Field(min_length=1, max_length=80, description='e.g. "daily", "monthly"')
    started_on: date
    ended_on: date | None = Field(None, description="On or after started_on; null: ongoing.")
    prescriber_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="A prescriber at the patient's site; null if external."
    )
    dispensing: Literal["clinic", "pharmacy", "external_otp"] = Field(
        None, description="Default: the catalogue's (external_otp for methadone)."
    )
    external_prescriber: Text = Field(
        "",
        max_length=200,
        description="The OTP or outside prescriber: required with external_otp.",
    )
    notes: Text = Field("", max_length=2000)

    @field_validator("medication")
    @classmethod
    def _known_medication(cls, value: str) -> str:
        if not is_medication_code(value):
            raise ValueError(str(UnknownMedicationError(value)))
        return value


class AdministrationIn(Schema):
    """A dose given in clinic under an active in-clinic order of this patient."""

    model_config = ConfigDict(extra="forbid")

    order_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="The order given under; or name the `medication`."
    )
    medication: Text | None = Field(
        None,
        min_length=1,
        max_length=30,
        description="A catalogue code: the patient's active in-clinic order of it.",
    )
    given_at: AwareDatetime = Field(description="When it was given, with its UTC offset.")
    dose: Decimal = Field(gt=0, max_digits=8, decimal_places=2)
    injection_site: Text = Field(
        "", max_length=30, description="A site code of the catalogue's `injection.sites`."
    )
    lot: Text = Field("", max_length=60)
    notes: Text = Field("", max_length=2000)

    _given_at = field_validator("given_at")(plausible_instant)

    @field_validator("medication")
    @classmethod
    def _known_medication(cls, value: str | None) -> str | None:
        if value is not None and not is_medication_code(value):
            raise ValueError(str(UnknownMedicationError(value)))
        return value

    @model_validator(mode="after")
    def _order_named(self) -> "AdministrationIn":
        if self.order_id is None and self.medication is None:
            raise ValueError("Give the order_id (or the medication) the dose was given under.")
        return self


class AdministrationOut(Schema):
    id: int
    order_id: int
    medication: str
    given_at: datetime
    dose: float
    injection_site: str
    injection_site_label: str
    lot: str
    given_by_id: int
    given_by_name: str
    notes: str


class WarningOut(Schema):
    code: str = Field(
        description="Stable: too_early, late, duplicate, site, or a first-dose precondition's."
    )
    message: str


class AdministrationCreated(AdministrationOut):
    warnings: list[WarningOut] = Field(
        description=(
            "What to look at, in plain words: a first dose whose preconditions are not"
            " documented, an injection outside its window, a site used last time. Shown, not"
            " blocking."
        )
    )


class OrderOut(Schema):
    id: int
    patient_id: int
    site_id: int
    medication: str = Field(description="The catalogue code.")
    medication_name: str
    dose: float
    dose_unit: str
    route: str
    frequency: str
    started_on: date
    ended_on: date | None
    is_active: bool = Field(description="Active today at the patient's site.")
    prescriber_id: int | None
    prescriber_name: str | None
    dispensing: str = Field(description="clinic, pharmacy or external_otp")
    external_prescriber: str
    notes: str
    created_by_id: int
    created_at: datetime
    version: int
    administrations: list[AdministrationOut] = Field(description="Doses given, newest first.")


def _administration_out(administration: Administration, medication: str) -> dict[str, Any]:
    given_by = administration.given_by
    return {
        "id": administration.pk,
        "order_id": administration.order_id,
        "medication": medication,
        "given_at": administration.given_at,
        "dose": float(administration.dose),
        "injection_site": administration.injection_site,
        "injection_site_label": (
            site_label(administration.injection_site) if administration.injection_site else ""
        ),
        "lot": administration.lot,
        "given_by_id": administration.given_by_id,
        "given_by_name": given_by.signature_name,
        "notes": administration.notes,
    }


def _order_out(order: MedicationOrder, today: date) -> dict[str, Any]:
    prescriber = order.prescriber
    return {
        "id": order.pk,
        "patient_id": order.patient_id,
        "site_id": order.site_id,
        "medication": order.medication,
        "medication_name": get_medication(order.medication).name,
        "dose": float(order.dose),
        "dose_unit": order.dose_unit,
        "route": order.route,
        "frequency": order.frequency,
        "started_on": order.started_on,
        "ended_on": order.ended_on,
        "is_active": order.started_on <= today
        and (order.ended_on is None or today <= order.ended_on),
        "prescriber_id": order.prescriber_id,
        "prescriber_name": prescriber.signature_name if prescriber else None,
        "dispensing": order.dispensing,
        "external_prescriber": order.external_prescriber,
        "notes": order.notes,
        "created_by_id": order.created_by_id,
        "created_at": order.created_at,
        "version": order.version,
        "administrations": [
            _administration_out(administration, order.medication)
            for administration in order.administrations.all()
        ],
    }


def _orders(patient: Patient) -> QuerySet[MedicationOrder]:
    return (
        MedicationOrder.objects.filter(patient=patient)
        .select_related("prescriber")
        .prefetch_related(
            Prefetch(
                "administrations",
                queryset=Administration.objects.select_related("given_by").order_by(
                    "-given_at", "-pk"
                ),
            )
        )
        .order_by("-started_on", "-pk")
    )


# --- Errors ------------------------------------------------------------------------------


def _field(name: str, where: str, renames: dict[str, str]) -> str:
    if name == NON_FIELD_ERRORS:
        return where
    dotted = INDEX.sub(r".\1", renames.get(name, name))
    return f"{where}.{dotted}"


def unprocessable(
    exc: ValidationError, *, where: str = "payload", renames: dict[str, str] | None = None
) -> Status:
    """A service's ValidationError as the API's 422, each message naming its field
    ("results[1].analyte" → "payload.results.1.analyte"; ``renames`` maps service names to
    the API's, e.g. "prescriber" → "prescriber_id")."""
    problems = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    return Status(
        422,
        {
            "detail": [
                {
                    "field": _field(name, where, renames or {}),
                    "message": message,
                    "type": "value_error",
                }
                for name, messages in problems.items()
                for message in messages
            ]
        },
    )


def invalid(field: str, message: str) -> Status:
    return Status(422, {"detail": [{"field": field, "message": message, "type": "value_error"}]})


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


ERRORS = {401: Detail, 403: Detail, 404: Detail, 409: Detail, 422: ValidationErrors}


# --- Operations --------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/medications",
    response={200: list[OrderOut], 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="A patient's medication orders (current and past) with the doses given in clinic",
    auth=api_guard("medications.view"),
)
def list_medications(
    request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> list[dict[str, Any]]:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="medications.view",
        object_type="medications",
        detail="medication list via API",
    )
    today = local_today(patient.site.time_zone)
    return [_order_out(order, today) for order in _orders(patient)]


@router.post(
    "/patients/{patient_id}/medications",
    response={201: OrderOut, **ERRORS},
    summary="Order a medication, or record an external one (methadone from an OTP)",
    description=(
        "`medication` is a catalogue code; `dispensing` is `clinic`, `pharmacy` or"
        " `external_otp`. Methadone is only ever `external_otp`, with the program's name in"
        " `external_prescriber`. An unknown code, an end before the start or a prescriber who"
        " is not one at the patient's site answers 422 naming the field."
    ),
    auth=api_guard("medications.order"),
)
def post_medication(
    request: HttpRequest, payload: OrderIn, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="medications.order",
        action=Action.CREATE,
        object_type="medications",
        detail="medication order via API",
    )
    if payload.ended_on is not None and payload.ended_on < payload.started_on:
        return invalid("payload.ended_on", "The end must be on or after the start.")
    data = payload.model_dump(exclude_unset=True)
    try:
        order = order_medication(patient, by=_user(request), data=data, request=request)
    except ValidationError as exc:
        return unprocessable(exc)
    found = _orders(patient).get(pk=order.pk)
    return Status(201, _order_out(found, local_today(patient.site.time_zone)))


@router.post(
    "/patients/{patient_id}/administrations",
    response={201: AdministrationCreated, **ERRORS},
    summary="Record a dose given in clinic (an injection) under an active in-clinic order",
    description=(
        "Name the order by `order_id`, or by `medication` (the patient's active in-clinic"
        " order of it). A medicine the patient has no active in-clinic order for, or an"
        " order of another patient, answers 422 naming the field; `warnings` list what to"
        " look at (first-dose preconditions, the due window, site rotation)."
    ),
    auth=api_guard("medications.administer"),
)
def post_administration(
    request: HttpRequest, payload: AdministrationIn, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="medications.administer",
        action=Action.CREATE,
        object_type="medications",
        detail="administration via API",
    )
    data = payload.model_dump(exclude_unset=True)
    try:
        administration, warnings = record_administration(
            patient, by=_user(request), data=data, request=request
        )
    except ValidationError as exc:
        return unprocessable(exc)
    found = Administration.objects.select_related("given_by", "order").get(pk=administration.pk)
    return Status(
        201,
        {
            **_administration_out(found, found.order.medication),
            "warnings": [{"code": w.code, "message": w.message} for w in warnings],
        },
    )
