"""The step-up / step-down review engine: stored rows in, ``LevelReview``s and alerts out.

DOMAIN.md §10 (issue 6 point 5). For each active enrollment the engine builds the pure
``openiop.measures.review.ReviewInput`` (hours of the last closed weeks, screens, PHQ-9 /
GAD-7 scores, craving ratings, safety flags, treatment-plan goals), asks ``review`` for a
recommendation, and stores a "review recommended" with its signals. A clinician decides
(``openiop.measures.services_reviews``).

Speed: the inputs of a whole site are read with a constant number of queries, however many
enrollments it has (``tests/test_reviews_engine.py`` asserts it; ``bench/review_engine.py``
measures 2,000 enrollments). The nightly run and ``on_event`` (a new score or screen result)
share the same code; ``on_event`` only narrows it to one patient.

Idempotence: a review's ``fingerprint`` digests its signals' codes and dates, and the
database allows one review per enrollment, direction and fingerprint, so running again with
the same evidence creates nothing. While a review of an enrollment and direction is open no
second one is raised; once it is decided, new evidence (another fingerprint) may raise the
next one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from openiop.accounts.models import Membership, Site
from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.audit.models import Action
from openiop.audit.services import build_event, record_events
from openiop.clinical.models import (
    ObjectiveStatus,
    PlanGoal,
    PlanObjective,
    PlanStatus,
    TreatmentPlan,
)
from openiop.lib.dates import IsoWeek, day_bounds, zone
from openiop.measures.models import LevelReview, MeasureResponse, ReviewDirection, ReviewState
from openiop.measures.placement import LEVEL_CODES, Tier
from openiop.measures.program_settings import review_policy_for, settings_by_program
from openiop.measures.review import (
    BANDS,
    CravingRecord,
    Recommendation,
    ReviewInput,
    ReviewPolicy,
    SafetyFlag,
    ScoreRecord,
    ScreenRecord,
    Signal,
    WeekRecord,
    review,
)
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus, Program
from openiop.scheduling.hours import WeekHours
from openiop.scheduling.hours_query import patient_weeks, site_active_weeks
from openiop.screening.catalog import Verdict
from openiop.screening.models import DrugScreen, ScreenStatus

if TYPE_CHECKING:
    from django.http import HttpRequest

EVIDENCE_TYPE = "level_review"
CRAVING = "CRAVING"
ENROLLMENT_ENDED = "Enrollment ended"
TRIGGERS = ("nightly", "measure", "screen", "week", "manual")

# How a signal is named on the review page and the chart.
SIGNAL_LABELS = {
    "unexpected_screens": "Unexpected screens",
    "missed_hours": "Hours floor missed",
    "phq9_band_up": "PHQ-9 band up",
    "gad7_band_up": "GAD-7 band up",
    "craving_rising": "Craving rising",
    "safety_flag": "Safety flag",
    "screens_negative": "Screens negative",
    "hours_met": "Hours floor met",
    "scores_stable": "Scores stable",
    "goals_met": "Plan goals met",
}

# The signals an event brings evidence for: ``on_event`` raises a review only when one of them
# is among its signals, and leaves the rest (e.g. the hours of a patient whose screen was just
# read) to the nightly run, so a result does not surface an unrelated review mid-day.
EVENT_SIGNALS: dict[str, frozenset[str]] = {
    "screen": frozenset({"unexpected_screens", "screens_negative"}),
    "measure": frozenset(
        {"phq9_band_up", "gad7_band_up", "craving_rising", "safety_flag", "scores_stable"}
    ),
    "week": frozenset({"missed_hours", "hours_met"}),
}

_DIRECTION = {
    Recommendation.REVIEW_STEP_UP: ReviewDirection.STEP_UP,
    Recommendation.REVIEW_STEP_DOWN: ReviewDirection.STEP_DOWN,
}
_SEVERITY = {ReviewDirection.STEP_UP: Severity.HIGH, ReviewDirection.STEP_DOWN: Severity.MEDIUM}
_TITLE = {ReviewDirection.STEP_UP: "step-up", ReviewDirection.STEP_DOWN: "step-down"}


@dataclass
class SiteSummary:
    site: str
    today: date
    enrollments: int = 0
    reviews: int = 0
    alerts: int = 0
    closed: int = 0
    seconds: float = 0.0


@dataclass
class RunSummary:
    sites: list[SiteSummary] = field(default_factory=list)
    reviews_created: list[LevelReview] = field(default_factory=list)

    @property
    def enrollments(self) -> int:
        return sum(s.enrollments for s in self.sites)

    @property
    def reviews(self) -> int:
        return sum(s.reviews for s in self.sites)

    @property
    def alerts(self) -> int:
        return sum(s.alerts for s in self.sites)

    @property
    def closed(self) -> int:
        return sum(s.closed for s in self.sites)


# --- pure helpers -----------------------------------------------------------------------


def fingerprint(signals: Iterable[Signal]) -> str:
    """sha256 of the sorted (code, dates) pairs: the same evidence gives the same digest."""
    pairs = sorted((s.code, tuple(d.isoformat() for d in s.dates)) for s in signals)
    text = "\n".join(code + ":" + ",".join(days) for code, days in pairs)
    return hashlib.sha256(text.encode()).hexdigest()


def signals_json(signals: Iterable[Signal]) -> list[dict[str, Any]]:
    return [
        {"code": s.code, "evidence": s.evidence, "dates": [d.isoformat() for d in s.dates]}
        for s in signals
    ]


def summary_of(direction: str, signals: Sequence[dict[str, Any]]) -> str:
    """The alert title: "Review for step-up: 3 unexpected screen results in 30 days"."""
    first = signals[0]["evidence"].split(":")[0] if signals else "signals"
    more = f" (+{len(signals) - 1} more)" if len(signals) > 1 else ""
    return f"Review for {_TITLE[ReviewDirection(direction)]}: {first}{more}"


def tier_of(program: Program) -> Tier | None:
    level = program.level_of_care
    return LEVEL_CODES.get(level.edition, {}).get(level.code)


def _weeks_needed(policies: Iterable[ReviewPolicy], today: date) -> list[IsoWeek]:
    """The weeks up to today's, enough for the longest run a policy looks at (plus one, as
    today's week is usually not closed yet, and one for a week the enrollment did not cover)."""
    count = max((max(p.missed_weeks, p.stable_weeks_met) for p in policies), default=4) + 2
    this = IsoWeek.of(today)
    return [this.shift(-k) for k in range(count - 1, -1, -1)]


