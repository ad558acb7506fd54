from __future__ import annotations

from typing import Any

from openiop.measures.models import MeasureSchedule
from tests.factories_measures import PHQ9_MILD, enrolled, measure, schedule
from tests.factories_programs import make_program
from tests.matrix import MatrixContext, Route


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    patient, _ = enrolled(ctx.site, therapist=ctx.target, first_name="Mea", last_name="Matrixcase")
    return {"patient_id": patient.pk}


def _response(ctx: MatrixContext) -> dict[str, Any]:
    patient, _ = enrolled(ctx.site, therapist=ctx.target, first_name="Mea", last_name="Matrixcase")
    return {"measure_id": measure(patient, "PHQ-9", PHQ9_MILD, by=ctx.target).pk}


def _program(ctx: MatrixContext) -> dict[str, Any]:
    return {"program_id": make_program(ctx.site, name="Matrix IOP").pk}


def _schedule(ctx: MatrixContext) -> dict[str, Any]:
    program = make_program(ctx.site, name="Matrix IOP")
    return {"schedule_id": schedule(program, "PHQ-9", every_days=14).pk}


def _phq9(ctx: MatrixContext) -> dict[str, Any]:
    return {
        "instrument": "PHQ-9",
        "respondent": "staff",
        "taken_on": "2026-01-10",
        **{f"item_{n}": "1" for n in range(1, 10)},
    }


def _schedule_data(ctx: MatrixContext) -> dict[str, Any]:
    return {"instrument": "GAD-7", "at_intake": "on", "every_days": "28"}


def _edit_data(ctx: MatrixContext) -> dict[str, Any]:
    row = MeasureSchedule.objects.filter(program__site=ctx.site).latest("pk")
    return {f"s{row.pk}-instrument": "PHQ-9", f"s{row.pk}-every_days": "7"}


ROUTES: dict[str, Route] = {
    "measure-new": Route("post", kwargs=_patient, data=_phq9),
    "patient-measures": Route("get", kwargs=_patient),
    "measures-due": Route("get"),
    "measure-detail": Route("get", kwargs=_response),
    "measure-strike": Route("post", kwargs=_response, data=lambda ctx: {"reason": "matrix"}),
    "setup-measures": Route("get", kwargs=_program),
    "setup-measure-schedule-add": Route("post", kwargs=_program, data=_schedule_data),
    "setup-measure-schedule-edit": Route("post", kwargs=_schedule, data=_edit_data),
    "setup-measure-schedule-remove": Route("post", kwargs=_schedule),
}
