from __future__ import annotations

from datetime import date
from typing import Any

from openiop.patients.models import Patient
from tests.matrix import MatrixContext, Route


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    patient = Patient.objects.create(
        site=ctx.site,
        mrn=f"MX{ctx.user.pk:06d}",
        first_name="Matrix",
        last_name="Placeholder",
        date_of_birth=date(1990, 1, 1),
    )
    return {"patient_id": patient.pk}


ROUTES: dict[str, Route] = {
    "patient-chart": Route("get", kwargs=_patient),
    "census": Route("get"),
    "at-risk": Route("get"),
}