def _moment(today: date, time_zone: str) -> datetime:
    """The end of ``today`` at the site (or now, when earlier): weeks ended by then are
    closed, so replaying a past day gives that day's answer."""
    return min(timezone.now(), day_bounds(today, time_zone)[1])


# --- reading the inputs in bulk ---------------------------------------------------------


@dataclass
class _Inputs:
    screens: dict[int, list[ScreenRecord]] = field(default_factory=dict)
    scores: dict[int, list[ScoreRecord]] = field(default_factory=dict)
    cravings: dict[int, list[CravingRecord]] = field(default_factory=dict)
    safety: dict[int, list[SafetyFlag]] = field(default_factory=dict)
    goals_met: dict[int, bool] = field(default_factory=dict)


def _read_inputs(
    *, patients: QuerySet[Any] | list[int], site: Site, today: date, days: int
) -> _Inputs:
    """Screens, scores, cravings, safety flags and goals of ``patients`` (ids or a values
    subquery). Five queries whatever their number."""
    found = _Inputs()
    start = today - timedelta(days=days - 1)
    tz = zone(site.time_zone)
    first_moment = day_bounds(start, site.time_zone)[0]
    last_moment = day_bounds(today, site.time_zone)[1]
    screens = DrugScreen.objects.filter(
        patient_id__in=patients,
        status=ScreenStatus.COLLECTED,
        collected_at__gte=first_moment,
        collected_at__lt=last_moment,
    ).exclude(verdict="")
    for patient_id, collected_at, verdict in screens.values_list(
        "patient_id", "collected_at", "verdict"
    ):
        found.screens.setdefault(patient_id, []).append(
            ScreenRecord(collected_at.astimezone(tz).date(), verdict == Verdict.UNEXPECTED.value)
        )
    responses = (
        MeasureResponse.objects.filter(
            Q(instrument__in=[*BANDS, CRAVING]) | Q(has_safety_flag=True),
            patient_id__in=patients,
            taken_on__gte=start,
            taken_on__lte=today,
            strike__isnull=True,
        )
        .order_by()
        .values_list("patient_id", "instrument", "taken_on", "score", "band", "answers", "flags")
    )
    for patient_id, instrument, taken_on, score, band, answers, flags in responses:
        if instrument in BANDS and score is not None and band in BANDS[instrument]:
            found.scores.setdefault(patient_id, []).append(
                ScoreRecord(instrument, taken_on, score, band)
            )
        elif instrument == CRAVING:
            rating = score if score is not None else (answers or {}).get("1")
            if isinstance(rating, int) and not isinstance(rating, bool) and 0 <= rating <= 10:
                found.cravings.setdefault(patient_id, []).append(CravingRecord(taken_on, rating))
        for flag in flags or []:
            if flag.get("code") == "safety":
                found.safety.setdefault(patient_id, []).append(
                    SafetyFlag(taken_on, f"{instrument} {flag.get('detail', 'safety flag')}")
                )
    found.goals_met = _goals_met(patients)
    return found


