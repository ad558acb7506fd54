"""Raising, acknowledging and resolving alerts.

``raise_alert`` is idempotent: one alert per kind, evidence and assignee (the database's unique
constraint backs it, so two servers raising the same alert at once still leave one). Raising it
for several people costs the same few queries whatever their number. Acknowledging (seen) and
resolving (done, with what was done) are for the assignee or a director of the alert's site
(``alerts.site``), carry the alert's ``version`` and refuse a stale one.

A safety alert is raised for the primary therapist and the site director alike, and it stays
until *someone* acknowledges it with the action taken (issue 6 point 2): acting on one copy
acts on every copy of the same kind and evidence. Resolving a level-review recommendation
closes every copy too. ``resolve_cleared`` is the system's own resolution when the condition
behind an alert is gone (a note signed, a week met); it has no user.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from openiop.accounts.models import Membership
from openiop.accounts.policy import role_may
from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.audit.models import Action
from openiop.audit.services import build_event, record_event, record_events
from openiop.clinical.errors import NoteConflict, NotPermitted

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import Site, User
    from openiop.patients.models import Patient

RESOLUTION_MAX_LENGTH = 2000
ACKNOWLEDGEMENT_MAX_LENGTH = 2000
# Kinds whose copies (therapist's, directors') are one alert to the clinic: acting on one acts
# on all. Acknowledging shares only for safety: "seen" by one person says nothing about
# another's review recommendation, but a safety alert is met once someone has acted on it.
SHARED_ACKNOWLEDGEMENT = frozenset({AlertKind.SAFETY})
SHARED_RESOLUTION = frozenset({AlertKind.SAFETY, AlertKind.REVIEW_RECOMMENDED})
ACTIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


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


def may_act_on(alert: Alert, user: User) -> bool:
    """The assignee, or someone whose role at the alert's site holds ``alerts.site``."""
    if alert.assignee_id == user.pk:
        return True
    role = (
        Membership.objects.filter(user=user, site_id=alert.site_id)
        .values_list("role", flat=True)
        .first()
    )
    return role_may(role, "alerts.site")


def _locked(alert: Alert, *, by: User, version: int | None) -> Alert:
    current = Alert.objects.select_for_update().filter(pk=alert.pk).first()
    if current is None:
        raise AlertConflict("This alert no longer exists.")
    if not may_act_on(current, by):
        raise NotPermitted(
            "Only the person the alert is for, or a director of the site, can act on it."
        )
    if version is not None and current.version != version:
        raise AlertConflict("This alert changed since the page was loaded. Reload it and retry.")
    if current.state == AlertState.RESOLVED:
        raise AlertConflict("This alert is already resolved.")
    return current


def _siblings(current: Alert) -> QuerySet[Alert]:
    """The other active copies of ``current`` (same kind and evidence, other assignees)."""
    return Alert.objects.filter(
        kind=current.kind,
        evidence_type=current.evidence_type,
        evidence_id=current.evidence_id,
        state__in=ACTIVE_STATES,
    ).exclude(pk=current.pk)


def _clean_text(value: str, *, field: str, required: str | None, limit: int) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: required})
    if len(text) > limit:
        raise ValidationError({field: f"At most {limit:,} characters."})
    return text


def _audit_siblings(
    ids: list[int], current: Alert, *, by: User, detail: str, request: HttpRequest | None
) -> None:
    record_events(
        build_event(
            request=request,
            actor=by,
            site=current.site,
            action=Action.UPDATE,
            object_type="alert",
            object_id=pk,
            patient_id=current.patient_id,
            detail=detail,
        )
        for pk in ids
    )


