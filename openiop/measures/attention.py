"""The attention list: what each clinician (and the site) should look at, and the sweep that
keeps the time-based alerts on it current (issue 6 point 6).

Reads:

* ``alerts_for``: a site's alerts (of one assignee, or all), filtered, sorted high severity
  first, then by due time, then oldest first, with what a row shows in one query.
* ``counts_for``: active alerts per kind and the active and resolved totals, one query.
* ``nav_counts``: the navigation badge (my active alerts, how many high), one query.
* ``evidence_link``: where a row's evidence lives (screen, questionnaire, note, plan …); a page
  that does not exist falls back to the chart.

The sweep (``sweep_site``; ``openiop attention-sweep``) raises the alerts that come from the
passage of time rather than from one record being saved, and resolves them as the system once
their condition has cleared:

* hours at risk (medium): this ISO week's status is ``at_risk`` for an active enrollment, to
  the primary therapist, due at the end of the week; cleared when the week is met or over;
* note unsigned (medium): an individual session past its program's ``note_unsigned_hours``
  whose note is a draft (to the author; cleared when signed or deleted) or was never started
  (to the facilitator; cleared once a note exists, which then has its own alert if a draft);
* plan due (medium, high once overdue): the initial plan or the review of the latest signed
  one (``openiop.clinical.plan_due``), to the primary therapist; cleared when signed;
* placement due (low): ``openiop.measures.services_placement.placements_due``, to the primary
  therapist; cleared when a newer assessment exists.

Each kind is a set of wanted alerts keyed by (kind, evidence, assignee). Whatever is wanted
and missing is inserted in one ``bulk_create`` with one audit batch; whatever is active and no
longer wanted is resolved by ``resolve_cleared``. Running it twice changes nothing. The query
count per site is constant whatever the number of enrollments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.alerts.services import ACTIVE_STATES, resolve_cleared
from openiop.audit.models import Action
from openiop.audit.services import build_event, record_events
from openiop.clinical import plan_due
from openiop.clinical.models import Note, NoteKind, NoteStatus, PlanKind, PlanStatus, TreatmentPlan
from openiop.clinical.queries_notes import (
    NOTE_WORTHY_INDIVIDUAL,
    _overdue_q,
    hours_in_use,
    unsigned_hours,
)
from openiop.lib.dates import IsoWeek, at_local, local_today, zone
from openiop.scheduling.hours import WeekStatus
from openiop.scheduling.hours_query import site_active_weeks
from openiop.scheduling.models import Booking, Session, SessionKind, SessionStatus

if TYPE_CHECKING:
    from openiop.accounts.models import Site, User

# Rows per page of the attention list; the counts above it are exact.
PAGE_SIZE = 200
SEVERITY_RANK = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}
SWEEP_KINDS = (
    AlertKind.HOURS_AT_RISK,
    AlertKind.NOTE_UNSIGNED,
    AlertKind.PLAN_DUE,
    AlertKind.PLACEMENT_DUE,
)
CLEARED = {
    AlertKind.HOURS_AT_RISK: "Cleared: the week's hours are met or the week is over",
    AlertKind.NOTE_UNSIGNED: "Cleared: note signed or deleted",
    AlertKind.PLAN_DUE: "Cleared: plan signed or no longer due",
    AlertKind.PLACEMENT_DUE: "Cleared: a newer placement assessment is recorded",
}
HOURS_EVIDENCE_PREFIX = "hours_week:"


# --- Reads -----------------------------------------------------------------------------------


def _severity_rank() -> Case:
    return Case(
        *(When(severity=value, then=Value(rank)) for value, rank in SEVERITY_RANK.items()),
        default=Value(9),
        output_field=IntegerField(),
    )


def ordered_by_urgency(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """Safety alerts on top (issue 6 point 2), then high severity first, then the soonest
    due (undated last), then the oldest."""
    is_safety = Case(
        When(kind=AlertKind.SAFETY, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return alerts.annotate(safety_rank=is_safety, severity_rank=_severity_rank()).order_by(
        "safety_rank", "severity_rank", F("due_at").asc(nulls_last=True), "created_at", "id"
    )


def alerts_for(
    site: Site,
    *,
    assignee: User | int | None = None,
    resolved: bool = False,
    kind: str = "",
    severity: str = "",
    limit: int = PAGE_SIZE,
) -> list[Alert]:
    """Alerts of ``site`` (of ``assignee`` when given): active ones (open and acknowledged)
    most urgent first, or resolved ones newest first. One query."""
    rows = Alert.objects.filter(site=site)
    if assignee is not None:
        rows = rows.filter(assignee=assignee)
    if kind:
        rows = rows.filter(kind=kind)
    if severity:
        rows = rows.filter(severity=severity)
    rows = rows.select_related("patient", "assignee", "acknowledged_by", "resolved_by")
    if resolved:
        rows = rows.filter(state=AlertState.RESOLVED).order_by("-resolved_at", "-id")
    else:
        rows = ordered_by_urgency(rows.filter(state__in=ACTIVE_STATES))
    return list(rows[:limit])


@dataclass
class Counts:
    """Active alerts per kind (with their labels) and the tab totals."""

    by_kind: list[tuple[str, str, int]] = field(default_factory=list)
    active: int = 0
    resolved: int = 0
    high: int = 0


def counts_for(site: Site, *, assignee: User | int | None = None) -> Counts:
    """Active alerts per kind, active/high/resolved totals of ``site`` (of ``assignee``).
    One query."""
    rows = Alert.objects.filter(site=site)
    if assignee is not None:
        rows = rows.filter(assignee=assignee)
    grouped = rows.order_by().values_list("kind", "state", "severity").annotate(n=Count("id"))
    counts = Counts()
    per_kind: dict[str, int] = defaultdict(int)
    for kind, state, severity, n in grouped:
        if state == AlertState.RESOLVED:
            counts.resolved += n
            continue
        counts.active += n
        per_kind[kind] += n
        if severity == Severity.HIGH:
            counts.high += n
    labels = dict(AlertKind.choices)
    counts.by_kind = [(k, labels.get(k, k), per_kind[k]) for k in AlertKind.values if per_kind[k]]
    return counts


def nav_counts(user: User, site: Site) -> dict[str, int]:
    """``{"total": …, "high": …}``: the user's open and acknowledged alerts at ``site``."""
    return Alert.objects.filter(site=site, assignee=user, state__in=ACTIVE_STATES).aggregate(
        total=Count("id"), high=Count("id", filter=Q(severity=Severity.HIGH))
    )


