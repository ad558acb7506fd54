"""Odd input through the screen forms and the lab CSV: instants outside 1900–2200, NUL
characters (PostgreSQL cannot store them), numbers past a column's digits, bad files. Each
comes back as a field or row error with nothing written, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.lib.dates import zone
from openiop.screening.csv_import import import_lab_csv
from openiop.screening.models import DrugScreen, ScreenResult, ScreenStatus
from openiop.screening.services_screens import (
    parse_when,
    record_collection,
    record_results,
)
from tests.factories import make_user, sign_in
from tests.factories_screens import collection, default_panel, negatives, screen_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def nina(site):
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Notreal")


@pytest.fixture
def case(site, tom):
    return screen_case(site, tom)


def _form(case, **overrides):
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


# --- Instants ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00",
        "0001-01-01T00:00:00+14:00",
        "1899-12-31T23:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59",
    ],
)
def test_parse_when_refuses_instants_off_the_calendar(text):
    with pytest.raises(ValueError, match="between 1900 and 2200"):
        parse_when(text, "America/Chicago")


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59",
    ],
)
def test_record_form_refuses_instants_off_the_calendar(client, site, case, nina, text):
    sign_in(client, nina, site=site)
    response = client.post(f"/screens/{case.screen.pk}/record/", _form(case, collected_at=text))
    assert response.status_code == 422
    assert response.context["errors"]["collected_at"]
    case.screen.refresh_from_db()
    assert case.screen.status == ScreenStatus.SELECTED and not ScreenResult.objects.exists()


# --- NUL characters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("specimen_id", "CUP\x001"),
        ("specimen", "urine\x00"),
        ("collected_at", "2026-03-02T09:00\x00"),
        ("panel_id", "1\x00"),
        ("temperature_c", "34\x00"),
        ("cause", "Smelled\x00 of alcohol"),
        ("result_fentanyl", "positive\x00"),
        ("value_fentanyl", "5\x00"),
    ],
)
def test_record_forms_refuse_nul_characters(client, site, case, nina, field, value):
    sign_in(client, nina, site=site)
    for url in (f"/screens/{case.screen.pk}/record/", f"/patients/{case.patient.pk}/screens/new/"):
        response = client.post(url, _form(case, **{field: value}))
        assert response.status_code == 422, url
    assert DrugScreen.objects.get().status == ScreenStatus.SELECTED
    assert not ScreenResult.objects.exists()


def test_review_note_with_nul_is_a_field_error(client, site, case, nina, tom):
    screen = record_collection(case.screen, by=nina, data=collection(), version=1)
    screen = record_results(
        screen, by=nina, results=negatives(cocaine="positive"), version=screen.version
    )
    sign_in(client, tom, site=site)
    response = client.post(
        f"/screens/{screen.pk}/review/", {"version": screen.version, "note": "Talked\x00"}
    )
    assert response.status_code == 422
    assert "NUL" in response.content.decode()
    screen.refresh_from_db()
    assert screen.reviewed_at is None


# --- Numbers past the columns ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature_read_minutes", "999.95"),  # rounds to 1000.0: 5 digits, the column has 4
        ("creatinine_mg_dl", "9999.995"),
        ("nitrite_ug_ml", "999999.95"),
        ("temperature_c", "1e400"),
        ("temperature_c", "1e999999999"),
        ("ph", "-1"),
        ("specific_gravity", "NaN"),
        ("value_fentanyl", "999999999.9999"),
        ("value_fentanyl", "1e999999999"),
        ("value_fentanyl", "-5"),
    ],
)
def test_record_form_refuses_numbers_the_columns_cannot_hold(
    client, site, case, nina, field, value
):
    sign_in(client, nina, site=site)
    data = _form(case, **{field: value, "result_fentanyl": "positive"})
    response = client.post(f"/screens/{case.screen.pk}/record/", data)
    assert response.status_code == 422
    case.screen.refresh_from_db()
    assert case.screen.status == ScreenStatus.SELECTED and not ScreenResult.objects.exists()


# --- The lab CSV ---------------------------------------------------------------------------


@pytest.fixture
def collected(case, nina):
    return record_collection(case.screen, by=nina, data=collection(specimen_id="LAB-1"), version=1)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"specimen_id,analyte,result\nLAB-1,cocaine,positive\x00\n", "Row 2: a NUL"),
        (b"specimen_id,analyte,result\nLAB\x00-1,cocaine,positive\n", "Row 2: a NUL"),
        (b"specimen_id,analyte,result\nLAB-1,coca\xefne,positive\n", "not UTF-8"),
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"specimen_id,analyte,result\n", "header but no results"),
        (b"screen_id,analyte,result\n\xc2\xb2,cocaine,positive\n", "no screen at this site"),
        (b"screen_id,analyte,result\n99999999999999999999999,cocaine,positive\n", "no screen"),
        ("specimen_id,analyte,result\n" + "L" * 200 + ",cocaine,positive\n", "no screen"),
        (
            b"specimen_id,analyte,result,collected_at\n"
            b"LAB-1,cocaine,positive,0001-01-01T00:00:00Z\n",
            "is not a date and time",
        ),
        (
            b"specimen_id,analyte,result,collected_at\n"
            b"LAB-1,cocaine,positive,9999-12-31T23:59:59-12:00\n",
            "is not a date and time",
        ),
        (b"specimen_id,analyte,result,cutoff\nLAB-1,cocaine,positive,99999999\n", "cutoff"),
        (b"specimen_id,analyte,result,value\nLAB-1,cocaine,positive,999999999.9999\n", "value"),
        (b"specimen_id,analyte,result,value\nLAB-1,cocaine,positive,1e999999999\n", "large"),
        (b"specimen_id,analyte,result,value\nLAB-1,cocaine,negative,-3\n", "0 or more"),
        (b'specimen_id,analyte,result\n"LAB-1,cocaine,positive\n', "Row"),
        (b"a" * 200_000 + b"\n", "Row 1"),
    ],
)
def test_odd_lab_files_are_row_errors_with_nothing_written(
    client, site, nina, collected, content, words
):
    if isinstance(content, str):
        content = content.encode()
    with pytest.raises(ValidationError) as caught:
        import_lab_csv(content, site=site, by=nina)
    assert words in " ".join(caught.value.messages)
    sign_in(client, nina, site=site)
    response = client.post(
        "/screens/import/", {"file": SimpleUploadedFile("lab.csv", content, "text/csv")}
    )
    assert response.status_code == 422
    assert not ScreenResult.objects.exists()


def test_a_ten_megabyte_file_is_refused(client, site, nina, collected):
    line = b"LAB-1,cocaine,positive\n"
    content = b"specimen_id,analyte,result\n" + line * (10 * 1024 * 1024 // len(line))
    sign_in(client, nina, site=site)
    response = client.post(
        "/screens/import/", {"file": SimpleUploadedFile("lab.csv", content, "text/csv")}
    )
    assert response.status_code == 422
    assert "larger than 2 MB" in response.content.decode()
    assert not ScreenResult.objects.exists()
