"""The level-review section of the patient chart: open reviews first, with links, then the
history of decided ones. One query (the patient's latest reviews with their deciders)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.measures.engine import SIGNAL_LABELS
from openiop.measures.models import LevelReview, ReviewState
from openiop.patients.models import Patient

HISTORY_LIMIT = 10


def _row(review: LevelReview) -> dict[str, Any]:
    return {
        "review": review,
        "url": reverse("review-detail", args=[review.pk]),
        "labels": [SIGNAL_LABELS.get(s["code"], s["code"]) for s in review.signals],
        "summary": review.signals[0]["evidence"] if review.signals else "",
    }


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """What the chart shows in this section, or None when the role may not see it."""
    if not role_may(current_role(request), "measures.view"):
        return None
    reviews = list(
        LevelReview.objects.filter(patient=patient)
        .select_related("decided_by")
        .order_by("-created_at", "-id")[: HISTORY_LIMIT + 10]
    )
    open_ = [_row(r) for r in reviews if r.state == ReviewState.OPEN]
    decided = [_row(r) for r in reviews if r.state != ReviewState.OPEN][:HISTORY_LIMIT]
    return {"open": open_, "decided": decided}