@transaction.atomic
def acknowledge_alert(
    alert: Alert,
    *,
    by: User,
    version: int | None,
    action: str = "",
    request: HttpRequest | None = None,
) -> Alert:
    """Mark the alert as seen, with what was done (``action``; required for safety alerts).

    Acknowledging twice changes nothing. A safety alert's other copies are acknowledged with
    it, with the same action. ``version`` None skips the staleness check (API callers that do
    not send one).
    """
    is_safety = alert.kind == AlertKind.SAFETY
    text = _clean_text(
        action,
        field="action",
        required="Say what was done: e.g. “Safety plan reviewed with the patient; crisis line "
        "given.”"
        if is_safety
        else None,
        limit=ACKNOWLEDGEMENT_MAX_LENGTH,
    )
    current = _locked(alert, by=by, version=version)
    if current.state == AlertState.ACKNOWLEDGED:
        return current
    now = timezone.now()
    current.state = AlertState.ACKNOWLEDGED
    current.acknowledged_at = now
    current.acknowledged_by = by
    current.acknowledgement = text
    current.version += 1
    current.save(
        update_fields=["state", "acknowledged_at", "acknowledged_by", "acknowledgement", "version"]
    )
    detail = f"acknowledged: {text}"[:1000] if text else "acknowledged"
    record_event(
        request=request,
        actor=by,
        site=current.site,
        action=Action.UPDATE,
        object_type="alert",
        object_id=current.pk,
        patient_id=current.patient_id,
        detail=detail,
    )
    if current.kind in SHARED_ACKNOWLEDGEMENT:
        siblings = _siblings(current).filter(state=AlertState.OPEN)
        ids = list(siblings.select_for_update().values_list("pk", flat=True))
        if ids:
            Alert.objects.filter(pk__in=ids).update(
                state=AlertState.ACKNOWLEDGED,
                acknowledged_at=now,
                acknowledged_by=by,
                acknowledgement=text,
                version=F("version") + 1,
            )
            _audit_siblings(
                ids,
                current,
                by=by,
                detail=f"{detail} (on alert {current.pk})"[:1000],
                request=request,
            )
    return current


@transaction.atomic
def resolve_alert(
    alert: Alert,
    *,
    by: User,
    version: int | None,
    resolution: str,
    request: HttpRequest | None = None,
) -> Alert:
    """Close the alert with what was done (required text). Safety alerts and level-review
    recommendations close on every copy."""
    text = _clean_text(
        resolution,
        field="resolution",
        required="Say what was done, e.g. “Talked with the patient.”",
        limit=RESOLUTION_MAX_LENGTH,
    )
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
        detail=f"resolved: {text}"[:1000],
    )
    if current.kind in SHARED_RESOLUTION:
        siblings = _siblings(current)
        ids = list(siblings.select_for_update().values_list("pk", flat=True))
        if ids:
            _close(ids, now=now, by=by, resolution=text)
            _audit_siblings(
                ids,
                current,
                by=by,
                detail=f"resolved: {text} (on alert {current.pk})"[:1000],
                request=request,
            )
    return current


def _close(ids: Collection[int], *, now: datetime, by: User | None, resolution: str) -> None:
    # Two statements so a copy nobody had seen gets its acknowledgement time too.
    Alert.objects.filter(pk__in=ids, acknowledged_at__isnull=True).update(acknowledged_at=now)
    Alert.objects.filter(pk__in=ids).update(
        state=AlertState.RESOLVED,
        resolved_at=now,
        resolved_by=by,
        resolution=resolution,
        version=F("version") + 1,
    )


@transaction.atomic
def resolve_cleared(
    alerts: QuerySet[Alert] | Iterable[int],
    *,
    resolution: str,
    request: HttpRequest | None = None,
) -> int:
    """Resolve, as the system (no user), the active alerts among ``alerts`` whose condition
    has cleared, e.g. ``resolution="Cleared: note signed"``. Returns how many were resolved.

    Four queries whatever the number: lock and read, two updates, one audit batch.
    """
    text = resolution.strip()[:RESOLUTION_MAX_LENGTH]
    if not text:
        raise ValueError("resolve_cleared needs a resolution text")
    if isinstance(alerts, QuerySet):
        scope = alerts.filter(state__in=ACTIVE_STATES)
    else:
        scope = Alert.objects.filter(pk__in=list(alerts), state__in=ACTIVE_STATES)
    rows = list(scope.select_for_update().order_by("pk").values_list("pk", "site_id", "patient_id"))
    if not rows:
        return 0
    _close([pk for pk, _, _ in rows], now=timezone.now(), by=None, resolution=text)
    events = []
    for pk, site_id, patient_id in rows:
        event = build_event(
            request=request,
            action=Action.UPDATE,
            object_type="alert",
            object_id=pk,
            patient_id=patient_id,
            detail=text,
        )
        event.site_id = site_id
        events.append(event)
    record_events(events)
    return len(rows)
