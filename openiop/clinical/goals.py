"""Which treatment-plan goals a note may link to (the golden thread, issue 4 §4).

A note's progress addresses goals of the patient's *current* plan: the latest signed
version. Goals of another patient's plan, of a draft or of a superseded version are refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery

from openiop.clinical.models import PlanGoal, PlanStatus, TreatmentPlan


def current_goals(patient_ids: Iterable[int]) -> dict[int, list[PlanGoal]]:
    """Each patient's goals of their latest signed plan, in plan order (one query)."""
    ids = list(patient_ids)
    if not ids:
        return {}
    latest = (
        TreatmentPlan.objects.filter(patient=OuterRef("plan__patient"), status=PlanStatus.SIGNED)
        .order_by("-number")
        .values("number")[:1]
    )
    goals = (
        PlanGoal.objects.filter(
            plan__patient_id__in=ids,
            plan__status=PlanStatus.SIGNED,
            plan__number=Subquery(latest),
        )
        .select_related("plan", "problem")
        .order_by("plan__patient_id", "problem__position", "position", "pk")
    )
    found: dict[int, list[PlanGoal]] = defaultdict(list)
    for goal in goals:
        found[goal.plan.patient_id].append(goal)
    return dict(found)


def check_goals(patient_id: int, goal_ids: Iterable[int], *, field: str = "goal_ids") -> list[int]:
    """``goal_ids`` as a sorted list if all are goals of the patient's current plan.

    Raises a ValidationError on ``field`` naming the ids that are not.
    """
    wanted = sorted({int(goal_id) for goal_id in goal_ids})
    if not wanted:
        return []
    allowed = {goal.pk for goal in current_goals([patient_id]).get(patient_id, [])}
    foreign = [goal_id for goal_id in wanted if goal_id not in allowed]
    if foreign:
        listed = ", ".join(str(goal_id) for goal_id in foreign)
        raise ValidationError(
            {field: f"Goal {listed} is not a goal of this patient's current treatment plan."}
        )
    return wanted
