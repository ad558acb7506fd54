from __future__ import annotations

from typing import Any

from openiop.clinical.models import TreatmentPlan
from tests.factories_clinical import make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program
from tests.matrix import MatrixContext, Route


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    """A patient of the target therapist, enrolled, without a plan."""
    patient = make_patient(ctx.site, first_name="Plan", last_name="Matrixcase")
    make_enrollment(patient, make_program(ctx.site), primary_therapist=ctx.target)
    return {"patient_id": patient.pk}


def _with_plan(ctx: MatrixContext, *, signed: bool) -> TreatmentPlan:
    patient = make_patient(ctx.site, first_name="Plan", last_name="Matrixcase")
    enrollment = make_enrollment(patient, make_program(ctx.site), primary_therapist=ctx.target)
    return make_plan(patient, enrollment, ctx.target, signed=signed)


def _signed(ctx: MatrixContext) -> dict[str, Any]:
    plan = _with_plan(ctx, signed=True)
    return {"patient_id": plan.patient_id, "plan_id": plan.pk}


def _draft(ctx: MatrixContext) -> dict[str, Any]:
    return {"patient_id": _with_plan(ctx, signed=False).patient_id}


def _draft_goal(ctx: MatrixContext) -> dict[str, Any]:
    plan = _with_plan(ctx, signed=False)
    return {"patient_id": plan.patient_id, "kind": "goal", "item_id": plan.goals.first().pk}


def _version(ctx: MatrixContext) -> dict[str, Any]:
    plan = TreatmentPlan.objects.filter(patient__site=ctx.site).latest("pk")
    return {"version": plan.version, "statement": "Matrix goal"}


def _rpp(ctx: MatrixContext) -> dict[str, Any]:
    return {"patient_id": _patient(ctx)["patient_id"], "number": 1}


ROUTES: dict[str, Route] = {
    "plan-detail": Route("get", kwargs=_patient),
    "plan-start": Route("post", kwargs=_patient),
    "plan-review": Route("post", kwargs=lambda ctx: {"patient_id": _signed(ctx)["patient_id"]}),
    "plan-draft": Route("get", kwargs=_draft),
    "plan-sign": Route("post", kwargs=_draft, data=_version),
    "plan-item-add": Route(
        "post", kwargs=lambda ctx: {**_draft(ctx), "kind": "problem"}, data=_version
    ),
    "plan-item-edit": Route("post", kwargs=_draft_goal, data=_version),
    "plan-item-remove": Route("post", kwargs=_draft_goal, data=_version),
    "plan-version": Route("get", kwargs=_signed),
    "plan-print": Route("get", kwargs=_signed),
    "plan-acknowledge": Route(
        "post", kwargs=_signed, data=lambda ctx: {"typed_name": "Plan Matrixcase"}
    ),
    "rpp-detail": Route("get", kwargs=_patient),
    "rpp-edit": Route(
        "post",
        kwargs=_patient,
        data=lambda ctx: {"based_on": 0, "triggers": "Payday"},
    ),
    "rpp-version": Route("get", kwargs=_rpp),
    "rpp-print": Route("get", kwargs=_rpp),
}
