"""The review engine from real rows: each signal raises a review end to end, runs are
idempotent, ended enrollments close their reviews, and the query count does not grow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.audit.models import AuditEvent
from openiop.measures import engine
from openiop.measures.models import LevelReview, ProgramMeasureSettings, ReviewState
from openiop.programs.models import EnrollmentStatus
from tests.factories_measures import enrolled
from tests.factories_programs import make_program
from tests.factories_reviews import (
    ALL_MET,
    GAD7_MILD,
    PHQ9,
    closed_weeks,
    plan_with_goals,
    response_on,
    screen_on,
    today_at,
    week_attended,
)

pytestmark = pytest.mark.django_db


def _attend(site, tom, patient, today, *, weeks=4, hours=9):
    for week in closed_weeks(today, weeks):
        week_attended(site, tom, patient, week, hours=hours)


def _three_unexpected(patient, enrollment, today):
    for days in (20, 10, 2):
        screen_on(patient, today - timedelta(days=days), unexpected=True, enrollment=enrollment)


def _codes(review):
    return [s["code"] for s in review.signals]


def _stable_patient(site, tom, today, **fields):
    """Four weeks met, two negative screens, two stable scores, every goal met."""
    patient, enrollment = enrolled(
        site, therapist=tom, admitted_on=today - timedelta(days=60), **fields
    )
    _attend(site, tom, patient, today, weeks=5)
    screen_on(patient, today - timedelta(days=20), unexpected=False)
    screen_on(patient, today - timedelta(days=6), unexpected=False)
    response_on(patient, today - timedelta(days=21), "PHQ-9", PHQ9["mild"], by=tom)
    response_on(patient, today - timedelta(days=3), "PHQ-9", PHQ9["mild"], by=tom)
    plan_with_goals(patient, enrollment, tom, statuses=ALL_MET)
    return patient, enrollment


def test_it_raises_a_step_up_review_for_three_unexpected_screens(site, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    _three_unexpected(patient, enrollment, today)

    summary = engine.run_reviews(today=today)

    review = LevelReview.objects.get()
    assert (review.enrollment, review.direction, review.state) == (enrollment, "step_up", "open")
    assert _codes(review) == ["unexpected_screens"]
    assert review.signals[0]["dates"] == [
        (today - timedelta(days=d)).isoformat() for d in (20, 10, 2)
    ]
    assert review.trigger == "nightly"
    alert = Alert.objects.get(kind=AlertKind.REVIEW_RECOMMENDED)
    assert (alert.assignee, alert.severity, alert.evidence_id) == (tom, "high", review.pk)
    assert alert.evidence_type == "level_review"
    assert alert.title == (
        "Review for step-up: 3 unexpected screen results in 30 days (threshold 3)"
    )
    assert alert.detail == review.signals[0]["evidence"]
    assert (summary.reviews, summary.alerts, summary.enrollments) == (1, 1, 1)
    assert AuditEvent.objects.filter(object_type="level_review", object_id=str(review.pk)).exists()


def test_it_does_not_count_two_unexpected_screens_or_expected_ones(site, tom):
    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    screen_on(patient, today - timedelta(days=9), unexpected=True)
    screen_on(patient, today - timedelta(days=5), unexpected=True)
    screen_on(patient, today - timedelta(days=2), unexpected=False)

    engine.run_reviews(today=today)

    assert not LevelReview.objects.exists()


def test_it_raises_nothing_on_a_second_run(site, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _three_unexpected(patient, enrollment, today)
    engine.run_reviews(today=today)

    second = engine.run_reviews(today=today)

    assert (second.reviews, second.alerts) == (0, 0)
    assert LevelReview.objects.count() == 1
    assert Alert.objects.count() == 1


def test_it_raises_nothing_nightly_after_on_event_raised_it(site, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    _three_unexpected(patient, enrollment, today)

    raised = engine.on_event(patient, trigger="screen", today=today)
    nightly = engine.run_reviews(today=today)

    assert [r.trigger for r in raised] == ["screen"]
    assert nightly.reviews == 0
    assert LevelReview.objects.get().trigger == "screen"
    assert Alert.objects.count() == 1


def test_it_ignores_a_patient_without_an_active_enrollment_on_event(site, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _three_unexpected(patient, enrollment, today)
    enrollment.status = EnrollmentStatus.DISCHARGED
    enrollment.discharged_on = today
    enrollment.save()

    assert engine.on_event(patient, trigger="screen") == []
    assert not LevelReview.objects.exists()


def test_it_raises_a_review_for_missed_weeks(site, tom):
    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today, weeks=2, hours=3)

    engine.run_reviews(today=today)

    review = LevelReview.objects.get()
    assert _codes(review) == ["missed_hours"]
    assert review.signals[0]["dates"] == [w.monday.isoformat() for w in closed_weeks(today, 2)]
    assert "3.00 h of 9.0 h" in review.signals[0]["evidence"]


def test_it_raises_a_review_for_a_phq9_band_up(site, tom):
    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    response_on(patient, today - timedelta(days=20), "PHQ-9", PHQ9["mild"], by=tom)
    response_on(patient, today - timedelta(days=1), "PHQ-9", PHQ9["severe"], by=tom)

    engine.run_reviews(today=today)

    review = LevelReview.objects.get()
    assert _codes(review) == ["phq9_band_up"]
    assert "7 (mild)" in review.signals[0]["evidence"]
    assert "24 (severe)" in review.signals[0]["evidence"]


def test_it_leaves_struck_responses_out(site, tom):
    from openiop.measures.models import MeasureStrike

    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    response_on(patient, today - timedelta(days=20), "PHQ-9", PHQ9["mild"], by=tom)
    wrong = response_on(patient, today - timedelta(days=1), "PHQ-9", PHQ9["severe"], by=tom)
    MeasureStrike.objects.create(
        response=wrong, reason="wrong patient", struck_by=tom, struck_at=timezone.now()
    )

    engine.run_reviews(today=today)

    assert not LevelReview.objects.exists()


def test_it_raises_a_review_for_a_safety_flag(site, tom):
    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    response_on(patient, today - timedelta(days=1), "PHQ-9", [0, 0, 0, 0, 0, 0, 0, 0, 2], by=tom)

    engine.run_reviews(today=today)

    review = LevelReview.objects.get()
    assert _codes(review) == ["safety_flag"]
    assert "PHQ-9 item 9 answered above 0" in review.signals[0]["evidence"]


def test_it_raises_a_rising_craving_review(site, tom):
    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    for days, rating in ((20, 2), (8, 5), (2, 6)):
        response_on(patient, today - timedelta(days=days), "CRAVING", [rating], by=tom)

    engine.run_reviews(today=today)

    assert _codes(LevelReview.objects.get()) == ["craving_rising"]


def test_it_raises_a_step_down_review_when_every_condition_holds(site, tom):
    today = today_at(site)
    _, enrollment = _stable_patient(site, tom, today)

    engine.run_reviews(today=today)

    review = LevelReview.objects.get()
    assert (review.enrollment, review.direction) == (enrollment, "step_down")
    assert _codes(review) == ["screens_negative", "hours_met", "scores_stable", "goals_met"]
    alert = Alert.objects.get()
    assert (alert.severity, alert.assignee) == ("medium", tom)
    assert alert.title.startswith("Review for step-down: ")


@pytest.mark.parametrize("statuses", [["met", "open"], ["met", "not_met"], []])
def test_it_does_not_step_down_while_a_goal_is_not_met(site, tom, statuses):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=60))
    _attend(site, tom, patient, today, weeks=5)
    screen_on(patient, today - timedelta(days=20), unexpected=False)
    screen_on(patient, today - timedelta(days=6), unexpected=False)
    response_on(patient, today - timedelta(days=21), "GAD-7", GAD7_MILD, by=tom)
    response_on(patient, today - timedelta(days=3), "GAD-7", GAD7_MILD, by=tom)
    plan_with_goals(patient, enrollment, tom, statuses=statuses)

    engine.run_reviews(today=today)

    assert not LevelReview.objects.exists()


def test_it_steps_down_without_goals_when_the_program_does_not_require_them(site, tom):
    today = today_at(site)
    patient, enrollment = _stable_patient(site, tom, today)
    plan_with_goals(patient, enrollment, tom, statuses=["open"])  # the latest plan counts
    ProgramMeasureSettings.objects.create(program=enrollment.program, require_goals_met=False)

    engine.run_reviews(today=today)

    assert _codes(LevelReview.objects.get()) == ["screens_negative", "hours_met", "scores_stable"]


def test_it_uses_the_programs_thresholds(site, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    screen_on(patient, today - timedelta(days=5), unexpected=True)
    screen_on(patient, today - timedelta(days=2), unexpected=True)
    ProgramMeasureSettings.objects.create(program=enrollment.program, unexpected_screens=2)

    engine.run_reviews(today=today)

    assert _codes(LevelReview.objects.get()) == ["unexpected_screens"]


def test_it_keeps_one_open_review_per_direction_until_it_is_decided(site, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    _three_unexpected(patient, enrollment, today)
    engine.run_reviews(today=today)
    screen_on(patient, today - timedelta(days=1), unexpected=True)  # new evidence

    assert engine.run_reviews(today=today).reviews == 0

    first = LevelReview.objects.get()
    LevelReview.objects.filter(pk=first.pk).update(
        state=ReviewState.DISMISSED, decided_at=timezone.now(), reason="Discussed"
    )
    assert engine.run_reviews(today=today).reviews == 1
    newest = LevelReview.objects.exclude(pk=first.pk).get()
    assert len(newest.signals[0]["dates"]) == 4
    assert newest.fingerprint != first.fingerprint
    # Dismissed with the same evidence: nothing new.
    LevelReview.objects.filter(pk=newest.pk).update(
        state=ReviewState.DISMISSED, decided_at=timezone.now(), reason="Discussed"
    )
    assert engine.run_reviews(today=today).reviews == 0


def test_it_alerts_the_directors_when_there_is_no_primary_therapist(site, dana, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    _three_unexpected(patient, enrollment, today)

    engine.run_reviews(today=today)

    assert list(Alert.objects.values_list("assignee__username", flat=True)) == ["dana"]


def test_it_closes_the_open_reviews_of_ended_enrollments(site, tom):
    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _three_unexpected(patient, enrollment, today)
    engine.run_reviews(today=today)
    enrollment.status = EnrollmentStatus.DISCHARGED
    enrollment.discharged_on = today
    enrollment.save()

    summary = engine.run_reviews(today=today)

    review = LevelReview.objects.get()
    assert (review.state, review.reason) == (ReviewState.CLOSED, "Enrollment ended")
    assert review.decided_at is not None
    alert = Alert.objects.get()
    assert (alert.state, alert.resolution) == (AlertState.RESOLVED, "Enrollment ended")
    assert summary.closed == 1
    assert engine.run_reviews(today=today).closed == 0


def test_it_counts_evidence_from_the_current_enrollment_only(site, tom):
    today = today_at(site)
    higher = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    patient, old = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _three_unexpected(patient, old, today)
    old.status = EnrollmentStatus.TRANSFERRED
    old.discharged_on = today - timedelta(days=1)
    old.save()
    from tests.factories_hours import make_enrollment

    make_enrollment(
        patient, higher, admitted_on=today, episode=old.episode, previous=old, primary_therapist=tom
    )

    engine.run_reviews(today=today)

    assert not LevelReview.objects.filter(state=ReviewState.OPEN).exists()


def test_it_recommends_nothing_at_outpatient_level_for_step_down(site, tom):
    today = today_at(site)
    outpatient = make_program(site, "1", name="Outpatient", weekly_hours_min=1, weekly_hours_max=8)
    _stable_patient(site, tom, today, program=outpatient)

    engine.run_reviews(today=today)

    assert not LevelReview.objects.exists()


def test_it_replays_a_past_day(site, tom):
    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=80))
    for days in (50, 45, 40):
        screen_on(patient, today - timedelta(days=days), unexpected=True)
    _attend(site, tom, patient, today, weeks=10)

    assert engine.run_reviews(today=today).reviews == 0
    assert engine.run_reviews(today=today - timedelta(days=39)).reviews == 1


def _site_queries(site, today):
    with CaptureQueriesContext(connection) as queries:
        engine.run_reviews(today=today, sites=[site])
    return len(queries)


def test_it_reads_a_site_with_the_same_number_of_queries_for_3_and_12_enrollments(
    site, other_site, tom, dana
):
    from tests.factories import make_user

    today = today_at(site)
    other_tom = make_user("otto", site=other_site, role="therapist")
    for place, therapist, count in ((site, tom, 3), (other_site, other_tom, 12)):
        program = make_program(place)
        for index in range(count):
            patient, enrollment = enrolled(
                place,
                program=program,
                therapist=therapist if index % 2 else None,
                admitted_on=today - timedelta(days=40),
                last_name=f"Sample{index}",
            )
            _three_unexpected(patient, enrollment, today)
            response_on(patient, today - timedelta(days=20), "PHQ-9", PHQ9["mild"], by=therapist)
            response_on(patient, today - timedelta(days=2), "PHQ-9", PHQ9["severe"], by=therapist)
            plan_with_goals(patient, enrollment, therapist, statuses=ALL_MET)
        make_user(f"director{place.pk}", site=place, role="director")

    small = _site_queries(site, today)
    large = _site_queries(other_site, today)
    assert LevelReview.objects.filter(site=other_site).count() == 12
    assert small == large
    assert small <= 25
    # The idempotent re-run reads the same inputs and writes nothing.
    assert _site_queries(site, today) == _site_queries(other_site, today)


def test_recording_the_third_unexpected_result_raises_the_review(
    site, tom, django_capture_on_commit_callbacks
):
    from openiop.screening.services_screens import record_collection, record_results
    from tests.factories_screens import collection, make_screen, negatives

    today = today_at(site)
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    _attend(site, tom, patient, today)
    screen_on(patient, today - timedelta(days=20), unexpected=True)
    screen_on(patient, today - timedelta(days=10), unexpected=True)
    screen = make_screen(patient, enrollment=enrollment, reason="for_cause")
    screen = record_collection(screen, by=tom, data=collection(), version=screen.version)
    assert not LevelReview.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        record_results(
            screen, by=tom, results=negatives(fentanyl="positive"), version=screen.version
        )

    review = LevelReview.objects.get()
    assert (review.trigger, _codes(review)) == ("screen", ["unexpected_screens"])


def test_an_event_raises_only_a_review_it_brings_evidence_for(site, tom):
    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    screen_on(patient, today - timedelta(days=1), unexpected=False)  # hours: none attended

    assert engine.on_event(patient, trigger="screen", today=today) == []
    assert [r.trigger for r in engine.on_event(patient, trigger="week", today=today)] == ["week"]
    assert _codes(LevelReview.objects.get()) == ["missed_hours"]
