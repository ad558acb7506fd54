from __future__ import annotations

from typing import Any

from tests.factories_patients import make_patient
from tests.matrix import MatrixContext, Route


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    return {"patient_id": make_patient(ctx.site, first_name="Drew", last_name="Matrixcase").pk}


ROUTES: dict[str, Route] = {
    "document-issue": Route("get", kwargs=_patient),
    "document-attendance-letter": Route("get", kwargs=_patient),
    "disclosure-log": Route("get"),
    "disclosure-log-export": Route("get"),
}
