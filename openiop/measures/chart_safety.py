"""The safety banner at the top of the patient chart (issue 6 point 2).

A safety alert is raised to several people at once (the primary therapist and the site's
directors), one row each, with the same evidence. The chart shows one banner per evidence —
what was answered, when, and who was alerted — until someone acknowledges it with the action
taken: as soon as any copy of it is acknowledged or resolved, the banner is gone for everyone.
One query, whatever the number of alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.access import current_role
from openiop.accounts.models import User
from openiop.accounts.policy import role_may
from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.patients.models import Patient

# The patient's safety alerts may be read by whoever reads questionnaire results or alerts.
READ_PERMISSIONS = ("measures.view", "alerts.view")


@dataclass(frozen=True)
class Banner:
    """One unacknowledged safety alert: its copies (one per person alerted) and the copy
    this user acts on (their own if they have one, else the earliest)."""

    alert: Alert
    copies: tuple[Alert, ...]

    @property
    def alerted(self) -> list[str]:
        return [copy.assignee.signature_name for copy in self.copies]

    @property
    def detail_lines(self) -> list[str]:
        return [line for line in self.alert.detail.splitlines() if line.strip()]

    @property
    def evidence_key(self) -> str:
        return f"{self.alert.evidence_type}-{self.alert.evidence_id}"


def unacknowledged_safety_alerts(patient: Patient) -> list[Alert]:
    """Open SAFETY alerts of ``patient`` whose evidence no copy has been acknowledged or
    resolved for, oldest first, with their assignees. One query."""
    handled = Alert.objects.filter(
        kind=AlertKind.SAFETY,
        patient_id=OuterRef("patient_id"),
        evidence_type=OuterRef("evidence_type"),
        evidence_id=OuterRef("evidence_id"),
    ).exclude(state=AlertState.OPEN)
    return list(
        Alert.objects.filter(patient=patient, kind=AlertKind.SAFETY, state=AlertState.OPEN)
        .exclude(Exists(handled))
        .select_related("assignee")
        .order_by("created_at", "pk")
    )


def banners(alerts: list[Alert], *, user: User | None) -> list[Banner]:
    """Group ``alerts`` by evidence, newest evidence first."""
    groups: dict[tuple[str, int], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.evidence_type, alert.evidence_id), []).append(alert)
    result = []
    for copies in groups.values():
        own = next((c for c in copies if user is not None and c.assignee_id == user.pk), None)
        result.append(Banner(alert=own or copies[0], copies=tuple(copies)))
    result.sort(key=lambda b: (b.copies[0].created_at, b.copies[0].pk), reverse=True)
    return result


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """The banners, or None when the role may read neither results nor alerts (or there is
    nothing to show)."""
    role = current_role(request)
    if not any(role_may(role, permission) for permission in READ_PERMISSIONS):
        return None
    user = request.user if request.user.is_authenticated else None
    found = banners(unacknowledged_safety_alerts(patient), user=user)  # type: ignore[arg-type]
    if not found:
        return None
    return {
        "patient": patient,
        "banners": found,
        "may_acknowledge": role_may(role, "alerts.view"),
        "next": reverse("patient-chart", args=[patient.pk]),
    }
