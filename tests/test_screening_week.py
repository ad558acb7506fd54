"""The "Screens and injections" week page and the signed-in clinician's alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
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


# --- Alerts ------------------------------------------------------------------------------------


def _alert(site, assignee, patient=None, *, state=AlertState.OPEN, evidence_id=1, **fields):
    patient = patient or make_patient(site, first_name="Alex", last_name="Alerted")
    return Alert.objects.create(
        site=site,
        patient=patient,
        kind=fields.pop("kind", AlertKind.UNEXPECTED_SCREEN),
        severity=fields.pop("severity", Severity.HIGH),
        title=fields.pop("title", "Unexpected drug-screen result"),
        detail=fields.pop("detail", "Fentanyl positive, not explained by a prescription."),
        evidence_type="drug_screen",
        evidence_id=evidence_id,
        assignee=assignee,
        created_at=timezone.now(),
        state=state,
        resolved_at=timezone.now() if state == AlertState.RESOLVED else None,
        **fields,
    )


@pytest.fixture
def therapist(client, site, tom):
    sign_in(client, tom, site=site)
    return client


def test_alerts_lists_only_my_open_alerts_at_this_site(therapist, site, other_site, tom, dana):
    mine = _alert(site, tom)
    seen = _alert(
        site,
        tom,
        make_patient(site, first_name="Sid", last_name="Seen"),
        state=AlertState.ACKNOWLEDGED,
        evidence_id=2,
    )
    _alert(
        site,
        tom,
        make_patient(site, first_name="Ren", last_name="Resolved"),
        state=AlertState.RESOLVED,
        evidence_id=3,
        resolution="Talked it through.",
    )
    _alert(site, dana, make_patient(site, first_name="Dee", last_name="Danas"), evidence_id=4)
    _alert(
        other_site,
        tom,
        make_patient(other_site, first_name="Ola", last_name="Otherplace"),
        evidence_id=5,
    )
    response = therapist.get(reverse("alerts"))
    html = response.content.decode()
    assert html.count('data-testid="alert"') == 2
    assert "Alex Alerted" in html and "Sid Seen" in html
    assert "Ren Resolved" not in html
    assert "Danas" not in html and "Otherplace" not in html
    assert "Fentanyl positive" in html
    assert f'action="{reverse("alert-acknowledge", args=[mine.pk])}"' in html
    assert f'action="{reverse("alert-acknowledge", args=[seen.pk])}"' not in html
    assert f'href="{reverse("screen-detail", args=[mine.evidence_id])}"' in html
    event = AuditEvent.objects.get(object_type="alert_list")
    assert str(mine.patient_id) in event.detail
    resolved = therapist.get(reverse("alerts") + "?show=resolved").content.decode()
    assert "Ren Resolved" in resolved and "Talked it through." in resolved
    assert "Alex Alerted" not in resolved


def test_alerts_empty_state(therapist):
    html = therapist.get(reverse("alerts") + "?show=nonsense").content.decode()
    assert 'data-testid="alerts-empty"' in html


def test_alerts_query_count_does_not_grow(therapist, site, tom):
    _alert(site, tom)
    small, _ = _measure(therapist, reverse("alerts"))
    for i in range(2, 12):
        _alert(site, tom, make_patient(site, first_name=f"A{i}", last_name="Many"), evidence_id=i)
    large, response = _measure(therapist, reverse("alerts"))
    assert response.content.decode().count('data-testid="alert"') == 11
    assert large == small


def test_acknowledge_then_resolve(therapist, site, tom):
    alert = _alert(site, tom)
    response = therapist.post(
        reverse("alert-acknowledge", args=[alert.pk]), {"version": alert.version}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED
    assert alert.acknowledged_by == tom
    response = therapist.post(
        reverse("alert-resolve", args=[alert.pk]),
        {"version": alert.version, "resolution": "Met with the patient; confirmation ordered."},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.resolution == "Met with the patient; confirmation ordered."


def test_resolving_without_saying_what_was_done_is_refused(therapist, site, tom):
    alert = _alert(site, tom)
    response = therapist.post(
        reverse("alert-resolve", args=[alert.pk]), {"version": alert.version, "resolution": " "}
    )
    assert response.status_code == 422
    assert 'data-testid="alert-problem"' in response.content.decode()
    assert "Say what was done" in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


@pytest.mark.parametrize("version", ["7", "", "x"])
def test_a_stale_or_missing_version_is_a_conflict(therapist, site, tom, version):
    alert = _alert(site, tom)
    response = therapist.post(
        reverse("alert-resolve", args=[alert.pk]),
        {"version": version, "resolution": "Typed before the page reloaded"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed since the page was loaded" in html
    assert 'value="Typed before the page reloaded"' in html
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_someone_elses_alert_is_not_found(therapist, site, dana, other_site, tom):
    danas = _alert(site, dana)
    elsewhere = _alert(other_site, tom, make_patient(other_site), evidence_id=9)
    for alert in (danas, elsewhere):
        for name in ("alert-acknowledge", "alert-resolve"):
            response = therapist.post(
                reverse(name, args=[alert.pk]), {"version": 1, "resolution": "x"}
            )
            assert response.status_code == 404
        alert.refresh_from_db()
        assert alert.state == AlertState.OPEN


def test_a_resolved_alert_cannot_be_acknowledged(therapist, site, tom):
    alert = _alert(site, tom, state=AlertState.RESOLVED)
    response = therapist.post(
        reverse("alert-acknowledge", args=[alert.pk]), {"version": alert.version}
    )
    assert response.status_code == 409
