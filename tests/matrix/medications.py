from __future__ import annotations

from datetime import timedelta
from typing import Any

from openiop.lib.dates import local_today
from openiop.medications.models import MedicationOrder
from tests.factories_medications import make_order
from tests.factories_patients import make_patient
from tests.matrix import MatrixContext, Route


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    patient = make_patient(ctx.site, first_name="Med", last_name="Matrixcase")
    return {"patient_id": patient.pk}


def _with_order(ctx: MatrixContext) -> dict[str, Any]:
    patient = make_patient(ctx.site, first_name="Med", last_name="Matrixcase")
    today = local_today(ctx.site.time_zone)
    order = make_order(
        patient, "vivitrol", by=ctx.user, started_on=today - timedelta(days=40), dose="380"
    )
    return {"patient_id": patient.pk, "order_id": order.pk}


def _order(ctx: MatrixContext) -> dict[str, Any]:
    return {
        "medication": "sertraline",
        "dose": "50",
        "dose_unit": "mg",
        "frequency": "daily",
        "started_on": local_today(ctx.site.time_zone).isoformat(),
        "dispensing": "pharmacy",
        "external_prescriber": "Dr. Matrix Outside (fictional)",
    }


def _stop(ctx: MatrixContext) -> dict[str, Any]:
    order = MedicationOrder.objects.filter(site=ctx.site).latest("pk")
    return {"ended_on": local_today(ctx.site.time_zone).isoformat(), "version": order.version}


def _dose(ctx: MatrixContext) -> dict[str, Any]:
    order = MedicationOrder.objects.filter(site=ctx.site).latest("pk")
    prefix = f"dose-{order.pk}-"
    return {f"{prefix}injection_site": "gluteal_left", f"{prefix}lot": "MATRIX-1"}


ROUTES: dict[str, Route] = {
    "patient-medications": Route("get", kwargs=_patient),
    "medication-order": Route("post", kwargs=_patient, data=_order),
    "medication-stop": Route("post", kwargs=_with_order, data=_stop),
    "medication-administer": Route("post", kwargs=_with_order, data=_dose),
}
