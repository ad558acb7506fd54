"""Placement assessments over the API (DOMAIN.md §3–§4).

A placement records the seed's six criteria, the contra-indications and the six dimension
ratings; the program's rule table answers with the indicated level, the rules that fired
(with their evidence) and the deciding ones. The level actually provided is recorded once,
in the same call or later; a reason is required when it differs. Patients and placements
the token may not see answer 404; bad input answers 422 naming the field ("ratings.3").
"""

# No ``from __future__ import annotations`` here: django-ninja reads the annotations at import.

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Field, Path, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from openiop.api.auth import api_guard
from openiop.api.routes_medications import unprocessable
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.measures import services_placement as services
from openiop.measures.models import PlacementAssessment
from openiop.measures.placement import Tier
from openiop.patients.access import get_patient_for_user, sites_for
from openiop.programs.models import Program

router = Router(tags=["placement"])

MAX_ID = 2**63 - 1
ERRORS = {401: Detail, 403: Detail, 404: Detail, 409: Detail, 422: ValidationErrors}


class CriterionIn(Schema):
    answer: str = Field(..., description="yes, no or unknown")
    note: str = ""


class RatingIn(Schema):
    rating: Any = Field(..., description="Risk rating 0 (none) to 4 (severe)")
    rationale: str = Field("", description="Required for a rating of 2 or more")


class PlacementIn(Schema):
    kind: str | None = Field(
        None, description="intake or reassessment; default: intake for the first of the episode"
    )
    edition: Any = Field(..., description="ASAM edition: 3 (2013) or 4 (2023)")
    criteria: dict[str, CriterionIn] | list[CriterionIn] = Field(
        default_factory=dict,
        description='{"1": {"answer": "yes", "note": ""}, …} or a list of six in order;'
        " a criterion left out is unknown",
    )
    ratings: dict[str, RatingIn] | list[RatingIn] = Field(
        ..., description='{"1": {"rating": 2, "rationale": "…"}, …} or a list of six in order'
    )
    contraindications: list[str] = Field(
        default_factory=list,
        description="medical_withdrawal, imminent_danger, unsafe_home, failed_iop",
    )
    assessed_on: date | None = None
    provided_level: str | None = Field(None, description="Record the decision in the same call")
    reason: str = ""


class DecisionIn(Schema):
    provided_level: str
    reason: str = ""
    version: int


class FiredRuleOut(Schema):
    rule_id: str
    description: str
    level: str
    evidence: list[str]


class PlacementOut(Schema):
    id: int
    patient_id: int
    kind: str
    edition: int
    assessed_on: date
    assessed_by: str
    created_at: datetime
    episode_id: int | None
    enrollment_id: int | None
    program_id: int | None
    rule_table_version: int | None
    criteria: dict[str, Any]
    ratings: dict[str, Any]
    contraindications: list[str]
    indicated_level: str
    indicated_tier: str
    fired_rules: list[FiredRuleOut]
    deciding_rules: list[str]
    notes: list[str]
    provided_level: str
    reason: str
    decided_by: str
    decided_at: datetime | None
    version: int


class ConditionOut(Schema):
    kind: str
    text: str
    dimension: int | None = None
    count: int | None = None
    at_least: int | None = None
    criterion: int | None = None
    answer: str | None = None
    code: str | None = None


class RuleOut(Schema):
    id: str
    description: str
    level: str
    editions: list[int]
    conditions: list[ConditionOut]


class RuleTableOut(Schema):
    program_id: int
    version: int | None = Field(..., description="null: the OpenIOP defaults apply")
    is_default: bool
    note: str
    created_at: datetime | None
    rules: list[RuleOut]


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _out(placement: PlacementAssessment) -> dict[str, Any]:
    return {
        "id": placement.pk,
        "patient_id": placement.patient_id,
        "kind": placement.kind,
        "edition": placement.edition,
        "assessed_on": placement.assessed_on,
        "assessed_by": placement.assessed_by.signature_name,
        "created_at": placement.created_at,
        "episode_id": placement.episode_id,
        "enrollment_id": placement.enrollment_id,
        "program_id": placement.program_id,
        "rule_table_version": placement.rule_table.version if placement.rule_table else None,
        "criteria": placement.criteria,
        "ratings": placement.ratings,
        "contraindications": placement.contraindications,
        "indicated_level": placement.indicated_level,
        "indicated_tier": placement.indicated_tier,
        "fired_rules": placement.fired_rules,
        "deciding_rules": placement.deciding_rules,
        "notes": placement.notes,
        "provided_level": placement.provided_level,
        "reason": placement.provided_reason,
        "decided_by": placement.decided_by.signature_name if placement.decided_by else "",
        "decided_at": placement.decided_at,
        "version": placement.version,
    }


def _placements() -> Any:
    return PlacementAssessment.objects.select_related("assessed_by", "decided_by", "rule_table")


def _numbered(items: Any) -> dict[Any, Any]:
    """The payload's criteria/ratings as {number: (a, b)}; a list counts from 1."""
    if isinstance(items, list):
        return {str(i): row for i, row in enumerate(items, start=1)}
    return dict(items)


