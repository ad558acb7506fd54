"""The screen page, the fast collection and results form, review, confirmation, the lab CSV
page and the chart's screens section."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.alerts.models import Alert
from openiop.audit.models import Action, AuditEvent
from openiop.lib.dates import zone
from openiop.screening.models import DrugScreen, ScreenResult, ScreenStatus
from openiop.screening.services_screens import record_collection, record_results
from tests.factories import make_user, sign_in
from tests.factories_screens import collection, default_panel, negatives, screen_case


@pytest.fixture
def nina(site):
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Notreal")


@pytest.fixture
def case(site, tom):
    return screen_case(site, tom)


def _unexpected(case, by):
    screen = record_collection(case.screen, by=by, data=collection(), version=1)
    return record_results(
        screen, by=by, results=negatives(fentanyl="positive"), version=screen.version
    )


def _form(case, **overrides):
    """A POST of the fast form: collection plus every default-panel analyte negative."""
    local = (timezone.now() - timedelta(minutes=5)).astimezone(zone(case.patient.site.time_zone))
    data = {
        "version": case.screen.version,
        "panel_id": default_panel().pk,
        "method": "presumptive",
        "specimen": "urine",
        "observed": "on",
        "collected_at": local.strftime("%Y-%m-%dT%H:%M"),
        "specimen_id": "CUP-1",
        "temperature_c": "34",
        "temperature_read_minutes": "1",
        "creatinine_mg_dl": "90",
        "specific_gravity": "1.012",
        "ph": "6",
        "analyte": [a.analyte for a in default_panel().analytes.all()],
    }
    for code in data["analyte"]:
        data[f"result_{code}"] = "negative"
        data[f"value_{code}"] = ""
    data.update(overrides)
    return data


def test_screen_page_shows_verdict_reasons_and_validity(client, site, case, nina, tom):
    screen = _unexpected(case, nina)
    sign_in(client, tom, site=site)
    response = client.get(f"/screens/{screen.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="screen-verdict">Unexpected' in body
    assert "Fentanyl positive and not explained by any active prescription." in body
    assert 'data-testid="validity-class">Valid' in body
    assert "Order confirmation" in body  # therapists may review and order confirmation
    assert "Record review" in body
    assert "screen-record-link" not in body  # therapists do not collect
    assert AuditEvent.objects.filter(
        action=Action.VIEW, object_type="drug_screen", patient_id=case.patient.pk
    ).exists()


def test_screen_page_costs_constant_queries(
    client, site, case, nina, tom, django_assert_max_num_queries
):
    screen = _unexpected(case, nina)
    sign_in(client, nina, site=site)
    with django_assert_max_num_queries(14):
        assert client.get(f"/screens/{screen.pk}/").status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(f"/screens/{screen.pk}/record/").status_code == 200


def test_another_sites_screen_is_404_and_audited(client, case, nina, oscar, other_site):
    sign_in(client, oscar, site=other_site)
    assert client.get(f"/screens/{case.screen.pk}/").status_code == 404
    assert AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, object_type="drug_screen", actor=oscar
    ).exists()


def test_record_form_lists_every_panel_analyte_default_negative(client, site, case, nina):
    sign_in(client, nina, site=site)
    body = client.get(f"/screens/{case.screen.pk}/record/").content.decode()
    assert body.count('data-testid="grid-row"') == default_panel().analytes.count()
    checked = 'id="r-fentanyl-negative" value="negative" autocomplete="off" checked'
    assert checked in body


def test_record_form_saves_and_alerts(client, site, case, nina):
    sign_in(client, nina, site=site)
    response = client.post(
        f"/screens/{case.screen.pk}/record/", _form(case, result_fentanyl="positive")
    )
    assert response.status_code == 302
    screen = DrugScreen.objects.get(pk=case.screen.pk)
    assert screen.status == ScreenStatus.COLLECTED
    assert screen.verdict == "unexpected"
    assert screen.results.count() == default_panel().analytes.count()
    assert Alert.objects.filter(evidence_id=screen.pk).count() == 2


def test_not_tested_rows_are_skipped(client, site, case, nina):
    sign_in(client, nina, site=site)
    data = _form(case, result_pcp="", result_mdma="")
    assert client.post(f"/screens/{case.screen.pk}/record/", data).status_code == 302
    analytes = set(ScreenResult.objects.values_list("analyte", flat=True))
    assert "pcp" not in analytes and "mdma" not in analytes and "thc" in analytes


def test_record_form_errors_name_fields_and_write_nothing(client, site, case, nina):
    sign_in(client, nina, site=site)
    later = (timezone.now() + timedelta(days=2)).astimezone(zone(site.time_zone))
    data = _form(
        case,
        collected_at=later.strftime("%Y-%m-%dT%H:%M"),
        result_thc="positive",
        value_thc="3",
        ph="abc",
    )
    response = client.post(f"/screens/{case.screen.pk}/record/", data)
    body = response.content.decode()
    assert response.status_code == 422
    assert "The collection time is in the future." in body
    assert "below the cutoff of 50" in body
    assert "pH must be a number" in body
    # What was typed stays on the form.
    assert 'value="3"' in body
    case.screen.refresh_from_db()
    assert case.screen.status == ScreenStatus.SELECTED
    assert not ScreenResult.objects.exists()


def test_stale_form_is_a_conflict(client, site, case, nina):
    sign_in(client, nina, site=site)
    assert client.post(f"/screens/{case.screen.pk}/record/", _form(case)).status_code == 302
    response = client.post(f"/screens/{case.screen.pk}/record/", _form(case))
    assert response.status_code == 409
    assert "changed since the page was loaded" in response.content.decode()


def test_record_a_screen_on_arrival(client, site, case, nina):
    DrugScreen.objects.all().delete()
    sign_in(client, nina, site=site)
    url = f"/patients/{case.patient.pk}/screens/new/"
    assert client.get(url).status_code == 200
    data = _form(case, cause="Smelled of alcohol", result_etg="positive")
    data.pop("version")
    response = client.post(url, data)
    assert response.status_code == 302
    screen = DrugScreen.objects.get()
    assert screen.reason == "for_cause" and screen.cause == "Smelled of alcohol"
    assert response["Location"] == f"/screens/{screen.pk}/"


def test_review_and_its_errors(client, site, case, nina, tom):
    screen = _unexpected(case, nina)
    sign_in(client, tom, site=site)
    url = f"/screens/{screen.pk}/review/"
    response = client.post(url, {"version": screen.version, "note": " "})
    assert response.status_code == 422
    assert "Say what was done" in response.content.decode()
    response = client.post(url, {"version": screen.version, "note": "Talked with Sam."})
    assert response.status_code == 302
    screen.refresh_from_db()
    assert screen.reviewed_by == tom
    response = client.post(url, {"version": screen.version, "note": "Again."})
    assert response.status_code == 409


def test_order_confirmation_button(client, site, case, nina, tom):
    screen = _unexpected(case, nina)
    sign_in(client, tom, site=site)
    url = f"/screens/{screen.pk}/confirmation/"
    assert client.post(url, {"version": screen.version}).status_code == 302
    screen.refresh_from_db()
    assert screen.interpretation["confirmation_order"]["analytes"] == ["fentanyl"]
    body = client.get(f"/screens/{screen.pk}/").content.decode()
    assert 'data-testid="confirmation-ordered"' in body
    assert client.post(url, {"version": screen.version}).status_code == 409


def test_import_page_good_and_bad_files(client, site, case, nina):
    record_collection(case.screen, by=nina, data=collection(specimen_id="LAB-9"), version=1)
    sign_in(client, nina, site=site)
    assert client.get("/screens/import/").status_code == 200
    bad = SimpleUploadedFile("lab.csv", b"specimen_id,analyte,result\nLAB-9,kratom,positive\n")
    response = client.post("/screens/import/", {"file": bad})
    assert response.status_code == 422
    assert "Row 2: Unknown analyte" in response.content.decode()
    assert not ScreenResult.objects.exists()
    good = SimpleUploadedFile("lab.csv", b"specimen_id,analyte,result\nLAB-9,cocaine,positive\n")
    response = client.post("/screens/import/", {"file": good})
    assert response.status_code == 200
    assert 'data-testid="import-report"' in response.content.decode()
    assert ScreenResult.objects.get().source == "lab_csv"
    assert client.post("/screens/import/", {}).status_code == 422


def test_chart_section_timeline_with_constant_queries(client, site, case, nina, tom):
    sign_in(client, tom, site=site)
    url = f"/patients/{case.patient.pk}/"
    body = client.get(url).content.decode()
    assert 'data-testid="chart-screens"' in body
    _unexpected(case, nina)
    from tests.factories_screens import make_screen

    for days in (8, 15):
        extra = make_screen(
            case.patient,
            reason="for_cause",
            selected_on=timezone.localdate() - timedelta(days=days),
        )
        extra = record_collection(
            extra,
            by=nina,
            data=collection(collected_at=(timezone.now() - timedelta(days=days)).isoformat()),
            version=1,
        )
        record_results(extra, by=nina, results=negatives(), version=extra.version)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        body = client.get(url).content.decode()
    assert "Fentanyl" in body
    assert body.count('data-testid="timeline-week"') >= 3
    assert 'data-testid="chart-screens-review"' in body
    baseline = len(queries.captured_queries)
    for days in (22, 29):
        extra = make_screen(
            case.patient,
            reason="for_cause",
            selected_on=timezone.localdate() - timedelta(days=days),
        )
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(more.captured_queries) == baseline


def test_chart_section_hidden_without_permission(client, site, case):
    desk = make_user("fran", site=site, role=Role.FRONT_DESK)
    sign_in(client, desk, site=site)
    body = client.get(f"/patients/{case.patient.pk}/").content.decode()
    assert 'data-testid="chart-screens"' not in body


def test_screen_page_shows_times_in_the_sites_zone(client, site, case, nina):
    when = timezone.now().astimezone(zone(site.time_zone)).replace(second=0, microsecond=0)
    when = when - timedelta(hours=1)
    record_collection(
        case.screen, by=nina, data=collection(collected_at=when.isoformat()), version=1
    )
    sign_in(client, nina, site=site)
    body = client.get(f"/screens/{case.screen.pk}/").content.decode()
    assert when.strftime("%H:%M") + " by Nina Notreal" in body
