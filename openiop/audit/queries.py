"""Reading the audit trail: one filter-and-sort helper shared by the screen, the CSV and the API.

Scope: an auditor sees the events recorded at their sites, plus the events recorded at no site
(failed sign-ins, tokens created through the API, …) whose actor is a member of one of those
sites. Events of other sites never appear, whoever the actor is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.db.models import F, OrderBy, Q, QuerySet

from openiop.accounts.models import Membership, Site
from openiop.audit.models import AuditEvent

# Public sort keys (the screen's column names) and the model fields they order by. Every
# ordering ends on the primary key so that pages never skip or repeat rows with equal values.
SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "time": ("occurred_at",),
    "user": ("actor_username",),
    "role": ("role",),
    "action": ("action",),
    "object": ("object_type", "object_id"),
    "patient": ("patient_id",),
    "outcome": ("outcome",),
    "ip": ("ip",),
}
DEFAULT_SORT = "-time"
SORT_CHOICES: tuple[str, ...] = tuple(key for name in SORT_FIELDS for key in (name, f"-{name}"))


class UnknownSort(ValueError):
    """A sort key outside ``SORT_CHOICES``; the message lists the valid ones."""

    def __init__(self, sort: str) -> None:
        super().__init__(
            f"Unknown sort {sort!r}; use one of {', '.join(SORT_CHOICES)} "
            "(a leading '-' sorts descending)."
        )


def check_sort(sort: str) -> str:
    if sort not in SORT_CHOICES:
        raise UnknownSort(sort)
    return sort


def day_bounds(
    date_from: date | None, date_to: date | None, tz: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """Turn an inclusive range of calendar days in ``tz`` into ``[start, end)`` instants.

    ``date_to`` is inclusive: the end is midnight starting the next day, so a day that is 23 or
    25 hours long (daylight saving) is covered exactly.
    """
    start = datetime.combine(date_from, time.min, tzinfo=tz) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz) if date_to else None
    return start, end


def site_time_zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.time_zone)


def events_in_scope(sites: Iterable[Site]) -> QuerySet[AuditEvent]:
    """Every event an auditor of ``sites`` may read (see the module docstring)."""
    site_ids = [site.pk for site in sites]
    members = Membership.objects.filter(site_id__in=site_ids).values("user_id")
    return AuditEvent.objects.filter(
        Q(site_id__in=site_ids) | Q(site__isnull=True, actor_id__in=members)
    )


def search_audit_events(
    *,
    sites: Iterable[Site],
    occurred_from: datetime | None = None,
    occurred_before: datetime | None = None,
    actor_id: int | None = None,
    username: str = "",
    patient_id: int | None = None,
    action: str = "",
    outcome: str = "",
    sort: str = DEFAULT_SORT,
) -> QuerySet[AuditEvent]:
    """The events of ``sites`` matching every given filter, sorted by ``sort``.

    ``occurred_from`` is inclusive and ``occurred_before`` exclusive (aware datetimes; use
    ``day_bounds`` for calendar days). ``username`` matches the name recorded on the event,
    case-insensitively, so it also finds failed sign-ins. Raises ``UnknownSort``.
    """
    check_sort(sort)
    descending = sort.startswith("-")
    fields = SORT_FIELDS[sort.removeprefix("-")]

    events = events_in_scope(sites)
    if occurred_from is not None:
        events = events.filter(occurred_at__gte=occurred_from)
    if occurred_before is not None:
        events = events.filter(occurred_at__lt=occurred_before)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if username:
        events = events.filter(actor_username__iexact=username)
    if patient_id is not None:
        events = events.filter(patient_id=patient_id)
    if action:
        events = events.filter(action=action)
    if outcome:
        events = events.filter(outcome=outcome)

    # Empty values (no patient, no IP) go last either way; SQLite and PostgreSQL disagree on
    # where NULLs sort by default, and the screen must look the same on both.
    ordering: list[OrderBy] = [
        F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        for name in fields
    ]
    if fields == ("occurred_at",):
        ordering.append(F("id").desc() if descending else F("id").asc())
    else:
        # Within one user, patient, action…, the newest first: how an auditor reads a story.
        ordering += [F("occurred_at").desc(), F("id").desc()]
    return events.order_by(*ordering)
