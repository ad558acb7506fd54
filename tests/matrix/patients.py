from __future__ import annotations

from typing import Any

from tests.factories_patients import make_patient
from tests.matrix import MatrixContext, Route


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    return {"patient_id": make_patient(ctx.site, first_name="Matrix", last_name="Sample").pk}


def _registration(ctx: MatrixContext) -> dict[str, Any]:
    return {
        "first_name": "Matrix",
        "last_name": "Sample",
        "date_of_birth": "1990-01-01",
        "primary_language": "English",
    }


def _edit(ctx: MatrixContext) -> dict[str, Any]:
    return {**_registration(ctx), "version": 1, "city": "Sampletown"}


ROUTES: dict[str, Route] = {
    "patient-list": Route("get"),
    "patient-create": Route("post", data=_registration),
    # The edit posts to the patient created by kwargs (version 1 is what it was read at).
    "patient-edit": Route("post", kwargs=_patient, data=_edit),
    "patient-deactivate": Route("post", kwargs=_patient),
    "patient-reactivate": Route("post", kwargs=_patient),
}
