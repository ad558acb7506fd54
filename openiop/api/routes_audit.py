"""The audit trail over the API, for auditors' tools (SIEM feeds, periodic reviews).

Dates are UTC calendar days here, unlike the screen (which uses the site's time zone): a token
spans every site where its user is an auditor, and those sites may sit in different zones. For
exact instants use ``since``/``until`` with an explicit offset.
"""

# No ``from __future__ import annotations`` here: django-ninja builds its query model from the
# operation's annotations at import time and cannot resolve ``Query[...]`` given as a string.

from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from openiop.accounts.access import sites_with_permission
from openiop.api.auth import api_guard
from openiop.api.schemas import AuditEventFilters, AuditEventPage, Detail, ValidationErrors
from openiop.audit.queries import day_bounds, search_audit_events

router = Router(tags=["audit"])


def _latest(*moments: datetime | None) -> datetime | None:
    given = [m for m in moments if m is not None]
    return max(given) if given else None


def _earliest(*moments: datetime | None) -> datetime | None:
    given = [m for m in moments if m is not None]
    return min(given) if given else None


@router.get(
    "/audit-events",
    response={200: AuditEventPage, 401: Detail, 403: Detail, 422: ValidationErrors},
    summary="Audit events of the sites where the token's user is an auditor",
    auth=api_guard("audit.view"),
)
def list_audit_events(request: HttpRequest, filters: Query[AuditEventFilters]) -> dict[str, Any]:
    sites = sites_with_permission(request.auth, "audit.view")  # type: ignore[attr-defined]
    if filters.site_id is not None:
        # Another site's id narrows to nothing, exactly like a site that does not exist.
        sites = [site for site in sites if site.pk == filters.site_id]
    day_start, day_end = day_bounds(filters.date_from, filters.date_to, UTC)
    events = search_audit_events(
        sites=sites,
        occurred_from=_latest(day_start, filters.since),
        occurred_before=_earliest(day_end, filters.until),
        actor_id=filters.actor_id,
        username=filters.username or "",
        patient_id=filters.patient_id,
        action=filters.action or "",
        outcome=filters.outcome or "",
        sort=filters.sort,
    )
    count = events.count()
    end = filters.offset + filters.limit
    return {
        "count": count,
        "results": list(events[filters.offset : end]),
        "next_offset": end if end < count else None,
    }
