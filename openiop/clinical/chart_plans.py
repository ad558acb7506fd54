"""The plans section of the patient chart: the current treatment plan, when it is due, its
goals with when each was last addressed, and the relapse-prevention plan. Constant queries."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.clinical import plan_due
from openiop.clinical.models import PlanGoal, PlanStatus, RelapsePreventionPlan, TreatmentPlan
from openiop.clinical.queries_plans import last_addressed_by_thread
from openiop.lib.dates import local_today, zone
from openiop.patients.models import Patient


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """What the chart shows in this section, or None when the role may not see it."""
    role = current_role(request)
    if not role_may(role, "plans.view"):
        return None
    today = local_today(patient.site.time_zone)
    versions = list(
        TreatmentPlan.objects.filter(patient=patient)
        .only("pk", "number", "kind", "status", "signed_at", "signer_name", "review_due_on")
        .order_by("-number")
    )
    current = next((v for v in versions if v.status == PlanStatus.SIGNED), None)
    draft = next((v for v in versions if v.status == PlanStatus.DRAFT), None)
    goals: list[dict[str, Any]] = []
    if current is not None:
        plan_goals = list(
            PlanGoal.objects.filter(plan=current).order_by("problem__position", "position", "pk")
        )
        last = last_addressed_by_thread(patient, [g.thread for g in plan_goals])
        tz = zone(patient.site.time_zone)
        for goal in plan_goals:
            when = last.get(goal.thread)
            on = when.astimezone(tz).date() if when is not None else None
            goals.append(
                {
                    "goal": goal,
                    "last_addressed_on": on,
                    "days_since": (today - on).days if on is not None else None,
                }
            )
    due = plan_due.patient_due(patient.pk, today)
    rpp = (
        RelapsePreventionPlan.objects.filter(patient=patient)
        .select_related("author")
        .only(
            "pk",
            "number",
            "created_at",
            "author__first_name",
            "author__last_name",
            "author__username",
        )
        .order_by("-number")
        .first()
    )
    may_write = role_may(role, "plans.write")
    # The initial plan may be started while the episode has none (not even a draft).
    may_start = may_write and due is not None and due.kind == "initial" and draft is None
    return {
        "patient": patient,
        "current": current,
        "draft": draft,
        "goals": goals,
        "never_addressed": sum(1 for g in goals if g["last_addressed_on"] is None),
        "due": due,
        "rpp": rpp,
        "today": today,
        "plan_url": reverse("plan-detail", args=[patient.pk]),
        "rpp_url": reverse("rpp-detail", args=[patient.pk]),
        "start_url": reverse("plan-start", args=[patient.pk]) if may_start else None,
        "draft_url": reverse("plan-draft", args=[patient.pk]) if may_write and draft else None,
    }
