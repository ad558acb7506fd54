"""issue_document: the disclosure row and audit event written together, and every bad input
refused with a field error before anything is written."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from openiop.audit.models import Action, AuditEvent
from openiop.clinical.disclosures import CLINICAL_NOTE, issue_document
from openiop.clinical.models import Disclosure, DisclosureBasis, DocumentKind
from openiop.programs.models import EnrollmentStatus
from tests.factories_clinical import make_plan
from tests.factories_documents import individual_note, make_rpp
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # Nov 20, 12:00 in Chicago


@pytest.fixture
def patient(site):
    return make_patient(site, first_name="Casey", last_name="Servicecase")


@pytest.fixture
def enrollment(patient):
    return make_enrollment(patient, make_program(patient.site), admitted_on=date(2026, 9, 1))


def _issue(patient, by, kind=DocumentKind.ATTENDANCE_LETTER, **kwargs):
    values = {
        "recipient": "Acme Widgets HR",
        "purpose": "Medical leave",
        "basis": DisclosureBasis.PATIENT_CONSENT,
    }
    if kind == DocumentKind.ATTENDANCE_LETTER:
        values.update(start_on=date(2026, 11, 1), end_on=date(2026, 11, 19))
    values.update(kwargs)
    return issue_document(patient=patient, kind=kind, by=by, **values)


def _refused(patient, by, kind=DocumentKind.ATTENDANCE_LETTER, **kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        _issue(patient, by, kind, **kwargs)
    assert not Disclosure.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()
    return caught.value.message_dict


@time_machine.travel(NOW, tick=False)
def test_it_writes_the_disclosure_and_the_audit_event(site, tom, patient, enrollment):
    issued = _issue(patient, tom)
    disclosure = Disclosure.objects.get()
    assert issued.disclosure == disclosure
    assert disclosure.site == site
    assert disclosure.patient == patient
    assert disclosure.document == DocumentKind.ATTENDANCE_LETTER
    assert disclosure.description == "Attendance 2026-11-01 to 2026-11-19"
    assert disclosure.recipient == "Acme Widgets HR"
    assert disclosure.purpose == "Medical leave"
    assert disclosure.basis == DisclosureBasis.PATIENT_CONSENT
    assert disclosure.disclosed_by == tom
    assert disclosure.disclosed_at == NOW
    assert disclosure.content_sha256 == hashlib.sha256(issued.pdf).hexdigest()
    assert issued.pdf.startswith(b"%PDF-")
    assert issued.filename == f"attendance-letter-{patient.mrn}-20261120.pdf"
    event = AuditEvent.objects.get(action=Action.EXPORT)
    assert event.patient_id == patient.pk
    assert event.object_type == "disclosure"
    assert event.object_id == str(disclosure.pk)
    assert event.actor == tom
    assert event.site == site
    assert "Acme Widgets HR" in event.detail


@time_machine.travel(NOW, tick=False)
def test_it_names_every_missing_common_field(tom, patient):
    errors = _refused(patient, tom, recipient="  ", purpose="", basis="a friend asked")
    assert set(errors) == {"recipient", "purpose", "basis"}


@time_machine.travel(NOW, tick=False)
def test_it_refuses_an_unknown_kind(tom, patient):
    assert set(_refused(patient, tom, kind="psychotherapy_notes")) == {"kind"}


@pytest.mark.parametrize(
    ("start_on", "end_on", "field", "message"),
    [
        (date(2026, 11, 10), date(2026, 11, 9), "end_on", "on or after the first day"),
        (date(2025, 10, 31), date(2026, 11, 1), "end_on", "one year at most"),
        (date(2026, 11, 1), date(2026, 11, 21), "end_on", "cannot end in the future"),
        (None, date(2026, 11, 1), "start_on", "first day"),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_it_refuses_a_bad_date_range(tom, patient, start_on, end_on, field, message):
    errors = _refused(patient, tom, start_on=start_on, end_on=end_on)
    assert message in " ".join(errors[field])


@time_machine.travel(NOW, tick=False)
def test_a_full_year_ending_today_is_accepted(tom, patient):
    _issue(patient, tom, start_on=date(2025, 11, 21), end_on=date(2026, 11, 20))
    assert Disclosure.objects.count() == 1


def test_it_refuses_a_draft_plan_and_another_patients_plan(site, tom, patient, enrollment):
    draft = make_plan(patient, enrollment, tom, signed=False)
    errors = _refused(patient, tom, DocumentKind.TREATMENT_PLAN, plan_id=draft.pk)
    assert errors == {"plan": ["Only a signed treatment plan can be issued. Sign it first."]}
    other = make_patient(site, first_name="Other", last_name="Planholder")
    theirs = make_plan(other, make_enrollment(other, enrollment.program), tom)
    errors = _refused(patient, tom, DocumentKind.TREATMENT_PLAN, plan_id=theirs.pk)
    assert errors == {"plan": ["Choose one of this patient's treatment plans."]}
    assert set(_refused(patient, tom, DocumentKind.TREATMENT_PLAN)) == {"plan"}


def test_it_refuses_a_draft_note(site, tom, patient):
    draft = individual_note(site, tom, patient, signed=False)
    errors = _refused(patient, tom, CLINICAL_NOTE, note_id=draft.pk)
    assert errors == {"note": ["Only a signed note can be issued. Sign it first."]}


def test_a_discharge_summary_needs_a_discharged_enrollment_and_aftercare(tom, patient, enrollment):
    errors = _refused(
        patient, tom, DocumentKind.DISCHARGE_SUMMARY, enrollment_id=enrollment.pk, aftercare=""
    )
    assert errors == {
        "enrollment": ["A discharge summary needs a discharged enrollment."],
        "aftercare": ["Write the recommendations and aftercare."],
    }
    other = make_patient(patient.site, first_name="Other", last_name="Enrollee")
    theirs = make_enrollment(
        other, enrollment.program, admitted_on=date(2026, 9, 1),
        discharged_on=date(2026, 10, 1), status=EnrollmentStatus.DISCHARGED,
    )  # fmt: skip
    errors = _refused(
        patient, tom, DocumentKind.DISCHARGE_SUMMARY, enrollment_id=theirs.pk, aftercare="Alumni"
    )
    assert errors == {"enrollment": ["Choose one of this patient's enrollments."]}


def test_a_relapse_prevention_plan_must_exist(tom, patient):
    errors = _refused(patient, tom, DocumentKind.RELAPSE_PREVENTION_PLAN)
    assert errors == {"kind": ["This patient has no relapse-prevention plan yet."]}
    make_rpp(patient, tom)
    _issue(patient, tom, DocumentKind.RELAPSE_PREVENTION_PLAN)
    assert Disclosure.objects.get().description == "Relapse-prevention plan version 1"


@time_machine.travel(NOW, tick=False)
def test_nothing_is_written_when_the_audit_write_fails(tom, patient, monkeypatch):
    """The disclosure and its audit event are one transaction."""

    def broken(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("openiop.clinical.disclosures.record_event", broken)
    with pytest.raises(RuntimeError):
        _issue(patient, tom)
    assert not Disclosure.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_each_issue_is_its_own_disclosure(tom, patient):
    _issue(patient, tom)
    _issue(patient, tom, recipient="County Drug Court", start_on=date(2026, 11, 1) - timedelta(1))
    assert Disclosure.objects.count() == 2
    assert AuditEvent.objects.filter(action=Action.EXPORT, patient_id=patient.pk).count() == 2
