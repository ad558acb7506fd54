"""A request for a patient or session the user may not see is refused with 404 and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from openiop.accounts.services import create_api_token
from openiop.audit.models import Action, AuditEvent
from tests.factories import sign_in
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_session

pytestmark = pytest.mark.django_db


def test_it_audits_a_chart_request_for_another_sites_patient(client, site, oscar, other_site):
    ours = make_patient(site)
    sign_in(client, oscar, site=other_site)
    assert client.get(f"/patients/{ours.pk}/").status_code == 404
    event = AuditEvent.objects.get(action=Action.ACCESS_DENIED, actor=oscar)
    assert event.object_id == str(ours.pk)
    assert event.outcome == "denied"
    # The event does not confirm that the patient exists: no patient id is attached.
    assert event.patient_id is None
    # An id that exists nowhere produces the same kind of event.
    assert client.get("/patients/987654/").status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, object_id="987654").exists()


def test_it_audits_an_api_request_for_another_sites_patient(site, oscar):
    ours = make_patient(site)
    secret = create_api_token(user=oscar, name="probe").secret
    response = Client().get(f"/api/v1/patients/{ours.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 404
    assert AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, actor=oscar, object_id=str(ours.pk)
    ).exists()


def test_it_audits_a_roster_request_for_another_sites_session(client, site, tom, oscar, other_site):
    session = make_session(site, tom, timezone.now() + timedelta(days=1))
    sign_in(client, oscar, site=other_site)
    assert client.get(f"/sessions/{session.pk}/").status_code == 404
    event = AuditEvent.objects.get(action=Action.ACCESS_DENIED, actor=oscar)
    assert (event.object_type, event.object_id) == ("session", str(session.pk))
