from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from openiop.accounts.access import requires
from openiop.accounts.models import Site
from openiop.accounts.roles import Role
from openiop.audit.forms import AuditFilterForm
from openiop.audit.models import Action, AuditEvent, Outcome
from openiop.audit.queries import DEFAULT_SORT, day_bounds, search_audit_events, site_time_zone
from openiop.audit.services import record_event

PAGE_SIZE = 50
EXPORT_CHUNK_SIZE = 2000

# (sort key, header label, the direction a first click sorts in)
COLUMNS: list[tuple[str, str, str]] = [
    ("time", "Time", "desc"),
    ("user", "User", "asc"),
    ("role", "Role", "asc"),
    ("action", "Action", "asc"),
    ("object", "Object", "asc"),
    ("patient", "Patient", "asc"),
    ("outcome", "Outcome", "asc"),
    ("ip", "IP address", "asc"),
]
ROLE_LABELS = dict(Role.choices)

EXPORT_COLUMNS: list[tuple[str, str]] = [
    ("id", "id"),
    ("occurred_at", "occurred_at_utc"),
    ("actor_id", "actor_id"),
    ("actor_username", "actor_username"),
    ("role", "role"),
    ("site_id", "site_id"),
    ("site__name", "site_name"),
    ("action", "action"),
    ("object_type", "object_type"),
    ("object_id", "object_id"),
    ("patient_id", "patient_id"),
    ("outcome", "outcome"),
    ("detail", "detail"),
    ("ip", "ip"),
    ("user_agent", "user_agent"),
    ("request_id", "request_id"),
]
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
# Usernames typed at a failed sign-in and user agents are chosen by whoever is outside.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    next_sort: str
    aria_sort: str | None


def _columns(current_sort: str) -> list[Column]:
    active = current_sort.removeprefix("-")
    descending = current_sort.startswith("-")
    columns = []
    for key, label, first in COLUMNS:
        if key == active:
            columns.append(
                Column(
                    key=key,
                    label=label,
                    next_sort=key if descending else f"-{key}",
                    aria_sort="descending" if descending else "ascending",
                )
            )
        else:
            next_sort = f"-{key}" if first == "desc" else key
            columns.append(Column(key=key, label=label, next_sort=next_sort, aria_sort=None))
    return columns


def _matching_events(form: AuditFilterForm, site: Site) -> QuerySet[AuditEvent]:
    data = form.cleaned_data
    # The screen speaks in the site's calendar days: "March 3" means March 3 at the clinic.
    start, end = day_bounds(data["date_from"], data["date_to"], site_time_zone(site))
    return search_audit_events(
        sites=[site],
        occurred_from=start,
        occurred_before=end,
        actor_id=data["user"],
        patient_id=data["patient"],
        action=data["action"],
        outcome=data["outcome"],
        sort=data["sort"],
    )


CHART_DAYS = 30
CHART_HEIGHT = 60


@dataclass(frozen=True)
class DayBar:
    day: date
    succeeded: int
    refused: int  # failures and denials: what an auditor looks for
    x: int
    ok_y: int
    ok_height: int
    bad_y: int
    bad_height: int


def daily_activity(events: QuerySet[AuditEvent], site: Site, last_day: date) -> list[DayBar]:
    """Events per day over the ``CHART_DAYS`` days ending ``last_day``, in one query.

    Days are the site's calendar days. Refused events (failed or denied) are stacked on top in
    red, so a burst of failed sign-ins or denied access stands out at a glance.
    """
    tz = site_time_zone(site)
    first_day = last_day - timedelta(days=CHART_DAYS - 1)
    start, end = day_bounds(first_day, last_day, tz)
    counts = (
        events.order_by()
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("day", "outcome")
        .annotate(n=Count("id"))
    )
    per_day: dict[date, list[int]] = {}
    for row in counts:
        bucket = per_day.setdefault(row["day"], [0, 0])
        bucket[0 if row["outcome"] == Outcome.SUCCESS else 1] += row["n"]
    peak = max((ok + bad for ok, bad in per_day.values()), default=0)
    bars = []
    for offset in range(CHART_DAYS):
        day = first_day + timedelta(days=offset)
        ok, bad = per_day.get(day, [0, 0])
        ok_h = round(ok * CHART_HEIGHT / peak) if peak else 0
        bad_h = round(bad * CHART_HEIGHT / peak) if peak else 0
        bars.append(
            DayBar(
                day=day,
                succeeded=ok,
                refused=bad,
                x=offset * 10,
                ok_y=CHART_HEIGHT - ok_h,
                ok_height=ok_h,
                bad_y=CHART_HEIGHT - ok_h - bad_h,
                bad_height=bad_h,
            )
        )
    return bars


