"""Raising, acknowledging and resolving alerts.

``raise_alert`` is idempotent: one alert per kind, evidence and assignee (the database's unique
constraint backs it, so two servers raising the same alert at once still leave one). Raising it
for several people costs the same few queries whatever their number. Acknowledging (seen) and
resolving (done, with what was done) are for the assignee, carry the alert's ``version`` and
refuse a stale one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict, NotPermitted

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import Site, User
    from openiop.patients.models import Patient

RESOLUTION_MAX_LENGTH = 2000


class AlertConflict(NoteConflict):
    """The alert changed meanwhile or is already resolved (HTTP 409)."""


@transaction.atomic
def raise_alert(
    *,
    site: Site,
    patient: Patient,
    kind: AlertKind | str,
    severity: Severity | str,
    title: str,
    detail: str = "",
    evidence_type: str,
    evidence_id: int,
    assignees: Iterable[User | None],
    due_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> list[Alert]:
    """Raise one alert per assignee (None and repeats are skipped) and return those created.

    An assignee who already has this alert (same kind and evidence, whatever its state) gets
    no second one: raising again changes nothing. Three queries at most.
    """
    people = {user.pk: user for user in assignees if user is not None}
    if not people:
        return []
    already = set(
        Alert.objects.filter(
            kind=kind,
            evidence_type=evidence_type,
            evidence_id=evidence_id,
            assignee_id__in=list(people),
        ).values_list("assignee_id", flat=True)
    )
    now = timezone.now()
    new = [
        Alert(
            site=site,
            patient=patient,
            kind=kind,
            severity=severity,
            title=title[:200],
            detail=detail,
            evidence_type=evidence_type,
            evidence_id=evidence_id,
            assignee=user,
            due_at=due_at,
            created_at=now,
        )
        for pk, user in sorted(people.items())
        if pk not in already
    ]
    if not new:
        return []
    # A concurrent raise may have won the race for some assignee: the constraint keeps one.
    Alert.objects.bulk_create(new, ignore_conflicts=True)
    record_event(
        request=request,
        site=site,
        action=Action.CREATE,
        object_type="alert",
        object_id=f"{evidence_type}:{evidence_id}",
        patient_id=patient.pk,
        detail=f"{kind} alert for "
        + ", ".join(user.get_username() for user in (a.assignee for a in new)),
    )
    return new


def _locked(alert: Alert, *, by: User, version: int) -> Alert:
    current = Alert.objects.select_for_update().filter(pk=alert.pk).first()
    if current is None:
        raise AlertConflict("This alert no longer exists.")
    if current.assignee_id != by.pk:
        raise NotPermitted("Only the person the alert is for can act on it.")
    if current.version != version:
        raise AlertConflict("This alert changed since the page was loaded. Reload it and retry.")
    if current.state == AlertState.RESOLVED:
        raise AlertConflict("This alert is already resolved.")
    return current


@transaction.atomic
def acknowledge_alert(
    alert: Alert, *, by: User, version: int, request: HttpRequest | None = None
) -> Alert:
    """Mark the alert as seen by its assignee. Acknowledging twice changes nothing."""
    current = _locked(alert, by=by, version=version)
    if current.state == AlertState.ACKNOWLEDGED:
        return current
    current.state = AlertState.ACKNOWLEDGED
    current.acknowledged_at = timezone.now()
    current.acknowledged_by = by
    current.version += 1
    current.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "version"])
    record_event(
        request=request,
        actor=by,
        site=current.site,
        action=Action.UPDATE,
        object_type="alert",
        object_id=current.pk,
        patient_id=current.patient_id,
        detail="acknowledged",
    )
    return current


@transaction.atomic
def resolve_alert(
    alert: Alert,
    *,
    by: User,
    version: int,
    resolution: str,
    request: HttpRequest | None = None,
) -> Alert:
    """Close the alert with what was done (required text)."""
    text = (resolution or "").strip()
    if not text:
        raise ValidationError({"resolution": "Say what was done, e.g. “Talked with the patient.”"})
    if len(text) > RESOLUTION_MAX_LENGTH:
        raise ValidationError({"resolution": f"At most {RESOLUTION_MAX_LENGTH:,} characters."})
    current = _locked(alert, by=by, version=version)
    now = timezone.now()
    if current.acknowledged_at is None:
        current.acknowledged_at = now
        current.acknowledged_by = by
    current.state = AlertState.RESOLVED
    current.resolved_at = now
    current.resolved_by = by
    current.resolution = text
    current.version += 1
    current.save(
        update_fields=[
            "state",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolution",
            "version",
        ]
    )
    record_event(
        request=request,
        actor=by,
        site=current.site,
        action=Action.UPDATE,
        object_type="alert",
        object_id=current.pk,
        patient_id=current.patient_id,
        detail="resolved",
    )
    return current
