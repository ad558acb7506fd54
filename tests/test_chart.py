from __future__ import annotations

from datetime import date

import pytest

from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.factories import sign_in


def _patient(site, **fields):
    values = {
        "mrn": "T0000001",
        "first_name": "Patricia",
        "last_name": "Placeholder",
        "preferred_name": "Pat",
        "date_of_birth": date(1990, 5, 17),
        "pronouns": "she/her",
        "phone": "555-0100",
        "primary_language": "Spanish",
    }
    values.update(fields)
    return Patient.objects.create(site=site, **values)


@pytest.mark.django_db
def test_it_shows_the_header_and_audits_the_read(client, site, tom):
    patient = _patient(site)
    sign_in(client, tom, site=site)
    response = client.get(f"/patients/{patient.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    for text in ("Pat Placeholder", "Patricia Placeholder", "T0000001", "she/her", "Spanish"):
        assert text in body
    assert f"/patients/{patient.pk}/edit/" in body
    event = AuditEvent.objects.get(object_type="chart", patient_id=patient.pk)
    assert event.actor == tom


@pytest.mark.django_db
def test_it_answers_404_for_a_patient_of_another_site(client, site, other_site, oscar):
    patient = _patient(site)
    sign_in(client, oscar, site=other_site)
    assert client.get(f"/patients/{patient.pk}/").status_code == 404
