"""When treatment plans are due (issue 4 §3): the rules, the query, the worklist panel.

* The initial plan of an episode of care is due ``program.plan_initial_due_days`` after
  admission (the day the episode opened; a transfer inside the episode keeps the plan).
* Once a version is signed, the next review is due on the date stored at signing
  (``TreatmentPlan.review_due_on`` = signing day + ``program.plan_review_days``).
* A plan is "due" when that date is today or within the next ``DUE_SOON_DAYS`` days, and
  "overdue" once the date has passed. A draft does not count: only a signature meets the due
  date, but the worklist says a draft is under way.

The rules are pure functions over dates; ``plans_due`` reads every active enrollment of a
site with its latest signed plan in one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from django.db.models import Exists, OuterRef, Subquery
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from openiop.accounts.access import current_role
from openiop.accounts.models import Site, User
from openiop.accounts.policy import role_may
from openiop.clinical.models import PlanKind, PlanStatus, TreatmentPlan
from openiop.lib.dates import local_today
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus

# How far ahead a plan shows up as due on the therapist's screen.
DUE_SOON_DAYS = 7


class DueState(StrEnum):
    OVERDUE = "overdue"
    DUE = "due"
    NOT_YET = "not_yet"


def initial_due_on(admitted_on: date, initial_due_days: int) -> date:
    """The day the first plan of an episode must be signed by."""
    return admitted_on + timedelta(days=initial_due_days)


def review_due_on(signed_on: date, review_days: int) -> date:
    """The day the next review is due after a version signed on ``signed_on``."""
    return signed_on + timedelta(days=review_days)


def next_due(
    *, admitted_on: date, initial_due_days: int, last_review_due_on: date | None
) -> tuple[PlanKind, date]:
    """What is due next and when: the initial plan, or the review of the last signed one."""
    if last_review_due_on is None:
        return PlanKind.INITIAL, initial_due_on(admitted_on, initial_due_days)
    return PlanKind.REVIEW, last_review_due_on


def due_state(due_on: date, today: date) -> DueState:
    """Overdue once the date has passed; due from ``DUE_SOON_DAYS`` days ahead through the day."""
    if due_on < today:
        return DueState.OVERDUE
    if due_on <= today + timedelta(days=DUE_SOON_DAYS):
        return DueState.DUE
    return DueState.NOT_YET


def describe(due_on: date, today: date) -> str:
    """ "Due today", "Due in 3 days", "Overdue by 1 day" — for lists and banners."""
    days = (due_on - today).days
    if days == 0:
        return "Due today"
    if days > 0:
        return f"Due in {days} day{'s' if days != 1 else ''}"
    return f"Overdue by {-days} day{'s' if days != -1 else ''}"


@dataclass(frozen=True)
class PlanDue:
    """One active enrollment whose plan is due or overdue."""

    patient: Patient
    enrollment: Enrollment
    kind: PlanKind
    due_on: date
    state: DueState
    label: str
    has_draft: bool


def _with_plan_dates(enrollments: Any) -> Any:
    """Annotate each enrollment with its episode's latest signed review date and open draft."""
    episode_plans = TreatmentPlan.objects.filter(
        patient=OuterRef("patient"), enrollment__episode=OuterRef("episode")
    )
    latest_signed = episode_plans.filter(status=PlanStatus.SIGNED).order_by("-number")
    return enrollments.annotate(
        last_review_due_on=Subquery(latest_signed.values("review_due_on")[:1]),
        has_draft=Exists(episode_plans.filter(status=PlanStatus.DRAFT)),
    )


def plan_due_of(enrollment: Any, today: date) -> PlanDue:
    """The due state of one enrollment annotated by ``_with_plan_dates``."""
    kind, due_on = next_due(
        admitted_on=enrollment.episode.opened_on,
        initial_due_days=enrollment.program.plan_initial_due_days,
        last_review_due_on=enrollment.last_review_due_on,
    )
    return PlanDue(
        patient=enrollment.patient,
        enrollment=enrollment,
        kind=kind,
        due_on=due_on,
        state=due_state(due_on, today),
        label=describe(due_on, today),
        has_draft=bool(enrollment.has_draft),
    )


def plans_due(site: Site, *, therapist: User | None = None, today: date) -> list[PlanDue]:
    """Active enrollments at ``site`` (of ``therapist`` as primary therapist, if given) whose
    plan is due or overdue, most overdue first. One query whatever the number of patients."""
    enrollments = Enrollment.objects.filter(
        program__site=site, status=EnrollmentStatus.ACTIVE
    ).select_related("patient", "program", "episode")
    if therapist is not None:
        enrollments = enrollments.filter(primary_therapist=therapist)
    items = [plan_due_of(e, today) for e in _with_plan_dates(enrollments)]
    found = [item for item in items if item.state != DueState.NOT_YET]
    return sorted(found, key=lambda item: (item.due_on, item.patient.last_name, item.patient.pk))


def patient_due(patient_id: int, today: date) -> PlanDue | None:
    """The due state of a patient's active enrollment (one query), None when not enrolled."""
    enrollment = (
        _with_plan_dates(
            Enrollment.objects.filter(patient_id=patient_id, status=EnrollmentStatus.ACTIVE)
        )
        .select_related("patient", "program", "episode")
        .first()
    )
    return None if enrollment is None else plan_due_of(enrollment, today)


def plan_url(patient_id: int) -> str:
    try:
        return reverse("plan-detail", args=[patient_id])
    except NoReverseMatch:
        return f"/patients/{patient_id}/plan/"


def worklist_panel(request: HttpRequest) -> dict[str, Any] | None:
    """The signed-in therapist's due and overdue plans at the current site, for the
    documentation worklist; None when the role may not read plans."""
    membership = getattr(request, "membership", None)
    if membership is None or not role_may(current_role(request), "plans.view"):
        return None
    site = membership.site
    today = local_today(site.time_zone)
    items = plans_due(site, therapist=request.user, today=today)  # type: ignore[arg-type]
    rows = [{"item": item, "url": plan_url(item.patient.pk)} for item in items]
    return {
        "rows": rows,
        "overdue_count": sum(1 for item in items if item.state == DueState.OVERDUE),
        "due_count": sum(1 for item in items if item.state == DueState.DUE),
        "today": today,
        "due_soon_days": DUE_SOON_DAYS,
    }
