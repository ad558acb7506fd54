"""The chart's documents section and the issue-a-document screen, through HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from openiop.clinical.disclosures import CLINICAL_NOTE, issue_document
from openiop.clinical.models import Disclosure, DisclosureBasis, DocumentKind
from openiop.programs.models import EnrollmentStatus
from tests.factories import make_user, sign_in
from tests.factories_clinical import make_plan
from tests.factories_documents import individual_note, make_rpp, pdf_text
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program


@pytest.fixture
def patient(site):
    return make_patient(site, first_name="Morgan", last_name="Viewcase")


@pytest.fixture
def enrollment(patient):
    return make_enrollment(
        patient, make_program(patient.site), admitted_on=timezone.localdate() - timedelta(days=40)
    )


def _issue_url(patient, kind):
    if kind == DocumentKind.ATTENDANCE_LETTER:
        return reverse("document-attendance-letter", args=[patient.pk])
    return f"{reverse('document-issue', args=[patient.pk])}?kind={kind}"


def _common(**extra):
    return {
        "recipient": "County Drug Court",
        "purpose": "Verify attendance",
        "basis": DisclosureBasis.PATIENT_CONSENT,
        **extra,
    }


def _chart(client, patient):
    return client.get(reverse("patient-chart", args=[patient.pk]))


# --- Chart section ---------------------------------------------------------------------


def test_the_chart_lists_the_disclosures_and_every_issue_button_for_a_therapist(
    client, site, tom, patient
):
    make_rpp(patient, tom)
    issue_document(
        patient=patient, kind=DocumentKind.RELAPSE_PREVENTION_PLAN, recipient="The patient",
        purpose="Own copy", basis=DisclosureBasis.PATIENT_REQUEST, by=tom,
    )  # fmt: skip
    sign_in(client, tom, site=site)
    response = _chart(client, patient)
    html = response.content.decode()
    assert 'data-testid="chart-documents"' in html
    assert 'data-testid="chart-disclosures"' in html
    assert "Relapse-prevention plan version 1" in html
    assert "Given to the patient at their request" in html
    for kind in [DocumentKind.ATTENDANCE_LETTER, *DocumentKind.values[1:], CLINICAL_NOTE]:
        assert f'data-kind="{kind}"' in html, kind


def test_front_desk_gets_the_attendance_letter_only_and_no_log(client, site, patient):
    desk = make_user("fran", site=site, role=Role.FRONT_DESK, first_name="Fran")
    sign_in(client, desk, site=site)
    html = _chart(client, patient).content.decode()
    assert 'data-kind="attendance_letter"' in html
    assert 'data-kind="treatment_plan"' not in html
    assert 'data-testid="chart-disclosures' not in html


def test_a_prescriber_gets_clinical_documents_and_no_letter(client, site, patient):
    priya = make_user("priya", site=site, role=Role.PRESCRIBER, first_name="Priya")
    sign_in(client, priya, site=site)
    html = _chart(client, patient).content.decode()
    assert 'data-kind="treatment_plan"' in html
    assert 'data-kind="attendance_letter"' not in html


def test_billing_sees_no_documents_section(client, site, patient):
    bill = make_user("bill", site=site, role=Role.BILLING, first_name="Bill")
    sign_in(client, bill, site=site)
    assert 'data-testid="chart-documents"' not in _chart(client, patient).content.decode()


def test_the_chart_shows_an_empty_log(client, site, tom, patient):
    sign_in(client, tom, site=site)
    assert 'data-testid="chart-disclosures-empty"' in _chart(client, patient).content.decode()


def test_the_chart_section_adds_a_constant_number_of_queries(
    client, site, tom, patient, django_assert_max_num_queries
):
    make_rpp(patient, tom)
    sign_in(client, tom, site=site)
    _chart(client, patient)
    with CaptureQueriesContext(connection) as few:
        _chart(client, patient)
    for _ in range(25):
        issue_document(
            patient=patient, kind=DocumentKind.RELAPSE_PREVENTION_PLAN, recipient="The patient",
            purpose="Own copy", basis=DisclosureBasis.PATIENT_REQUEST, by=tom,
        )  # fmt: skip
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = _chart(client, patient)
    assert "see all in the disclosure log" in response.content.decode()


# --- Issuing ---------------------------------------------------------------------------


def test_the_letter_form_downloads_the_pdf_and_logs_it(client, site, tom, patient, enrollment):
    sign_in(client, tom, site=site)
    url = _issue_url(patient, DocumentKind.ATTENDANCE_LETTER)
    form = client.get(url)
    assert form.status_code == 200
    assert "no-store" in form["Cache-Control"]
    html = form.content.decode()
    assert "Confidential: protected by federal law (42 CFR Part 2)" in html
    today = timezone.localdate()
    response = client.post(
        url, _common(start_on=(today - timedelta(days=14)).isoformat(), end_on=today.isoformat())
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="attendance-letter-')
    assert "no-store" in response["Cache-Control"]
    assert "County Drug Court" in pdf_text(response.content)
    disclosure = Disclosure.objects.get()
    assert disclosure.recipient == "County Drug Court"
    assert disclosure.disclosed_by == tom
    assert AuditEvent.objects.filter(
        action=Action.EXPORT, patient_id=patient.pk, object_id=str(disclosure.pk)
    ).exists()


def test_bad_input_comes_back_on_the_form_and_writes_nothing(client, site, tom, patient):
    sign_in(client, tom, site=site)
    today = timezone.localdate()
    response = client.post(
        _issue_url(patient, DocumentKind.ATTENDANCE_LETTER),
        _common(
            recipient="", start_on=today.isoformat(), end_on=(today + timedelta(days=3)).isoformat()
        ),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    response = client.post(
        _issue_url(patient, DocumentKind.ATTENDANCE_LETTER),
        _common(start_on=today.isoformat(), end_on=(today + timedelta(days=3)).isoformat()),
    )
    assert response.status_code == 400
    assert "cannot end in the future" in response.content.decode()
    assert not Disclosure.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


def test_it_issues_a_signed_plan_and_offers_no_draft(client, site, tom, patient, enrollment):
    signed = make_plan(patient, enrollment, tom)
    draft = make_plan(patient, enrollment, tom, signed=False)
    sign_in(client, tom, site=site)
    url = _issue_url(patient, DocumentKind.TREATMENT_PLAN)
    html = client.get(url).content.decode()
    assert f'value="{signed.pk}"' in html
    assert f'value="{draft.pk}"' not in html
    response = client.post(url, _common(plan=str(draft.pk)))
    assert response.status_code == 400
    assert not Disclosure.objects.exists()
    response = client.post(url, _common(plan=str(signed.pk)))
    assert response["Content-Type"] == "application/pdf"
    assert Disclosure.objects.get().description == f"Treatment plan version {signed.number}"


def test_it_issues_a_discharge_summary_with_the_aftercare_typed(client, site, tom, patient):
    done = make_enrollment(
        patient, make_program(site), admitted_on=timezone.localdate() - timedelta(days=60),
        discharged_on=timezone.localdate() - timedelta(days=1),
        status=EnrollmentStatus.DISCHARGED, discharge_reason="completed",
    )  # fmt: skip
    sign_in(client, tom, site=site)
    url = _issue_url(patient, DocumentKind.DISCHARGE_SUMMARY)
    missing = client.post(url, _common(enrollment=str(done.pk), aftercare=""))
    assert missing.status_code == 400
    response = client.post(
        url, _common(enrollment=str(done.pk), aftercare="Alumni group on Thursdays.")
    )
    assert response["Content-Type"] == "application/pdf"
    assert "Alumni group on Thursdays." in pdf_text(response.content)


def test_it_issues_a_signed_note(client, site, tom, patient):
    note = individual_note(site, tom, patient)
    sign_in(client, tom, site=site)
    response = client.post(_issue_url(patient, CLINICAL_NOTE), _common(note=str(note.pk)))
    assert response["Content-Type"] == "application/pdf"
    assert Disclosure.objects.get().document == CLINICAL_NOTE


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (DocumentKind.TREATMENT_PLAN, "no signed treatment plan"),
        (DocumentKind.DISCHARGE_SUMMARY, "no discharged enrollment"),
        (CLINICAL_NOTE, "no signed note"),
    ],
)
def test_it_says_when_there_is_nothing_to_issue(client, site, tom, patient, kind, message):
    sign_in(client, tom, site=site)
    html = client.get(_issue_url(patient, kind)).content.decode()
    assert 'data-testid="document-empty"' in html
    assert message in html


def test_the_clinical_url_sends_an_attendance_letter_to_its_own_screen(client, site, tom, patient):
    sign_in(client, tom, site=site)
    response = client.get(
        _issue_url(patient, "clinical_note").replace(CLINICAL_NOTE, "attendance_letter")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("document-attendance-letter", args=[patient.pk])


def test_front_desk_cannot_issue_clinical_documents(client, site, patient):
    desk = make_user("fran", site=site, role=Role.FRONT_DESK)
    sign_in(client, desk, site=site)
    assert client.get(_issue_url(patient, DocumentKind.TREATMENT_PLAN)).status_code == 403
    assert client.get(_issue_url(patient, DocumentKind.ATTENDANCE_LETTER)).status_code == 200


def test_another_sites_patient_is_not_found(client, site, other_site, oscar, patient):
    sign_in(client, oscar, site=other_site)
    for kind in (DocumentKind.ATTENDANCE_LETTER, DocumentKind.TREATMENT_PLAN):
        assert client.get(_issue_url(patient, kind)).status_code == 404
        assert client.post(_issue_url(patient, kind), _common()).status_code == 404
    assert not Disclosure.objects.exists()
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor=oscar).exists()


def test_the_issue_form_reads_a_constant_number_of_queries(
    client, site, tom, patient, enrollment, django_assert_max_num_queries
):
    for _ in range(5):
        individual_note(site, tom, patient)
    sign_in(client, tom, site=site)
    with django_assert_max_num_queries(14):
        assert client.get(_issue_url(patient, CLINICAL_NOTE)).status_code == 200