def _visible(request: HttpRequest, placement_id: int, permission: str, action: Action) -> Any:
    found = (
        PlacementAssessment.objects.filter(pk=placement_id)
        .values_list("patient_id", flat=True)
        .first()
    )
    if found is None:
        record_event(
            request=request,
            actor=_user(request),
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type="placement_assessment",
            object_id=placement_id,
            detail=f"no visible placement #{placement_id} for {permission}",
        )
        raise Http404("No such placement.")
    patient = get_patient_for_user(
        request,
        found,
        permission=permission,
        action=action,
        object_type="placement_assessment",
        detail=f"placement #{placement_id} via API",
    )
    return patient, _placements().get(pk=placement_id)


@router.post(
    "/patients/{patient_id}/placements",
    response={201: PlacementOut, **ERRORS},
    summary="Record a placement assessment and get the level its rule table indicates",
    description=(
        "The rule table is the one of the patient's active enrollment's program (else the"
        " site's first active IOP program, else the OpenIOP defaults). Ratings are never"
        " averaged: each rule is a floor and the most intensive fired floor decides."
        " `fired_rules` lists each rule that fired with its evidence; `deciding_rules` the"
        " ones that set the level. With `provided_level` the decision is recorded at once"
        " (a `reason` is required when it differs). 422 names the field, e.g. `ratings.3`."
    ),
    auth=api_guard("placement.assess"),
)
def post_placement(
    request: HttpRequest, payload: PlacementIn, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="placement.assess",
        action=Action.CREATE,
        object_type="placement_assessment",
        detail="placement recorded via API",
    )
    criteria = {key: (row.answer, row.note) for key, row in _numbered(payload.criteria).items()}
    ratings = {key: (row.rating, row.rationale) for key, row in _numbered(payload.ratings).items()}
    try:
        placement = services.record_placement(
            patient=patient,
            kind=payload.kind,
            edition=payload.edition,
            criteria=criteria,
            ratings=ratings,
            contraindications=payload.contraindications,
            assessed_on=payload.assessed_on,
            by=_user(request),
            provided_level=payload.provided_level,
            reason=payload.reason,
            request=request,
        )
    except ValidationError as exc:
        return unprocessable(exc)
    return Status(201, _out(_placements().get(pk=placement.pk)))


@router.post(
    "/placements/{placement_id}/decision",
    response={200: PlacementOut, **ERRORS},
    summary="Record the level of care provided for a placement (once)",
    description=(
        "`version` is the placement's version as read. A reason is required when the level"
        " provided differs from the level indicated (422 on `reason`). A placement already"
        " decided, or a stale version, answers 409."
    ),
    auth=api_guard("placement.assess"),
)
def post_decision(
    request: HttpRequest, payload: DecisionIn, placement_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    _, placement = _visible(request, placement_id, "placement.assess", Action.UPDATE)
    try:
        services.record_level_decision(
            assessment=placement,
            provided_level=payload.provided_level,
            reason=payload.reason,
            by=_user(request),
            expected_version=payload.version,
            request=request,
        )
    except ValidationError as exc:
        return unprocessable(exc)
    except services.PlacementConflict as exc:
        raise HttpError(409, exc.message) from None
    return Status(200, _out(_placements().get(pk=placement.pk)))


@router.get(
    "/patients/{patient_id}/placements",
    response={200: list[PlacementOut], 401: Detail, 403: Detail, 404: Detail},
    summary="A patient's placement assessments, newest first",
    auth=api_guard("placement.view"),
)
def list_placements(
    request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> list[dict[str, Any]]:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="placement.view",
        object_type="placement_assessment",
        detail="placement history via API",
    )
    rows = _placements().filter(patient=patient).order_by("-assessed_on", "-created_at", "-id")
    return [_out(p) for p in rows]


@router.get(
    "/placements/{placement_id}",
    response={200: PlacementOut, 401: Detail, 403: Detail, 404: Detail},
    summary="One placement assessment with its indication and decision",
    auth=api_guard("placement.view"),
)
def get_placement(request: HttpRequest, placement_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    _, placement = _visible(request, placement_id, "placement.view", Action.VIEW)
    return _out(placement)


@router.get(
    "/programs/{program_id}/placement-rules",
    response={200: RuleTableOut, 401: Detail, 403: Detail, 404: Detail},
    summary="A program's current placement rule table (the OpenIOP defaults when it has none)",
    auth=api_guard("placement.view"),
)
def get_rule_table(request: HttpRequest, program_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    program = Program.objects.filter(
        pk=program_id, site__in=sites_for(request, "placement.view")
    ).first()
    if program is None:
        raise Http404("No such program.")
    table, rules = services.current_rules(program)
    return {
        "program_id": program.pk,
        "version": table.version if table else None,
        "is_default": table is None,
        "note": table.note if table else "",
        "created_at": table.created_at if table else None,
        "rules": [
            {
                "id": rule.id,
                "description": rule.description,
                "level": Tier(rule.level).key,
                "editions": sorted(rule.editions),
                "conditions": [
                    {**condition.as_dict(), "text": condition.describe()}
                    for condition in rule.conditions
                ],
            }
            for rule in rules
        ],
    }
