from __future__ import annotations

from typing import Any

from openiop.measures.models import PlacementAssessment
from tests.factories_patients import make_patient
from tests.factories_placement import make_placement
from tests.factories_programs import make_program
from tests.matrix import MatrixContext, Route


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    patient = make_patient(ctx.site, first_name="Place", last_name="Matrixcase")
    return {"patient_id": patient.pk}


def _placement(ctx: MatrixContext) -> dict[str, Any]:
    patient = make_patient(ctx.site, first_name="Place", last_name="Matrixcase")
    return {"placement_id": make_placement(patient, ctx.target).pk}


def _program(ctx: MatrixContext) -> dict[str, Any]:
    return {"program_id": make_program(ctx.site, name="Matrix IOP").pk}


def _assessment(ctx: MatrixContext) -> dict[str, Any]:
    data: dict[str, Any] = {"edition": "3", "kind": "intake", "assessed_on": "2026-01-05"}
    for n in range(1, 7):
        data[f"criterion_{n}"] = "yes"
        data[f"rating_{n}"] = "0"
    return data


def _decision(ctx: MatrixContext) -> dict[str, Any]:
    placement = PlacementAssessment.objects.filter(site=ctx.site).latest("pk")
    return {"provided_level": "1", "reason": "", "version": placement.version}


def _rules(ctx: MatrixContext) -> dict[str, Any]:
    return {"rules": "[]", "note": "", "version": 0}


ROUTES: dict[str, Route] = {
    "placement-new": Route("post", kwargs=_patient, data=_assessment),
    "patient-placements": Route("get", kwargs=_patient),
    "placement-detail": Route("get", kwargs=_placement),
    "placement-decide": Route("post", kwargs=_placement, data=_decision),
    "setup-placement-rules": Route("post", kwargs=_program, data=_rules),
    "setup-placement-rules-reset": Route("post", kwargs=_program, data=lambda ctx: {"version": 0}),
}