def _goals_met(patients: QuerySet[Any] | list[int]) -> dict[int, bool]:
    """Patient → whether every goal of the latest signed treatment plan is met: each goal has
    a met objective and none still open or not met (discontinued ones do not count). Patients
    without a signed plan are absent (the engine then passes None). Three queries."""
    latest: dict[int, tuple[int, int]] = {}
    signed = TreatmentPlan.objects.filter(patient_id__in=patients, status=PlanStatus.SIGNED)
    for plan_id, patient_id, number in signed.values_list("id", "patient_id", "number"):
        if patient_id not in latest or number > latest[patient_id][1]:
            latest[patient_id] = (plan_id, number)
    plan_ids = [plan_id for plan_id, _ in latest.values()]
    goals: dict[int, list[int]] = {}
    for goal_id, plan_id in PlanGoal.objects.filter(plan_id__in=plan_ids).values_list(
        "id", "plan_id"
    ):
        goals.setdefault(plan_id, []).append(goal_id)
    statuses: dict[int, list[str]] = {}
    for goal_id, status in PlanObjective.objects.filter(plan_id__in=plan_ids).values_list(
        "goal_id", "status"
    ):
        statuses.setdefault(goal_id, []).append(status)

    def met(goal_id: int) -> bool:
        counted = [s for s in statuses.get(goal_id, []) if s != ObjectiveStatus.DISCONTINUED]
        return bool(counted) and all(s == ObjectiveStatus.MET for s in counted)

    return {
        patient_id: bool(goals.get(plan_id)) and all(met(g) for g in goals[plan_id])
        for patient_id, (plan_id, _) in latest.items()
    }


def _week_records(weeks: Iterable[WeekHours]) -> tuple[WeekRecord, ...]:
    return tuple(
        WeekRecord(w.week, w.status, w.attended_hours, w.target_min)
        for w in weeks
        if w.target_min is not None
    )


# --- the run ----------------------------------------------------------------------------


def _recipients(enrollments: Iterable[Enrollment], site: Site) -> Callable[[Enrollment], list[int]]:
    """The enrollment's primary therapist, or the site's directors when it has none (one
    query, only when some enrollment needs it)."""
    directors: list[int] | None = None

    def of(enrollment: Enrollment) -> list[int]:
        nonlocal directors
        if enrollment.primary_therapist_id is not None:
            return [enrollment.primary_therapist_id]
        if directors is None:
            directors = list(
                Membership.objects.filter(
                    site=site, role=Role.DIRECTOR, user__is_active=True
                ).values_list("user_id", flat=True)
            )
        return directors

    return of


