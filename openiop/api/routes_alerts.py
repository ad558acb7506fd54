"""Alerts over the API: the attention list of the token's user (or of someone else, for
``alerts.site``), acknowledge and resolve.

An alert is visible to its assignee at a site where their role holds ``alerts.view``, and to
anyone whose role holds ``alerts.site`` at its site; any other answers 404, like one that does
not exist. Each list call writes one audit event naming the patients it returned.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the annotations at import.

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Path, Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from openiop.accounts.access import sites_with_permission
from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.alerts.services import ACTIVE_STATES, acknowledge_alert, resolve_alert
from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.measures.attention import evidence_link, ordered_by_urgency

router = Router(tags=["alerts"])

MAX_ID = 2**63 - 1
ERRORS = {401: Detail, 403: Detail, 404: Detail, 409: Detail, 422: ValidationErrors}

StateName = Literal["open", "acknowledged", "resolved", "active"]
KindName = Literal[tuple(AlertKind.values)]  # type: ignore[valid-type]
SeverityName = Literal[tuple(Severity.values)]  # type: ignore[valid-type]


class AlertFilters(Schema):
    assignee: str = Field(
        "me",
        pattern=r"^(me|all|[1-9][0-9]{0,18})$",
        description="`me` (default), a user id, or `all`; others' alerts need `alerts.site`"
        " at their site.",
    )
    state: StateName = Field(
        "active", description="`active` (open and acknowledged, default), or one state."
    )
    patient_id: int | None = Field(None, ge=1, le=MAX_ID)
    kind: KindName | None = None  # type: ignore[valid-type]
    severity: SeverityName | None = None  # type: ignore[valid-type]
    limit: int = Field(200, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class EvidenceOut(Schema):
    type: str
    id: int
    url: str | None = Field(description="The page of the record behind the alert, if any.")


class AssigneeOut(Schema):
    id: int
    username: str


class AlertOut(Schema):
    id: int
    patient_id: int
    site_id: int
    kind: str
    severity: str
    title: str
    detail: str
    evidence: EvidenceOut
    assignee: AssigneeOut
    state: str
    due_at: datetime | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledgement: str
    resolved_at: datetime | None
    resolution: str
    version: int


class AcknowledgeIn(Schema):
    version: int | None = Field(
        None, ge=1, description="The version you saw; a stale one answers 409."
    )
    action: str = Field(
        "", max_length=2000, description="What was done; required for safety alerts."
    )


class ResolveIn(Schema):
    resolution: str = Field(..., max_length=2000, description="What was done (required).")
    version: int | None = Field(None, ge=1)


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _visible(request: HttpRequest) -> QuerySet[Alert]:
    """Alerts the token's user may see: theirs where they hold ``alerts.view``, anyone's
    where they hold ``alerts.site``."""
    user = _user(request)
    own_sites = [site.pk for site in sites_with_permission(user, "alerts.view")]
    all_sites = [site.pk for site in sites_with_permission(user, "alerts.site")]
    return Alert.objects.filter(Q(site_id__in=own_sites, assignee=user) | Q(site_id__in=all_sites))


def _out(alert: Alert) -> dict[str, Any]:
    url, _ = evidence_link(alert)
    return {
        "id": alert.pk,
        "patient_id": alert.patient_id,
        "site_id": alert.site_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "title": alert.title,
        "detail": alert.detail,
        "evidence": {"type": alert.evidence_type, "id": alert.evidence_id, "url": url},
        "assignee": {"id": alert.assignee_id, "username": alert.assignee.get_username()},
        "state": alert.state,
        "due_at": alert.due_at,
        "created_at": alert.created_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledgement": alert.acknowledgement,
        "resolved_at": alert.resolved_at,
        "resolution": alert.resolution,
        "version": alert.version,
    }


@router.get(
    "/alerts",
    response={200: list[AlertOut], **ERRORS},
    summary="Alerts of the attention list, most urgent first",
    description=(
        "Defaults to your own open and acknowledged alerts (`assignee=me`, `state=active`)."
        " Active alerts come high severity first, then by due time, then oldest first;"
        " resolved ones newest first. Another person's alerts, or `assignee=all`, need"
        " `alerts.site` and cover only the sites where you hold it."
    ),
    auth=api_guard("alerts.view"),
)
def list_alerts(request: HttpRequest, filters: Query[AlertFilters]) -> Any:
    user = _user(request)
    if filters.assignee in ("me", str(user.pk)):
        sites = [site.pk for site in sites_with_permission(user, "alerts.view")]
        alerts = Alert.objects.filter(site_id__in=sites, assignee=user)
    else:
        sites = [site.pk for site in sites_with_permission(user, "alerts.site")]
        if not sites:
            return Status(
                403, {"detail": "Other people's alerts need alerts.site (site directors)."}
            )
        alerts = Alert.objects.filter(site_id__in=sites)
        if filters.assignee != "all":
            alerts = alerts.filter(assignee_id=int(filters.assignee))
    if filters.state == "active":
        alerts = alerts.filter(state__in=ACTIVE_STATES)
    else:
        alerts = alerts.filter(state=filters.state)
    if filters.patient_id is not None:
        alerts = alerts.filter(patient_id=filters.patient_id)
    if filters.kind:
        alerts = alerts.filter(kind=filters.kind)
    if filters.severity:
        alerts = alerts.filter(severity=filters.severity)
    if filters.state == AlertState.RESOLVED:
        alerts = alerts.order_by("-resolved_at", "-id")
    else:
        alerts = ordered_by_urgency(alerts)
    end = filters.offset + filters.limit
    rows = list(alerts.select_related("assignee")[filters.offset : end])
    shown = sorted({alert.patient_id for alert in rows})
    record_event(
        request=request,
        actor=user,
        action=Action.VIEW,
        object_type="alert_list",
        detail=(
            f"assignee={filters.assignee} state={filters.state} via API: "
            + (f"patients {','.join(map(str, shown))}" if shown else "none")
        )[:1000],
    )
    return [_out(alert) for alert in rows]


def _alert_for(request: HttpRequest, alert_id: int) -> Alert:
    alert = _visible(request).select_related("site", "patient").filter(pk=alert_id).first()
    if alert is None:
        record_event(
            request=request,
            actor=_user(request),
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type="alert",
            object_id=alert_id,
            detail=f"no visible alert #{alert_id} via API",
        )
        raise Http404("No such alert.")
    return alert


def _act(request: HttpRequest, alert_id: int, call: Any, field: str) -> Any:
    alert = _alert_for(request, alert_id)
    try:
        done = call(alert)
    except ValidationError as exc:
        problems = exc.message_dict if hasattr(exc, "error_dict") else {field: exc.messages}
        return Status(
            422,
            {
                "detail": [
                    {
                        "field": f"payload.{name}",
                        "message": " ".join(messages),
                        "type": "value_error",
                    }
                    for name, messages in problems.items()
                ]
            },
        )
    except NotPermitted as exc:
        return Status(403, {"detail": exc.message})
    except NoteConflict as exc:
        raise HttpError(409, exc.message) from None
    return _out(done)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response={200: AlertOut, **ERRORS},
    summary="Acknowledge an alert, saying what was done",
    description=(
        "`action` is required for safety alerts, and acknowledging one safety alert"
        " acknowledges its copies for the other people alerted. Without `version` the"
        " acknowledgement applies to the alert as it is; with it, a stale version answers 409."
        " Acknowledging twice changes nothing."
    ),
    auth=api_guard("alerts.view"),
)
def acknowledge(
    request: HttpRequest,
    alert_id: int = Path(..., ge=1, le=MAX_ID),
    payload: AcknowledgeIn | None = None,
) -> Any:
    payload = payload or AcknowledgeIn()
    return _act(
        request,
        alert_id,
        lambda alert: acknowledge_alert(
            alert,
            by=_user(request),
            version=payload.version,
            action=payload.action,
            request=request,
        ),
        "action",
    )


@router.post(
    "/alerts/{alert_id}/resolve",
    response={200: AlertOut, **ERRORS},
    summary="Resolve an alert with what was done",
    description=(
        "Safety alerts and level-review recommendations are resolved for everyone alerted."
    ),
    auth=api_guard("alerts.view"),
)
def resolve(
    request: HttpRequest, payload: ResolveIn, alert_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    return _act(
        request,
        alert_id,
        lambda alert: resolve_alert(
            alert,
            by=_user(request),
            version=payload.version,
            resolution=payload.resolution,
            request=request,
        ),
        "resolution",
    )
