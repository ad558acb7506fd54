"""Alerts: raised once per assignee and evidence, acknowledged and resolved by the assignee
with version checks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.alerts.services import (
    AlertConflict,
    acknowledge_alert,
    raise_alert,
    resolve_alert,
)
from openiop.audit.models import AuditEvent
from openiop.clinical.errors import NotPermitted
from tests.factories_patients import make_patient


@pytest.fixture
def patient(site):
    return make_patient(site, first_name="Ali", last_name="Alertson")


def _raise(site, patient, *assignees, evidence_id=1):
    return raise_alert(
        site=site,
        patient=patient,
        kind=AlertKind.UNEXPECTED_SCREEN,
        severity="high",
        title="Unexpected drug screen",
        detail="Fentanyl positive.",
        evidence_type="drug_screen",
        evidence_id=evidence_id,
        assignees=assignees,
    )


def test_raised_once_per_assignee(site, patient, tom, dana):
    created = _raise(site, patient, tom, dana, None, tom)
    assert len(created) == 2
    assert _raise(site, patient, tom, dana) == []
    assert Alert.objects.count() == 2
    # Other evidence is another alert.
    assert len(_raise(site, patient, tom, evidence_id=2)) == 1
    assert AuditEvent.objects.filter(object_type="alert", patient_id=patient.pk).count() == 2


def test_raise_for_nobody_does_nothing(site, patient):
    assert _raise(site, patient, None) == []
    assert not Alert.objects.exists()


def test_raise_costs_constant_queries(site, patient, tom, dana, audrey):
    with CaptureQueriesContext(connection) as one:
        _raise(site, patient, tom, evidence_id=5)
    with CaptureQueriesContext(connection) as three:
        _raise(site, patient, tom, dana, audrey, evidence_id=6)
    assert len(one.captured_queries) == len(three.captured_queries)


def test_even_a_resolved_alert_is_not_raised_again(site, patient, tom):
    [alert] = _raise(site, patient, tom)
    alert = Alert.objects.get()
    resolve_alert(alert, by=tom, version=1, resolution="Talked with the patient.")
    assert _raise(site, patient, tom) == []


def test_acknowledge_then_resolve(site, patient, tom):
    _raise(site, patient, tom)
    alert = Alert.objects.get()
    alert = acknowledge_alert(alert, by=tom, version=1)
    assert alert.state == AlertState.ACKNOWLEDGED and alert.version == 2
    assert acknowledge_alert(alert, by=tom, version=2).version == 2  # idempotent
    alert = resolve_alert(alert, by=tom, version=2, resolution=" Confirmation ordered. ")
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.resolution == "Confirmation ordered."
    assert alert.resolved_by == tom and alert.resolved_at is not None


def test_stale_version_is_a_conflict(site, patient, tom):
    _raise(site, patient, tom)
    alert = Alert.objects.get()
    acknowledge_alert(alert, by=tom, version=1)
    with pytest.raises(AlertConflict):
        resolve_alert(alert, by=tom, version=1, resolution="Done.")


def test_resolved_alert_cannot_change(site, patient, tom):
    _raise(site, patient, tom)
    alert = resolve_alert(Alert.objects.get(), by=tom, version=1, resolution="Done.")
    with pytest.raises(AlertConflict):
        acknowledge_alert(alert, by=tom, version=alert.version)
    with pytest.raises(AlertConflict):
        resolve_alert(alert, by=tom, version=alert.version, resolution="Again.")


def test_only_the_assignee_or_a_director_of_the_site_acts(site, patient, tom, audrey, oscar):
    _raise(site, patient, tom)
    alert = Alert.objects.get()
    # An auditor here and a director elsewhere hold no ``alerts.site`` at this site.
    for outsider in (audrey, oscar):
        with pytest.raises(NotPermitted):
            acknowledge_alert(alert, by=outsider, version=1)
        with pytest.raises(NotPermitted):
            resolve_alert(alert, by=outsider, version=1, resolution="Not mine.")
    assert Alert.objects.get().state == AlertState.OPEN


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001])
def test_resolution_text_is_required_and_bounded(site, patient, tom, text):
    _raise(site, patient, tom)
    with pytest.raises(ValidationError) as caught:
        resolve_alert(Alert.objects.get(), by=tom, version=1, resolution=text)
    assert "resolution" in caught.value.message_dict
    assert Alert.objects.get().state == AlertState.OPEN
