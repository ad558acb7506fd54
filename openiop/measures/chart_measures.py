"""The questionnaires section of the patient chart: what is due now (with an Administer
button) and the last responses. Four queries: the three of the due list and the responses."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.lib.dates import local_today
from openiop.measures.due import due_for_patient
from openiop.measures.models import MeasureResponse
from openiop.patients.models import Patient

RECENT = 10


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """None when the role may not see questionnaire results."""
    role = current_role(request)
    if not role_may(role, "measures.view"):
        return None
    today = local_today(patient.site.time_zone)
    recent = list(
        MeasureResponse.objects.filter(patient=patient)
        .select_related("strike")
        .only(
            "pk",
            "instrument",
            "taken_on",
            "score",
            "band",
            "subscales",
            "has_safety_flag",
            "strike__id",
        )[:RECENT]
    )
    return {
        "due": due_for_patient(patient, today),
        "recent": recent,
        "may_record": role_may(role, "measures.record"),
        "patient_id": patient.pk,
    }
