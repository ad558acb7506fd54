"""The notes section of the patient chart."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.clinical.queries_notes import patient_notes
from openiop.patients.models import Patient

# The chart shows the latest notes; the full, paged list is one click away.
CHART_NOTES = 10


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """What the chart shows in this section, or None when the role may not see it.

    ``patient`` was reached (and the chart read audited) through the patient access helper;
    only this patient's notes are listed. Two queries whatever the number of notes.
    """
    if not role_may(current_role(request), "notes.view"):
        return None
    notes = list(patient_notes(patient)[: CHART_NOTES + 1])
    more = len(notes) > CHART_NOTES
    return {
        "notes": notes[:CHART_NOTES],
        "total": patient_notes(patient).count() if more else len(notes),
        "more": more,
        "list_url": reverse("patient-notes", args=[patient.pk]),
    }
