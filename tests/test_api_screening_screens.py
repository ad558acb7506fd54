"""POST/GET /patients/{id}/screens: a collected screen with its results, answered with its
interpretation against the patient's medications, and the bad inputs of issue 5."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.db import reset_queries
from django.test import Client

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.alerts.models import Alert
from openiop.audit.models import Action, AuditEvent
from openiop.screening.models import DrugScreen, ScreenResult
from tests.factories import make_user
from tests.factories_enrollment import make_enrollment, make_prescriber
from tests.factories_medications import make_order
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

NOW = "2026-03-04T16:00:00Z"  # Wednesday 10:00 in Chicago
TODAY = date(2026, 3, 4)
COLLECTED = "2026-03-04T09:40:00-06:00"

SCREEN_KEYS = {
    "id",
    "patient_id",
    "site_id",
    "reason",
    "cause",
    "status",
    "selected_on",
    "specimen",
    "observed",
    "collected_at",
    "collected_by_id",
    "specimen_id",
    "temperature_c",
    "temperature_read_minutes",
    "creatinine_mg_dl",
    "specific_gravity",
    "ph",
    "nitrite_ug_ml",
    "validity",
    "validity_reasons",
    "temperature_verified",
    "verdict",
    "interpretation",
    "results",
    "reviewed_at",
    "reviewed_by_id",
    "version",
    "created_at",
}
INTERPRETATION_KEYS = {
    "verdict",
    "validity",
    "analytes",
    "confirmation_needed",
    "recollect",
    "notes",
    "medications",
    "interpreted_at",
}
ANALYTE_KEYS = {
    "analyte",
    "analyte_name",
    "verdict",
    "reason",
    "result",
    "method",
    "explained_by",
    "needs_confirmation",
}


class Api:
    def __init__(self, user: Any) -> None:
        self.client = Client()
        self.auth = f"Bearer {create_api_token(user=user, name='test').secret}"

    def call(self, method: str, url: str, body: Any = None) -> Any:
        return self.client.generic(
            method,
            f"/api/v1{url}",
            body if isinstance(body, str) else json.dumps(body) if body is not None else "",
            content_type="application/json",
            HTTP_AUTHORIZATION=self.auth,
        )

    def get(self, url: str) -> Any:
        return self.call("GET", url)

    def post(self, url: str, body: Any) -> Any:
        return self.call("POST", url, body)


def fields(response: Any) -> list[str]:
    return [error["field"] for error in response.json()["detail"]]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def nina(site):
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Mockwell")


@pytest.fixture
def priya(site):
    return make_prescriber(site)


@pytest.fixture
def pat(site, tom, priya):
    """Pat Placeholder, in IOP with Tom as primary therapist and Priya as prescriber, on
    sublingual buprenorphine/naloxone."""
    patient = make_patient(site, first_name="Pat", last_name="Placeholder")
    make_enrollment(
        patient,
        make_program(site),
        admitted_on=date(2026, 2, 2),
        primary_therapist=tom,
        prescriber=priya,
    )
    make_order(patient, "bup_nx_sl", by=priya, started_on=date(2026, 2, 2), dose="16")
    return patient


NEGATIVES = ("thc", "cocaine", "opiates", "oxycodone", "fentanyl", "amphetamines")


def urine(results: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    body = {
        "collected_at": COLLECTED,
        "specimen": "urine",
        "observed": True,
        "temperature_c": 34.5,
        "temperature_read_minutes": 2,
        "creatinine_mg_dl": 85,
        "specific_gravity": 1.015,
        "ph": 6.2,
        "results": results,
    }
    body.update(changes)
    return body


def result(analyte: str, outcome: str, method: str = "presumptive", **more: Any) -> dict:
    return {"analyte": analyte, "method": method, "result": outcome, **more}


def on_buprenorphine_as_taken() -> list[dict[str, Any]]:
    return [
        result("buprenorphine", "positive"),
        result("norbuprenorphine", "positive", "confirmatory", value=48),
        *(result(code, "negative") for code in NEGATIVES),
    ]


def test_it_records_an_expected_screen_and_answers_its_interpretation(nina, pat, tom):
    response = Api(nina).post(f"/patients/{pat.pk}/screens", urine(on_buprenorphine_as_taken()))
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == SCREEN_KEYS
    assert body["status"] == "collected"
    assert body["reason"] == "for_cause"
    assert body["cause"] == "Recorded on arrival"
    assert body["validity"] == "valid"
    assert body["temperature_verified"] is True
    assert body["verdict"] == "expected"
    assert body["collected_by_id"] == nina.pk
    assert body["observed"] is True
    assert body["temperature_c"] == 34.5
    interpretation = body["interpretation"]
    assert set(interpretation) == INTERPRETATION_KEYS
    assert interpretation["verdict"] == "expected"
    assert interpretation["validity"] == "valid"
    assert interpretation["medications"] == ["bup_nx_sl"]
    analytes = {item["analyte"]: item for item in interpretation["analytes"]}
    assert all(set(item) == ANALYTE_KEYS for item in analytes.values())
    assert set(analytes) == {"buprenorphine", "norbuprenorphine", *NEGATIVES}
    assert analytes["buprenorphine"]["verdict"] == "expected"
    assert analytes["buprenorphine"]["explained_by"] == ["bup_nx_sl"]
    assert "explained by" in analytes["buprenorphine"]["reason"]
    assert analytes["thc"]["verdict"] == "expected"
    assert {(r["analyte"], r["method"]) for r in body["results"]} == {
        ("buprenorphine", "presumptive"),
        ("norbuprenorphine", "confirmatory"),
        *((code, "presumptive") for code in NEGATIVES),
    }
    norbup = next(r for r in body["results"] if r["analyte"] == "norbuprenorphine")
    assert (norbup["value"], norbup["unit"], norbup["source"]) == (48, "ng/mL", "api")
    assert not Alert.objects.exists()
    screen = DrugScreen.objects.get(pk=body["id"])
    assert (screen.patient, screen.verdict, screen.results.count()) == (pat, "expected", 8)
    assert AuditEvent.objects.filter(
        object_type="drug_screen", patient_id=pat.pk, action=Action.CREATE
    ).exists()


def test_buprenorphine_without_its_metabolite_is_unexpected_and_alerts(nina, pat, tom, priya):
    response = Api(nina).post(
        f"/patients/{pat.pk}/screens",
        urine(
            [
                result("buprenorphine", "positive", "confirmatory", value=900),
                result("norbuprenorphine", "negative", "confirmatory", value=0),
                *(result(code, "negative") for code in NEGATIVES),
            ]
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["verdict"] == "unexpected"
    assert body["interpretation"]["verdict"] == "unexpected"
    analytes = {item["analyte"]: item for item in body["interpretation"]["analytes"]}
    assert analytes["buprenorphine"]["verdict"] == "unexpected"
    assert "spiking" in analytes["buprenorphine"]["reason"]
    assert analytes["norbuprenorphine"]["verdict"] == "unexpected"
    alerted = set(Alert.objects.filter(patient=pat).values_list("assignee_id", flat=True))
    assert alerted == {tom.pk, priya.pk}


def test_an_unexplained_positive_is_unexpected_in_plain_words(nina, pat):
    results = on_buprenorphine_as_taken()
    results[-1] = result("amphetamines", "positive", value=1200)
    body = Api(nina).post(f"/patients/{pat.pk}/screens", urine(results)).json()
    assert body["verdict"] == "unexpected"
    amphetamines = next(
        item for item in body["interpretation"]["analytes"] if item["analyte"] == "amphetamines"
    )
    assert amphetamines["verdict"] == "unexpected"
    assert "not explained by any active prescription" in amphetamines["reason"]
    assert "amphetamines" in body["interpretation"]["confirmation_needed"]


def test_a_substituted_specimen_is_unexpected_and_collected_again(nina, pat):
    response = Api(nina).post(
        f"/patients/{pat.pk}/screens",
        urine(on_buprenorphine_as_taken(), creatinine_mg_dl=1.2, specific_gravity=1.0005),
    )
    body = response.json()
    assert response.status_code == 201
    assert body["validity"] == "substituted"
    assert body["validity_reasons"]
    assert body["verdict"] == "unexpected"
    assert body["interpretation"]["recollect"] is True
    assert {item["verdict"] for item in body["interpretation"]["analytes"]} == {"inconclusive"}


def test_it_completes_the_random_screen_called_for_that_day(nina, pat):
    called = DrugScreen.objects.create(
        site=pat.site,
        patient=pat,
        reason="random",
        status="selected",
        selected_on=TODAY,
        created_by_label="test",
    )
    body = Api(nina).post(f"/patients/{pat.pk}/screens", urine(on_buprenorphine_as_taken()))
    assert body.status_code == 201
    assert body.json()["id"] == called.pk
    assert body.json()["reason"] == "random"
    assert DrugScreen.objects.count() == 1


def test_it_keeps_a_stated_cause(nina, pat):
    body = urine(on_buprenorphine_as_taken(), cause="Smelled of alcohol at check-in")
    response = Api(nina).post(f"/patients/{pat.pk}/screens", body)
    assert response.json()["cause"] == "Smelled of alcohol at check-in"


def test_it_records_a_breath_alcohol_test(nina, pat):
    response = Api(nina).post(
        f"/patients/{pat.pk}/screens",
        {
            "collected_at": COLLECTED,
            "specimen": "breath_alcohol",
            "observed": True,
            "results": [result("etg", "negative")],
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["verdict"] == "expected"
    assert response.json()["temperature_verified"] is False


def test_it_lists_the_patients_screens_newest_first(nina, tom, pat, django_assert_max_num_queries):
    api = Api(nina)
    first = api.post(
        f"/patients/{pat.pk}/screens",
        urine(on_buprenorphine_as_taken(), collected_at="2026-03-02T09:00:00-06:00"),
    ).json()
    reader = Api(tom)
    reset_queries()  # a request resets the log: count from zero
    with django_assert_max_num_queries(20) as counted:
        listed = reader.get(f"/patients/{pat.pk}/screens")
    queries = len(counted.captured_queries)
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["results"] == [first]
    second = api.post(f"/patients/{pat.pk}/screens", urine(on_buprenorphine_as_taken())).json()
    reset_queries()  # a request resets the log: count from zero
    with django_assert_max_num_queries(queries):
        listed = reader.get(f"/patients/{pat.pk}/screens")
    assert [item["id"] for item in listed.json()["results"]] == [second["id"], first["id"]]
    paged = reader.get(f"/patients/{pat.pk}/screens?limit=1").json()
    assert (paged["count"], len(paged["results"]), paged["next_offset"]) == (2, 1, 1)
    assert AuditEvent.objects.filter(
        actor=tom, action=Action.VIEW, object_type="drug_screen", patient_id=pat.pk
    ).exists()


def test_it_takes_the_same_queries_for_two_or_twelve_analytes(
    nina, pat, django_assert_max_num_queries
):
    api = Api(nina)
    two = [result("buprenorphine", "positive"), result("norbuprenorphine", "positive")]
    reset_queries()  # a request resets the log: count from zero
    with django_assert_max_num_queries(60) as counted:
        assert api.post(f"/patients/{pat.pk}/screens", urine(two)).status_code == 201
    queries = len(counted.captured_queries)
    twelve = [
        *two,
        *(result(code, "negative") for code in (*NEGATIVES, "6am", "pcp", "mdma", "methadone")),
    ]
    later = "2026-03-04T09:50:00-06:00"
    reset_queries()  # a request resets the log: count from zero
    with django_assert_max_num_queries(queries):
        response = api.post(f"/patients/{pat.pk}/screens", urine(twelve, collected_at=later))
    assert response.status_code == 201
    assert len(response.json()["results"]) == 12


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"collected_at": "2026-03-04T12:00:00-06:00"}, "payload.collected_at"),  # 2 h ahead
        ({"collected_at": "2027-01-01T09:00:00Z"}, "payload.collected_at"),
        ({"collected_at": "2026-03-04T09:40:00"}, "payload.collected_at"),  # no offset
        ({"collected_at": "this morning"}, "payload.collected_at"),
        ({"collected_at": "0001-01-01T00:00:00Z"}, "payload.collected_at"),
        ({"collected_at": "1899-12-31T12:00:00Z"}, "payload.collected_at"),
        ({"collected_at": None}, "payload.collected_at"),
        ({"specimen": "hair"}, "payload.specimen"),
        ({"observed": "perhaps"}, "payload.observed"),
        ({"temperature_c": 500}, "payload.temperature_c"),
        ({"temperature_c": "warm"}, "payload.temperature_c"),
        ({"temperature_c": 34.55}, "payload.temperature_c"),
        ({"ph": 15}, "payload.ph"),
        ({"ph": "NaN"}, "payload.ph"),
        ({"specific_gravity": 0.5}, "payload.specific_gravity"),
        ({"creatinine_mg_dl": -1}, "payload.creatinine_mg_dl"),
        ({"nitrite_ug_ml": 1e308}, "payload.nitrite_ug_ml"),
        ({"panel_id": 999999}, "payload.panel_id"),
        ({"cause": "x" * 301}, "payload.cause"),
        ({"cause": "late\u0000"}, "payload.cause"),
        ({"specimen_id": "CUP\u00001"}, "payload.specimen_id"),
        ({"specimen_id": "x" * 61}, "payload.specimen_id"),
        ({"results": "all clear"}, "payload.results"),
        ({"results": [{}]}, "payload.results.0.analyte"),
        ({"results": [result("unobtainium", "positive")]}, "payload.results.0.analyte"),
        ({"results": [result("THC ", "positive")]}, "payload.results.0.analyte"),
        ({"results": [result("thc", "maybe")]}, "payload.results.0.result"),
        ({"results": [result("thc", "positive", "guesswork")]}, "payload.results.0.method"),
        ({"results": [result("thc", "positive", value=-3)]}, "payload.results.0.value"),
        ({"results": [result("thc", "positive", value="lots")]}, "payload.results.0.value"),
        ({"results": [result("thc", "positive", unit="mg/L")]}, "payload.results.0.unit"),
        ({"results": [result("thc", "positive", cutoff=0)]}, "payload.results.0.cutoff"),
        ({"results": [result("thc", "positive", extra=1)]}, "payload.results.0.extra"),
        # A value that contradicts the result: 3 ng/mL is below THC's cutoff of 50.
        ({"results": [result("thc", "positive", value=3)]}, "payload.results.0.value"),
        (
            {"results": [result("thc", "negative"), result("thc", "negative")]},
            "payload.results",
        ),
        ({"results": [result("thc", "negative")] * 61}, "payload.results"),
        ({"surprise": 1}, "payload.surprise"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(nina, pat, changes, field):
    body = {**urine(on_buprenorphine_as_taken()), **changes}
    body = {key: value for key, value in body.items() if value is not None}
    response = Api(nina).post(f"/patients/{pat.pk}/screens", body)
    assert response.status_code == 422, response.content
    assert field in fields(response), response.json()
    assert not DrugScreen.objects.exists()
    assert not ScreenResult.objects.exists()


def test_urine_measurements_of_an_oral_fluid_are_refused(nina, pat):
    response = Api(nina).post(
        f"/patients/{pat.pk}/screens",
        urine([result("thc", "negative")], specimen="oral_fluid"),
    )
    assert response.status_code == 422
    assert {"payload.creatinine_mg_dl", "payload.specific_gravity", "payload.ph"} <= set(
        fields(response)
    )


def test_a_breath_test_shows_alcohol_only(nina, pat):
    response = Api(nina).post(
        f"/patients/{pat.pk}/screens",
        {
            "collected_at": COLLECTED,
            "specimen": "breath_alcohol",
            "results": [result("thc", "negative")],
        },
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.results.0.analyte"]


def test_a_specimen_id_is_used_once_per_site(nina, pat):
    api = Api(nina)
    body = urine(on_buprenorphine_as_taken(), specimen_id="CUP-FAKE-001")
    assert api.post(f"/patients/{pat.pk}/screens", body).status_code == 201
    again = api.post(f"/patients/{pat.pk}/screens", body)
    assert again.status_code == 422
    assert fields(again) == ["payload.specimen_id"]
    assert DrugScreen.objects.count() == 1


@pytest.mark.parametrize("raw", ["", "[]", "null", "{", '"urine"', '{"results": [null]}'])
def test_it_answers_malformed_bodies_with_4xx(nina, pat, raw):
    response = Api(nina).call("POST", f"/patients/{pat.pk}/screens", raw)
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/json")


def test_it_hides_patients_of_other_sites(nina, other_site):
    elsewhere = make_patient(other_site, first_name="Ellis", last_name="Elsewhere")
    api = Api(nina)
    assert api.get(f"/patients/{elsewhere.pk}/screens").status_code == 404
    body = urine(on_buprenorphine_as_taken())
    assert api.post(f"/patients/{elsewhere.pk}/screens", body).status_code == 404
    assert not DrugScreen.objects.exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "query.limit"), ("limit=101", "query.limit"), ("offset=-1", "query.offset")],
)
def test_it_refuses_bad_paging(nina, pat, query, field):
    response = Api(nina).get(f"/patients/{pat.pk}/screens?{query}")
    assert response.status_code == 422
    assert fields(response) == [field]


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        (Role.DIRECTOR, 200, 201),
        (Role.THERAPIST, 200, 403),
        (Role.PRESCRIBER, 200, 201),
        (Role.NURSE, 200, 201),
        (Role.FRONT_DESK, 403, 403),
        (Role.BILLING, 403, 403),
        (Role.AUDITOR, 403, 403),
    ],
)
def test_who_reads_and_who_records(site, pat, role, read, write):
    api = Api(make_user(f"u-{role}", site=site, role=role))
    assert api.get(f"/patients/{pat.pk}/screens").status_code == read
    body = urine(on_buprenorphine_as_taken())
    assert api.post(f"/patients/{pat.pk}/screens", body).status_code == write


def test_a_day_later_collection_is_read_against_that_days_medications(nina, pat, priya):
    """An order started after the collection does not explain it."""
    make_order(pat, "clonazepam", by=priya, started_on=TODAY, dose="1")
    yesterday = (TODAY - timedelta(days=1)).isoformat() + "T09:00:00-06:00"
    results = [*on_buprenorphine_as_taken(), result("benzodiazepines", "positive")]
    body = (
        Api(nina).post(f"/patients/{pat.pk}/screens", urine(results, collected_at=yesterday)).json()
    )
    assert body["interpretation"]["medications"] == ["bup_nx_sl"]
    benzo = next(i for i in body["interpretation"]["analytes"] if i["analyte"] == "benzodiazepines")
    assert benzo["verdict"] == "unexpected"