def _reverse(name: str, *args: int) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# evidence_type → (URL name, which id it takes, what the link says). A page another part of
# the project has not shipped yet reverses to nothing and the row links to the chart instead.
EVIDENCE_PAGES: dict[str, tuple[str, str, str]] = {
    "drug_screen": ("screen-detail", "evidence", "Open the screen"),
    "measure": ("measure-detail", "evidence", "Open the questionnaire"),
    "level_review": ("review-detail", "evidence", "Open the review"),
    "note": ("note-detail", "evidence", "Open the note"),
    "session": ("documentation", "none", "Open the documentation worklist"),
    "enrollment_plan": ("plan-detail", "patient", "Open the plan"),
    "plan": ("plan-detail", "patient", "Open the plan"),
    "placement": ("placement-detail", "evidence", "Open the placement"),
    "enrollment_placement": ("placement-new", "patient", "Record the placement"),
    "administration": ("patient-medications", "patient", "Open the medications"),
}


def evidence_link(alert: Alert) -> tuple[str, str]:
    """(url, label) of the record behind ``alert``; the chart when it has no page of its own."""
    page = EVIDENCE_PAGES.get(alert.evidence_type)
    if page is not None:
        name, which, label = page
        ids = {"evidence": (alert.evidence_id,), "patient": (alert.patient_id,), "none": ()}
        url = _reverse(name, *ids[which])
        if url is not None:
            return url, label
    chart = reverse("patient-chart", args=[alert.patient_id])
    if alert.evidence_type.startswith(HOURS_EVIDENCE_PREFIX):
        return chart + "#hours", "Open the hours on the chart"
    return chart, "Open the chart"


