"""register_patient, update_patient and set_patient_active."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from openiop.audit.models import Action, AuditEvent
from openiop.patients.models import Patient
from openiop.patients.services import (
    StaleEdit,
    format_mrn,
    register_patient,
    set_patient_active,
    update_patient,
)
from tests.factories_patients import make_patient

CASEY = {"first_name": "Casey", "last_name": "Sample", "date_of_birth": date(1988, 4, 2)}


def test_it_formats_mrns_with_seven_digits():
    assert format_mrn(123) == "OI0000123"
    assert format_mrn(12_345_678) == "OI12345678"


def test_it_registers_patients_with_sequential_unique_mrns_and_audits(site, dana):
    first = register_patient(site=site, by=dana, **CASEY)
    second = register_patient(
        site=site,
        by=dana,
        first_name="Pat",
        last_name="Placeholder",
        date_of_birth=date(1990, 1, 1),
    )
    assert int(second.mrn[2:]) == int(first.mrn[2:]) + 1
    assert first.mrn.startswith("OI") and len(first.mrn) == 9
    assert first.version == 1 and first.is_active
    assert first.last_name_key == "sample" and first.first_name_key == "casey"
    event = AuditEvent.objects.get(patient_id=first.pk)
    assert event.action == Action.CREATE
    assert event.object_type == "patient" and event.object_id == str(first.pk)
    assert event.actor == dana and event.site == site
    assert "Casey" not in event.detail and "Sample" not in event.detail


def test_it_trims_and_collapses_spaces_in_names(site, dana):
    patient = register_patient(
        site=site,
        by=dana,
        first_name="  Casey ",
        last_name=" Van   Sample",
        date_of_birth=date(1988, 4, 2),
    )
    assert patient.first_name == "Casey" and patient.last_name == "Van Sample"
    assert patient.last_name_key == "van sample"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"date_of_birth": date(2099, 1, 1)}, "date_of_birth", "future"),
        ({"date_of_birth": date(1899, 12, 31)}, "date_of_birth", "1900"),
        ({"date_of_birth": None}, "date_of_birth", ""),
        ({"email": "casey-at-example"}, "email", "valid email"),
        ({"first_name": "   "}, "first_name", "first name"),
        ({"last_name": ""}, "last_name", "last name"),
        ({"phone": "call me maybe"}, "phone", "digits"),
        ({"phone": "12345"}, "phone", "7 to 15"),
        ({"emergency_contact_phone": "555-0100-555-0100-99"}, "emergency_contact_phone", "7 to 15"),
        ({"primary_language": ""}, "primary_language", "language"),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(site, dana, fields, field, message):
    with pytest.raises(ValidationError) as caught:
        register_patient(site=site, by=dana, **{**CASEY, **fields})
    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_refuses_unknown_fields(site, dana):
    with pytest.raises(ValidationError):
        register_patient(site=site, by=dana, ssn="000-00-0000", **CASEY)
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    "phone", ["(555) 010-0199", "+1 555 010 0199", "555.010.0199 x12", "5550100"]
)
def test_it_accepts_the_usual_ways_of_writing_phone_numbers(site, dana, phone):
    assert register_patient(site=site, by=dana, phone=phone, **CASEY).phone == phone


def test_it_accepts_a_birth_today_in_the_sites_time_zone(site, dana):
    # 03:00 UTC on March 2 is still March 1 in Chicago.
    with time_machine.travel("2026-03-02T03:00:00Z", tick=False):
        register_patient(site=site, by=dana, **{**CASEY, "date_of_birth": date(2026, 3, 1)})
        with pytest.raises(ValidationError):
            register_patient(site=site, by=dana, **{**CASEY, "date_of_birth": date(2026, 3, 2)})


def test_it_updates_with_the_expected_version_and_audits_field_names_only(site, dana):
    patient = make_patient(site, **CASEY)
    updated = update_patient(
        patient=patient,
        expected_version=1,
        changes={"phone": "555-010-0199", "preferred_name": "Cas", "last_name": "Sample"},
        by=dana,
    )
    assert updated.version == 2
    assert updated.phone == "555-010-0199" and updated.preferred_name_key == "cas"
    event = AuditEvent.objects.get(action=Action.UPDATE, patient_id=patient.pk)
    assert event.detail == "changed: preferred_name, phone"
    assert "555" not in event.detail and "Cas" not in event.detail


def test_it_refuses_a_stale_edit_and_keeps_the_first(site, dana, tom):
    patient = make_patient(site, **CASEY)
    update_patient(patient=patient, expected_version=1, changes={"city": "Sampletown"}, by=dana)
    with pytest.raises(StaleEdit) as caught:
        update_patient(patient=patient, expected_version=1, changes={"city": "Nowhere"}, by=tom)
    assert "Someone else changed this patient" in caught.value.message
    patient.refresh_from_db()
    assert patient.city == "Sampletown" and patient.version == 2
    assert AuditEvent.objects.filter(action=Action.UPDATE).count() == 1


def test_it_refuses_when_the_row_changed_between_read_and_write(site, dana, monkeypatch):
    """The database's WHERE version = … is the real guard, not the read before it."""
    patient = make_patient(site, **CASEY)
    from openiop.patients import services

    real_validate = services._validate

    def meddle(candidate: Patient) -> None:
        Patient.objects.filter(pk=candidate.pk).update(version=2, city="Elsewhere")
        real_validate(candidate)

    monkeypatch.setattr(services, "_validate", meddle)
    with pytest.raises(StaleEdit):
        update_patient(patient=patient, expected_version=1, changes={"city": "Mine"}, by=dana)
    # The whole transaction rolled back, the meddling included: nothing written by us.
    patient.refresh_from_db()
    assert patient.city != "Mine"
    assert not AuditEvent.objects.filter(action=Action.UPDATE).exists()


def test_it_refuses_an_invalid_edit_without_writing(site, dana):
    patient = make_patient(site, **CASEY)
    with pytest.raises(ValidationError) as caught:
        update_patient(
            patient_id=patient.pk,
            expected_version=1,
            changes={"email": "nope", "date_of_birth": date(2999, 1, 1)},
            by=dana,
        )
    assert set(caught.value.message_dict) == {"email", "date_of_birth"}
    patient.refresh_from_db()
    assert patient.version == 1 and patient.email == ""


def test_it_writes_nothing_when_nothing_changed(site, dana):
    patient = make_patient(site, **CASEY)
    same = update_patient(
        patient=patient, expected_version=1, changes={"first_name": "Casey"}, by=dana
    )
    assert same.version == 1
    assert not AuditEvent.objects.exists()


def test_it_lets_only_a_director_deactivate_and_reactivate(site, dana, tom):
    patient = make_patient(site, **CASEY)
    with pytest.raises(PermissionDenied):
        set_patient_active(patient=patient, active=False, by=tom)
    patient.refresh_from_db()
    assert patient.is_active
    set_patient_active(patient=patient, active=False, by=dana)
    patient.refresh_from_db()
    assert not patient.is_active and patient.version == 2
    set_patient_active(patient=patient, active=True, by=dana)
    patient.refresh_from_db()
    assert patient.is_active and patient.version == 3
    details = list(
        AuditEvent.objects.filter(patient_id=patient.pk)
        .order_by("id")
        .values_list("detail", flat=True)
    )
    assert details == ["deactivated", "reactivated"]


def test_it_does_not_let_another_sites_director_deactivate(site, oscar):
    patient = make_patient(site, **CASEY)
    with pytest.raises(PermissionDenied):
        set_patient_active(patient=patient, active=False, by=oscar)
