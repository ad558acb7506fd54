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
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from openiop.accounts.access import sites_with_permission
from openiop.api.auth import api_guard
from openiop.api.routes_medications import ERRORS, MAX_ID, invalid
from openiop.api.schemas import Detail
from openiop.audit.models import Action, AuditEvent
from openiop.audit.services import record_event
from openiop.lib.dates import local_today
from openiop.screening.catalog import (
    ANALYTES,
    Analyte,
)
from openiop.screening.models import DrugScreen, ScreenReason, ScreenSelection
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
