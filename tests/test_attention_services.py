"""Acknowledging with the action taken, copies of safety alerts acting together, directors
acting on anyone's alert, and the system's own resolution when a condition clears."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.alerts.services import (
    AlertConflict,
    acknowledge_alert,
    raise_alert,
    resolve_alert,
    resolve_cleared,
)
from openiop.audit.models import AuditEvent
from openiop.clinical.errors import NotPermitted
from tests.factories import make_user
from tests.factories_patients import make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(site):
    return make_patient(site, first_name="Sam", last_name="Safetycase")


@pytest.fixture
def nia(site):
    return make_user("nia", site=site, role=Role.NURSE, first_name="Nia", last_name="Nursename")


def _raise(site, patient, *assignees, kind=AlertKind.SAFETY, evidence_id=1):
    raise_alert(
        site=site,
        patient=patient,
        kind=kind,
        severity="high",
        title="PHQ-9 item 9 positive",
        evidence_type="measure",
        evidence_id=evidence_id,
        assignees=assignees,
    )
    return {a.assignee_id: a for a in Alert.objects.filter(evidence_id=evidence_id, kind=kind)}


@pytest.mark.parametrize("action", ["", "   ", "x" * 2001])
def test_it_refuses_a_safety_acknowledgement_without_the_action_taken(site, patient, tom, action):
    alert = _raise(site, patient, tom)[tom.pk]
    with pytest.raises(ValidationError) as caught:
        acknowledge_alert(alert, by=tom, version=1, action=action)
    assert "action" in caught.value.message_dict
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN and alert.acknowledgement == ""


def test_it_acknowledges_every_copy_of_a_safety_alert(site, patient, tom, dana):
    copies = _raise(site, patient, tom, dana)
    other = _raise(site, patient, tom, evidence_id=2)[tom.pk]
    acknowledge_alert(copies[tom.pk], by=tom, version=1, action=" Crisis plan reviewed. ")
    for alert in Alert.objects.filter(evidence_id=1):
        assert alert.state == AlertState.ACKNOWLEDGED
        assert alert.acknowledgement == "Crisis plan reviewed."
        assert alert.acknowledged_by == tom
        assert alert.version == 2
    other.refresh_from_db()
    assert other.state == AlertState.OPEN
    events = AuditEvent.objects.filter(object_type="alert", detail__startswith="acknowledged")
    assert sorted(int(e.object_id) for e in events) == sorted(a.pk for a in copies.values())


def test_a_non_safety_acknowledgement_stays_on_its_copy(site, patient, tom, dana):
    copies = _raise(site, patient, tom, dana, kind=AlertKind.REVIEW_RECOMMENDED)
    acknowledge_alert(copies[tom.pk], by=tom, version=1)
    copies[dana.pk].refresh_from_db()
    assert copies[dana.pk].state == AlertState.OPEN


@pytest.mark.parametrize("kind", [AlertKind.SAFETY, AlertKind.REVIEW_RECOMMENDED])
def test_resolving_one_copy_resolves_them_all(site, patient, tom, dana, kind):
    copies = _raise(site, patient, tom, dana, kind=kind)
    resolve_alert(copies[dana.pk], by=dana, version=1, resolution="Seen in clinic today.")
    for alert in Alert.objects.filter(kind=kind):
        assert alert.state == AlertState.RESOLVED
        assert alert.resolved_by == dana and alert.resolution == "Seen in clinic today."
        assert alert.acknowledged_at is not None


def test_resolving_an_unexpected_screen_stays_on_its_copy(site, patient, tom, dana):
    copies = _raise(site, patient, tom, dana, kind=AlertKind.UNEXPECTED_SCREEN)
    resolve_alert(copies[tom.pk], by=tom, version=1, resolution="Talked it through.")
    copies[dana.pk].refresh_from_db()
    assert copies[dana.pk].state == AlertState.OPEN


def test_a_director_of_the_site_acts_on_a_therapists_alert(site, patient, tom, dana):
    alert = _raise(site, patient, tom, kind=AlertKind.NOTE_UNSIGNED)[tom.pk]
    alert = acknowledge_alert(alert, by=dana, version=1)
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == dana


def test_a_nurse_may_not_act_on_a_therapists_alert(site, patient, tom, nia):
    alert = _raise(site, patient, tom)[tom.pk]
    with pytest.raises(NotPermitted):
        acknowledge_alert(alert, by=nia, version=1, action="Called the patient.")


def test_a_stale_version_is_refused_but_none_skips_the_check(site, patient, tom):
    alert = _raise(site, patient, tom, kind=AlertKind.PLAN_DUE)[tom.pk]
    with pytest.raises(AlertConflict):
        acknowledge_alert(alert, by=tom, version=5)
    assert acknowledge_alert(alert, by=tom, version=None).state == AlertState.ACKNOWLEDGED


def test_resolve_cleared_closes_active_alerts_without_a_user(site, patient, tom, dana):
    first = _raise(site, patient, tom, dana, kind=AlertKind.NOTE_UNSIGNED)
    done = _raise(site, patient, tom, kind=AlertKind.NOTE_UNSIGNED, evidence_id=2)[tom.pk]
    resolve_alert(done, by=tom, version=1, resolution="Signed it.")
    count = resolve_cleared(Alert.objects.all(), resolution="Cleared: note signed")
    assert count == 2
    for alert in first.values():
        alert.refresh_from_db()
        assert alert.state == AlertState.RESOLVED
        assert alert.resolved_by is None and alert.resolution == "Cleared: note signed"
    done.refresh_from_db()
    assert done.resolution == "Signed it."
    events = AuditEvent.objects.filter(detail="Cleared: note signed")
    assert {int(e.object_id) for e in events} == {a.pk for a in first.values()}
    assert {e.site_id for e in events} == {site.pk}


def test_resolve_cleared_costs_constant_queries(site, patient, tom, dana, nia):
    _raise(site, patient, tom, kind=AlertKind.PLAN_DUE, evidence_id=1)
    for n in range(2, 12):
        _raise(site, patient, tom, dana, nia, kind=AlertKind.PLAN_DUE, evidence_id=n)
    ids = list(Alert.objects.filter(evidence_id=1).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as one:
        assert resolve_cleared(ids, resolution="Cleared: plan signed") == 1
    with CaptureQueriesContext(connection) as many:
        assert resolve_cleared(Alert.objects.all(), resolution="Cleared: plan signed") == 30
    assert len(one.captured_queries) == len(many.captured_queries)
    assert resolve_cleared([], resolution="Cleared") == 0
