"""The database keeps at most one open review per enrollment and direction, whatever the
evidence: two engine runs racing with different evidence cannot leave two."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from openiop.measures.models import LevelReview, ReviewDirection, ReviewState
from tests.factories import make_user
from tests.factories_measures import enrolled

pytestmark = pytest.mark.django_db


def _review(enrollment, direction, digest, **fields):
    return LevelReview.objects.create(
        enrollment=enrollment,
        patient_id=enrollment.patient_id,
        site_id=enrollment.program.site_id,
        direction=direction,
        signals=[],
        fingerprint=digest,
        trigger="nightly",
        created_at=timezone.now(),
        **fields,
    )


def test_a_second_open_review_in_the_same_direction_is_refused(site):
    therapist = make_user("tess", site=site, role="therapist")
    _, enrollment = enrolled(site, therapist=therapist)
    _review(enrollment, ReviewDirection.STEP_UP, "a" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        _review(enrollment, ReviewDirection.STEP_UP, "b" * 64)
    # Another direction, or once the first is decided, is allowed.
    _review(enrollment, ReviewDirection.STEP_DOWN, "c" * 64)
    _review(
        enrollment,
        ReviewDirection.STEP_UP,
        "d" * 64,
        state=ReviewState.DISMISSED,
        decided_at=timezone.now(),
        reason="Discussed in supervision.",
    )
    assert LevelReview.objects.filter(state=ReviewState.OPEN).count() == 2