def _render_list(request: HttpRequest, form: AuditFilterForm) -> HttpResponse:
    site: Site = request.site  # type: ignore[attr-defined]
    context: dict[str, Any] = {"form": form, "time_zone": site.time_zone, "total": None}
    if not form.is_valid():
        return render(request, "audit/event_list.html", context, status=400)

    sort = form.cleaned_data["sort"]
    events = _matching_events(form, site).select_related("actor")
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for event in rows:
        event.role_label = ROLE_LABELS.get(event.role, event.role)  # type: ignore[attr-defined]
    last_day = form.cleaned_data["date_to"] or timezone.localdate(timezone=site_time_zone(site))
    chart = daily_activity(events, site, last_day) if rows else []
    context.update(
        chart=chart,
        chart_peak=max((bar.succeeded + bar.refused for bar in chart), default=0),
        chart_height=CHART_HEIGHT,
        chart_width=CHART_DAYS * 10,
        page=page,
        total=page.paginator.count,
        rows=rows,
        columns=_columns(sort),
        sort=sort,
        default_sort=DEFAULT_SORT,
        filtered=bool(form.applied()),
    )
    return render(request, "audit/event_list.html", context)


@never_cache
@require_GET
@requires("audit.view")
def audit_list_view(request: HttpRequest) -> HttpResponse:
    # Always bound: the first visit (no query string) is a valid search for everything.
    form = AuditFilterForm(request.GET, site=request.site)  # type: ignore[attr-defined]
    return _render_list(request, form)


class _Echo:
    """csv.writer wants a file; this one hands each line back for streaming."""

    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The header and one CSV line per event, read from the database in chunks."""
    writer = csv.writer(_Echo())
    yield writer.writerow([header for _, header in EXPORT_COLUMNS])
    values: Iterable[tuple[object, ...]] = events.values_list(
        *(field for field, _ in EXPORT_COLUMNS)
    ).iterator(chunk_size=EXPORT_CHUNK_SIZE)
    for row in values:
        yield writer.writerow([_cell(value) for value in row])


@never_cache
@require_GET
@requires("audit.export")
def audit_export_view(request: HttpRequest) -> HttpResponse:
    site: Site = request.site  # type: ignore[attr-defined]
    form = AuditFilterForm(request.GET, site=site)
    if not form.is_valid():
        return _render_list(request, form)

    # Freeze the export at one instant, so that the row count written to the trail is the
    # number of rows streamed, and the export's own event is not part of it.
    as_of = timezone.now()
    events = _matching_events(form, site).filter(occurred_at__lte=as_of)
    count = events.count()
    filters = "; ".join(f"{name}={value}" for name, value in form.applied().items())
    sort = form.cleaned_data["sort"]
    export = record_event(
        request=request,
        action=Action.EXPORT,
        object_type="audit_event",
        detail=f"CSV, {count} row(s); filters: {filters or 'none'}; sort={sort}",
    )
    response = StreamingHttpResponse(
        csv_lines(events.exclude(pk=export.pk)), content_type="text/csv; charset=utf-8"
    )
    filename = f"audit-trail-site{site.pk}-{as_of.astimezone(UTC):%Y%m%dT%H%M%SZ}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
