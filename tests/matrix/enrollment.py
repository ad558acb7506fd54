from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from openiop.programs.models import Enrollment
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program, make_track
from tests.factories_scheduling import make_session
from tests.matrix import MatrixContext, Route


def _enrollment(ctx: MatrixContext) -> Enrollment:
    patient = make_patient(ctx.site, first_name="Matrix", last_name="Sample")
    program = make_program(ctx.site)
    return make_enrollment(
        patient, program, make_track(program), admitted_on=timezone.localdate(),
        primary_therapist=ctx.target,
    )  # fmt: skip


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    return {"patient_id": make_patient(ctx.site, first_name="Matrix", last_name="Sample").pk}


def _patient_enrollment(ctx: MatrixContext) -> dict[str, Any]:
    enrollment = _enrollment(ctx)
    return {"patient_id": enrollment.patient_id, "enrollment_id": enrollment.pk}


def _session(ctx: MatrixContext) -> dict[str, Any]:
    session = make_session(ctx.site, ctx.target, timezone.now() + timedelta(days=1), 90)
    return {"session_id": session.pk}


def _drop_in(ctx: MatrixContext) -> dict[str, Any]:
    return {"patient_id": _enrollment(ctx).patient_id}


ROUTES: dict[str, Route] = {
    "enrollment-admit": Route("get", kwargs=_patient),
    "enrollment-discharge": Route("get", kwargs=_patient_enrollment),
    "enrollment-transfer": Route("get", kwargs=_patient_enrollment),
    "individual-schedule": Route("get", kwargs=_patient_enrollment),
    "individual-book": Route("get", kwargs=_patient),
    "drop-in-book": Route("post", kwargs=_session, data=_drop_in),
}
