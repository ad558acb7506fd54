"""The lab CSV import: a good file lands on the right screens; any bad row rejects the file
with its row number and reason, and nothing is written."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from openiop.alerts.models import Alert
from openiop.audit.models import AuditEvent
from openiop.screening.csv_import import import_lab_csv
from openiop.screening.models import DrugScreen, ScreenResult
from openiop.screening.services_screens import record_collection
from tests.factories_patients import make_patient
from tests.factories_screens import collection, make_screen, screen_case


@pytest.fixture
def screens(site, tom, dana):
    case = screen_case(site, tom)
    first = record_collection(
        case.screen, by=dana, data=collection(specimen_id="LAB-100"), version=1
    )
    other = make_patient(site, first_name="Robin", last_name="Roe")
    second = make_screen(other)
    second = record_collection(second, by=dana, data=collection(specimen_id="LAB-200"), version=1)
    return case, first, second


GOOD = """Accession,Test,Method,Result,Concentration,Units,Lab comment
LAB-100,Fentanyl,screen,POS,5,ng/mL,
LAB-100,cocaine,presumptive,negative,,,
LAB-100,Fentanyl,LC-MS/MS,positive,4.2,ng/mL,confirmed
LAB-200,thc,,neg,,,
LAB-200,Alcohol (EtG),presumptive,Not detected,,,fine
"""


def test_good_file_records_every_row(screens, dana, site):
    _, first, second = screens
    report = import_lab_csv(GOOD.encode(), site=site, by=dana)
    assert report.rows == 5
    assert {s.pk for s in report.screens} == {first.pk, second.pk}
    assert [s.pk for s in report.unexpected] == [first.pk]
    assert ScreenResult.objects.filter(screen=first).count() == 3
    assert set(ScreenResult.objects.values_list("source", flat=True)) == {"lab_csv"}
    confirm = ScreenResult.objects.get(screen=first, analyte="fentanyl", method="confirmatory")
    assert str(confirm.value) == "4.200"
    first.refresh_from_db()
    assert first.verdict == "unexpected"
    assert Alert.objects.filter(evidence_id=first.pk).count() == 2
    assert AuditEvent.objects.filter(object_type="lab_results_file").count() == 1


def test_uploaded_file_with_bom_semicolons_and_screen_numbers(screens, dana, site):
    _, first, _ = screens
    text = f"\ufeffscreen_id;analyte;result;value\n{first.pk};thc;positive;80\n"
    upload = SimpleUploadedFile("lab.csv", text.encode(), content_type="text/csv")
    report = import_lab_csv(upload, site=site, by=dana)
    assert report.screens[0].verdict == "unexpected"


def _rejected(text, site, dana):
    with pytest.raises(ValidationError) as caught:
        import_lab_csv(text.encode() if isinstance(text, str) else text, site=site, by=dana)
    assert not ScreenResult.objects.exists()
    assert not Alert.objects.exists()
    assert set(DrugScreen.objects.values_list("verdict", flat=True)) == {""}
    return caught.value.message_dict["file"]


@pytest.mark.parametrize(
    ("bad_row", "words"),
    [
        ("LAB-100,kratom,presumptive,positive,,", "Unknown analyte “kratom”"),
        ("LAB-100,thc,guess,positive,,", "method “guess”"),
        ("LAB-100,thc,presumptive,maybe,,", "result “maybe”"),
        ("LAB-100,thc,presumptive,positive,-3,", "0 or more"),
        ("LAB-100,thc,presumptive,positive,12,", "below the cutoff of 50"),
        ("LAB-100,thc,presumptive,negative,900,", "at or above"),
        ("LAB-100,thc,presumptive,positive,lots,", "must be a number"),
        ("LAB-999,thc,presumptive,negative,,", "no screen at this site has specimen id LAB-999"),
        (",thc,presumptive,negative,,", "no specimen id"),
        ("LAB-100,thc,presumptive,negative,,mg/L", "ng/mL"),
        ("LAB-200,cocaine,presumptive,negative,,", "cocaine (presumptive) is given twice"),
    ],
)
def test_one_bad_row_rejects_the_whole_file(screens, dana, site, bad_row, words):
    text = (
        "specimen_id,analyte,method,result,value,unit\n"
        "LAB-200,cocaine,presumptive,negative,,\n"
        "LAB-100,opiates,presumptive,negative,,\n"
        f"{bad_row}\n"
    )
    messages = _rejected(text, site, dana)
    assert messages[0].startswith("Row 4: "), messages
    assert words.lower() in messages[0].lower(), messages


def test_every_problem_is_listed_in_row_order(screens, dana, site):
    text = (
        "specimen_id,analyte,result\n"
        "LAB-100,kratom,positive\n"
        "LAB-100,thc,negative\n"
        "LAB-200,thc,whatever\n"
    )
    messages = _rejected(text, site, dana)
    assert [m.split(":")[0] for m in messages] == ["Row 2", "Row 4"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("specimen_id,analyte,result\n", "no results"),
        ("analyte,result\nthc,negative\n", "no specimen_id (or screen_id) column"),
        ("specimen_id,test\nLAB-100,thc\n", "no result column"),
        (b"specimen_id,analyte,result\nLAB-100,\xff\xfe,negative\n", "UTF-8"),
    ],
)
def test_malformed_files_are_rejected(screens, dana, site, text, words):
    messages = _rejected(text, site, dana)
    assert words in messages[0]


def test_another_sites_screen_is_not_found(screens, dana, other_site):
    _, first, _ = screens
    text = f"screen_id,analyte,result\n{first.pk},thc,negative\n"
    messages = _rejected(text, other_site, dana)
    assert "no screen at this site" in messages[0]


def test_screen_not_collected_is_rejected(screens, dana, site):
    case, _, _ = screens
    pending = make_screen(case.patient, reason="for_cause", specimen_id="LAB-300")
    text = "specimen_id,analyte,result\nLAB-300,thc,negative\n"
    messages = _rejected(text, site, dana)
    assert "not recorded as collected" in messages[0]
    assert pending.results.count() == 0


def test_collection_day_must_match(screens, dana, site):
    text = "specimen_id,analyte,result,collected_at\nLAB-100,thc,negative,2020-01-01 09:00\n"
    messages = _rejected(text, site, dana)
    assert "collected on 2020-01-01 per the file" in messages[0]


def test_a_late_failure_writes_nothing(screens, dana, site, monkeypatch):
    from openiop.screening import csv_import

    calls = []
    real = csv_import.store_results

    def store_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(csv_import, "store_results", store_then_fail)
    with pytest.raises(RuntimeError):
        import_lab_csv(GOOD.encode(), site=site, by=dana)
    assert not ScreenResult.objects.exists()
    assert not Alert.objects.exists()
