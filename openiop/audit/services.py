"""Writing the audit trail. Called by access helpers and services, never by guessing middleware."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from openiop.audit.models import Action, AuditEvent, Outcome
from openiop.lib.http import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import Site, User


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (some containers)
        return f"uid {os.getuid()}"


def build_event(
    *,
    action: Action | str,
    request: HttpRequest | None = None,
    actor: User | None = None,
    actor_username: str = "",
    site: Site | None = None,
    role: str | None = None,
    object_type: str = "",
    object_id: object = "",
    patient_id: int | None = None,
    outcome: Outcome | str = Outcome.SUCCESS,
    detail: str = "",
) -> AuditEvent:
    """One event, not yet saved. Who, where and from which client come from ``request``
    when given. Without a request or an actor the event comes from an operator command
    (``openiop adduser`` …); it is attributed to the operating-system account that ran it.
    """
    fields: dict[str, Any] = {}
    if request is None and actor is None and not actor_username:
        actor_username = f"command line ({_os_user()})"
    if request is not None:
        user = getattr(request, "user", None)
        if actor is None and user is not None and user.is_authenticated:
            actor = user
        if site is None:
            site = getattr(request, "site", None)
        if role is None:
            membership = getattr(request, "membership", None)
            role = membership.role if membership is not None else ""
        fields.update(
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:300],
            request_id=getattr(request, "request_id", ""),
        )
    return AuditEvent(
        occurred_at=timezone.now(),
        actor=actor,
        actor_username=(actor.get_username() if actor is not None else actor_username)[:150],
        role=role or "",
        site=site,
        action=str(action),
        object_type=object_type,
        object_id=str(object_id)[:64] if object_id not in (None, "") else "",
        patient_id=patient_id,
        outcome=str(outcome),
        detail=detail[:500],
        **fields,
    )


def record_event(
    *,
    action: Action | str,
    request: HttpRequest | None = None,
    actor: User | None = None,
    actor_username: str = "",
    site: Site | None = None,
    role: str | None = None,
    object_type: str = "",
    object_id: object = "",
    patient_id: int | None = None,
    outcome: Outcome | str = Outcome.SUCCESS,
    detail: str = "",
) -> AuditEvent:
    """Append one event (see ``build_event``)."""
    event = build_event(
        action=action,
        request=request,
        actor=actor,
        actor_username=actor_username,
        site=site,
        role=role,
        object_type=object_type,
        object_id=object_id,
        patient_id=patient_id,
        outcome=outcome,
        detail=detail,
    )
    event.save()
    return event


def record_events(events: Iterable[AuditEvent]) -> None:
    """Append many events built with ``build_event`` in one INSERT: one per patient of a
    group or a selection, without a query per patient."""
    AuditEvent.objects.bulk_create(list(events))
