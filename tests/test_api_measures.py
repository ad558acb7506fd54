"""The measures API: the instrument registry, recording a questionnaire (with the bad inputs of
issue 6 and the safety alert), and listing a patient's responses."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.alerts.models import Alert, AlertKind
from openiop.audit.models import Action, AuditEvent
from openiop.lib.dates import local_today
from openiop.measures.models import MeasureResponse
from tests.factories import make_user
from tests.factories_measures import enrolled, measure, strike
from tests.factories_patients import make_patient

pytestmark = pytest.mark.django_db

MEASURE_KEYS = {
    "id",
    "patient_id",
    "instrument",
    "instrument_version",
    "answers",
    "score",
    "band",
    "subscales",
    "flags",
    "has_safety_flag",
    "respondent",
    "occasion",
    "taken_on",
    "recorded_by_id",
    "recorded_by",
    "recorded_at",
    "struck",
    "struck_reason",
    "struck_at",
    "alerts_raised",
}


class Api:
    def __init__(self, user: Any | None) -> None:
        self.client = Client()
        self.auth = (
            f"Bearer {create_api_token(user=user, name='test').secret}" if user else "Bearer nope"
        )

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


def problems(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.content
    return [(error["field"], error["message"]) for error in response.json()["detail"]]


@pytest.fixture
def pat(site, tom, dana):
    patient, _ = enrolled(site, therapist=tom, first_name="Pat", last_name="Apifake")
    return patient


def post(user, patient, body: dict[str, Any]) -> Any:
    return Api(user).post(f"/patients/{patient.pk}/measures", body)


# ---- GET /instruments ----


def test_it_lists_the_instruments_with_items_options_and_bands(tom):
    response = Api(tom).get("/instruments")
    assert response.status_code == 200
    by_code = {i["code"]: i for i in response.json()}
    assert list(by_code) == [
        "PHQ-9",
        "GAD-7",
        "BAM",
        "PCL-5",
        "AUDIT",
        "DAST-10",
        "C-SSRS",
        "CRAVING",
    ]
    phq9 = by_code["PHQ-9"]
    assert len(phq9["items"]) == 9
    assert phq9["items"][0]["text"] == "Little interest or pleasure in doing things"
    assert phq9["items"][8]["options"] == [
        {"value": 0, "label": "Not at all"},
        {"value": 1, "label": "Several days"},
        {"value": 2, "label": "More than half the days"},
        {"value": 3, "label": "Nearly every day"},
    ]
    assert [(b["low"], b["high"], b["name"]) for b in phq9["bands"]] == [
        (0, 4, "minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 19, "moderately severe"),
        (20, 27, "severe"),
    ]
    assert phq9["safety_items"] == [9]
    assert phq9["total_range"] == [0, 27]
    cssrs = by_code["C-SSRS"]
    assert [i["asked_if"] for i in cssrs["items"]] == [
        None,
        None,
        {"item": 2, "values": [1]},
        {"item": 2, "values": [1]},
        {"item": 2, "values": [1]},
        None,
    ]
    assert cssrs["safety_levels"] == ["moderate", "high"]
    assert "official wording" in cssrs["licence_note"]
    assert by_code["BAM"]["total_range"] is None
    assert by_code["BAM"]["subscales"][0] == {"name": "use", "items": [4, 5, 6]}
    assert by_code["BAM"]["items"][6]["required"] is False
    assert by_code["DAST-10"]["items"][2]["reversed"] is True
    assert [b["name"] for b in by_code["PCL-5"]["bands"]] == ["below threshold", "probable PTSD"]
    assert set(phq9) == {
        "code", "name", "version", "instructions", "items", "has_total", "total_range",
        "bands", "subscales", "safety_items", "safety_levels", "licence_note",
    }  # fmt: skip


def test_instruments_need_a_token_and_measures_view(site, audrey):
    assert Api(None).get("/instruments").status_code == 401
    assert Api(audrey).get("/instruments").status_code == 403


# ---- POST /patients/{id}/measures ----


def test_it_records_a_phq9_and_answers_with_score_and_band_name(pat, tom):
    response = post(tom, pat, {"instrument": "PHQ-9", "answers": [3, 3, 3, 3, 3, 0, 0, 0, 0]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == MEASURE_KEYS
    stored = MeasureResponse.objects.get()
    assert body["id"] == stored.pk
    assert (body["score"], body["band"]) == (15, "moderately severe")
    assert body["answers"] == [3, 3, 3, 3, 3, 0, 0, 0, 0]
    assert body["has_safety_flag"] is False
    assert body["flags"] == [] and body["alerts_raised"] == []
    assert body["taken_on"] == local_today(pat.site.time_zone).isoformat()
    assert (body["respondent"], body["recorded_by_id"]) == ("staff", tom.pk)
    assert body["recorded_by"] == "Tom Fakename, LCSW"
    assert body["struck"] is False
    assert stored.score == 15 and stored.recorded_by == tom
    assert AuditEvent.objects.filter(
        action=Action.CREATE, object_type="measure", object_id=str(stored.pk)
    ).exists()


def test_a_phq9_item_9_answer_raises_the_safety_alerts(pat, tom, dana):
    response = post(
        tom,
        pat,
        {
            "instrument": "PHQ-9",
            "answers": [0, 0, 0, 0, 0, 0, 0, 0, 1],
            "respondent": "patient",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["score"], body["band"], body["has_safety_flag"]) == (1, "minimal", True)
    assert [(f["code"], f["severity"], f["item"]) for f in body["flags"]] == [("safety", "high", 9)]
    alerted = {a["assignee_id"] for a in body["alerts_raised"]}
    assert alerted == {tom.pk, dana.pk}
    assert set(
        Alert.objects.filter(kind=AlertKind.SAFETY, evidence_id=body["id"]).values_list(
            "assignee_id", flat=True
        )
    ) == {tom.pk, dana.pk}
    assert body["respondent"] == "patient"


def test_it_scores_bam_subscales_and_a_cssrs_with_skipped_questions(pat, tom):
    bam = post(
        tom,
        pat,
        {"instrument": "BAM", "answers": [1, 2, 3, 4, 1, 2, None, 4, 1, 2, 3, 4, 1, 4, 2, 3, 4]},
    )
    assert bam.status_code == 201, bam.content
    assert bam.json()["subscales"] == {"use": 7, "risk": 15, "protective": 15}
    assert (bam.json()["score"], bam.json()["band"]) == (None, None)
    assert bam.json()["answers"][6] is None
    low = post(tom, pat, {"instrument": "C-SSRS", "answers": [1, 0, None, None, None, 0]})
    assert low.status_code == 201, low.content
    assert (low.json()["band"], low.json()["has_safety_flag"]) == ("low", False)
    high = post(tom, pat, {"instrument": "C-SSRS", "answers": [0, 0, None, None, None, 2]})
    assert (high.json()["band"], high.json()["has_safety_flag"]) == ("high", True)
    assert len(high.json()["alerts_raised"]) == 2
    short = post(tom, pat, {"instrument": "C-SSRS", "answers": [0, 1, 1, 0, 0, 0]})
    assert short.json()["band"] == "moderate"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        # wrong number of answers
        ({"instrument": "PHQ-9", "answers": [0] * 8}, "payload.answers.9", "missing answer"),
        ({"instrument": "PHQ-9", "answers": [0] * 10}, "payload.answers.10", "has 9 items; 10"),
        ({"instrument": "GAD-7", "answers": []}, "payload.answers.1", "missing answer"),
        # an answer outside the options
        (
            {"instrument": "PHQ-9", "answers": [0, 0, 0, 4, 0, 0, 0, 0, 0]},
            "payload.answers.4",
            "4 is not one of the options",
        ),
        (
            {"instrument": "PHQ-9", "answers": [0, 0, 0, -1, 0, 0, 0, 0, 0]},
            "payload.answers.4",
            "not one of the options",
        ),
        (
            {"instrument": "PHQ-9", "answers": [0, "2", 0, 0, 0, 0, 0, 0, 0]},
            "payload.answers.2",
            "not a whole number",
        ),
        (
            {"instrument": "PHQ-9", "answers": [0, 1.5, 0, 0, 0, 0, 0, 0, 0]},
            "payload.answers.2",
            "not a whole number",
        ),
        (
            {"instrument": "AUDIT", "answers": [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]},
            "payload.answers.9",
            "1 is not one of the options",
        ),
        ({"instrument": "CRAVING", "answers": [11]}, "payload.answers.1", "not one of"),
        # the C-SSRS skip logic
        (
            {"instrument": "C-SSRS", "answers": [0, 1, None, 0, 0, 0]},
            "payload.answers.3",
            "missing answer",
        ),
        (
            {"instrument": "C-SSRS", "answers": [0, 1]},
            "payload.answers.3",
            "missing answer",
        ),
        (
            {"instrument": "C-SSRS", "answers": [0, 0, 1, None, None, 0]},
            "payload.answers.3",
            "must be left unanswered",
        ),
        (
            {"instrument": "C-SSRS", "answers": [0, 0, None, None, None, None]},
            "payload.answers.6",
            "missing answer",
        ),
        # unknown instrument
        ({"instrument": "PHQ-8", "answers": [0] * 8}, "payload.instrument", "Unknown instrument"),
        ({"instrument": "phq-9", "answers": [0] * 9}, "payload.instrument", "Unknown instrument"),
        # the other fields
        (
            {"instrument": "PHQ-9", "answers": [0] * 9, "respondent": "robot"},
            "payload.respondent",
            "",
        ),
        (
            {"instrument": "PHQ-9", "answers": [0] * 9, "taken_on": "2026-13-01"},
            "payload.taken_on",
            "",
        ),
        ({"instrument": "PHQ-9", "answers": "000000000"}, "payload.answers", ""),
        ({"answers": [0] * 9}, "payload.instrument", ""),
    ],
)
def test_it_refuses_bad_input_naming_the_item(pat, tom, body, field, words):
    found = problems(post(tom, pat, body))
    assert any(f == field and words in message for f, message in found), found
    assert not MeasureResponse.objects.exists()
    assert not Alert.objects.exists()


def test_it_refuses_a_date_in_the_future(pat, tom):
    tomorrow = local_today(pat.site.time_zone) + timedelta(days=1)
    found = problems(
        post(
            tom, pat, {"instrument": "PHQ-9", "answers": [0] * 9, "taken_on": tomorrow.isoformat()}
        )
    )
    assert [f for f, _ in found] == ["payload.taken_on"]


def test_a_body_that_is_not_json_is_a_400(pat, tom):
    response = Api(tom).post(f"/patients/{pat.pk}/measures", "{not json")
    assert response.status_code == 400
    assert not MeasureResponse.objects.exists()


def test_recording_needs_a_token_the_permission_and_a_visible_patient(
    pat, tom, audrey, oscar, site
):
    body = {"instrument": "PHQ-9", "answers": [0] * 9}
    assert Api(None).post(f"/patients/{pat.pk}/measures", body).status_code == 401
    assert post(audrey, pat, body).status_code == 403
    desk = make_user("fran", site=site, role=Role.FRONT_DESK)
    assert post(desk, pat, body).status_code == 403
    assert post(oscar, pat, body).status_code == 404
    assert Api(tom).post("/patients/999999/measures", body).status_code == 404
    assert Api(tom).post("/patients/0/measures", body).status_code == 422
    assert not MeasureResponse.objects.exists()
    assert AuditEvent.objects.filter(
        actor=oscar, action=Action.ACCESS_DENIED, object_type="measure"
    ).exists()


# ---- GET /patients/{id}/measures ----


def test_it_lists_newest_first_with_struck_ones_and_filters(pat, tom, dana):
    today = local_today(pat.site.time_zone)
    old = measure(pat, "PHQ-9", [1] * 8 + [0], by=tom, taken_on=today - timedelta(days=14))
    gad = measure(pat, "GAD-7", [2] * 7, by=tom, taken_on=today - timedelta(days=7))
    new = measure(pat, "PHQ-9", [0] * 8 + [2], by=tom, taken_on=today)
    strike(old, by=dana, reason="entered for the wrong patient")
    response = Api(tom).get(f"/patients/{pat.pk}/measures")
    assert response.status_code == 200
    body = response.json()
    assert [m["id"] for m in body] == [new.pk, gad.pk, old.pk]
    assert all(set(m) == MEASURE_KEYS for m in body)
    assert [m["struck"] for m in body] == [False, False, True]
    assert body[2]["struck_reason"] == "entered for the wrong patient"
    assert body[2]["struck_at"] is not None
    assert {a["assignee_id"] for a in body[0]["alerts_raised"]} == {tom.pk, dana.pk}
    assert body[1]["alerts_raised"] == []
    only = Api(tom).get(f"/patients/{pat.pk}/measures?instrument=PHQ-9").json()
    assert [m["id"] for m in only] == [new.pk, old.pk]
    assert Api(tom).get(f"/patients/{pat.pk}/measures?instrument=AUDIT").json() == []
    assert problems(Api(tom).get(f"/patients/{pat.pk}/measures?instrument=NOPE"))[0][0] == (
        "query.instrument"
    )


def test_listing_is_scoped_and_audited(pat, tom, oscar, audrey, site):
    measure(pat, "PHQ-9", [0] * 9, by=tom)
    assert Api(None).get(f"/patients/{pat.pk}/measures").status_code == 401
    assert Api(audrey).get(f"/patients/{pat.pk}/measures").status_code == 403
    assert Api(oscar).get(f"/patients/{pat.pk}/measures").status_code == 404
    assert len(Api(tom).get(f"/patients/{pat.pk}/measures").json()) == 1
    stranger = make_patient(site, first_name="Nobody", last_name="Listedfake")
    assert Api(tom).get(f"/patients/{stranger.pk}/measures").json() == []
    assert AuditEvent.objects.filter(
        actor=tom, action=Action.VIEW, object_type="measure", patient_id=pat.pk
    ).exists()


def test_listing_costs_the_same_queries_for_3_or_12_responses(pat, tom):
    api = Api(tom)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/patients/{pat.pk}/measures").status_code == 200
        return len(queries)

    for _ in range(3):
        measure(pat, "PHQ-9", [0] * 8 + [1], by=tom)
    count()  # the token's first use is recorded once
    small = count()
    for _ in range(9):
        measure(pat, "PHQ-9", [0] * 8 + [1], by=tom)
    assert count() == small
