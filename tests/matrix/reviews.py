from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from openiop.lib.dates import local_today
from openiop.measures.engine import fingerprint
from openiop.measures.models import LevelReview
from tests.factories_measures import enrolled
from tests.matrix import MatrixContext, Route


def _review(ctx: MatrixContext) -> dict[str, Any]:
    today = local_today(ctx.site.time_zone)
    patient, enrollment = enrolled(
        ctx.site, therapist=ctx.target, admitted_on=today - timedelta(days=30)
    )
    review = LevelReview.objects.create(
        enrollment=enrollment,
        patient=patient,
        site=ctx.site,
        direction="step_up",
        signals=[{"code": "safety_flag", "evidence": "Safety flag: matrix", "dates": []}],
        fingerprint=fingerprint([]),
        trigger="nightly",
        created_at=timezone.now(),
    )
    return {"review_id": review.pk}


def _decision(ctx: MatrixContext) -> dict[str, Any]:
    return {"accept-version": "1", "accept-reason": "Matrix", "dismiss-version": "1"}


ROUTES: dict[str, Route] = {
    "review-detail": Route("get", kwargs=_review),
    "review-accept": Route("post", kwargs=_review, data=_decision),
    "review-dismiss": Route("post", kwargs=_review, data=_decision),
}
