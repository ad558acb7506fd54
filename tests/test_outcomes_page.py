"""The outcomes report at /outcomes/ and its CSV: figures, filter, audit, query count."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.audit.models import AuditEvent
from openiop.lib.dates import at_local
from openiop.measures.models import MeasureResponse, MeasureStrike
from openiop.programs.models import EnrollmentStatus, TransferKind
from tests.factories import sign_in
from tests.factories_hours import make_attended_session, make_enrollment
from tests.factories_outcomes import DEC1, TODAY, outcomes_clinic, read_screen, scored
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def now(site):
    with time_machine.travel(at_local(TODAY, time(12, 0), site.time_zone), tick=False):
        yield


def _csv(client, query: str = "") -> dict[str, dict[str, str]]:
    response = client.get(f"/outcomes/export.csv{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    return {row["measure"]: row for row in rows}


def test_it_shows_the_figures_without_naming_anyone(client, site, tom):
    outcomes_clinic(site, tom)
    sign_in(client, tom, site=site)
    response = client.get("/outcomes/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "3 admissions in the range" in body
    assert "Improvewell" not in body and "Avery" not in body and "Worsewell" not in body
    assert " style=" not in body and "<script>" not in body
    scores = body[body.index('data-testid="outcomes-scores-table"') :]
    # PHQ-9: two pairs, 20→10 and 10→12: means 15.0 → 11.0, change -4.0.
    columns = [
        re.findall(rf'data-testid="scores-{row}">([^<]*)<', scores)
        for row in ("n", "first", "latest", "change", "median")
    ]
    # One column per instrument, PHQ-9 first: n, admission, latest, change, median change.
    assert [column[0] for column in columns] == ["2", "15.0", "11.0", "-4.0", "-4.0"]
    assert "too few to compare" in body
    assert 'data-testid="outcomes-completion"><strong>100.0%</strong>' in body


def test_the_csv_has_one_row_per_measure_with_n_value_and_definition(client, site, tom):
    outcomes_clinic(site, tom)
    sign_in(client, tom, site=site)
    rows = _csv(client)
    assert rows["phq9_mean_change"]["n"] == "2"
    assert rows["phq9_mean_change"]["value"] == "-4.0"
    assert rows["phq9_median_change"]["value"] == "-4.0"
    assert rows["phq9_improved"]["value"] == "50.0"
    assert rows["phq9_band_lower"]["value"] == "50.0"  # severe → moderate; mild→mild
    assert rows["gad7_mean_change"]["n"] == "1"
    assert rows["gad7_improved"]["value"] == "100.0"
    assert rows["retention_30"]["n"] == "3"
    assert rows["retention_30"]["value"] == "100.0"  # the PHP patient: 30 days on Mar 4
    assert rows["retention_60"]["n"] == "2"
    assert rows["retention_60"]["value"] == "50.0"  # the completed one left on day 42
    assert rows["completion_rate"]["n"] == "1"
    assert rows["completion_rate"]["value"] == "100.0"
    # Weeks wholly covered: 13 (Dec 1 … Feb 23) + 6 (Dec 1 … Jan 5) + PHP 4 (Feb 2 … Feb 23);
    # only W09 of the first patient met 9 h.
    assert rows["hours_weeks_met"]["n"] == "23"
    assert rows["hours_weeks_met"]["value"] == "4.3"
    assert rows["screens_expected"]["n"] == "2"
    assert rows["screens_expected"]["value"] == "50.0"
    assert rows["screens_expected"]["too_few"] == "yes"
    assert rows["completion_rate"]["definition"].startswith("Enrollments that ended")


def test_it_filters_by_program_and_range(client, site, tom):
    iop, php = outcomes_clinic(site, tom)
    sign_in(client, tom, site=site)
    rows = _csv(client, f"?program={php.pk}")
    assert rows["retention_30"]["n"] == "1"
    assert rows["phq9_mean_change"]["n"] == "0"
    assert rows["phq9_mean_change"]["value"] == ""
    assert rows["screens_expected"]["n"] == "0"
    rows = _csv(client, f"?program={iop.pk}&start=2026-01-01&end=2026-03-04")
    assert rows["retention_30"]["n"] == "0"  # both IOP admissions were in December
    assert rows["completion_rate"]["n"] == "1"  # the discharge on Jan 12 is in the range
    assert rows["screens_expected"]["n"] == "2"


def test_a_struck_score_leaves_the_report(client, site, tom):
    outcomes_clinic(site, tom)
    wrong = MeasureResponse.objects.get(instrument="GAD-7", score=10)
    MeasureStrike.objects.create(
        response=wrong, reason="wrong patient", struck_by=tom, struck_at=wrong.recorded_at
    )
    sign_in(client, tom, site=site)
    assert _csv(client)["gad7_mean_change"]["n"] == "0"


def test_a_step_down_transfer_counts_as_completed_and_keeps_the_patient_retained(client, site, tom):
    iop = make_program(site, name="Adult IOP")
    op = make_program(site, "1", name="Outpatient", weekly_hours_min=1, weekly_hours_max=8)
    patient = make_patient(site, first_name="Devon", last_name="Stepdown")
    first = make_enrollment(
        patient,
        iop,
        admitted_on=DEC1,
        discharged_on=date(2025, 12, 20),
        status=EnrollmentStatus.TRANSFERRED,
    )
    make_enrollment(
        patient,
        op,
        admitted_on=date(2025, 12, 20),
        episode=first.episode,
        previous=first,
        transfer_kind=TransferKind.STEP_DOWN,
    )
    sign_in(client, tom, site=site)
    rows = _csv(client)
    assert rows["completion_rate"]["value"] == "100.0"
    assert rows["retention_90"]["n"] == "1"  # the transfer is not a second admission
    assert rows["retention_90"]["value"] == "100.0"
    assert _csv(client, f"?program={iop.pk}")["retention_90"]["value"] == "100.0"


def test_it_audits_the_page_and_the_export(client, site, tom):
    iop, _ = outcomes_clinic(site, tom)
    sign_in(client, tom, site=site)
    client.get(f"/outcomes/?program={iop.pk}&start=2025-06-01&end=2026-02-28")
    event = AuditEvent.objects.filter(object_type="outcomes_report").latest("pk")
    assert event.action == "view"
    assert event.detail == "Outcomes of Adult IOP from 2025-06-01 to 2026-02-28"
    assert event.object_id == str(iop.pk)
    client.get("/outcomes/?format=csv")
    event = AuditEvent.objects.filter(object_type="outcomes_report").latest("pk")
    assert event.action == "export"
    assert event.detail == "Outcomes of all programs from 2025-03-05 to 2026-03-04"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("?start=2026-03-01&end=2026-02-01", "id_start", "on or before the end date"),
        ("?start=2020-01-01&end=2026-02-01", "id_end", "at most three years"),
        ("?start=2026-13-01", "id_start", "Enter a valid date"),
        ("?program=abc", "id_program", "Select a valid choice"),
    ],
)
def test_bad_filters_answer_422_with_a_message(client, site, tom, query, field, message):
    sign_in(client, tom, site=site)
    response = client.get(f"/outcomes/{query}")
    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    assert f'id="{field}-error"' in body
    assert 'data-testid="outcomes-scores"' not in body
    assert not AuditEvent.objects.filter(object_type="outcomes_report").exists()
    export = client.get(f"/outcomes/export.csv{query}")
    assert export.status_code == 422
    assert message in export.content.decode()


def test_a_program_of_another_site_is_not_a_choice(client, site, tom, other_site):
    elsewhere = make_program(other_site, name="Elsewhere IOP")
    sign_in(client, tom, site=site)
    response = client.get(f"/outcomes/?program={elsewhere.pk}")
    assert response.status_code == 422
    assert "Elsewhere IOP" not in response.content.decode()


def test_another_sites_patients_are_not_counted(client, site, tom, oscar, other_site):
    outcomes_clinic(site, tom)
    sign_in(client, oscar, site=other_site)
    rows = _csv(client)
    assert rows["retention_30"]["n"] == "0"
    assert rows["screens_expected"]["n"] == "0"
    assert rows["hours_weeks_met"]["n"] == "0"


def test_an_auditor_may_not_see_it(client, site, audrey):
    sign_in(client, audrey, site=site)
    assert client.get("/outcomes/").status_code == 403


def test_an_empty_site_shows_empty_states(client, site, tom):
    sign_in(client, tom, site=site)
    body = client.get("/outcomes/").content.decode()
    assert "0 admissions in the range" in body
    assert "No enrollment ended in the range." in body
    assert "No collected screen with a result in the range." in body


def test_the_query_count_does_not_grow_with_the_organization(client, site, tom):
    sign_in(client, tom, site=site)
    outcomes_clinic(site, tom, copies=1)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/outcomes/").status_code == 200
    evening = make_program(site, name="Evening IOP")
    for n in range(6):
        patient = make_patient(site, first_name=f"Emery{n}", last_name="Manyfold")
        stay = make_enrollment(patient, evening, admitted_on=DEC1)
        scored(patient, "PHQ-9", 15, on=DEC1, by=tom, enrollment=stay)
        scored(patient, "PHQ-9", 5, on=date(2026, 2, 1), by=tom, enrollment=stay)
        make_attended_session(site, tom, patient, day=date(2026, 2, 24))
        read_screen(patient, enrollment=stay, on=date(2026, 2, 3), verdict="expected")
    with CaptureQueriesContext(connection) as large:
        assert client.get("/outcomes/").status_code == 200
    assert len(large) == len(small)
    with CaptureQueriesContext(connection) as export:
        client.get("/outcomes/export.csv")
    assert len(export) <= len(large)
