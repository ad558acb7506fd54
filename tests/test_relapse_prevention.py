"""Relapse-prevention plan versions: saving, validation and the concurrent-save refusal."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from openiop.audit.models import AuditEvent
from openiop.clinical.errors import NoteConflict
from openiop.clinical.models import RelapsePreventionPlan
from openiop.clinical.relapse_prevention import latest_plan, save_relapse_prevention_plan
from tests.factories_patients import make_patient

DATA = {
    "triggers": "Payday Fridays; the old bar on 5th Street.",
    "warning_signs": "Skipping meals, isolating.",
    "coping_strategies": "Call my sponsor; walk the dog.",
    "supports": [
        {"name": "Sam Sponsorfake", "phone": "(555) 010-0142", "relationship": "Sponsor"},
        {"name": "", "phone": "", "relationship": ""},
    ],
}


@pytest.fixture
def patient(site):
    return make_patient(site, first_name="Kit", last_name="Relapsetest")


def test_each_save_is_a_new_version(patient, tom, dana):
    first = save_relapse_prevention_plan(patient, author=tom, data=DATA, based_on_number=None)
    assert first.number == 1
    assert first.supports == [
        {"name": "Sam Sponsorfake", "phone": "(555) 010-0142", "relationship": "Sponsor"}
    ]
    second = save_relapse_prevention_plan(
        patient,
        author=dana,
        data={**DATA, "craving_plan": "Urge-surf for 20 minutes."},
        based_on_number=1,
    )
    assert second.number == 2
    assert latest_plan(patient) == second
    assert RelapsePreventionPlan.objects.get(pk=first.pk).craving_plan == ""
    events = AuditEvent.objects.filter(object_type="relapse_prevention_plan")
    assert list(events.values_list("patient_id", flat=True)) == [patient.pk, patient.pk]


def test_a_save_based_on_an_older_version_is_refused(patient, tom, dana):
    save_relapse_prevention_plan(patient, author=tom, data=DATA, based_on_number=None)
    with pytest.raises(NoteConflict, match="Tom Fakename saved version 1"):
        save_relapse_prevention_plan(patient, author=dana, data=DATA, based_on_number=None)
    save_relapse_prevention_plan(
        patient, author=tom, data={**DATA, "triggers": "Payday."}, based_on_number=1
    )
    with pytest.raises(NoteConflict, match="version 2"):
        save_relapse_prevention_plan(
            patient, author=dana, data={**DATA, "triggers": "x"}, based_on_number=1
        )
    assert RelapsePreventionPlan.objects.filter(patient=patient).count() == 2


def test_supports_need_a_name_and_a_usable_phone(patient, tom):
    bad = {
        **DATA,
        "supports": [
            {"name": "Sam Sponsorfake", "phone": "", "relationship": "Sponsor"},
            {"name": "", "phone": "555-0100", "relationship": ""},
            {"name": "Lee Fakefriend", "phone": "call me maybe", "relationship": ""},
            {"name": "Ada Shortnum", "phone": "12-34", "relationship": ""},
        ],
    }
    with pytest.raises(ValidationError) as exc:
        save_relapse_prevention_plan(patient, author=tom, data=bad, based_on_number=None)
    errors = exc.value.message_dict
    assert set(errors) == {
        "supports[0].phone",
        "supports[1].name",
        "supports[2].phone",
        "supports[3].phone",
    }
    assert "7 to 15 digits" in errors["supports[3].phone"][0]
    assert not RelapsePreventionPlan.objects.exists()


def test_an_empty_or_unchanged_plan_is_refused(patient, tom):
    with pytest.raises(ValidationError, match="at least one part"):
        save_relapse_prevention_plan(patient, author=tom, data={}, based_on_number=None)
    save_relapse_prevention_plan(patient, author=tom, data=DATA, based_on_number=None)
    with pytest.raises(ValidationError, match="Nothing changed since version 1"):
        save_relapse_prevention_plan(patient, author=tom, data=DATA, based_on_number=1)


def test_overlong_sections_name_the_field(patient, tom):
    with pytest.raises(ValidationError) as exc:
        save_relapse_prevention_plan(
            patient, author=tom, data={"triggers": "x" * 5001}, based_on_number=None
        )
    assert list(exc.value.message_dict) == ["triggers"]
