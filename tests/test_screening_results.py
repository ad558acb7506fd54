"""Recording results: validation against the catalogue, interpretation with the medications
active on the collection day, alerts to the therapist and prescriber, one transaction and a
constant number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openiop.alerts.models import Alert, AlertState
from openiop.medications.models import MedicationOrder
from openiop.screening import services_screens
from openiop.screening.models import DrugScreen, ScreenResult, ScreenStatus
from openiop.screening.services_screens import (
    ON_ARRIVAL_CAUSE,
    ScreenConflict,
    order_confirmation,
    record_collection,
    record_results,
    record_screen,
    review_screen,
)
from tests.factories_patients import make_patient
from tests.factories_screens import TWELVE, collection, negatives, order, screen_case


@pytest.fixture
def case(site, tom):
    return screen_case(site, tom)


@pytest.fixture
def collected(case, dana):
    case.screen = record_collection(case.screen, by=dana, data=collection(), version=1)
    return case


def results(case, by, rows, **kwargs):
    return record_results(case.screen, by=by, results=rows, version=case.screen.version, **kwargs)


def test_all_negative_is_expected_and_raises_no_alert(collected, dana):
    screen = results(collected, dana, negatives())
    assert screen.verdict == "expected"
    assert ScreenResult.objects.filter(screen=screen).count() == 12
    assert len(screen.interpretation["analytes"]) == 12
    assert not Alert.objects.exists()


def test_unexplained_positive_alerts_therapist_and_prescriber_once(collected, dana):
    screen = results(collected, dana, negatives(fentanyl="positive"))
    assert screen.verdict == "unexpected"
    fentanyl = next(a for a in screen.interpretation["analytes"] if a["analyte"] == "fentanyl")
    assert fentanyl["verdict"] == "unexpected"
    assert "not explained" in fentanyl["reason"]
    assert screen.interpretation["confirmation_needed"] == ["fentanyl"]
    alerts = Alert.objects.filter(evidence_type="drug_screen", evidence_id=screen.pk)
    assert {a.assignee for a in alerts} == {collected.therapist, collected.prescriber}
    assert all(a.severity == "high" for a in alerts)
    # Recording again (a correction, then the confirmation) raises nothing new.
    screen = record_results(
        screen,
        by=dana,
        results=[{"analyte": "fentanyl", "method": "confirmatory", "result": "positive"}],
        version=screen.version,
    )
    assert alerts.count() == 2


def test_buprenorphine_patient_expected_and_spiking_detected(collected, dana):
    order(collected.patient, "bup_nx_sl", by=collected.prescriber)
    rows = negatives([*TWELVE, "buprenorphine", "norbuprenorphine"])
    for row in rows:
        if row["analyte"] in ("buprenorphine", "norbuprenorphine"):
            row["result"] = "positive"
    screen = results(collected, dana, rows)
    assert screen.verdict == "expected"
    assert screen.interpretation["medications"] == ["bup_nx_sl"]
    spiked = [
        {"analyte": "norbuprenorphine", "method": "presumptive", "result": "negative"},
    ]
    screen = record_results(screen, by=dana, results=spiked, version=screen.version)
    assert screen.verdict == "unexpected"
    bup = next(a for a in screen.interpretation["analytes"] if a["analyte"] == "buprenorphine")
    assert "spiking" in bup["reason"]


def test_medication_ended_before_collection_does_not_count(collected, dana):
    today = timezone.localdate()
    order(
        collected.patient,
        "clonazepam",
        by=collected.prescriber,
        ended_on=today - timedelta(days=10),
    )
    screen = results(collected, dana, negatives(benzodiazepines="positive"))
    assert screen.verdict == "unexpected"
    assert screen.interpretation["medications"] == []


def test_prescribed_benzodiazepine_explains_its_class(collected, dana):
    order(collected.patient, "diazepam", by=collected.prescriber)
    screen = results(collected, dana, negatives(benzodiazepines="positive"))
    assert screen.verdict == "expected"


def test_invalid_specimen_is_unexpected(case, dana):
    screen = record_collection(case.screen, by=dana, data=collection(ph="3"), version=1)
    screen = record_results(screen, by=dana, results=negatives(), version=screen.version)
    assert screen.verdict == "unexpected"
    assert screen.interpretation["recollect"] is True
    assert Alert.objects.filter(evidence_id=screen.pk, severity="high").count() == 2


def test_no_active_enrollment_means_no_alert_but_still_unexpected(site, dana):
    from tests.factories_screens import make_screen

    patient = make_patient(site, first_name="Una", last_name="Unenrolled")
    screen = make_screen(patient)
    screen = record_collection(screen, by=dana, data=collection(), version=1)
    screen = record_results(
        screen, by=dana, results=negatives(cocaine="positive"), version=screen.version
    )
    assert screen.verdict == "unexpected"
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("row", "key", "words"),
    [
        ({"analyte": "kratom", "result": "negative"}, "results[0].analyte", "kratom"),
        ({"analyte": "", "result": "negative"}, "results[0].analyte", "Name the analyte"),
        ({"analyte": "thc", "method": "guess", "result": "negative"}, "results[0].method", ""),
        ({"analyte": "thc", "result": "maybe"}, "results[0].result", ""),
        ({"analyte": "thc", "result": "positive", "value": "-5"}, "results[0].value", "0 or"),
        ({"analyte": "thc", "result": "positive", "value": "lots"}, "results[0].value", ""),
        ({"analyte": "thc", "result": "positive", "value": True}, "results[0].value", ""),
        ({"analyte": "thc", "result": "positive", "value": "1e12"}, "results[0].value", ""),
        ({"analyte": "thc", "result": "positive", "value": "NaN"}, "results[0].value", ""),
        (
            {"analyte": "thc", "result": "positive", "value": "20"},
            "results[0].value",
            "below the cutoff of 50",
        ),
        (
            {"analyte": "thc", "result": "negative", "value": "75"},
            "results[0].value",
            "at or above",
        ),
        (
            {"analyte": "thc", "result": "positive", "value": "20", "cutoff": "0"},
            "results[0].cutoff",
            "",
        ),
        ("thc", "results[0]", ""),
    ],
)
def test_bad_result_is_refused_naming_it_and_nothing_written(collected, dana, row, key, words):
    with pytest.raises(ValidationError) as caught:
        results(collected, dana, [row])
    messages = caught.value.message_dict
    assert key in messages, messages
    assert words in messages[key][0]
    assert not ScreenResult.objects.exists()
    collected.screen.refresh_from_db()
    assert collected.screen.verdict == ""


def test_value_agreeing_with_the_rows_own_cutoff_is_accepted(collected, dana):
    rows = [{"analyte": "thc", "result": "positive", "value": "20", "cutoff": "15"}]
    screen = results(collected, dana, rows)
    row = ScreenResult.objects.get(screen=screen)
    assert str(row.cutoff) == "15.000"


def test_twice_the_same_analyte_and_method_is_refused(collected, dana):
    rows = negatives(["thc", "thc"])
    with pytest.raises(ValidationError) as caught:
        results(collected, dana, rows)
    assert "twice" in caught.value.message_dict["results[1]"][0]


def test_empty_or_malformed_list_is_refused(collected, dana):
    for rows in ([], "thc", None):
        with pytest.raises(ValidationError) as caught:
            results(collected, dana, rows)
        assert "results" in caught.value.message_dict


def test_results_before_collection_are_a_conflict(case, dana):
    with pytest.raises(ScreenConflict):
        results(case, dana, negatives())


def test_stale_version_is_a_conflict(collected, dana):
    results(collected, dana, negatives())
    with pytest.raises(ScreenConflict):
        record_results(collected.screen, by=dana, results=negatives(), version=2)


def test_breath_alcohol_reports_alcohol_only(case, dana):
    screen = record_collection(
        case.screen,
        by=dana,
        data=collection(specimen="breath_alcohol", creatinine_mg_dl="", specific_gravity="", ph=""),
        version=1,
    )
    with pytest.raises(ValidationError):
        record_results(screen, by=dana, results=negatives(["thc"]), version=screen.version)
    with pytest.raises(ValidationError):
        record_results(
            screen,
            by=dana,
            results=[{"analyte": "etg", "result": "positive", "value": "0.08"}],
            version=screen.version,
        )
    screen = record_results(
        screen, by=dana, results=[{"analyte": "etg", "result": "positive"}], version=screen.version
    )
    assert screen.verdict == "unexpected"


def _count(callable_):
    with CaptureQueriesContext(connection) as ctx:
        callable_()
    return len(ctx.captured_queries)


def test_twelve_analyte_screen_costs_constant_queries(site, tom, dana):
    one = screen_case(site, tom)
    one.screen = record_collection(one.screen, by=dana, data=collection(), version=1)
    twelve = screen_case(site, tom, prescriber=one.prescriber)
    twelve.screen = record_collection(twelve.screen, by=dana, data=collection(), version=1)
    small = _count(lambda: results(one, dana, negatives(["thc"], thc="positive")))
    large = _count(lambda: results(twelve, dana, negatives(thc="positive")))
    assert small == large
    assert large <= 16
    assert Alert.objects.count() == 4


def test_recording_is_one_transaction(collected, dana, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("alert service down")

    monkeypatch.setattr(services_screens, "raise_alert", broken)
    with pytest.raises(RuntimeError):
        results(collected, dana, negatives(cocaine="positive"))
    assert not ScreenResult.objects.exists()
    collected.screen.refresh_from_db()
    assert collected.screen.verdict == ""
    assert collected.screen.version == 2


# --- record_screen ---------------------------------------------------------------------------


def test_record_screen_uses_todays_random_selection(case, dana):
    data = collection(results=negatives())
    screen = record_screen(case.patient, by=dana, data=data)
    assert screen.pk == case.screen.pk
    assert screen.status == ScreenStatus.COLLECTED
    assert screen.verdict == "expected"


def test_record_screen_on_arrival_creates_a_for_cause_screen(case, dana):
    DrugScreen.objects.filter(pk=case.screen.pk).delete()
    screen = record_screen(case.patient, by=dana, data=collection(results=negatives()))
    assert screen.reason == "for_cause"
    assert screen.cause == ON_ARRIVAL_CAUSE
    assert screen.enrollment == case.enrollment
    assert screen.verdict == "expected"


def test_record_screen_reports_every_bad_field_and_writes_nothing(case, dana):
    data = collection(
        collected_at=(timezone.now() + timedelta(days=1)).isoformat(),
        results=[{"analyte": "unobtainium", "result": "positive"}],
    )
    with pytest.raises(ValidationError) as caught:
        record_screen(case.patient, by=dana, data=data)
    assert {"collected_at", "results[0].analyte"} <= set(caught.value.message_dict)
    assert DrugScreen.objects.count() == 1
    case.screen.refresh_from_db()
    assert case.screen.status == ScreenStatus.SELECTED


def test_record_screen_for_another_patients_screen_is_refused(case, dana, site):
    other = make_patient(site, first_name="Oli", last_name="Other")
    with pytest.raises(ValidationError):
        record_screen(other, by=dana, data=collection(), screen=case.screen, version=1)


# --- confirmation and review -------------------------------------------------------------------


def test_order_confirmation_once(collected, dana):
    screen = results(collected, dana, negatives(cocaine="positive"))
    screen = order_confirmation(screen, by=dana, version=screen.version)
    assert screen.interpretation["confirmation_order"]["analytes"] == ["cocaine"]
    with pytest.raises(ScreenConflict):
        order_confirmation(screen, by=dana, version=screen.version)
    # New results keep the order.
    screen = record_results(
        screen,
        by=dana,
        results=[{"analyte": "cocaine", "method": "confirmatory", "result": "negative"}],
        version=screen.version,
    )
    assert screen.interpretation["confirmation_order"]["analytes"] == ["cocaine"]


def test_nothing_to_confirm_is_a_conflict(collected, dana):
    screen = results(collected, dana, negatives())
    with pytest.raises(ScreenConflict):
        order_confirmation(screen, by=dana, version=screen.version)


def test_review_closes_the_reviewers_alert_only(collected, dana):
    screen = results(collected, dana, negatives(cocaine="positive"))
    screen = review_screen(
        screen, by=collected.therapist, note="Talked with the patient.", version=screen.version
    )
    assert screen.reviewed_by == collected.therapist
    assert screen.interpretation["reviews"][0]["note"] == "Talked with the patient."
    mine = Alert.objects.get(assignee=collected.therapist)
    theirs = Alert.objects.get(assignee=collected.prescriber)
    assert mine.state == AlertState.RESOLVED and mine.version == 2
    assert theirs.state == AlertState.OPEN
    with pytest.raises(ScreenConflict):
        review_screen(screen, by=dana, note="Again", version=screen.version)
    # New results reopen the screen for review.
    screen = record_results(
        screen,
        by=dana,
        results=[{"analyte": "cocaine", "method": "confirmatory", "result": "positive"}],
        version=screen.version,
    )
    assert screen.reviewed_at is None
    assert len(screen.interpretation["reviews"]) == 1


def test_review_needs_a_note_and_results(collected, dana):
    with pytest.raises(ScreenConflict):
        review_screen(collected.screen, by=dana, note="Seen", version=collected.screen.version)
    screen = results(collected, dana, negatives())
    with pytest.raises(ValidationError) as caught:
        review_screen(screen, by=dana, note="  ", version=screen.version)
    assert "note" in caught.value.message_dict
    with pytest.raises(ValidationError):
        review_screen(screen, by=dana, note="x" * 2001, version=screen.version)


def test_prn_order_makes_a_negative_consistent(collected, dana):
    order(collected.patient, "lorazepam", by=collected.prescriber, frequency="1 mg as needed")
    screen = results(collected, dana, negatives())
    benzo = next(a for a in screen.interpretation["analytes"] if a["analyte"] == "benzodiazepines")
    assert benzo["verdict"] == "expected"
    assert MedicationOrder.objects.count() == 1
