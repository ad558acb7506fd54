"""The site's disclosure log: filters, paging, CSV export (audited), query counts, and the
patient's disclosure log over the API."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.services import create_api_token
from openiop.audit.models import Action, AuditEvent
from openiop.clinical.models import Disclosure, DisclosureBasis, DocumentKind
from tests.factories import sign_in
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

LOG = "/disclosures/"


def _disclosure(patient, by, *, kind=DocumentKind.ATTENDANCE_LETTER, at=None, **fields):
    values = {
        "site": patient.site,
        "patient": patient,
        "document": kind,
        "description": f"{kind} for tests",
        "recipient": "Acme Widgets HR",
        "purpose": "Medical leave",
        "basis": DisclosureBasis.PATIENT_CONSENT,
        "disclosed_by": by,
        "disclosed_at": at or datetime(2026, 11, 10, 18, 0, tzinfo=UTC),
        "content_sha256": "c" * 64,
    }
    values.update(fields)
    return Disclosure.objects.create(**values)


@pytest.fixture
def patients(site):
    return [
        make_patient(site, first_name="Lee", last_name="Logcase"),
        make_patient(site, first_name="Rae", last_name="Ledgerly"),
    ]


def test_the_url_is_named():
    assert reverse("disclosure-log") == LOG


def test_an_auditor_reads_the_log_and_the_read_is_audited(client, site, tom, audrey, patients):
    _disclosure(patients[0], tom, recipient="County Drug Court")
    sign_in(client, audrey, site=site)
    response = client.get(LOG)
    assert response.status_code == 200
    html = response.content.decode()
    assert "County Drug Court" in html
    assert patients[0].mrn in html
    assert "Attendance verification letter" in html
    # Auditors do not open charts: the name is not a link for them.
    assert reverse("patient-chart", args=[patients[0].pk]) not in html
    assert AuditEvent.objects.filter(
        action=Action.VIEW, actor=audrey, object_type="disclosure_log"
    ).exists()


def test_a_director_gets_links_to_the_charts(client, site, tom, dana, patients):
    _disclosure(patients[0], tom)
    sign_in(client, dana, site=site)
    html = client.get(LOG).content.decode()
    assert reverse("patient-chart", args=[patients[0].pk]) in html


def test_it_filters_by_dates_kind_and_mrn(client, site, tom, audrey, patients):
    first, second = patients
    # Nov 3 at 23:30 in Chicago is Nov 4 in UTC: it belongs to Nov 3 at the site.
    late = _disclosure(first, tom, at=datetime(2026, 11, 4, 5, 30, tzinfo=UTC))
    plan = _disclosure(first, tom, kind=DocumentKind.TREATMENT_PLAN)
    theirs = _disclosure(second, tom, kind="clinical_note")
    sign_in(client, audrey, site=site)

    def shown(**query):
        response = client.get(LOG, query)
        assert response.status_code == 200
        return {
            pk
            for pk in Disclosure.objects.values_list("pk", flat=True)
            if f'data-disclosure-id="{pk}"' in response.content.decode()
        }

    assert shown() == {late.pk, plan.pk, theirs.pk}
    assert shown(date_from="2026-11-03", date_to="2026-11-03") == {late.pk}
    assert shown(date_from="2026-11-04") == {plan.pk, theirs.pk}
    assert shown(kind="treatment_plan") == {plan.pk}
    assert shown(kind="clinical_note") == {theirs.pk}
    assert shown(mrn=second.mrn.lower()) == {theirs.pk}
    assert shown(mrn="OI9999999") == set()


def test_bad_filters_are_named(client, site, audrey):
    sign_in(client, audrey, site=site)
    response = client.get(LOG, {"date_from": "2026-11-05", "date_to": "2026-11-01"})
    assert response.status_code == 400
    assert "must be on or after" in response.content.decode()
    assert client.get(LOG, {"kind": "everything"}).status_code == 400
    assert client.get(LOG, {"date_from": "yesterday"}).status_code == 400


def test_it_shows_an_empty_state(client, site, audrey):
    sign_in(client, audrey, site=site)
    assert 'data-testid="disclosure-empty"' in client.get(LOG).content.decode()


def test_another_sites_disclosures_are_not_listed(client, site, other_site, tom, oscar, patients):
    _disclosure(patients[0], tom, recipient="County Drug Court")
    sign_in(client, oscar, site=other_site)
    response = client.get(LOG)
    assert "County Drug Court" not in response.content.decode()
    assert 'data-testid="disclosure-empty"' in response.content.decode()


def test_it_pages_with_a_constant_number_of_queries(
    client, site, tom, audrey, patients, django_assert_max_num_queries
):
    for n in range(3):
        _disclosure(patients[n % 2], tom, recipient=f"Recipient {n}")
    sign_in(client, audrey, site=site)
    client.get(LOG)
    with CaptureQueriesContext(connection) as few:
        client.get(LOG)
    for n in range(60):
        _disclosure(patients[n % 2], tom, recipient=f"Recipient {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        first = client.get(LOG)
    assert first.content.decode().count("data-disclosure-id=") == 50
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(LOG, {"page": 2})
    assert second.content.decode().count("data-disclosure-id=") == 13


@time_machine.travel(datetime(2026, 11, 20, 18, 0, tzinfo=UTC), tick=False)
def test_the_csv_export_is_audited_and_defused(client, site, tom, audrey, patients):
    _disclosure(patients[0], tom, recipient='=HYPERLINK("http://x")', purpose="Court")
    _disclosure(patients[1], tom, kind=DocumentKind.DISCHARGE_SUMMARY)
    sign_in(client, audrey, site=site)
    response = client.get(reverse("disclosure-log-export"), {"kind": "attendance_letter"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="disclosures-site')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "disclosed_at_utc", "patient_id", "patient_mrn"]
    assert len(rows) == 2
    assert rows[1][3] == patients[0].mrn
    assert rows[1][7] == '\'=HYPERLINK("http://x")'
    assert rows[1][9] == "Patient's written consent (§2.31)"
    event = AuditEvent.objects.get(action=Action.EXPORT, object_type="disclosure_log")
    assert event.actor == audrey
    assert "1 row(s)" in event.detail
    assert "kind=attendance_letter" in event.detail


def test_the_export_refuses_bad_filters(client, site, audrey):
    sign_in(client, audrey, site=site)
    response = client.get(reverse("disclosure-log-export"), {"date_from": "not a date"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


# --- API --------------------------------------------------------------------------------


def _api(user):
    secret = create_api_token(user=user, name="tests").secret
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_api_lists_a_patients_disclosures(site, tom, audrey, patients):
    mine = _disclosure(patients[0], tom)
    _disclosure(patients[1], tom)
    response = Client().get(f"/api/v1/patients/{patients[0].pk}/disclosures", **_api(audrey))
    assert response.status_code == 200
    (item,) = response.json()
    assert set(item) == {
        "id", "patient_id", "document", "document_label", "description", "recipient",
        "purpose", "basis", "disclosed_by_id", "disclosed_by_name", "disclosed_at",
        "content_sha256",
    }  # fmt: skip
    assert item["id"] == mine.pk
    assert item["disclosed_by_name"] == "Tom Fakename, LCSW"
    assert AuditEvent.objects.filter(
        actor=audrey, patient_id=patients[0].pk, object_type="disclosure_log"
    ).exists()


def test_the_api_hides_another_sites_patient(site, tom, oscar, patients):
    response = Client().get(f"/api/v1/patients/{patients[0].pk}/disclosures", **_api(oscar))
    assert response.status_code == 404


@time_machine.travel(datetime(2026, 11, 20, 18, 0, tzinfo=UTC), tick=False)
def test_the_api_issues_an_attendance_letter(site, tom, patients):
    patient = patients[0]
    make_enrollment(patient, make_program(site), admitted_on=date(2026, 10, 1))
    url = f"/api/v1/patients/{patient.pk}/documents/attendance-letter"
    body = {
        "recipient": "County Drug Court",
        "purpose": "Verify attendance",
        "basis": "court_order",
        "start_on": "2026-11-01",
        "end_on": "2026-11-19",
    }
    response = Client().post(url, body, content_type="application/json", **_api(tom))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert Disclosure.objects.get().basis == "court_order"

    bad = Client().post(
        url, {**body, "end_on": "2026-12-01", "basis": "whim"}, content_type="application/json",
        **_api(tom),
    )  # fmt: skip
    assert bad.status_code == 422
    fields = {error["field"] for error in bad.json()["detail"]}
    assert fields == {"payload.end_on", "payload.basis"}
    assert Disclosure.objects.count() == 1
