"""The review page and its decisions through HTTP: signals with links, dismiss with a reason,
accept without a transfer, accept and transfer (prefilled, linked in one transaction),
stale and repeated decisions, and who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.alerts.models import Alert, AlertState
from openiop.audit.models import AuditEvent
from openiop.measures import engine
from openiop.measures.models import LevelReview, ReviewState
from openiop.programs.models import Enrollment, EnrollmentStatus
from tests.factories import make_user, sign_in
from tests.factories_measures import enrolled
from tests.factories_programs import make_program
from tests.factories_reviews import screen_on, today_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(site, tom):
    """An IOP patient with three unexpected screens and the step-up review they raised."""
    today = today_at(site)
    iop = make_program(site, "2.1", name="Adult IOP")
    patient, enrollment = enrolled(
        site, therapist=tom, program=iop, admitted_on=today - timedelta(days=40)
    )
    screens = [
        screen_on(patient, today - timedelta(days=d), unexpected=True, enrollment=enrollment)
        for d in (20, 10, 2)
    ]
    engine.on_event(patient, trigger="screen", today=today)
    review = LevelReview.objects.get(direction="step_up")
    return patient, enrollment, review, screens


@pytest.fixture
def php(site):
    return make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)


@pytest.fixture
def as_tom(client, tom, site):
    sign_in(client, tom, site=site)
    return client


def _url(name, review):
    return reverse(name, args=[review.pk])


def test_it_shows_every_signal_with_links_to_its_screens(as_tom, case):
    patient, _, review, screens = case

    response = as_tom.get(_url("review-detail", review))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Review for step-up" in page
    assert "3 unexpected screen results in 30 days" in page
    for screen in screens:
        assert reverse("screen-detail", args=[screen.pk]) in page
    assert reverse("patient-chart", args=[patient.pk]) + "#hours" in page  # missed hours too
    assert "Dismiss" in page and "Accept without transfer" in page
    assert 'data-testid="no-target"' in page  # no PHP at the site yet
    assert AuditEvent.objects.filter(
        object_type="level_review", patient_id=patient.pk, action="view"
    ).exists()


def _page_queries(client, review):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_url("review-detail", review)).status_code == 200
    return len(queries)


def test_it_reads_the_page_with_a_fixed_number_of_queries(as_tom, case, php, site, tom):
    patient, enrollment, review, _ = case
    few = _page_queries(as_tom, review)
    # Twice the screens on the same days: still one query for all of them.
    today = today_at(site)
    for d in (20, 10, 2):
        screen_on(patient, today - timedelta(days=d), unexpected=True, enrollment=enrollment)

    assert _page_queries(as_tom, review) == few
    assert few <= 16


def test_it_offers_the_program_one_level_up(as_tom, case, php, site):
    make_program(site, "3.5", name="Residential", weekly_hours_min=30, weekly_hours_max=60)
    _, _, review, _ = case

    page = as_tom.get(_url("review-detail", review)).content.decode()

    assert "Opens the transfer to <strong>Adult PHP</strong>" in page


def test_it_hides_another_sites_review(client, oscar, other_site, case):
    sign_in(client, oscar, site=other_site)
    _, _, review, _ = case

    assert client.get(_url("review-detail", review)).status_code == 404
    response = client.post(
        _url("review-dismiss", review), {"dismiss-version": 1, "dismiss-reason": "x"}
    )
    assert response.status_code == 404
    assert LevelReview.objects.get().state == ReviewState.OPEN


def test_it_answers_404_for_a_made_up_review(as_tom):
    assert as_tom.get("/reviews/999999/").status_code == 404
    assert AuditEvent.objects.filter(action="access_denied", object_type="level_review").exists()


def test_it_shows_a_nurse_the_review_without_the_decision(client, site, case):
    nia = make_user("nia", site=site, role="nurse", first_name="Nia", last_name="Nursling")
    sign_in(client, nia, site=site)
    _, _, review, _ = case

    page = client.get(_url("review-detail", review)).content.decode()

    assert "Not decided yet" in page and "Accept without transfer" not in page
    response = client.post(
        _url("review-dismiss", review), {"dismiss-version": 1, "dismiss-reason": "x"}
    )
    assert response.status_code == 403


def test_it_dismisses_with_a_reason_and_resolves_the_alert(as_tom, case, tom):
    _, _, review, _ = case

    response = as_tom.post(
        _url("review-dismiss", review),
        {"dismiss-version": review.version, "dismiss-reason": "Explained by a new prescription"},
    )

    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.state, review.reason, review.decided_by) == (
        ReviewState.DISMISSED,
        "Explained by a new prescription",
        tom,
    )
    alert = Alert.objects.get(evidence_id=review.pk)
    assert alert.state == AlertState.RESOLVED
    assert alert.resolution == "Review dismissed: Explained by a new prescription"
    assert AuditEvent.objects.filter(
        object_type="level_review", object_id=str(review.pk), detail__contains="dismissed"
    ).exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_refuses_a_dismissal_without_a_reason(as_tom, case, reason):
    _, _, review, _ = case

    response = as_tom.post(
        _url("review-dismiss", review),
        {"dismiss-version": review.version, "dismiss-reason": reason},
    )

    assert response.status_code == 422
    assert 'data-testid="error-dismiss-reason"' in response.content.decode()
    assert LevelReview.objects.get().state == ReviewState.OPEN


@pytest.mark.parametrize("version", ["", "abc"])
def test_it_refuses_a_missing_or_bad_version(as_tom, case, version):
    _, _, review, _ = case

    response = as_tom.post(
        _url("review-dismiss", review), {"dismiss-version": version, "dismiss-reason": "Fine"}
    )

    assert response.status_code == 422
    assert LevelReview.objects.get().state == ReviewState.OPEN


def test_it_refuses_a_stale_version_with_409(as_tom, case):
    _, _, review, _ = case

    response = as_tom.post(
        _url("review-dismiss", review), {"dismiss-version": 7, "dismiss-reason": "Fine"}
    )

    assert response.status_code == 409
    assert "changed since the page was loaded" in response.content.decode()
    assert LevelReview.objects.get().state == ReviewState.OPEN


def test_it_refuses_to_decide_twice(as_tom, case):
    _, _, review, _ = case
    data = {"dismiss-version": review.version, "dismiss-reason": "Fine"}
    as_tom.post(_url("review-dismiss", review), data)

    again = as_tom.post(
        _url("review-accept", review), {"accept-version": review.version, "accept-reason": "x"}
    )

    assert again.status_code == 409
    assert "already decided" in again.content.decode()
    assert LevelReview.objects.get().state == ReviewState.DISMISSED


def test_it_accepts_without_a_transfer_with_a_reason(as_tom, case):
    _, enrollment, review, _ = case

    missing = as_tom.post(
        _url("review-accept", review), {"accept-version": review.version, "accept-reason": ""}
    )
    assert missing.status_code == 422
    response = as_tom.post(
        _url("review-accept", review),
        {"accept-version": review.version, "accept-reason": "Referred to residential care"},
    )

    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.state, review.transfer) == (ReviewState.ACCEPTED, None)
    assert Enrollment.objects.get(pk=enrollment.pk).status == EnrollmentStatus.ACTIVE
    alert = Alert.objects.get(evidence_id=review.pk)
    assert alert.resolution == "Review accepted: Referred to residential care"


def test_it_stays_on_the_page_when_there_is_no_program_to_transfer_to(as_tom, case):
    _, _, review, _ = case

    response = as_tom.post(
        _url("review-accept", review), {"accept-version": review.version, "transfer": "1"}
    )

    assert response.status_code == 422
    assert "No program one level up at this site" in response.content.decode()
    assert LevelReview.objects.get().state == ReviewState.OPEN


def test_it_accepts_and_transfers_in_one_step(as_tom, case, php, tom):
    patient, enrollment, review, _ = case

    response = as_tom.post(
        _url("review-accept", review), {"accept-version": review.version, "transfer": "1"}
    )

    transfer_url = reverse("enrollment-transfer", args=[patient.pk, enrollment.pk])
    assert response.status_code == 302
    assert response["Location"] == f"{transfer_url}?review={review.pk}&program={php.pk}"
    assert LevelReview.objects.get().state == ReviewState.OPEN  # nothing decided yet

    form = as_tom.get(response["Location"])
    assert form.status_code == 200
    page = form.content.decode()
    assert f'<option value="{php.pk}" selected>' in page
    assert '<option value="step_up" selected>' in page
    assert f"Step-up review #{review.pk}: 3 unexpected screen results" in page
    assert f'name="review" value="{review.pk}"' in page
    assert reverse("review-detail", args=[review.pk]) in page

    today = today_at(patient.site)
    saved = as_tom.post(
        transfer_url,
        {
            "program": php.pk,
            "on": today.isoformat(),
            "kind": "step_up",
            "reason": "Step-up review: three unexpected screens",
            "weekly_hours_min": "20",
            "weekly_hours_max": "30",
            "individual_cadence": "weekly",
            "primary_therapist": tom.pk,
            "version": enrollment.version,
            "review": review.pk,
            "review_version": review.version,
        },
    )

    assert saved.status_code == 302, saved.content.decode()[:3000]
    new = Enrollment.objects.get(patient=patient, status=EnrollmentStatus.ACTIVE)
    assert new.program == php and new.previous_id == enrollment.pk
    review.refresh_from_db()
    assert (review.state, review.transfer) == (ReviewState.ACCEPTED, new)
    assert review.reason == "Step-up review: three unexpected screens"
    alert = Alert.objects.get(evidence_id=review.pk)
    assert alert.state == AlertState.RESOLVED
    assert alert.resolution.startswith("Review accepted; transferred to Adult PHP")
    # The next nightly run does not raise a review from the old enrollment's screens.
    assert engine.run_reviews(today=today).reviews == 0


def test_it_leaves_the_enrollment_alone_when_the_review_went_stale(as_tom, case, php, tom):
    patient, enrollment, review, _ = case
    as_tom.post(
        _url("review-dismiss", review), {"dismiss-version": review.version, "dismiss-reason": "No"}
    )

    response = as_tom.post(
        reverse("enrollment-transfer", args=[patient.pk, enrollment.pk]),
        {
            "program": php.pk,
            "on": today_at(patient.site).isoformat(),
            "kind": "step_up",
            "reason": "Step-up",
            "weekly_hours_min": "20",
            "weekly_hours_max": "30",
            "individual_cadence": "weekly",
            "version": enrollment.version,
            "review": review.pk,
            "review_version": review.version,
        },
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "already decided" in page
    assert f"review #{review.pk}</a>" in page  # the form still says which review it is for
    assert Enrollment.objects.get(pk=enrollment.pk).status == EnrollmentStatus.ACTIVE


def test_it_refuses_a_review_of_another_enrollment_on_the_transfer_form(as_tom, case, site, tom):
    _, enrollment, review, _ = case
    other_patient, other = enrolled(
        site, therapist=tom, program=enrollment.program, admitted_on=today_at(site)
    )

    url = reverse("enrollment-transfer", args=[other_patient.pk, other.pk])
    assert as_tom.get(f"{url}?review={review.pk}").status_code == 404
    assert as_tom.get(f"{url}?review=abc").status_code == 404


# --- the chart panel ---------------------------------------------------------------------


def _chart(client, patient):
    return client.get(reverse("patient-chart", args=[patient.pk]))


def test_the_chart_shows_open_reviews_first_and_the_decided_ones(as_tom, case, tom):
    patient, _, review, _ = case
    page = _chart(as_tom, patient).content.decode()
    assert 'data-testid="chart-reviews-open"' in page
    assert reverse("review-detail", args=[review.pk]) in page
    assert "Unexpected screens" in page

    as_tom.post(
        _url("review-dismiss", review),
        {"dismiss-version": review.version, "dismiss-reason": "Talked it through"},
    )
    page = _chart(as_tom, patient).content.decode()

    assert 'data-testid="chart-reviews-open"' not in page
    assert "<strong>dismissed</strong> by Tom Fakename" in page
    assert "Talked it through" in page


def test_the_chart_says_when_there_is_no_review(as_tom, site, tom):
    patient, _ = enrolled(site, therapist=tom, admitted_on=today_at(site))

    assert 'data-testid="chart-reviews-empty"' in _chart(as_tom, patient).content.decode()


def test_the_chart_hides_reviews_from_the_front_desk(client, site, case):
    fran = make_user("fran", site=site, role="front_desk")
    sign_in(client, fran, site=site)
    patient, _, _, _ = case

    assert 'data-testid="chart-reviews"' not in _chart(client, patient).content.decode()


def test_the_chart_panel_costs_the_same_for_one_review_or_many(as_tom, case):
    patient, enrollment, review, _ = case
    from django.utils import timezone

    with CaptureQueriesContext(connection) as one:
        _chart(as_tom, patient)
    for index in range(6):
        LevelReview.objects.create(
            enrollment=enrollment,
            patient=patient,
            site=patient.site,
            direction="step_down",
            signals=[{"code": "hours_met", "evidence": "Hours met", "dates": []}],
            fingerprint=f"{index:064d}",
            trigger="nightly",
            created_at=timezone.now(),
            state="dismissed",
            decided_at=timezone.now(),
            decided_by=review.enrollment.primary_therapist,
            reason=f"Not yet ({index})",
        )
    with CaptureQueriesContext(connection) as many:
        page = _chart(as_tom, patient).content.decode()

    assert "Not yet (5)" in page
    assert len(many) == len(one)


def test_it_links_a_band_up_to_the_two_results(as_tom, site, tom):
    from tests.factories_reviews import PHQ9, closed_weeks, response_on, week_attended

    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    for week in closed_weeks(today, 3):
        week_attended(site, tom, patient, week, hours=9)
    first = response_on(patient, today - timedelta(days=20), "PHQ-9", PHQ9["mild"], by=tom)
    latest = response_on(patient, today - timedelta(days=1), "PHQ-9", PHQ9["severe"], by=tom)
    [review] = engine.run_reviews(today=today).reviews_created

    page = as_tom.get(_url("review-detail", review)).content.decode()

    assert 'data-testid="signal-phq9_band_up"' in page
    for response in (first, latest):
        assert reverse("measure-detail", args=[response.pk]) in page


@pytest.mark.parametrize("review_id", ["99999999999999999999999", "0", "424242"])
def test_the_transfer_form_refuses_a_made_up_review_without_moving_anyone(
    as_tom, case, php, review_id
):
    patient, enrollment, _, _ = case

    response = as_tom.post(
        reverse("enrollment-transfer", args=[patient.pk, enrollment.pk]),
        {
            "program": php.pk,
            "on": today_at(patient.site).isoformat(),
            "kind": "step_up",
            "reason": "Step-up",
            "weekly_hours_min": "20",
            "weekly_hours_max": "30",
            "individual_cadence": "weekly",
            "version": enrollment.version,
            "review": review_id,
            "review_version": "1",
        },
    )

    assert response.status_code == 422
    assert "Not a review of this enrollment." in response.content.decode()
    assert Enrollment.objects.get(pk=enrollment.pk).status == EnrollmentStatus.ACTIVE
    assert LevelReview.objects.get().state == ReviewState.OPEN
