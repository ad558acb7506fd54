"""The review engine from real rows: each signal raises a review end to end, runs are
idempotent, ended enrollments close their reviews, and the query count does not grow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.audit.models import AuditEvent
from openiop.measures import engine
from openiop.measures.models import LevelReview, ProgramMeasureSettings, ReviewState
from openiop.programs.models import EnrollmentStatus
from tests.factories_measures import enrolled
from tests.factories_programs import make_program
from tests.factories_reviews import (
    ALL_MET,
    PHQ9,
    closed_weeks,
    plan_with_goals,
    response_on,
    screen_on,
    today_at,
    week_attended,
)

pytestmark = pytest.mark.django_db


def _three_unexpected(patient, enrollment, today):
    for days in (20, 10, 2):
        screen_on(patient, today - timedelta(days=days), unexpected=True, enrollment=enrollment)


def test_it_raises_a_step_up_review_for_three_unexpected_screens(site, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _three_unexpected(patient, enrollment, today)

    summary = engine.run_reviews(today=today)

    review = LevelReview.objects.get()
    assert (review.enrollment, review.direction, review.state) == (enrollment, "step_up", "open")
    # No attendance was booked, so the last two closed weeks missed the floor too.
    assert [s["code"] for s in review.signals] == ["unexpected_screens", "missed_hours"]
    assert review.signals[0]["dates"] == [
        (today - timedelta(days=d)).isoformat() for d in (20, 10, 2)
    ]
    assert review.trigger == "nightly"
    alert = Alert.objects.get(kind=AlertKind.REVIEW_RECOMMENDED)
    assert (alert.assignee, alert.severity, alert.evidence_id) == (tom, "high", review.pk)
    assert alert.title.startswith("Review for step-up: 3 unexpected screen results in 30 days")
    assert (summary.reviews, summary.alerts, summary.enrollments) == (1, 1, 1)
    assert AuditEvent.objects.filter(object_type="level_review", object_id=str(review.pk)).exists()


def test_it_raises_nothing_on_a_second_run(site, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _three_unexpected(patient, enrollment, today)
    engine.run_reviews(today=today)

    second = engine.run_reviews(today=today)

    assert (second.reviews, second.alerts) == (0, 0)
    assert LevelReview.objects.count() == 1
    assert Alert.objects.count() == 1