# --- The sweep -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """One alert the sweep wants to exist (for one assignee)."""

    kind: str
    severity: str
    evidence_type: str
    evidence_id: int
    assignee_id: int
    patient_id: int
    title: str
    detail: str
    due_at: datetime | None

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.kind, self.evidence_type, self.evidence_id, self.assignee_id)


@dataclass
class SweepResult:
    site: str
    raised: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    escalated: int = 0

    @property
    def total_raised(self) -> int:
        return sum(self.raised.values())

    @property
    def total_resolved(self) -> int:
        return sum(self.resolved.values())


def _end_of_day(day: date, time_zone: str) -> datetime:
    """Midnight after ``day`` at the site: a thing due "on" a day is due by its end."""
    return at_local(day + timedelta(days=1), time.min, time_zone)


def wanted_hours(site: Site, *, now: datetime, today: date) -> list[Wanted]:
    """This week's at-risk hours of every active enrollment (three queries)."""
    week = IsoWeek.of(today)
    _, week_end = week.bounds(site.time_zone)
    wanted = []
    for row in site_active_weeks(site=site, weeks=[week], now=now):
        enrollment = row.enrollment
        hours = row.weeks[0]
        if hours.status != WeekStatus.AT_RISK or enrollment.primary_therapist_id is None:
            continue
        floor = hours.target_min
        wanted.append(
            Wanted(
                kind=AlertKind.HOURS_AT_RISK,
                severity=Severity.MEDIUM,
                evidence_type=f"{HOURS_EVIDENCE_PREFIX}{week}",
                evidence_id=enrollment.pk,
                assignee_id=enrollment.primary_therapist_id,
                patient_id=enrollment.patient_id,
                title=f"Weekly hours at risk ({week})",
                detail=(
                    f"{hours.attended_hours} h attended and {hours.ahead_hours} h still booked "
                    f"this week, below the floor of {floor} h. Book more sessions or record "
                    "why the week falls short."
                ),
                due_at=week_end,
            )
        )
    return wanted


def wanted_notes(site: Site, *, now: datetime) -> list[Wanted]:
    """Individual sessions past their program's deadline whose note is a draft (to the
    author) or was never started (to the facilitator). Three queries. The deadline is the
    documentation worklist's own (``openiop.clinical.queries_notes``), so both agree."""
    tz = zone(site.time_zone)
    hours_values = hours_in_use()
    drafts = (
        Note.objects.filter(
            site=site,
            status=NoteStatus.DRAFT,
            kind=NoteKind.INDIVIDUAL,
            patient__isnull=False,
        )
        .annotate(unsigned_hours=unsigned_hours("session__"))
        .filter(_overdue_q("session__", now, hours_values))
        .select_related("session")
        .only("id", "patient_id", "author_id", "session__ends_at", "session__starts_at")
    )
    came = Booking.objects.filter(
        session=OuterRef("pk"), status__in=NOTE_WORTHY_INDIVIDUAL
    ).order_by("pk")
    missing = (
        Session.objects.filter(site=site, kind=SessionKind.INDIVIDUAL, ends_at__lte=now)
        .exclude(status=SessionStatus.CANCELLED)
        .filter(Exists(came))
        .exclude(Exists(Note.objects.filter(session=OuterRef("pk"), group_note__isnull=True)))
        .annotate(
            unsigned_hours=unsigned_hours(), patient_id=Subquery(came.values("patient_id")[:1])
        )
        .filter(_overdue_q("", now, hours_values))
        .only("id", "facilitator_id", "starts_at", "ends_at")
    )
    wanted = []
    rows = [(note, "note", note.author_id, note.session) for note in drafts] + [
        (session, "session", session.facilitator_id, session) for session in missing
    ]
    for row, evidence_type, assignee_id, session in rows:
        hours: int = row.unsigned_hours  # type: ignore[attr-defined]
        held_on = timezone.localtime(session.starts_at, tz)
        started = evidence_type == "note"
        wanted.append(
            Wanted(
                kind=AlertKind.NOTE_UNSIGNED,
                severity=Severity.MEDIUM,
                evidence_type=evidence_type,
                evidence_id=row.pk,
                assignee_id=assignee_id,
                patient_id=row.patient_id,  # type: ignore[union-attr]
                title=(
                    "Note unsigned past the program's deadline"
                    if started
                    else "Note not written past the program's deadline"
                ),
                detail=(
                    f"The note of the individual session of {held_on:%b} {held_on.day} was due"
                    f" signed within {hours} hours of the session's end"
                    + ("." if started else "; it has not been started.")
                ),
                due_at=session.ends_at + timedelta(hours=hours),
            )
        )
    return wanted