def _review_site(
    *,
    site: Site,
    rows: Sequence[tuple[Enrollment, Sequence[WeekHours]]],
    patients: QuerySet[Any] | list[int],
    programs: dict[int, Program],
    policies: dict[int, ReviewPolicy],
    today: date,
    trigger: str,
    request: HttpRequest | None,
    summary: SiteSummary,
    related: frozenset[str] | None = None,
) -> list[LevelReview]:
    """Review ``rows`` (enrollments of ``site`` with their weeks) and store what is new;
    with ``related``, only reviews with one of those signals."""
    days = max(
        (
            max(
                p.unexpected_window_days,
                p.score_window_days,
                p.safety_window_days,
                p.stable_window_days,
            )
            for p in policies.values()
        ),
        default=30,
    )
    inputs = _read_inputs(patients=patients, site=site, today=today, days=days)
    candidates: list[tuple[Enrollment, str, list[dict[str, Any]], str]] = []
    for enrollment, weeks in rows:
        program = programs.get(enrollment.program_id)
        level = tier_of(program) if program is not None else None
        if level is None:
            continue
        pid, since = enrollment.patient_id, enrollment.admitted_on
        # Evidence counts from this enrollment's admission: after a step-up, the screens that
        # led to it must not recommend the next one the same night.
        data = ReviewInput(
            today=today,
            level=level,
            weeks=_week_records(w for w in weeks if w.enrollment_id == enrollment.pk),
            screens=tuple(s for s in inputs.screens.get(pid, ()) if s.collected_on >= since),
            scores=tuple(s for s in inputs.scores.get(pid, ()) if s.taken_on >= since),
            cravings=tuple(c for c in inputs.cravings.get(pid, ()) if c.rated_on >= since),
            safety_flags=tuple(f for f in inputs.safety.get(pid, ()) if f.flagged_on >= since),
            goals_met=inputs.goals_met.get(pid),
        )
        result = review(data, policies[enrollment.program_id])
        direction = _DIRECTION.get(result.recommendation)
        if direction is None:
            continue
        if related is not None and not any(sig.code in related for sig in result.signals):
            continue
        candidates.append(
            (enrollment, direction, signals_json(result.signals), fingerprint(result.signals))
        )
    if not candidates:
        return []
    ids = [e.pk for e, *_ in candidates]
    existing = set()
    open_now = set()
    for enrollment_id, direction, digest, state in LevelReview.objects.filter(
        enrollment_id__in=ids
    ).values_list("enrollment_id", "direction", "fingerprint", "state"):
        existing.add((enrollment_id, direction, digest))
        if state == ReviewState.OPEN:
            open_now.add((enrollment_id, direction))
    now = timezone.now()
    new = [
        LevelReview(
            enrollment=enrollment,
            patient_id=enrollment.patient_id,
            site=site,
            direction=direction,
            signals=signals,
            fingerprint=digest,
            trigger=trigger,
            created_at=now,
        )
        for enrollment, direction, signals, digest in candidates
        if (enrollment.pk, direction, digest) not in existing
        and (enrollment.pk, direction) not in open_now
    ]
    if not new:
        return []
    # A concurrent run (an on_event beside the nightly one) may have stored the same evidence:
    # the unique constraint keeps one and the rows are read back by what this run wrote.
    LevelReview.objects.bulk_create(new, ignore_conflicts=True)
    created = list(
        LevelReview.objects.filter(
            enrollment_id__in=[r.enrollment_id for r in new], created_at=now, trigger=trigger
        )
    )
    by_enrollment = {e.pk: e for e, *_ in candidates}
    recipients = _recipients(by_enrollment.values(), site)
    alerts = [
        Alert(
            site=site,
            patient_id=r.patient_id,
            kind=AlertKind.REVIEW_RECOMMENDED,
            severity=_SEVERITY[ReviewDirection(r.direction)],
            title=summary_of(r.direction, r.signals)[:200],
            detail="\n".join(s["evidence"] for s in r.signals),
            evidence_type=EVIDENCE_TYPE,
            evidence_id=r.pk,
            assignee_id=user_id,
            created_at=now,
        )
        for r in created
        for user_id in recipients(by_enrollment[r.enrollment_id])
    ]
    Alert.objects.bulk_create(alerts, ignore_conflicts=True)
    record_events(
        build_event(
            action=Action.CREATE,
            request=request,
            site=site,
            object_type=EVIDENCE_TYPE,
            object_id=r.pk,
            patient_id=r.patient_id,
            detail=f"{r.direction} review recommended ({trigger}): "
            + ", ".join(s["code"] for s in r.signals),
        )
        for r in created
    )
    summary.reviews += len(created)
    summary.alerts += len(alerts)
    return created


