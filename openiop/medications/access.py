"""The door to a patient's medications: orders and doses given in clinic.

Medications are reached through their patient (``patients.access`` scopes by site, answers 404
for anything else and writes the audit event); an order is then looked up among that patient's
own orders only, so an order id of another patient is a 404 too, and audited as denied.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.medications.models import MedicationOrder
from openiop.patients.access import get_patient_for_user
from openiop.patients.models import Patient


def get_patient_for_medications(
    request: HttpRequest,
    patient_id: int | str,
    *,
    permission: str = "medications.view",
    action: Action = Action.VIEW,
    detail: str = "medications",
) -> Patient:
    """The patient if this request may see (or, by ``permission``, change) their medications,
    else Http404. The access is audited on the patient as ``object_type="medications"``."""
    return get_patient_for_user(
        request,
        patient_id,
        permission=permission,
        action=action,
        object_type="medications",
        detail=detail,
    )


def get_order_for_patient(
    request: HttpRequest, patient: Patient, order_id: int | str
) -> MedicationOrder:
    """One of ``patient``'s orders (reached through ``get_patient_for_medications``), else
    Http404 with a denied event naming the id asked for."""
    try:
        pk = int(order_id)
    except (TypeError, ValueError):
        pk = 0
    order = (
        MedicationOrder.objects.filter(pk=pk, patient=patient).select_related("site").first()
        if 0 < pk < 2**63
        else None
    )
    if order is None:
        record_event(
            request=request,
            site=patient.site,
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type="medication_order",
            object_id=str(order_id)[:64],
            patient_id=patient.pk,
            detail=f"no order #{str(order_id)[:20]} of patient #{patient.pk}",
        )
        raise Http404("No such order.")
    return order
