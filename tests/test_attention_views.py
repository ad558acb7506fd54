"""The attention list pages (mine and the site's), acknowledge and resolve, the old /alerts/
address and the navigation badge."""

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
from openiop.measures.attention import evidence_link
from tests.factories import make_user, sign_in
from tests.factories_attention import make_alert
from tests.factories_patients import make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist(client, site, tom):
    sign_in(client, tom, site=site)
    return client


@pytest.fixture
def director(client, site, dana):
    sign_in(client, dana, site=site)
    return client


def _measure(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def _rows(html):
    return html.count('data-testid="alert"')


# --- My list ---------------------------------------------------------------------------------


def test_it_lists_only_my_active_alerts_at_this_site(therapist, site, other_site, tom, dana):
    mine = make_alert(site, tom)
    seen = make_alert(
        site,
        tom,
        make_patient(site, first_name="Sid", last_name="Seen"),
        state=AlertState.ACKNOWLEDGED,
        evidence_id=2,
        acknowledged_at=timezone.now(),
        acknowledgement="Called the lab.",
    )
    make_alert(
        site,
        tom,
        make_patient(site, first_name="Ren", last_name="Resolved"),
        state=AlertState.RESOLVED,
        evidence_id=3,
        resolution="Talked it through.",
    )
    make_alert(site, dana, make_patient(site, first_name="Dee", last_name="Danas"), evidence_id=4)
    make_alert(
        other_site,
        tom,
        make_patient(other_site, first_name="Ola", last_name="Otherplace"),
        evidence_id=5,
    )
    response = therapist.get(reverse("attention"))
    html = response.content.decode()
    assert _rows(html) == 2
    assert "Alex Alerted" in html and "Sid Seen" in html
    assert "Ren Resolved" not in html
    assert "Danas" not in html and "Otherplace" not in html
    assert "Fentanyl positive" in html and "Called the lab." in html
    assert f'action="{reverse("alert-acknowledge", args=[mine.pk])}"' in html
    assert f'action="{reverse("alert-acknowledge", args=[seen.pk])}"' not in html
    assert f'href="{reverse("screen-detail", args=[mine.evidence_id])}"' in html
    event = AuditEvent.objects.get(object_type="attention_list")
    assert event.detail == f"mine active: patients {mine.patient_id},{seen.patient_id}"
    resolved = therapist.get(reverse("attention") + "?show=resolved").content.decode()
    assert "Ren Resolved" in resolved and "Talked it through." in resolved
    assert "Alex Alerted" not in resolved


def test_it_sorts_safety_first_then_high_severity_then_due_time_then_age(therapist, site, tom):
    now = timezone.now()
    low = make_alert(site, tom, severity=Severity.LOW, evidence_id=1)
    medium_late = make_alert(
        site, tom, severity=Severity.MEDIUM, evidence_id=2, due_at=now + timedelta(days=3)
    )
    medium_soon = make_alert(
        site, tom, severity=Severity.MEDIUM, evidence_id=3, due_at=now + timedelta(hours=2)
    )
    high_new = make_alert(site, tom, evidence_id=4, created_at=now)
    high_old = make_alert(site, tom, evidence_id=5, created_at=now - timedelta(days=1))
    medium_undated = make_alert(site, tom, severity=Severity.MEDIUM, evidence_id=6)
    safety = make_alert(site, tom, kind=AlertKind.SAFETY, evidence_type="measure", created_at=now)
    html = therapist.get(reverse("attention")).content.decode()
    order = [safety, high_old, high_new, medium_soon, medium_late, medium_undated, low]
    positions = [html.index(f'id="alert-{alert.pk}"') for alert in order]
    assert positions == sorted(positions)


def test_it_marks_overdue_alerts_and_links_the_evidence_per_kind(therapist, site, tom):
    patient = make_patient(site, first_name="Eve", last_name="Evidence")
    make_alert(
        site,
        tom,
        patient,
        kind=AlertKind.HOURS_AT_RISK,
        severity=Severity.MEDIUM,
        evidence_type="hours_week:2026-W48",
        evidence_id=7,
        due_at=timezone.now() - timedelta(hours=1),
    )
    make_alert(
        site,
        tom,
        patient,
        kind=AlertKind.NOTE_UNSIGNED,
        severity=Severity.MEDIUM,
        evidence_type="note",
        evidence_id=8,
        due_at=timezone.now() + timedelta(hours=5),
    )
    make_alert(
        site,
        tom,
        patient,
        kind=AlertKind.INJECTION_OVERDUE,
        evidence_type="administration",
        evidence_id=9,
    )
    html = therapist.get(reverse("attention")).content.decode()
    assert html.count('data-testid="alert-overdue"') == 1
    chart = reverse("patient-chart", args=[patient.pk])
    assert f'href="{chart}#hours"' in html
    assert f'href="{reverse("note-detail", args=[8])}"' in html
    assert f'href="{reverse("patient-medications", args=[patient.pk])}"' in html


def test_it_links_questionnaires_reviews_placements_and_sessions(site, tom):
    patient = make_patient(site, first_name="Lin", last_name="Links")
    expected = {
        ("measure", 11): reverse("measure-detail", args=[11]),
        ("level_review", 12): reverse("review-detail", args=[12]),
        ("placement", 13): reverse("placement-detail", args=[13]),
        ("enrollment_placement", 14): reverse("placement-new", args=[patient.pk]),
        ("enrollment_plan", 15): reverse("plan-detail", args=[patient.pk]),
        ("session", 16): reverse("documentation"),
    }
    for (evidence_type, evidence_id), url in expected.items():
        alert = make_alert(site, tom, patient, evidence_type=evidence_type, evidence_id=evidence_id)
        assert evidence_link(alert)[0] == url, evidence_type


def test_it_falls_back_to_the_chart_for_evidence_without_a_page(site, tom):
    alert = make_alert(site, tom, evidence_type="something_new", evidence_id=3)
    url, label = evidence_link(alert)
    assert url == reverse("patient-chart", args=[alert.patient_id])
    assert label == "Open the chart"


def test_it_filters_by_kind_and_severity_and_counts_per_kind(therapist, site, tom):
    make_alert(site, tom, evidence_id=1)
    make_alert(site, tom, evidence_id=2)
    make_alert(
        site,
        tom,
        kind=AlertKind.PLAN_DUE,
        severity=Severity.MEDIUM,
        evidence_type="enrollment_plan",
        evidence_id=3,
    )
    html = therapist.get(reverse("attention")).content.decode()
    assert (
        'data-kind="unexpected_screen">Unexpected drug-screen result <span class="fw-bold">2'
        in html
    )
    assert 'data-kind="plan_due">Treatment plan due <span class="fw-bold">1' in html
    assert 'data-testid="high-count">2 high' in html
    only_plans = therapist.get(reverse("attention") + "?kind=plan_due").content.decode()
    assert _rows(only_plans) == 1 and 'data-kind="plan_due" data-severity' in only_plans
    medium = therapist.get(reverse("attention") + "?severity=medium").content.decode()
    assert _rows(medium) == 1
    none = therapist.get(reverse("attention") + "?severity=low").content.decode()
    assert 'data-testid="alerts-empty"' in none and "No alerts match these filters" in none


@pytest.mark.parametrize("query", ["kind=nonsense", "severity=urgent", "show=everything"])
def test_an_unknown_filter_value_is_a_form_error(therapist, site, tom, query):
    make_alert(site, tom)
    response = therapist.get(reverse("attention") + "?" + query)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="filter-error"' in html and "is not one of the available" in html
    assert _rows(html) == 1


def test_it_shows_an_empty_state(therapist):
    html = therapist.get(reverse("attention")).content.decode()
    assert 'data-testid="alerts-empty"' in html and "You are up to date" in html


def test_my_list_query_count_does_not_grow(therapist, site, tom):
    for i in range(3):
        make_alert(
            site, tom, make_patient(site, first_name=f"F{i}", last_name="Few"), evidence_id=i
        )
    small, _ = _measure(therapist, reverse("attention"))
    for i in range(3, 12):
        make_alert(
            site,
            tom,
            make_patient(site, first_name=f"M{i}", last_name="Many"),
            evidence_id=i,
            state=AlertState.ACKNOWLEDGED if i % 2 else AlertState.OPEN,
        )
    large, response = _measure(therapist, reverse("attention"))
    assert _rows(response.content.decode()) == 12
    assert large == small


def test_the_old_alerts_address_redirects_permanently(therapist):
    response = therapist.get(reverse("alerts") + "?show=resolved")
    assert response.status_code == 301
    assert response["Location"] == reverse("attention") + "?show=resolved"
    assert reverse("alerts") == "/alerts/" and reverse("attention") == "/attention/"


# --- The site's list -------------------------------------------------------------------------


def test_the_site_list_shows_everyones_alerts_with_an_assignee_filter(
    director, site, other_site, tom, dana
):
    toms = make_alert(site, tom, evidence_id=1)
    danas = make_alert(
        site, dana, make_patient(site, first_name="Di", last_name="Rector"), evidence_id=2
    )
    make_alert(other_site, tom, make_patient(other_site, last_name="Elsewhere"), evidence_id=3)
    html = director.get(reverse("attention-site")).content.decode()
    assert _rows(html) == 2 and "Elsewhere" not in html
    assert f'<option value="{tom.pk}"' in html
    only_tom = director.get(reverse("attention-site") + f"?assignee={tom.pk}").content.decode()
    assert f'id="alert-{toms.pk}"' in only_tom and f'id="alert-{danas.pk}"' not in only_tom
    bad = director.get(reverse("attention-site") + "?assignee=99999")
    assert bad.status_code == 422
    event = AuditEvent.objects.filter(object_type="attention_list").first()
    assert event.detail.startswith("site active: patients")


def test_the_site_list_is_for_directors(therapist):
    assert therapist.get(reverse("attention-site")).status_code == 403


def test_the_site_list_query_count_does_not_grow(director, site, tom, dana):
    make_alert(site, tom, evidence_id=0)
    small, _ = _measure(director, reverse("attention-site"))
    for i in range(1, 12):
        who = tom if i % 2 else dana
        make_alert(
            site, who, make_patient(site, first_name=f"S{i}", last_name="Site"), evidence_id=i
        )
    large, response = _measure(director, reverse("attention-site"))
    assert _rows(response.content.decode()) == 12
    assert large == small


# --- Acknowledge and resolve -----------------------------------------------------------------


def test_acknowledge_with_an_action_then_resolve(therapist, site, tom):
    alert = make_alert(site, tom)
    response = therapist.post(
        reverse("alert-acknowledge", args=[alert.pk]),
        {"version": alert.version, "action": "Called the patient."},
    )
    # Back to the list, at the alert just acted on.
    assert response.status_code == 302
    assert response["Location"] == reverse("attention") + f"#alert-{alert.pk}"
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED
    assert alert.acknowledged_by == tom and alert.acknowledgement == "Called the patient."
    response = therapist.post(
        reverse("alert-resolve", args=[alert.pk]),
        {"version": alert.version, "resolution": "Met with the patient; confirmation ordered."},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.resolution == "Met with the patient; confirmation ordered."


def test_a_safety_alert_needs_the_action_taken(therapist, site, tom, dana):
    alert = make_alert(
        site, tom, kind=AlertKind.SAFETY, evidence_type="measure", title="PHQ-9 item 9 positive"
    )
    copy = make_alert(site, dana, alert.patient, kind=AlertKind.SAFETY, evidence_type="measure")
    response = therapist.post(
        reverse("alert-acknowledge", args=[alert.pk]), {"version": alert.version, "action": "  "}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="alert-problem"' in html and "Say what was done" in html
    assert f'name="action" id="action-{alert.pk}"' in html
    assert html.count("is-invalid") == 1
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
    response = therapist.post(
        reverse("alert-acknowledge", args=[alert.pk]),
        {"version": alert.version, "action": "Safety plan reviewed; crisis line given."},
    )
    assert response.status_code == 302
    copy.refresh_from_db()
    assert copy.state == AlertState.ACKNOWLEDGED
    assert copy.acknowledgement == "Safety plan reviewed; crisis line given."


def test_it_returns_to_a_safe_next_and_ignores_another_host(therapist, site, tom):
    alert = make_alert(site, tom, kind=AlertKind.SAFETY, evidence_type="measure")
    chart = reverse("patient-chart", args=[alert.patient_id])
    response = therapist.post(
        reverse("alert-acknowledge", args=[alert.pk]),
        {"version": 1, "action": "Called the crisis team.", "next": chart},
    )
    assert response["Location"] == chart
    for n, unsafe in enumerate(("https://evil.example/", "//evil.example/x", "javascript:x()")):
        other = make_alert(site, tom, evidence_id=10 + n)
        response = therapist.post(
            reverse("alert-resolve", args=[other.pk]),
            {"version": other.version, "resolution": "Done.", "next": unsafe},
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("attention") + f"#alert-{other.pk}"


def test_a_failed_action_from_the_chart_keeps_next_for_the_retry(therapist, site, tom):
    alert = make_alert(site, tom, kind=AlertKind.SAFETY, evidence_type="measure")
    chart = reverse("patient-chart", args=[alert.patient_id])
    response = therapist.post(
        reverse("alert-acknowledge", args=[alert.pk]), {"version": 1, "action": "", "next": chart}
    )
    assert response.status_code == 422
    assert f'name="next" value="{chart}"' in response.content.decode()


@pytest.mark.parametrize("version", ["7", "", "x"])
def test_a_stale_or_missing_version_is_a_conflict(therapist, site, tom, version):
    alert = make_alert(site, tom)
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
    danas = make_alert(site, dana)
    elsewhere = make_alert(other_site, tom, make_patient(other_site), evidence_id=9)
    for alert in (danas, elsewhere):
        for name in ("alert-acknowledge", "alert-resolve"):
            response = therapist.post(
                reverse(name, args=[alert.pk]), {"version": 1, "resolution": "x"}
            )
            assert response.status_code == 404
        alert.refresh_from_db()
        assert alert.state == AlertState.OPEN


def test_a_director_resolves_a_therapists_alert_from_the_site_list(director, site, tom, dana):
    alert = make_alert(site, tom)
    response = director.post(
        reverse("alert-resolve", args=[alert.pk]),
        {"version": 1, "resolution": "Covered while Tom is away.", "list": "site"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("attention-site") + f"#alert-{alert.pk}"
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolved_by == dana


def test_a_resolved_alert_cannot_be_acknowledged(therapist, site, tom):
    alert = make_alert(site, tom, state=AlertState.RESOLVED)
    response = therapist.post(
        reverse("alert-acknowledge", args=[alert.pk]), {"version": alert.version}
    )
    assert response.status_code == 409
    assert "already resolved" in response.content.decode()


# --- Navigation badge ------------------------------------------------------------------------


def test_the_badge_counts_my_active_alerts_and_turns_red_for_high(therapist, site, tom, dana):
    make_alert(site, tom, severity=Severity.MEDIUM, evidence_id=1)
    make_alert(site, tom, severity=Severity.LOW, evidence_id=2)
    make_alert(site, tom, state=AlertState.RESOLVED, evidence_id=3)
    make_alert(site, dana, evidence_id=4)
    html = therapist.get(reverse("home")).content.decode()
    assert "2 open alerts</span>" in html
    assert 'text-bg-secondary" data-testid="attention-badge"' in html
    make_alert(site, tom, evidence_id=5)
    html = therapist.get(reverse("home")).content.decode()
    assert "3 open alerts, 1 high</span>" in html
    assert 'text-bg-danger" data-testid="attention-badge"' in html


def test_the_badge_costs_one_query_and_none_without_alerts_view(client, site, tom, audrey):
    make_alert(site, tom)
    sign_in(client, tom, site=site)
    with CaptureQueriesContext(connection) as with_badge:
        client.get(reverse("attention"))
    badge = [
        q
        for q in with_badge.captured_queries
        if "COUNT" in q["sql"] and "alerts_alert" in q["sql"] and '"severity" = ' in q["sql"]
    ]
    assert len(badge) == 1
    sign_in(client, audrey, site=site)
    html = client.get(reverse("home")).content.decode()
    assert 'data-testid="attention-badge"' not in html


def test_a_nurse_sees_her_own_list(client, site):
    nia = make_user("nia", site=site, role=Role.NURSE, first_name="Nia", last_name="Nursename")
    make_alert(site, nia, kind=AlertKind.INJECTION_OVERDUE, evidence_type="administration")
    sign_in(client, nia, site=site)
    html = client.get(reverse("attention")).content.decode()
    assert _rows(html) == 1
    assert Alert.objects.get().assignee == nia


def test_an_id_beyond_any_key_is_not_found(therapist):
    for name in ("alert-acknowledge", "alert-resolve"):
        url = reverse(name, args=[1]).replace("/1/", "/99999999999999999999/")
        response = therapist.post(url, {"version": 1, "resolution": "x"})
        assert response.status_code == 404
