"""Treatment plans and relapse-prevention plans over the API (read-only).

A plan's goal ids are what a note's ``goal_ids`` name (the golden thread); only the goals of
the patient's current (latest signed) version are accepted there. Patients and plans of sites
where the token's role does not read plans answer 404, like ones that do not exist.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the annotations at import.

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Path, Router, Schema
from ninja.responses import Status

from openiop.api.auth import api_guard
from openiop.api.schemas import Detail
from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.clinical.models import RelapsePreventionPlan, TreatmentPlan
from openiop.clinical.queries_plans import last_addressed_by_thread, plan_tree
from openiop.patients.access import get_patient_for_user

router = Router(tags=["plans"])

MAX_ID = 2**63 - 1


class PlanVersionOut(Schema):
    id: int
    patient_id: int
    enrollment_id: int
    number: int
    kind: str
    status: str
    previous_id: int | None
    author: str
    created_at: datetime
    signed_at: datetime | None
    signer_name: str
    content_sha256: str
    review_due_on: date | None
    acknowledged_at: datetime | None
    acknowledged_name: str


class ObjectiveOut(Schema):
    id: int
    statement: str
    target_date: date
    status: str


class InterventionOut(Schema):
    id: int
    modality: str
    frequency: str
    responsible_id: int
    responsible: str


class GoalOut(Schema):
    id: int
    thread: UUID
    statement: str
    last_addressed_at: datetime | None
    objectives: list[ObjectiveOut]
    interventions: list[InterventionOut]


class ProblemOut(Schema):
    id: int
    statement: str
    goals: list[GoalOut]


class PlanOut(PlanVersionOut):
    summary: str
    problems: list[ProblemOut]


class SupportOut(Schema):
    name: str
    phone: str
    relationship: str


class RelapsePreventionPlanOut(Schema):
    id: int
    patient_id: int
    number: int
    author: str
    created_at: datetime
    triggers: str
    warning_signs: str
    high_risk_situations: str
    coping_strategies: str
    craving_plan: str
    supports: list[SupportOut]
    emergency_steps: str


def _version(plan: TreatmentPlan) -> dict[str, Any]:
    acknowledgement = getattr(plan, "acknowledgement", None)
    return {
        "id": plan.pk,
        "patient_id": plan.patient_id,
        "enrollment_id": plan.enrollment_id,
        "number": plan.number,
        "kind": plan.kind,
        "status": plan.status,
        "previous_id": plan.previous_id,
        "author": plan.author.signature_name,
        "created_at": plan.created_at,
        "signed_at": plan.signed_at,
        "signer_name": plan.signer_name,
        "content_sha256": plan.content_sha256,
        "review_due_on": plan.review_due_on,
        "acknowledged_at": acknowledgement.acknowledged_at if acknowledgement else None,
        "acknowledged_name": acknowledgement.typed_name if acknowledgement else "",
    }


def _plans(patient_id: int) -> Any:
    return TreatmentPlan.objects.filter(patient_id=patient_id).select_related(
        "author", "acknowledgement"
    )


@router.get(
    "/patients/{patient_id}/treatment-plans",
    response={200: list[PlanVersionOut], 401: Detail, 403: Detail, 404: Detail},
    summary="A patient's treatment-plan versions, newest first",
    auth=api_guard("plans.view"),
)
def list_treatment_plans(
    request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> list[dict[str, Any]]:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="plans.view",
        object_type="treatment_plan",
        detail="treatment plan versions via API",
    )
    return [_version(plan) for plan in _plans(patient.pk).order_by("-number")]


@router.get(
    "/treatment-plans/{plan_id}",
    response={200: PlanOut, 401: Detail, 403: Detail, 404: Detail},
    summary="One treatment-plan version with its problems, goals, objectives, interventions",
    description=(
        "Goal ids of the current (latest signed) version are what notes name in `goal_ids`."
        " `thread` is shared by a goal's copies across versions; `last_addressed_at` is when a"
        " signed note last addressed the goal in any version."
    ),
    auth=api_guard("plans.view"),
)
def get_treatment_plan(
    request: HttpRequest, plan_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    patient_id = TreatmentPlan.objects.filter(pk=plan_id).values_list("patient_id", flat=True)
    found = patient_id.first()
    if found is None:
        record_event(
            request=request,
            actor=request.auth,  # type: ignore[attr-defined]
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type="treatment_plan",
            object_id=plan_id,
            detail=f"no visible treatment plan #{plan_id} for plans.view",
        )
        raise Http404("No such treatment plan.")
    patient = get_patient_for_user(
        request,
        found,
        permission="plans.view",
        object_type="treatment_plan",
        detail=f"treatment plan #{plan_id} via API",
    )
    plan = _plans(patient.pk).get(pk=plan_id)
    tree = plan_tree(plan)
    last = last_addressed_by_thread(
        patient, [goal.goal.thread for problem in tree for goal in problem.goals]
    )
    return {
        **_version(plan),
        "summary": plan.summary,
        "problems": [
            {
                "id": problem.problem.pk,
                "statement": problem.problem.statement,
                "goals": [
                    {
                        "id": goal.goal.pk,
                        "thread": goal.goal.thread,
                        "statement": goal.goal.statement,
                        "last_addressed_at": last.get(goal.goal.thread),
                        "objectives": [
                            {
                                "id": o.pk,
                                "statement": o.statement,
                                "target_date": o.target_date,
                                "status": o.status,
                            }
                            for o in goal.objectives
                        ],
                        "interventions": [
                            {
                                "id": i.pk,
                                "modality": i.modality,
                                "frequency": i.frequency,
                                "responsible_id": i.responsible_id,
                                "responsible": i.responsible.signature_name,
                            }
                            for i in goal.interventions
                        ],
                    }
                    for goal in problem.goals
                ],
            }
            for problem in tree
        ],
    }


@router.get(
    "/patients/{patient_id}/relapse-prevention-plan",
    response={200: RelapsePreventionPlanOut, 401: Detail, 403: Detail, 404: Detail},
    summary="A patient's latest relapse-prevention plan version",
    auth=api_guard("plans.view"),
)
def get_relapse_prevention_plan(
    request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="plans.view",
        object_type="relapse_prevention_plan",
        detail="relapse-prevention plan via API",
    )
    plan = (
        RelapsePreventionPlan.objects.filter(patient=patient)
        .select_related("author")
        .order_by("-number")
        .first()
    )
    if plan is None:
        return Status(404, {"detail": "This patient has no relapse-prevention plan yet."})
    return {
        "id": plan.pk,
        "patient_id": plan.patient_id,
        "number": plan.number,
        "author": plan.author.signature_name,
        "created_at": plan.created_at,
        "triggers": plan.triggers,
        "warning_signs": plan.warning_signs,
        "high_risk_situations": plan.high_risk_situations,
        "coping_strategies": plan.coping_strategies,
        "craving_plan": plan.craving_plan,
        "supports": plan.supports,
        "emergency_steps": plan.emergency_steps,
    }
