"""The placement section of the patient chart, and the geometry of the six-dimension chart.

``panel``: the latest placement (indicated against provided), when the next reassessment is
due and whether it is overdue; two queries. ``ratings_chart``: one horizontal bar per
dimension on the 0–4 scale, the dimensions behind the deciding rules marked. There is no
average anywhere: the highest-risk dimensions decide (DOMAIN.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.lib.dates import local_today
from openiop.measures.models import PlacementAssessment, ProgramMeasureSettings
from openiop.measures.placement import DIMENSION_NAMES, DIMENSIONS, MAX_RATING, RATING_NAMES
from openiop.measures.services_placement import level_differs, next_due_on
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus

WIDTH = 640
ROW_H = 34
TOP = 26
LABEL_W = 44
RIGHT = 150
PLOT_W = WIDTH - LABEL_W - RIGHT
BAR_H = 18


@dataclass(frozen=True)
class RatingBar:
    dimension: int
    name: str
    rating: int
    rating_name: str
    is_deciding: bool
    y: float
    text_y: float
    width: float
    value_x: float


@dataclass(frozen=True)
class Tick:
    value: int
    x: float
    name: str


@dataclass(frozen=True)
class RatingsChart:
    width: int
    height: int
    left: int
    right_edge: int
    bar_h: int
    bars: list[RatingBar]
    ticks: list[Tick]
    baseline: float


def deciding_dimensions(placement: PlacementAssessment) -> set[int]:
    """The dimensions the deciding rules found high (stored with each fired rule)."""
    deciding = set(placement.deciding_rules)
    return {
        dim
        for row in placement.fired_rules
        if row.get("rule_id") in deciding
        for dim in row.get("dimensions", [])
    }


def ratings_chart(placement: PlacementAssessment) -> RatingsChart:
    marked = deciding_dimensions(placement)
    names = DIMENSION_NAMES[placement.edition]
    step = PLOT_W / MAX_RATING
    bars = []
    for index, dim in enumerate(DIMENSIONS):
        rating = int(placement.ratings[str(dim)]["rating"])
        y = TOP + index * ROW_H
        width = rating * step
        bars.append(
            RatingBar(
                dimension=dim,
                name=names[dim],
                rating=rating,
                rating_name=RATING_NAMES[rating],
                is_deciding=dim in marked,
                y=y,
                text_y=y + BAR_H / 2,
                width=max(width, 2.0),
                value_x=LABEL_W + width + 6,
            )
        )
    ticks = [Tick(v, LABEL_W + v * step, RATING_NAMES[v]) for v in range(MAX_RATING + 1)]
    height = TOP + len(DIMENSIONS) * ROW_H + 4
    return RatingsChart(WIDTH, height, LABEL_W, LABEL_W + PLOT_W, BAR_H, bars, ticks, height - 4)


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """What the chart shows in this section, or None when the role may not see it.
    Two queries: the latest placement, and the active enrollment with its program's
    settings (for the reassessment interval)."""
    role = current_role(request)
    if not role_may(role, "placement.view"):
        return None
    latest = (
        PlacementAssessment.objects.filter(patient=patient)
        .select_related("assessed_by", "decided_by")
        .order_by("-assessed_on", "-created_at", "-id")
        .first()
    )
    enrollment = (
        Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE)
        .select_related("program__measure_settings")
        .order_by("-admitted_on", "-pk")
        .first()
    )
    today = local_today(patient.site.time_zone)
    due_on = None
    if enrollment is not None:
        try:
            settings = enrollment.program.measure_settings
        except ProgramMeasureSettings.DoesNotExist:
            settings = ProgramMeasureSettings(program=enrollment.program)
        due_on = next_due_on(latest, enrollment, settings.placement_review_days)
    return {
        "patient": patient,
        "latest": latest,
        "differs": latest is not None and level_differs(latest),
        "due_on": due_on,
        "overdue": due_on is not None and due_on < today,
        "due_today": due_on is not None and due_on == today,
        "history_url": reverse("patient-placements", args=[patient.pk]),
        "detail_url": reverse("placement-detail", args=[latest.pk]) if latest else None,
        "new_url": (
            reverse("placement-new", args=[patient.pk])
            if role_may(role, "placement.assess")
            else None
        ),
    }