def wanted_plans(site: Site, *, today: date) -> list[Wanted]:
    """Initial plans and reviews due or overdue (two queries)."""
    items = [
        item
        for item in plan_due.plans_due(site, today=today)
        if item.enrollment.primary_therapist_id is not None
    ]
    latest_signed: dict[tuple[int, int], int] = {}
    reviews = [item for item in items if item.kind == PlanKind.REVIEW]
    if reviews:
        plans = (
            TreatmentPlan.objects.filter(
                status=PlanStatus.SIGNED,
                patient_id__in={item.patient.pk for item in reviews},
            )
            .order_by("patient_id", "enrollment__episode_id", "-number")
            .values_list("patient_id", "enrollment__episode_id", "pk")
        )
        for patient_id, episode_id, pk in plans:
            latest_signed.setdefault((patient_id, episode_id), pk)
    wanted = []
    for item in items:
        enrollment = item.enrollment
        overdue = item.state == plan_due.DueState.OVERDUE
        if item.kind == PlanKind.INITIAL:
            evidence: tuple[str, int] = ("enrollment_plan", enrollment.pk)
            what = "Initial treatment plan"
        else:
            plan_id = latest_signed.get((item.patient.pk, enrollment.episode_id))
            if plan_id is None:
                continue
            evidence = ("plan", plan_id)
            what = "Treatment plan review"
        wanted.append(
            Wanted(
                kind=AlertKind.PLAN_DUE,
                severity=Severity.HIGH if overdue else Severity.MEDIUM,
                evidence_type=evidence[0],
                evidence_id=evidence[1],
                assignee_id=enrollment.primary_therapist_id,  # type: ignore[arg-type]
                patient_id=item.patient.pk,
                # Not "due in 3 days": the title is stored and must stay true as days pass.
                title=f"{what} due {item.due_on:%b} {item.due_on.day}, {item.due_on.year}",
                detail=f"{what} due by the end of {item.due_on:%A %b} {item.due_on.day}."
                + (" A draft is under way." if item.has_draft else ""),
                due_at=_end_of_day(item.due_on, site.time_zone),
            )
        )
    return wanted


def wanted_placements(site: Site, *, today: date) -> list[Wanted]:
    """Placement reassessments due (three queries)."""
    from openiop.measures.services_placement import placements_due

    wanted = []
    for item in placements_due(site, today):
        if item.enrollment.primary_therapist_id is None:
            continue
        if item.last is not None:
            evidence: tuple[str, int] = ("placement", item.last.pk)
            title = "Placement reassessment due"
        else:
            evidence = ("enrollment_placement", item.enrollment.pk)
            title = "Placement assessment due: none on record"
        wanted.append(
            Wanted(
                kind=AlertKind.PLACEMENT_DUE,
                severity=Severity.LOW,
                evidence_type=evidence[0],
                evidence_id=evidence[1],
                assignee_id=item.enrollment.primary_therapist_id,
                patient_id=item.patient.pk,
                title=title,
                detail=f"Due since {item.due_on:%b} {item.due_on.day}, {item.due_on.year}.",
                due_at=_end_of_day(item.due_on, site.time_zone),
            )
        )
    return wanted


