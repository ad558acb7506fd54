"""The engine and the decisions at once on separate connections (SQLite file and PostgreSQL):
simultaneous runs leave one review and one alert per person; simultaneous decisions leave one
decision, the others refused."""

from __future__ import annotations

from datetime import timedelta

from openiop.alerts.models import Alert
from openiop.measures import engine
from openiop.measures.models import LevelReview, ReviewState
from openiop.measures.services_reviews import ReviewConflict, dismiss_review
from tests.factories import make_site, make_user
from tests.factories_measures import enrolled
from tests.factories_reviews import screen_on, today_at
from tests.file_database import rerun_on_a_file_database
from tests.test_patients_concurrency import _in_threads

THREADS = 4


def _flagged_patient():
    site = make_site()
    therapist = make_user("tom", site=site, role="therapist")
    today = today_at(site)
    patient, _ = enrolled(site, therapist=therapist, admitted_on=today - timedelta(days=40))
    for days in (20, 10, 2):
        screen_on(patient, today - timedelta(days=days), unexpected=True)
    return site, therapist, patient, today


def test_simultaneous_runs_raise_one_review(request, tmp_path, transactional_db):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site, _, patient, today = _flagged_patient()

    def run(index: int) -> None:
        if index % 2:
            engine.run_reviews(today=today, sites=[site])
        else:
            engine.on_event(patient, trigger="manual", today=today)

    errors = _in_threads(run, THREADS)

    assert errors == []
    assert LevelReview.objects.count() == 1
    assert Alert.objects.count() == 1


def test_simultaneous_decisions_keep_one(request, tmp_path, transactional_db):
    if rerun_on_a_file_database(request, tmp_path):
        return
    _, therapist, patient, today = _flagged_patient()
    [review] = engine.on_event(patient, trigger="manual", today=today)

    def decide(index: int) -> None:
        dismiss_review(review, by=therapist, version=1, reason=f"Reason {index}")

    errors = _in_threads(decide, THREADS)

    assert len(errors) == THREADS - 1
    assert all(isinstance(error, ReviewConflict) for error in errors), errors
    decided = LevelReview.objects.get()
    assert (decided.state, decided.version) == (ReviewState.DISMISSED, 2)
