"""Drug screening over the API: the analyte catalogue, the day's random selection, a patient's
screens recorded with their results and read back with their interpretation.

Every read and write of a patient's screens reaches the patient through ``patients.access``
and is audited; the writes are the services of ``openiop.screening.services_selection`` and
``openiop.screening.services_screens``. A selection is only ever run or read for today or a
past day: nothing here tells anyone about a future screen.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the operations'
# annotations at import time.

from datetime import date as date_type
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AwareDatetime, ConfigDict, field_validator

from openiop.accounts.access import sites_with_permission
from openiop.api.auth import api_guard
from openiop.api.routes_medications import (
    ERRORS,
    MAX_ID,
    Text,
    invalid,
    plausible_instant,
    unprocessable,
)
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action, AuditEvent
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict
from openiop.lib.dates import local_today
from openiop.patients.access import get_patient_for_user, sites_for
from openiop.patients.models import Patient
from openiop.screening.catalog import (
    ANALYTES,
    NG_PER_ML,
    Analyte,
    UnknownAnalyteError,
    get_analyte,
    is_analyte_code,
)
from openiop.screening.models import DrugScreen, ScreenReason, ScreenResult, ScreenSelection
from openiop.screening.services_screens import record_screen
from openiop.screening.services_selection import SelectionRefused, run_selection

router = Router(tags=["screening"])

# A collection time a minute ahead of the server's clock is a clock difference, not the future.
CLOCK_SKEW = timedelta(minutes=1)


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# --- Catalogue ---------------------------------------------------------------------------


class AnalyteOut(Schema):
    code: str = Field(description='Send it as a result\'s `analyte` ("buprenorphine").')
    name: str
    detects: str
    drug_class: str = Field(
        description="cannabinoid, stimulant, opioid, hallucinogen, sedative or alcohol"
    )
    unit: str = Field(description="The unit of `value` and the cutoffs: ng/mL.")
    screen_cutoff: float | None = Field(
        description="Default presumptive (immunoassay) cutoff; null: confirmatory only."
    )
    confirm_cutoff: float = Field(description="Default confirmatory (LC-MS/MS) cutoff.")
    cutoff_source: str = Field(description="federal_workplace or clinical_common")


def _analyte_out(analyte: Analyte) -> dict[str, Any]:
    return {
        "code": analyte.code,
        "name": analyte.name,
        "detects": analyte.detects,
        "drug_class": analyte.drug_class.value,
        "unit": analyte.unit,
        "screen_cutoff": None if analyte.screen_cutoff is None else float(analyte.screen_cutoff),
        "confirm_cutoff": float(analyte.confirm_cutoff),
        "cutoff_source": analyte.cutoff_source.value,
    }


ANALYTE_LIST = [_analyte_out(analyte) for analyte in ANALYTES]


@router.get(
    "/screens/analytes",
    response={200: list[AnalyteOut], 401: Detail, 403: Detail},
    summary="The analyte catalogue: every code a result's `analyte` accepts",
    auth=api_guard("screens.view"),
)
def list_analytes(request: HttpRequest) -> list[dict[str, Any]]:
    return ANALYTE_LIST


# --- Selection -----------------------------------------------------------------------------


class SelectIn(Schema):
    model_config = ConfigDict(extra="forbid")

    site_id: int = Field(ge=1, le=MAX_ID, description="A site where you may run the selection.")
    date: date_type = Field(description="Today or a past day at the site; never a future one.")


class DecisionOut(Schema):
    patient_id: int
    selected: bool
    reason: str = Field(description="Why, in plain words (what the patient still needs).")
    shortfall: bool = Field(description="Too few on-site days left to meet the minimum.")


class SelectedOut(Schema):
    patient_id: int
    patient_name: str
    screen_id: int
    status: str = Field(description="selected (to collect), collected or not_collected")


class SelectionOut(Schema):
    id: int
    site_id: int
    date: date_type
    created: bool = Field(
        description="true when this call ran the selection (201); false when it had run (200)."
    )
    ran_at: datetime
    ran_by_id: int | None
    ran_by: str = Field(description="Who or what ran it (a user, or the scheduled command).")
    pool_size: int = Field(description="Patients on site that day who could be selected.")
    selected: list[SelectedOut] = Field(description="The random screens of the day.")
    decisions: list[DecisionOut] = Field(description="Every patient of the pool and why.")


def _selection_out(selection: ScreenSelection, *, created: bool) -> dict[str, Any]:
    record = selection.record or {}
    decisions = record.get("decisions", [])
    screens = (
        DrugScreen.objects.filter(selection=selection, reason=ScreenReason.RANDOM)
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "pk")
    )
    return {
        "id": selection.pk,
        "site_id": selection.site_id,
        "date": selection.day,
        "created": created,
        "ran_at": selection.ran_at,
        "ran_by_id": selection.ran_by_id,
        "ran_by": selection.ran_by_label,
        "pool_size": len(decisions),
        "selected": [
            {
                "patient_id": screen.patient_id,
                "patient_name": f"{screen.patient.first_name} {screen.patient.last_name}",
                "screen_id": screen.pk,
                "status": screen.status,
            }
            for screen in screens
        ],
        "decisions": [
            {
                "patient_id": decision["patient_id"],
                "selected": decision["selected"],
                "reason": decision["reason"],
                "shortfall": decision["shortfall"],
            }
            for decision in decisions
        ],
    }


@router.post(
    "/screens/select",
    response={200: SelectionOut, 201: SelectionOut, **ERRORS},
    summary="Run the day's random screen selection for a site (idempotent)",
    description=(
        "The first call for a site and day draws the selection and answers 201 with"
        " `created: true`; every later call — or one racing it from another server — answers"
        " 200 with the same selection and `created: false`. A future day answers 422: a"
        " selection is never drawn, nor shown, ahead of its day."
    ),
    auth=api_guard("screens.select"),
)
def post_selection(request: HttpRequest, payload: SelectIn) -> Any:
    user = _user(request)
    site = next(
        (s for s in sites_with_permission(user, "screens.select") if s.pk == payload.site_id),
        None,
    )
    if site is None:
        return invalid("payload.site_id", "Not a site where you may run the screen selection.")
    existing = ScreenSelection.objects.filter(site=site, day=payload.date).first()
    if existing is not None and payload.date < local_today(site.time_zone):
        # A past day's selection is read back as it was; only the command line runs one late.
        _audit_read(request, existing)
        return Status(200, _selection_out(existing, created=False))
    try:
        selection = run_selection(site, payload.date, by=user, request=request)
    except SelectionRefused as exc:
        return invalid("payload.date", exc.message)
    # Ours when the day had none before and the creation event carries this request's id
    # (two servers racing: the one whose insert lost returns the winner's row).
    created = existing is None and (
        AuditEvent.objects.filter(
            action=Action.CREATE,
            object_type="screen_selection",
            object_id=str(selection.pk),
            request_id=getattr(request, "request_id", ""),
        ).exists()
    )
    if not created:
        _audit_read(request, selection)
    return Status(201 if created else 200, _selection_out(selection, created=created))


def _audit_read(request: HttpRequest, selection: ScreenSelection) -> None:
    selected = (selection.record or {}).get("selected", [])
    record_event(
        action=Action.VIEW,
        request=request,
        actor=_user(request),
        site=selection.site,
        object_type="screen_selection",
        object_id=selection.pk,
        detail=(
            f"Screen selection for {selection.day.isoformat()} read via API; selected"
            f" patients {', '.join(f'#{pk}' for pk in selected) or 'none'}"
        ),
    )


# --- Screens -------------------------------------------------------------------------------


class ResultIn(Schema):
    model_config = ConfigDict(extra="forbid")

    analyte: Text = Field(
        min_length=1, max_length=20, description="A code of GET /screens/analytes."
    )
    method: Literal["presumptive", "confirmatory"]
    result: Literal["positive", "negative", "inconclusive"]
    value: Decimal | None = Field(
        None, ge=0, max_digits=12, decimal_places=3, description="Measured value in ng/mL."
    )
    cutoff: Decimal | None = Field(
        None,
        gt=0,
        max_digits=10,
        decimal_places=3,
        description="The kit's or lab's cutoff in ng/mL; default: the panel's.",
    )
    unit: Literal["ng/mL"] = Field(
        "ng/mL", description="The unit of `value` and `cutoff`: only ng/mL is accepted."
    )

    @field_validator("analyte")
    @classmethod
    def _known_analyte(cls, value: str) -> str:
        if not is_analyte_code(value):
            raise ValueError(str(UnknownAnalyteError(value)))
        return value


class ScreenIn(Schema):
    """A collected specimen with its results, recorded in one go."""

    model_config = ConfigDict(extra="forbid")

    collected_at: AwareDatetime = Field(description="When it was collected; not in the future.")
    specimen: Literal["urine", "oral_fluid", "breath_alcohol"]
    observed: bool = Field(False, description="Whether the collection was observed.")
    specimen_id: Text = Field("", max_length=60, description="The cup's or lab's specimen id.")
    temperature_c: Decimal | None = Field(
        None, ge=0, le=100, max_digits=4, decimal_places=1, description="Urine temperature."
    )
    temperature_read_minutes: Decimal | None = Field(
        None,
        ge=0,
        max_digits=4,
        decimal_places=1,
        description="Minutes after collection the temperature was read (within 4).",
    )
    creatinine_mg_dl: Decimal | None = Field(None, ge=0, max_digits=6, decimal_places=2)
    specific_gravity: Decimal | None = Field(None, ge=1, le=2, max_digits=6, decimal_places=4)
    ph: Decimal | None = Field(None, ge=0, le=14, max_digits=4, decimal_places=2)
    nitrite_ug_ml: Decimal | None = Field(None, ge=0, max_digits=7, decimal_places=1)
    panel_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="The kit's or lab's panel; default: the specimen's."
    )
    cause: Text = Field(
        "",
        max_length=300,
        description=(
            "Why, when no random screen was called that day (a for-cause screen);"
            ' default "Recorded on arrival".'
        ),
    )
    results: list[ResultIn] = Field(
        [],
        max_length=60,
        description="One per analyte and method; empty records the collection alone.",
    )

    _collected_at = field_validator("collected_at")(plausible_instant)

    @field_validator("results")
    @classmethod
    def _once_per_analyte_and_method(cls, value: list[ResultIn]) -> list[ResultIn]:
        seen: set[tuple[str, str]] = set()
        for result in value:
            key = (result.analyte, result.method)
            if key in seen:
                raise ValueError(f"{result.analyte} ({result.method}) is given twice.")
            seen.add(key)
        return value


class ResultOut(Schema):
    analyte: str
    analyte_name: str
    method: str
    result: str
    value: float | None
    cutoff: float | None
    unit: str
    source: str = Field(description="manual, lab_csv or api")


class AnalyteVerdictOut(Schema):
    analyte: str
    analyte_name: str
    verdict: str = Field(description="expected, unexpected or inconclusive")
    reason: str = Field(description="Why, in plain words.")
    result: str = Field(description="The result interpreted (the confirmatory one if any).")
    method: str
    explained_by: list[str] = Field(description="Medication codes that explain it.")
    needs_confirmation: bool


class InterpretationOut(Schema):
    verdict: str = Field(description="expected or unexpected")
    validity: str = Field(description="valid, dilute, substituted, adulterated or invalid")
    analytes: list[AnalyteVerdictOut] = Field(description="One per analyte tested.")
    confirmation_needed: list[str] = Field(description="Analyte codes to confirm by LC-MS/MS.")
    recollect: bool = Field(description="The specimen says nothing: collect another.")
    notes: list[str]
    medications: list[str] = Field(
        description="The medication codes active on the collection day it was read against."
    )
    interpreted_at: datetime | None


class ScreenOut(Schema):
    id: int
    patient_id: int
    site_id: int
    reason: str = Field(description="random or for_cause")
    cause: str
    status: str = Field(description="selected (to collect), collected or not_collected")
    selected_on: date_type
    specimen: str
    observed: bool
    collected_at: datetime | None
    collected_by_id: int | None
    specimen_id: str
    temperature_c: float | None
    temperature_read_minutes: float | None
    creatinine_mg_dl: float | None
    specific_gravity: float | None
    ph: float | None
    nitrite_ug_ml: float | None
    validity: str = Field(description="The validity class; empty until collected.")
    validity_reasons: list[str] = Field(description="What the measurements showed, in words.")
    temperature_verified: bool | None = Field(
        description="Whether a usable temperature was read; null until collected."
    )
    verdict: str = Field(description="expected or unexpected; empty until results are in.")
    interpretation: InterpretationOut | None = Field(description="Null until results are recorded.")
    results: list[ResultOut]
    reviewed_at: datetime | None
    reviewed_by_id: int | None
    version: int
    created_at: datetime


class ScreenFilters(Schema):
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000_000)


class ScreenPage(Schema):
    count: int = Field(description="How many screens the patient has, over all pages.")
    results: list[ScreenOut]
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _analyte_name(code: str) -> str:
    return get_analyte(code).name if is_analyte_code(code) else code


def _interpretation_out(screen: DrugScreen, stored: dict[str, Any]) -> dict[str, Any] | None:
    if not screen.verdict or "analytes" not in stored:
        return None
    return {
        "verdict": screen.verdict,
        "validity": screen.validity,
        "analytes": [
            {
                "analyte": item["analyte"],
                "analyte_name": _analyte_name(item["analyte"]),
                "verdict": item["verdict"],
                "reason": item["reason"],
                "result": item["result"],
                "method": item["method"],
                "explained_by": list(item.get("explained_by", [])),
                "needs_confirmation": bool(item.get("needs_confirmation", False)),
            }
            for item in stored["analytes"]
        ],
        "confirmation_needed": list(stored.get("confirmation_needed", [])),
        "recollect": bool(stored.get("recollect", False)),
        "notes": list(stored.get("notes", [])),
        "medications": list(stored.get("medications", [])),
        "interpreted_at": stored.get("interpreted_at"),
    }


def _screen_out(screen: DrugScreen) -> dict[str, Any]:
    stored = screen.interpretation or {}
    validity = stored.get("validity") if isinstance(stored.get("validity"), dict) else {}
    return {
        "id": screen.pk,
        "patient_id": screen.patient_id,
        "site_id": screen.site_id,
        "reason": screen.reason,
        "cause": screen.cause,
        "status": screen.status,
        "selected_on": screen.selected_on,
        "specimen": screen.specimen,
        "observed": screen.observed,
        "collected_at": screen.collected_at,
        "collected_by_id": screen.collected_by_id,
        "specimen_id": screen.specimen_id,
        "temperature_c": _number(screen.temperature_c),
        "temperature_read_minutes": _number(screen.temperature_read_minutes),
        "creatinine_mg_dl": _number(screen.creatinine_mg_dl),
        "specific_gravity": _number(screen.specific_gravity),
        "ph": _number(screen.ph),
        "nitrite_ug_ml": _number(screen.nitrite_ug_ml),
        "validity": screen.validity,
        "validity_reasons": list(validity.get("reasons", [])),
        "temperature_verified": validity.get("temperature_verified"),
        "verdict": screen.verdict,
        "interpretation": _interpretation_out(screen, stored),
        "results": [
            {
                "analyte": result.analyte,
                "analyte_name": _analyte_name(result.analyte),
                "method": result.method,
                "result": result.result,
                "value": _number(result.value),
                "cutoff": _number(result.cutoff),
                "unit": NG_PER_ML,
                "source": result.source,
            }
            for result in screen.results.all()
        ],
        "reviewed_at": screen.reviewed_at,
        "reviewed_by_id": screen.reviewed_by_id,
        "version": screen.version,
        "created_at": screen.created_at,
    }


def _screens(patient: Patient) -> QuerySet[DrugScreen]:
    return (
        DrugScreen.objects.filter(patient=patient)
        .prefetch_related(Prefetch("results", queryset=ScreenResult.objects.order_by("pk")))
        .order_by("-selected_on", "-pk")
    )


@router.get(
    "/patients/{patient_id}/screens",
    response={200: ScreenPage, 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="A patient's drug screens, newest first, with results and interpretation",
    description=(
        "Screens called and not yet collected appear from their day on (a selection is never"
        " made ahead of its day)."
    ),
    auth=api_guard("screens.view"),
)
def list_screens(
    request: HttpRequest,
    filters: Query[ScreenFilters],
    patient_id: int = Path(..., ge=1, le=MAX_ID),
) -> dict[str, Any]:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="screens.view",
        object_type="drug_screen",
        detail=f"screens list via API, offset {filters.offset}",
    )
    screens = _screens(patient).filter(site__in=sites_for(request, "screens.view"))
    count = screens.count()
    end = filters.offset + filters.limit
    return {
        "count": count,
        "results": [_screen_out(screen) for screen in screens[filters.offset : end]],
        "next_offset": end if end < count else None,
    }


@router.post(
    "/patients/{patient_id}/screens",
    response={201: ScreenOut, **ERRORS},
    summary="Record a collected screen with its results; answers it with its interpretation",
    description=(
        "Validity is classified from the measurements, and the results are read against the"
        " medications the patient was on that day: `verdict` is `expected` or `unexpected`,"
        " and each analyte has a verdict and a reason in plain words. A screen called for the"
        " patient that day is completed; otherwise a for-cause screen is recorded. An"
        " unexpected result alerts the primary therapist and the prescriber."
    ),
    auth=api_guard("screens.collect"),
)
def post_screen(
    request: HttpRequest, payload: ScreenIn, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="screens.collect",
        action=Action.CREATE,
        object_type="drug_screen",
        detail="screen recorded via API",
    )
    if payload.collected_at > timezone.now() + CLOCK_SKEW:
        return invalid("payload.collected_at", "The collection time is in the future.")
    data = payload.model_dump(exclude_unset=True)
    data["results"] = [
        {key: value for key, value in result.items() if key != "unit"}
        for result in data.get("results", [])
    ]
    try:
        screen = record_screen(patient, by=_user(request), data=data, request=request, source="api")
    except ValidationError as exc:
        return unprocessable(exc)
    except NoteConflict as exc:
        raise HttpError(409, exc.message) from None
    return Status(201, _screen_out(_screens(patient).get(pk=screen.pk)))
