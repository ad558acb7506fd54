"""The documents section of the patient chart: the disclosure log and the issue buttons."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.clinical.disclosures import (
    CLINICAL_KINDS,
    DOCUMENT_LABELS,
    DOCUMENT_PERMISSIONS,
    patient_disclosures,
)
from openiop.clinical.models import DocumentKind
from openiop.clinical.views_documents import issue_url
from openiop.patients.models import Patient

SHOWN = 20


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """What the chart shows in this section, or None when the role may not see it.

    The patient's disclosures (for ``disclosures.view``, two queries) and a button per
    document this role may issue (``documents.attendance`` / ``documents.clinical``).
    """
    role = current_role(request)
    may_view = role_may(role, "disclosures.view")
    buttons = [
        {"kind": kind, "label": DOCUMENT_LABELS[kind], "url": issue_url(patient.pk, kind)}
        for kind in [DocumentKind.ATTENDANCE_LETTER, *CLINICAL_KINDS]
        if role_may(role, DOCUMENT_PERMISSIONS[kind])
    ]
    if not may_view and not buttons:
        return None
    result: dict[str, Any] = {"may_view": may_view, "buttons": buttons}
    if may_view:
        found = patient_disclosures(patient)
        rows = list(found[: SHOWN + 1])
        for row in rows:
            row.document_label = DOCUMENT_LABELS.get(row.document, row.document)  # type: ignore[attr-defined]
        result.update(
            disclosures=rows[:SHOWN],
            more=len(rows) > SHOWN,
            log_url=f"{reverse('disclosure-log')}?mrn={patient.mrn}",
            time_zone=patient.site.time_zone,
        )
    return result
