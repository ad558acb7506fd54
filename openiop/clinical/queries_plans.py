"""Read helpers of the plan screens: a version's tree and the golden thread of its goals.

Each helper runs a fixed number of queries whatever the size of the plan or the number of
notes, so the plan screen and the chart section have constant query counts.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Max
from django.urls import NoReverseMatch, reverse

from openiop.clinical.models import (
    NoteGoal,
    NoteStatus,
    PlanGoal,
    PlanIntervention,
    PlanObjective,
    PlanProblem,
    TreatmentPlan,
)
from openiop.lib.dates import zone
from openiop.patients.models import Patient


@dataclass
class GoalNode:
    goal: PlanGoal
    objectives: list[PlanObjective] = field(default_factory=list)
    interventions: list[PlanIntervention] = field(default_factory=list)
    thread: list[ThreadNote] = field(default_factory=list)
    last_addressed_on: date | None = None
    days_since: int | None = None


@dataclass
class ProblemNode:
    problem: PlanProblem
    goals: list[GoalNode] = field(default_factory=list)


@dataclass(frozen=True)
class ThreadNote:
    """A signed note that addressed a goal (in this or an earlier version of the plan)."""

    note_id: int
    on: date
    kind: str
    author: str
    url: str | None


def plan_tree(plan: TreatmentPlan) -> list[ProblemNode]:
    """Problems → goals → objectives and interventions of one version (4 queries)."""
    problems = [ProblemNode(p) for p in plan.problems.order_by("position", "pk")]
    by_problem = {node.problem.pk: node for node in problems}
    goals: dict[int, GoalNode] = {}
    for goal in plan.goals.order_by("position", "pk"):
        node = GoalNode(goal)
        goals[goal.pk] = node
        by_problem[goal.problem_id].goals.append(node)
    for objective in plan.objectives.order_by("position", "pk"):
        goals[objective.goal_id].objectives.append(objective)
    for intervention in plan.interventions.select_related("responsible").order_by("position", "pk"):
        goals[intervention.goal_id].interventions.append(intervention)
    return problems


def goal_nodes(tree: Iterable[ProblemNode]) -> list[GoalNode]:
    return [goal for problem in tree for goal in problem.goals]


def note_url(note_id: int) -> str | None:
    """The note page, once its owner has wired it."""
    try:
        return reverse("note-detail", args=[note_id])
    except NoReverseMatch:
        return None


def attach_golden_thread(patient: Patient, goals: list[GoalNode], today: date) -> None:
    """Fill each goal's signed notes (newest first) and when it was last addressed.

    Notes are matched on the goal's ``thread``, so a note that addressed the goal in an
    earlier version of the plan counts for its copy in this one (1 query).
    """
    threads = {node.goal.thread for node in goals}
    if not threads:
        return
    links = (
        NoteGoal.objects.filter(
            goal__thread__in=threads,
            goal__plan__patient=patient,
            note__patient=patient,
            note__status=NoteStatus.SIGNED,
        )
        .select_related("note", "note__author", "goal")
        .order_by("-note__started_at", "-note_id")
    )
    tz = zone(patient.site.time_zone)
    by_thread: dict[uuid.UUID, list[ThreadNote]] = defaultdict(list)
    seen: set[tuple[uuid.UUID, int]] = set()
    for link in links:
        note = link.note
        key = (link.goal.thread, note.pk)
        if key in seen:
            continue
        seen.add(key)
        by_thread[link.goal.thread].append(
            ThreadNote(
                note_id=note.pk,
                on=note.started_at.astimezone(tz).date(),
                kind=_note_kind(note),
                author=note.signer_name or note.author.display_name,
                url=note_url(note.pk),
            )
        )
    for node in goals:
        node.thread = by_thread.get(node.goal.thread, [])
        if node.thread:
            node.last_addressed_on = node.thread[0].on
            node.days_since = (today - node.last_addressed_on).days


def _note_kind(note: Any) -> str:
    if note.kind == "individual":
        return f"Individual note ({note.get_format_display()})"
    return "Group note"


def last_addressed_by_thread(patient: Patient, threads: Iterable[uuid.UUID]) -> dict[Any, Any]:
    """When each goal thread was last addressed by a signed note (1 query)."""
    rows = (
        NoteGoal.objects.filter(
            goal__thread__in=list(threads),
            goal__plan__patient=patient,
            note__patient=patient,
            note__status=NoteStatus.SIGNED,
        )
        .values("goal__thread")
        .annotate(last=Max("note__started_at"))
    )
    return {row["goal__thread"]: row["last"] for row in rows}
