"""What each issued PDF says: the required elements, and the Part 2 notice on every page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from openiop.clinical.disclosures import CLINICAL_NOTE, issue_document
from openiop.clinical.documents.layout import PART2_NOTICE, PART2_NOTICE_TITLE
from openiop.clinical.models import (
    Addendum,
    Cosignature,
    DisclosureBasis,
    DocumentKind,
    PlanAcknowledgement,
)
from openiop.programs.models import EnrollmentStatus
from openiop.scheduling.models import AttendanceStatus
from tests.factories_clinical import make_plan
from tests.factories_documents import individual_note, make_rpp, pdf_pages, pdf_text
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program
from tests.factories_scheduling import make_booking, make_session

# The elements §2.32 requires, as they must read in every page's footer.
NOTICE_PHRASES = [
    "42 CFR Part 2",
    "prohibit you from making any further use or disclosure",
    "written consent",
    "general authorization",
    "investigate or prosecute the patient",
    "proceeding against the patient",
]


def _issue(patient, kind, by, **kwargs):
    return issue_document(
        patient=patient,
        kind=kind,
        recipient=kwargs.pop("recipient", "Acme Widgets HR"),
        purpose=kwargs.pop("purpose", "Verify attendance for medical leave"),
        basis=kwargs.pop("basis", DisclosureBasis.PATIENT_CONSENT),
        by=by,
        **kwargs,
    )


@pytest.fixture
def patient(site):
    site.address = "100 Example Avenue\nTestville, IL 60000"
    site.save()
    return make_patient(site, first_name="Robin", last_name="Exampleton", preferred_name="Rob")


@pytest.fixture
def enrollment(patient, tom):
    program = make_program(patient.site, name="Adult Evening IOP")
    return make_enrollment(
        patient, program, admitted_on=timezone.localdate() - timedelta(days=60),
        primary_therapist=tom,
    )  # fmt: skip


def _assert_frame(pdf, patient, site):
    pages = pdf_pages(pdf)
    assert pages
    for number, page in enumerate(pages, start=1):
        for phrase in NOTICE_PHRASES:
            assert phrase in page, f"page {number} lacks {phrase!r}"
        assert PART2_NOTICE_TITLE in page
        assert " ".join(PART2_NOTICE.split()) in page, f"page {number} lacks the whole notice"
        assert f"Page {number} of {len(pages)}" in page
        assert site.name in page
        assert patient.mrn in page
    first = pages[0]
    assert "100 Example Avenue" in first
    assert "Rob Exampleton" in first
    assert "Robin Exampleton" in first  # the legal name
    assert "Jan 1, 1990" in first
    assert re.search(r"Generated \w{3} \d{1,2}, \d{4} \d{1,2}:\d{2} [AP]M C[SD]T by Tom", first)


def test_it_issues_a_treatment_plan_with_its_tree_signature_and_fingerprint(
    site, tom, patient, enrollment
):
    plan = make_plan(patient, enrollment, tom, goals=("Stay abstinent", "Repair family ties"))
    PlanAcknowledgement.objects.create(
        plan=plan, typed_name="Robin Exampleton", acknowledged_at=timezone.now(), recorded_by=tom
    )
    issued = _issue(patient, DocumentKind.TREATMENT_PLAN, tom, plan_id=plan.pk)
    _assert_frame(issued.pdf, patient, site)
    text = pdf_text(issued.pdf)
    for expected in [
        "Treatment Plan",
        "Version 1 (initial plan)",
        "Problem 1: Problem behind: Stay abstinent",
        "Goal 1.1: Stay abstinent",
        "Goal 2.1: Repair family ties",
        "Objective for: Repair family ties",
        "In progress",
        "CBT group",
        "3 times a week",
        "Tom Fakename, LCSW",
        "Patient acknowledgement Robin Exampleton",
        plan.content_sha256,
        "Adult Evening IOP",
        "Acme Widgets HR",
        "Verify attendance for medical leave",
        "Patient's written consent",
    ]:
        assert expected in text, expected


def test_it_says_when_a_plan_is_not_acknowledged(site, tom, patient, enrollment):
    plan = make_plan(patient, enrollment, tom)
    text = pdf_text(_issue(patient, DocumentKind.TREATMENT_PLAN, tom, plan_id=plan.pk).pdf)
    assert "Not acknowledged by the patient" in text


def test_it_issues_a_note_with_its_addenda_and_cosignature(site, tom, dana, patient, enrollment):
    note = individual_note(site, tom, patient, requires_cosign=True)
    first = Addendum.objects.create(
        note=note, author=tom, signer_name=tom.signature_name,
        text="Late entry: patient called the next day.", signed_at=timezone.now(),
        content_sha256="a" * 64,
    )  # fmt: skip
    Cosignature.objects.create(
        note=note, cosigner=dana, signer_name="Dana Testperson, LCSW-S",
        signed_at=timezone.now(), content_sha256="b" * 64,
    )  # fmt: skip
    issued = _issue(patient, CLINICAL_NOTE, tom, note_id=note.pk)
    _assert_frame(issued.pdf, patient, site)
    text = pdf_text(issued.pdf)
    for expected in [
        "Clinical Note",
        "Individual therapy",
        "DAP",
        "Data Reported three days without use",
        "Assessment Engaged and motivated",
        "Plan Continue weekly sessions",
        "90834",
        "Present",
        "Signed by Tom Fakename, LCSW",
        "Co-signed by Dana Testperson, LCSW-S",
        "Addenda",
        first.text,
        note.content_sha256,
    ]:
        assert expected in text, expected


def test_it_issues_the_latest_relapse_prevention_plan(site, tom, patient):
    make_rpp(patient, tom, number=1, triggers="Old trigger, replaced since")
    make_rpp(patient, tom, number=2)
    issued = _issue(
        patient, DocumentKind.RELAPSE_PREVENTION_PLAN, tom,
        recipient="The patient", purpose="Patient's own copy",
        basis=DisclosureBasis.PATIENT_REQUEST,
    )  # fmt: skip
    _assert_frame(issued.pdf, patient, site)
    text = pdf_text(issued.pdf)
    for expected in [
        "Relapse-Prevention Plan",
        "Version 2",
        "Payday evenings",
        "Skipping meals",
        "Weddings with an open bar",
        "Call my sponsor",
        "Wait twenty minutes",
        "Sam Sponsorperson",
        "555-0100",
        "Call 988",
    ]:
        assert expected in text, expected
    assert "Old trigger" not in text


def test_it_issues_a_discharge_summary_of_the_whole_episode(site, tom, patient):
    program = make_program(site, name="Adult Evening IOP")
    php = make_program(site, "2.5", name="Day Hospital")
    today = timezone.localdate()
    first = make_enrollment(
        patient, php, admitted_on=today - timedelta(days=50),
        discharged_on=today - timedelta(days=30), status=EnrollmentStatus.TRANSFERRED,
        primary_therapist=tom,
    )  # fmt: skip
    second = make_enrollment(
        patient, program, admitted_on=today - timedelta(days=30),
        discharged_on=today - timedelta(days=2), status=EnrollmentStatus.DISCHARGED,
        discharge_reason="completed", episode=first.episode, previous=first,
        transfer_kind="step_down", transfer_reason="Stable, ready for evenings",
        primary_therapist=tom,
    )  # fmt: skip
    plan = make_plan(patient, second, tom, goals=("Keep a sober network",))
    when = timezone.now() - timedelta(days=10)
    for status, minutes in [
        (AttendanceStatus.PRESENT, 180),
        (AttendanceStatus.LATE, 150),
        (AttendanceStatus.NO_SHOW, None),
        (AttendanceStatus.EXCUSED, None),
    ]:
        session = make_session(site, tom, when, 180)
        make_booking(session, patient, status=status, minutes_attended=minutes, enrollment=second)
        when -= timedelta(days=1)
    issued = _issue(
        patient, DocumentKind.DISCHARGE_SUMMARY, tom, enrollment_id=second.pk,
        aftercare="Weekly alumni group; outpatient therapy with a community provider.",
        recipient="Dr. Example Aftercare", purpose="Continuity of care",
    )  # fmt: skip
    _assert_frame(issued.pdf, patient, site)
    text = pdf_text(issued.pdf)
    for expected in [
        "Discharge Summary",
        f"Admitted {first.admitted_on:%b} {first.admitted_on.day}, {first.admitted_on.year}",
        "Completed treatment",
        "Day Hospital",
        "Adult Evening IOP",
        "Step down: Stable, ready for evenings",
        "Sessions attended 2",
        "Sessions missed 2",
        "Hours attended 5.5",
        "modules completed",
        "Goal 1: Keep a sober network",
        "Objective for: Keep a sober network",
        f"Treatment plan version {plan.number}",
        "Weekly alumni group",
    ]:
        assert expected in text, expected


def test_a_long_document_carries_the_notice_and_page_count_on_every_page(
    site, tom, patient, enrollment
):
    goals = tuple(f"Goal number {n} with a measurable target" for n in range(1, 16))
    plan = make_plan(patient, enrollment, tom, goals=goals)
    issued = _issue(patient, DocumentKind.TREATMENT_PLAN, tom, plan_id=plan.pk)
    assert len(pdf_pages(issued.pdf)) >= 3
    _assert_frame(issued.pdf, patient, site)