def _sweep_scope(site: Site) -> QuerySet[Alert]:
    return Alert.objects.filter(site=site, kind__in=SWEEP_KINDS)


@transaction.atomic
def apply_wanted(site: Site, wanted: Iterable[Wanted], *, now: datetime) -> SweepResult:
    """Make the sweep's alerts of ``site`` what ``wanted`` says: insert the missing ones,
    raise the severity of those that escalated, resolve the active ones no longer wanted.
    A constant number of queries."""
    result = SweepResult(site=site.name)
    wanted_by_key = {w.key: w for w in wanted}
    # Every active alert, and of the resolved ones only those that could match a wanted one:
    # resolved rows pile up week after week and need not be read again.
    evidence_ids = sorted({w.evidence_id for w in wanted_by_key.values()})
    existing = list(
        _sweep_scope(site)
        .filter(Q(state__in=ACTIVE_STATES) | Q(evidence_id__in=evidence_ids))
        .values_list(
            "pk",
            "kind",
            "evidence_type",
            "evidence_id",
            "assignee_id",
            "state",
            "severity",
            "patient_id",
        )
    )
    existing_keys = set()
    cleared: dict[str, list[int]] = defaultdict(list)
    escalate: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for pk, kind, evidence_type, evidence_id, assignee_id, state, severity, patient in existing:
        key = (kind, evidence_type, evidence_id, assignee_id)
        existing_keys.add(key)
        if state == AlertState.RESOLVED:
            continue
        want = wanted_by_key.get(key)
        if want is None:
            cleared[kind].append(pk)
        elif SEVERITY_RANK[Severity(want.severity)] < SEVERITY_RANK[Severity(severity)]:
            escalate[want.severity].append((pk, patient))
    new = [
        Alert(
            site=site,
            patient_id=w.patient_id,
            kind=w.kind,
            severity=w.severity,
            title=w.title[:200],
            detail=w.detail,
            evidence_type=w.evidence_type,
            evidence_id=w.evidence_id,
            assignee_id=w.assignee_id,
            due_at=w.due_at,
            created_at=now,
        )
        for key, w in sorted(wanted_by_key.items())
        if key not in existing_keys
    ]
    if new:
        # Another sweep running at once may insert some first: the constraint keeps one.
        Alert.objects.bulk_create(new, ignore_conflicts=True)
        events = []
        for alert in new:
            event = build_event(
                action=Action.CREATE,
                site=site,
                object_type="alert",
                object_id=f"{alert.evidence_type}:{alert.evidence_id}",
                patient_id=alert.patient_id,
                detail=f"{alert.kind} alert for user {alert.assignee_id} (attention sweep)",
            )
            events.append(event)
        record_events(events)
        for alert in new:
            result.raised[alert.kind] = result.raised.get(alert.kind, 0) + 1
    for severity, rows in escalate.items():
        ids = [pk for pk, _ in rows]
        Alert.objects.filter(pk__in=ids).update(severity=severity, version=F("version") + 1)
        result.escalated += len(ids)
    if escalate:
        record_events(
            build_event(
                action=Action.UPDATE,
                site=site,
                object_type="alert",
                object_id=pk,
                patient_id=patient,
                detail=f"severity raised to {severity} (attention sweep)",
            )
            for severity, rows in escalate.items()
            for pk, patient in rows
        )
    for kind, ids in cleared.items():
        result.resolved[kind] = resolve_cleared(ids, resolution=CLEARED[AlertKind(kind)])
    return result


def sweep_site(site: Site, *, now: datetime | None = None) -> SweepResult:
    """Raise and clear the time-based alerts of ``site`` (idempotent)."""
    now = now or timezone.now()
    today = local_today(site.time_zone)
    wanted = [
        *wanted_hours(site, now=now, today=today),
        *wanted_notes(site, now=now),
        *wanted_plans(site, today=today),
        *wanted_placements(site, today=today),
    ]
    return apply_wanted(site, wanted, now=now)
