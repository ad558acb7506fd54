"""The "Screens and injections" week page (alerts: tests/test_attention_views.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.lib.dates import local_today
from openiop.medications.models import MedicationOrder
from openiop.screening.models import ScreenReason, ScreenStatus
from tests.factories import make_user, sign_in
from tests.factories_patients import make_patient
from tests.factories_screens import make_screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def nina(site):
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Notreal")


@pytest.fixture
def nurse(client, site, nina):
    sign_in(client, nina, site=site)
    return client


def _collected(patient, *, verdict="unexpected", reviewed=False, **fields):
    return make_screen(
        patient,
        status=ScreenStatus.COLLECTED,
        specimen="urine",
        collected_at=timezone.now() - timedelta(hours=2),
        verdict=verdict,
        validity="valid",
        reviewed_at=timezone.now() if reviewed else None,
        **fields,
    )


def _measure(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


# --- Week page -------------------------------------------------------------------------------


def test_week_lists_todays_uncollected_screens_and_unreviewed_unexpected_results(
    nurse, site, other_site
):
    today = local_today(site.time_zone)
    called = make_patient(site, first_name="Casey", last_name="Called")
    called_screen = make_screen(called)
    for_cause = make_patient(site, first_name="Finley", last_name="Forcause")
    make_screen(for_cause, reason=ScreenReason.FOR_CAUSE, cause="Smelled of alcohol")
    yesterday = make_patient(site, first_name="Yael", last_name="Yesterday")
    make_screen(yesterday, selected_on=today - timedelta(days=1))
    done = make_patient(site, first_name="Dana", last_name="Done")
    _collected(done, verdict="expected")
    flagged = make_patient(site, first_name="Uma", last_name="Unexpected")
    flagged_screen = _collected(flagged)
    reviewed = make_patient(site, first_name="Rey", last_name="Reviewed")
    _collected(reviewed, reviewed=True)
    elsewhere = make_patient(other_site, first_name="Oli", last_name="Otherplace")
    make_screen(elsewhere)
    _collected(elsewhere, selected_on=today - timedelta(days=1))

    response = nurse.get(reverse("screens-week"))
    assert response.status_code == 200
    html = response.content.decode()
    collect = html.split('data-testid="week-to-collect"')[1].split("</section>")[0]
    review = html.split('data-testid="week-to-review"')[1].split("</section>")[0]
    assert "Casey Called" in collect
    assert "Finley Forcause" in collect and "Smelled of alcohol" in collect
    assert "Yael Yesterday" not in html
    assert "Dana Done" not in html
    assert "Uma Unexpected" in review
    # The nurse collects: the list opens the screen's fast form; results open the screen.
    assert reverse("screen-record", args=[called_screen.pk]) in collect
    assert reverse("screen-detail", args=[flagged_screen.pk]) in review
    assert "Rey Reviewed" not in html
    assert "Otherplace" not in html
    event = AuditEvent.objects.get(object_type="screens_week")
    for patient in (called, for_cause, flagged):
        assert str(patient.pk) in event.detail
    assert str(elsewhere.pk) not in event.detail


def test_a_therapist_opens_todays_screens_without_the_collection_form(client, site, tom):
    screen = make_screen(make_patient(site, first_name="Casey", last_name="Called"))
    sign_in(client, tom, site=site)
    html = client.get(reverse("screens-week")).content.decode()
    assert reverse("screen-detail", args=[screen.pk]) in html
    assert reverse("screen-record", args=[screen.pk]) not in html


def test_week_shows_empty_states(nurse):
    html = nurse.get(reverse("screens-week")).content.decode()
    assert 'data-testid="to-collect-empty"' in html
    assert 'data-testid="to-review-empty"' in html
    assert 'data-testid="injections-empty"' in html


def _sublocade(patient, by, *, days_ago):
    return MedicationOrder.objects.create(
        site=patient.site,
        patient=patient,
        medication="sublocade",
        dose=300,
        route="subcutaneous",
        frequency="monthly",
        started_on=local_today(patient.site.time_zone) - timedelta(days=days_ago),
        prescriber=by,
        dispensing="clinic",
        created_by=by,
    )


def test_week_lists_injections_due_for_those_who_see_medications(nurse, client, site, dana):
    patient = make_patient(site, first_name="Ivy", last_name="Injection")
    _sublocade(patient, dana, days_ago=2)
    html = nurse.get(reverse("screens-week")).content.decode()
    section = html.split('data-testid="week-injections"')[1].split("</section>")[0]
    assert "Ivy Injection" in section
    assert "First dose" in section
    assert str(patient.pk) in AuditEvent.objects.get(object_type="screens_week").detail


def test_week_query_count_does_not_grow_with_rows(nurse, site, dana):
    def fill(n):
        for i in range(n):
            patient = make_patient(site, first_name=f"P{i}", last_name=f"Row{n}")
            make_screen(patient)
            _collected(make_patient(site, first_name=f"Q{i}", last_name=f"Row{n}"))
            _sublocade(
                make_patient(site, first_name=f"R{i}", last_name=f"Row{n}"), dana, days_ago=3
            )

    fill(1)
    small, _ = _measure(nurse, reverse("screens-week"))
    fill(6)
    large, response = _measure(nurse, reverse("screens-week"))
    assert response.content.decode().count('data-patient="') == 21
    assert large == small
