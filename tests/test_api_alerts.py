"""The alerts API: my attention list and others' for directors, acknowledge and resolve, with
the bad inputs (unknown state or kind, stale versions, invisible alerts)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import Membership
from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.audit.models import Action, AuditEvent
from tests.factories_attention import make_alert
from tests.factories_patients import make_patient

pytestmark = pytest.mark.django_db

ALERT_KEYS = {
    "id",
    "patient_id",
    "site_id",
    "kind",
    "severity",
    "title",
    "detail",
    "evidence",
    "assignee",
    "state",
    "due_at",
    "created_at",
    "acknowledged_at",
    "acknowledgement",
    "resolved_at",
    "resolution",
    "version",
}


class Api:
    def __init__(self, user: Any) -> None:
        self.client = Client()
        self.auth = f"Bearer {create_api_token(user=user, name='test').secret}"

    def call(self, method: str, url: str, body: Any = None) -> Any:
        return self.client.generic(
            method,
            f"/api/v1{url}",
            body if isinstance(body, str) else json.dumps(body) if body is not None else "",
            content_type="application/json",
            HTTP_AUTHORIZATION=self.auth,
        )

    def get(self, url: str) -> Any:
        return self.call("GET", url)

    def post(self, url: str, body: Any = None) -> Any:
        return self.call("POST", url, body)


def fields(response: Any) -> list[str]:
    return [error["field"] for error in response.json()["detail"]]


@pytest.fixture
def pat(site):
    return make_patient(site, first_name="Pat", last_name="Placeholder")


def test_it_lists_my_active_alerts_with_every_field(site, other_site, tom, dana, pat):
    mine = make_alert(site, tom, pat, due_at=timezone.now() + timedelta(days=1))
    low = make_alert(site, tom, pat, severity=Severity.LOW, evidence_id=2)
    make_alert(site, tom, pat, state=AlertState.RESOLVED, evidence_id=3, resolution="Done.")
    make_alert(site, dana, pat, evidence_id=4)
    response = Api(tom).get("/alerts")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [row["id"] for row in body] == [mine.pk, low.pk]
    row = body[0]
    assert set(row) == ALERT_KEYS
    assert row["patient_id"] == pat.pk and row["site_id"] == site.pk
    assert row["kind"] == "unexpected_screen" and row["severity"] == "high"
    assert row["evidence"] == {
        "type": "drug_screen",
        "id": 1,
        "url": reverse("screen-detail", args=[1]),
    }
    assert row["assignee"] == {"id": tom.pk, "username": "tom"}
    assert row["state"] == "open" and row["version"] == 1
    event = AuditEvent.objects.get(object_type="alert_list")
    assert event.actor == tom and str(pat.pk) in event.detail


def test_it_filters_by_state_kind_severity_and_patient(site, tom, pat):
    other = make_patient(site, first_name="Ola", last_name="Other")
    open_ = make_alert(site, tom, pat)
    seen = make_alert(site, tom, other, state=AlertState.ACKNOWLEDGED, evidence_id=2)
    done = make_alert(site, tom, pat, state=AlertState.RESOLVED, evidence_id=3, resolution="x")
    plan = make_alert(
        site,
        tom,
        pat,
        kind=AlertKind.PLAN_DUE,
        severity=Severity.MEDIUM,
        evidence_type="enrollment_plan",
        evidence_id=4,
    )
    api = Api(tom)

    def ids(query):
        response = api.get(f"/alerts?{query}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()}

    assert ids("assignee=me&state=open") == {open_.pk, plan.pk}
    assert ids("state=acknowledged") == {seen.pk}
    assert ids("state=resolved") == {done.pk}
    assert ids("state=active") == {open_.pk, seen.pk, plan.pk}
    assert ids("kind=plan_due") == {plan.pk}
    assert ids("severity=high") == {open_.pk, seen.pk}
    assert ids(f"patient_id={other.pk}") == {seen.pk}
    assert ids(f"assignee={tom.pk}&state=open") == {open_.pk, plan.pk}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=closed", "query.state"),
        ("kind=fire", "query.kind"),
        ("severity=urgent", "query.severity"),
        ("assignee=someone", "query.assignee"),
        ("patient_id=0", "query.patient_id"),
        ("limit=0", "query.limit"),
    ],
)
def test_an_unknown_filter_value_is_422_naming_it(tom, query, field):
    response = Api(tom).get(f"/alerts?{query}")
    assert response.status_code == 422
    assert fields(response) == [field]


def test_others_alerts_need_alerts_site(site, other_site, tom, dana, oscar, pat):
    toms = make_alert(site, tom, pat)
    elsewhere = make_alert(other_site, oscar, make_patient(other_site), evidence_id=2)
    response = Api(tom).get(f"/alerts?assignee={dana.pk}")
    assert response.status_code == 403
    assert "alerts.site" in response.json()["detail"]
    director = Api(dana)
    body = director.get(f"/alerts?assignee={tom.pk}").json()
    assert [row["id"] for row in body] == [toms.pk]
    everyone = director.get("/alerts?assignee=all").json()
    assert [row["id"] for row in everyone] == [toms.pk]  # not Oscar's, at his own site
    assert elsewhere.pk not in {row["id"] for row in everyone}


def test_it_acknowledges_with_and_without_a_version(site, tom, pat):
    alert = make_alert(site, tom, pat)
    api = Api(tom)
    response = api.post(f"/alerts/{alert.pk}/acknowledge", {"action": "Called the lab."})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ALERT_KEYS
    assert body["state"] == "acknowledged" and body["acknowledgement"] == "Called the lab."
    assert body["version"] == 2
    other = make_alert(site, tom, pat, evidence_id=2)
    response = api.post(f"/alerts/{other.pk}/acknowledge")
    assert response.status_code == 200, response.content
    assert Alert.objects.get(pk=other.pk).state == AlertState.ACKNOWLEDGED


def test_a_stale_version_is_409_and_changes_nothing(site, tom, pat):
    alert = make_alert(site, tom, pat, version=3)
    api = Api(tom)
    response = api.post(f"/alerts/{alert.pk}/acknowledge", {"version": 2})
    assert response.status_code == 409
    assert "changed since" in response.json()["detail"]
    response = api.post(f"/alerts/{alert.pk}/resolve", {"version": 1, "resolution": "Done."})
    assert response.status_code == 409
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN and alert.version == 3


def test_a_safety_alert_needs_the_action_and_acknowledges_every_copy(site, tom, dana, pat):
    mine = make_alert(site, tom, pat, kind=AlertKind.SAFETY, evidence_type="measure")
    copy = make_alert(site, dana, pat, kind=AlertKind.SAFETY, evidence_type="measure")
    api = Api(tom)
    response = api.post(f"/alerts/{mine.pk}/acknowledge", {"version": 1})
    assert response.status_code == 422
    assert fields(response) == ["payload.action"]
    response = api.post(f"/alerts/{mine.pk}/acknowledge", {"action": "x" * 2001})
    assert response.status_code == 422
    assert fields(response) == ["payload.action"]
    response = api.post(
        f"/alerts/{mine.pk}/acknowledge", {"version": 1, "action": "Crisis plan made."}
    )
    assert response.status_code == 200
    copy.refresh_from_db()
    assert copy.state == AlertState.ACKNOWLEDGED and copy.acknowledgement == "Crisis plan made."


def test_it_resolves_and_refuses_a_blank_resolution(site, tom, pat):
    alert = make_alert(site, tom, pat)
    api = Api(tom)
    response = api.post(f"/alerts/{alert.pk}/resolve", {"resolution": "  "})
    assert response.status_code == 422
    assert fields(response) == ["payload.resolution"]
    response = api.post(f"/alerts/{alert.pk}/resolve", {})
    assert response.status_code == 422
    assert fields(response) == ["payload.resolution"]
    response = api.post(f"/alerts/{alert.pk}/resolve", {"resolution": "Talked it through."})
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "resolved" and body["resolution"] == "Talked it through."
    again = api.post(f"/alerts/{alert.pk}/resolve", {"resolution": "Again."})
    assert again.status_code == 409


def test_invisible_alerts_are_404(site, other_site, tom, dana, oscar, pat):
    danas = make_alert(site, dana, pat)
    elsewhere = make_alert(other_site, oscar, make_patient(other_site), evidence_id=2)
    api = Api(tom)
    for alert_id in (danas.pk, elsewhere.pk, 99999):
        for action, body in (("acknowledge", {}), ("resolve", {"resolution": "x"})):
            response = api.post(f"/alerts/{alert_id}/{action}", body)
            assert response.status_code == 404, (alert_id, action)
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, object_type="alert").exists()
    # A director of the site reaches Tom's colleague's alert; one of another site does not.
    assert Api(dana).post(f"/alerts/{danas.pk}/acknowledge").status_code == 200
    assert Api(oscar).post(f"/alerts/{danas.pk}/resolve", {"resolution": "x"}).status_code == 404


def test_an_auditor_may_not_list_alerts(site, audrey):
    response = Api(audrey).get("/alerts")
    assert response.status_code == 403


def test_a_director_who_moved_to_therapist_loses_others_alerts(site, dana, tom, pat):
    make_alert(site, tom, pat)
    Membership.objects.filter(user=dana, site=site).update(role=Role.THERAPIST)
    assert Api(dana).get("/alerts?assignee=all").status_code == 403