def close_ended(
    *, site: Site, request: HttpRequest | None, enrollment_ids: Iterable[int] | None = None
) -> int:
    """Close the open reviews of ``site`` whose enrollment is no longer active and resolve
    their alerts. Three queries when there are none, six otherwise."""
    stale = LevelReview.objects.filter(site=site, state=ReviewState.OPEN).exclude(
        enrollment__status=EnrollmentStatus.ACTIVE
    )
    if enrollment_ids is not None:
        stale = stale.filter(enrollment_id__in=list(enrollment_ids))
    rows = list(stale.values_list("id", "patient_id"))
    if not rows:
        return 0
    ids = [pk for pk, _ in rows]
    now = timezone.now()
    LevelReview.objects.filter(pk__in=ids, state=ReviewState.OPEN).update(
        state=ReviewState.CLOSED, decided_at=now, reason=ENROLLMENT_ENDED
    )
    Alert.objects.filter(
        kind=AlertKind.REVIEW_RECOMMENDED, evidence_type=EVIDENCE_TYPE, evidence_id__in=ids
    ).exclude(state=AlertState.RESOLVED).update(
        state=AlertState.RESOLVED, resolved_at=now, resolution=ENROLLMENT_ENDED
    )
    record_events(
        build_event(
            action=Action.UPDATE,
            request=request,
            site=site,
            object_type=EVIDENCE_TYPE,
            object_id=pk,
            patient_id=patient_id,
            detail="closed: enrollment ended",
        )
        for pk, patient_id in rows
    )
    return len(rows)


def _site_programs(site: Site) -> tuple[dict[int, Program], dict[int, ReviewPolicy]]:
    programs = {p.pk: p for p in Program.objects.filter(site=site).select_related("level_of_care")}
    policies = {pk: review_policy_for(s) for pk, s in settings_by_program(list(programs)).items()}
    return programs, policies


def review_site(
    *, site: Site, today: date, trigger: str = "nightly", request: HttpRequest | None = None
) -> tuple[SiteSummary, list[LevelReview]]:
    """Review every active enrollment of ``site`` on ``today``: a constant number of queries
    (about twenty) however many enrollments."""
    started = time.perf_counter()
    summary = SiteSummary(site=site.name, today=today)
    with transaction.atomic():
        programs, policies = _site_programs(site)
        weeks = _weeks_needed(policies.values(), today)
        active = site_active_weeks(site=site, weeks=weeks, now=_moment(today, site.time_zone))
        summary.enrollments = len(active)
        patients = Enrollment.objects.filter(
            program__site=site, patient__site=site, status=EnrollmentStatus.ACTIVE
        ).values("patient_id")
        created = _review_site(
            site=site,
            rows=[(row.enrollment, row.weeks) for row in active],
            patients=patients,
            programs=programs,
            policies=policies,
            today=today,
            trigger=trigger,
            request=request,
            summary=summary,
        )
        summary.closed = close_ended(site=site, request=request)
    summary.seconds = time.perf_counter() - started
    return summary, created


def run_reviews(
    *,
    today: date,
    sites: Iterable[Site] | None = None,
    trigger: str = "nightly",
    progress: Callable[[SiteSummary], None] | None = None,
) -> RunSummary:
    """The nightly run: every active enrollment of ``sites`` (all sites by default), one site
    per transaction. ``progress`` is called with each site's summary as it finishes."""
    result = RunSummary()
    for site in sites if sites is not None else Site.objects.order_by("name"):
        summary, created = review_site(site=site, today=today, trigger=trigger)
        result.sites.append(summary)
        result.reviews_created.extend(created)
        if progress is not None:
            progress(summary)
    return result


def on_event(
    patient: Patient,
    *,
    trigger: str,
    request: HttpRequest | None = None,
    today: date | None = None,
) -> list[LevelReview]:
    """Review the patient's active enrollment now (a new score, screen result or closed week)
    and return the reviews raised; nothing when the patient has no active enrollment. The same
    rules as the nightly run, so the nightly run then finds nothing new. A review is raised
    only when one of its signals is of the event's kind (``EVENT_SIGNALS``; any for other
    triggers such as "manual")."""
    enrollment = (
        Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE)
        .select_related("program__site", "program__level_of_care")
        .first()
    )
    if enrollment is None:
        return []
    site = enrollment.program.site
    today = today or timezone.localtime(timezone.now(), zone(site.time_zone)).date()
    summary = SiteSummary(site=site.name, today=today, enrollments=1)
    with transaction.atomic():
        settings = settings_by_program([enrollment.program_id])
        policies = {pk: review_policy_for(s) for pk, s in settings.items()}
        weeks = patient_weeks(
            patient_id=patient.pk,
            time_zone=site.time_zone,
            weeks=_weeks_needed(policies.values(), today),
            now=_moment(today, site.time_zone),
        )
        return _review_site(
            site=site,
            rows=[(enrollment, weeks)],
            patients=[patient.pk],
            programs={enrollment.program_id: enrollment.program},
            policies=policies,
            today=today,
            trigger=trigger,
            request=request,
            summary=summary,
            related=EVENT_SIGNALS.get(trigger),
        )
