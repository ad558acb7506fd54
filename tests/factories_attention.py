"""make_alert: an alert row as the services would leave it, without going through them."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from openiop.accounts.models import Site, User
from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.patients.models import Patient
from tests.factories_patients import make_patient


def make_alert(
    site: Site,
    assignee: User,
    patient: Patient | None = None,
    *,
    state: str = AlertState.OPEN,
    evidence_id: int = 1,
    **fields: Any,
) -> Alert:
    patient = patient or make_patient(site, first_name="Alex", last_name="Alerted")
    now = timezone.now()
    values: dict[str, Any] = {
        "kind": AlertKind.UNEXPECTED_SCREEN,
        "severity": Severity.HIGH,
        "title": "Unexpected drug-screen result",
        "detail": "Fentanyl positive, not explained by a prescription.",
        "evidence_type": "drug_screen",
        "created_at": now,
        "resolved_at": now if state == AlertState.RESOLVED else None,
    }
    values.update(fields)
    return Alert.objects.create(
        site=site,
        patient=patient,
        assignee=assignee,
        state=state,
        evidence_id=evidence_id,
        **values,
    )
