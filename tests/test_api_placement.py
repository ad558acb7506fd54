"""POST/GET /api/v1/patients/{id}/placements, /placements/{id}[/decision] and a program's
placement rules."""

from __future__ import annotations

import json

import pytest
import time_machine

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.measures.models import PlacementAssessment
from openiop.measures.services_placement import save_rule_table
from tests.factories import make_user
from tests.factories_placement import enrolled, make_placement
from tests.factories_programs import make_program

NOW = "2026-03-02 14:00:00+00:00"

PLACEMENT_KEYS = {
    "id",
    "patient_id",
    "kind",
    "edition",
    "assessed_on",
    "assessed_by",
    "created_at",
    "episode_id",
    "enrollment_id",
    "program_id",
    "rule_table_version",
    "criteria",
    "ratings",
    "contraindications",
    "indicated_level",
    "indicated_tier",
    "fired_rules",
    "deciding_rules",
    "notes",
    "provided_level",
    "reason",
    "decided_by",
    "decided_at",
    "version",
}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def enrollment(site):
    return enrolled(site)


def _auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user=user, name='t').secret}"}


def _post(client, user, path, body):
    return client.post(path, json.dumps(body), content_type="application/json", **_auth(user))


def _body(values=(0, 0, 0, 2, 0, 0), **extra):
    body = {
        "edition": 3,
        "criteria": {str(n): {"answer": "yes", "note": ""} for n in range(1, 7)},
        "ratings": {
            str(n): {"rating": v, "rationale": "Seen." if v >= 2 else ""}
            for n, v in enumerate(values, start=1)
        },
    }
    body.update(extra)
    return body


def test_it_records_and_answers_the_indication(client, tom, enrollment):
    response = _post(
        client,
        tom,
        f"/api/v1/patients/{enrollment.patient_id}/placements",
        _body((0, 0, 3, 2, 0, 0)),
    )
    assert response.status_code == 201, response.content
    out = response.json()
    assert set(out) == PLACEMENT_KEYS
    placement = PlacementAssessment.objects.get()
    assert out["id"] == placement.pk
    assert (out["indicated_level"], out["indicated_tier"]) == ("2.5", "php")
    assert out["deciding_rules"] == ["psychiatric-significant"]
    fired = {row["rule_id"]: row for row in out["fired_rules"]}
    assert set(fired["psychiatric-significant"]) == {"rule_id", "description", "level", "evidence"}
    assert fired["psychiatric-significant"]["evidence"] == ["D3 rated 3 (≥ 3)"]
    assert fired["any-moderate"]["level"] == "iop"
    assert out["kind"] == "intake"
    assert out["program_id"] == enrollment.program_id
    assert out["rule_table_version"] is None
    assert out["provided_level"] == ""
    assert out["version"] == 1
    assert out["assessed_by"] == tom.signature_name


def test_lists_of_six_work_and_the_decision_can_come_at_once(client, tom, enrollment):
    body = {
        "edition": 4,
        "criteria": [{"answer": "yes"}] * 6,
        "ratings": [{"rating": 0}] * 3
        + [{"rating": 2, "rationale": "Ambivalent."}]
        + [{"rating": 0}] * 2,
        "provided_level": "2.5",
        "reason": "Court-ordered day program.",
        "kind": "reassessment",
    }
    response = _post(client, tom, f"/api/v1/patients/{enrollment.patient_id}/placements", body)
    assert response.status_code == 201, response.content
    out = response.json()
    assert (out["indicated_level"], out["provided_level"]) == ("2.1", "2.5")
    assert out["reason"] == "Court-ordered day program."
    assert out["decided_by"] == tom.signature_name
    assert out["kind"] == "reassessment"
    assert out["ratings"]["4"] == {"rating": 2, "rationale": "Ambivalent."}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(ratings={"1": {"rating": 5}}), "payload.ratings.1"),
        (
            _body(ratings={**_body()["ratings"], "3": {"rating": 9, "rationale": "x"}}),
            "payload.ratings.3",
        ),
        (
            _body(ratings={**_body()["ratings"], "3": {"rating": 2.5, "rationale": "x"}}),
            "payload.ratings.3",
        ),
        (
            _body(ratings={**_body()["ratings"], "3": {"rating": 3, "rationale": ""}}),
            "payload.ratings.3",
        ),
        (_body(ratings={**_body()["ratings"], "8": {"rating": 0}}), "payload.ratings.8"),
        (_body(criteria={"2": {"answer": "sometimes"}}), "payload.criteria.2"),
        (_body(criteria={"0": {"answer": "yes"}}), "payload.criteria.0"),
        (_body(edition=5), "payload.edition"),
        (_body(kind="weekly"), "payload.kind"),
        (_body(contraindications=["sunburn"]), "payload.contraindications"),
        (_body(assessed_on="2026-03-10"), "payload.assessed_on"),
        (_body(provided_level="1"), "payload.reason"),
        (_body(provided_level="7.7", reason="x"), "payload.provided_level"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, tom, enrollment, body, field):
    response = _post(client, tom, f"/api/v1/patients/{enrollment.patient_id}/placements", body)
    assert response.status_code == 422, response.content
    fields = [error["field"] for error in response.json()["detail"]]
    assert field in fields
    assert not PlacementAssessment.objects.exists()


def test_a_malformed_body_is_422(client, tom, enrollment):
    path = f"/api/v1/patients/{enrollment.patient_id}/placements"
    response = _post(client, tom, path, {"edition": 3})
    assert response.status_code == 422
    assert "payload.ratings" in [e["field"] for e in response.json()["detail"]]
    response = _post(client, tom, path, _body(ratings="high"))
    assert response.status_code == 422


def test_an_invisible_patient_is_404(client, oscar, tom, enrollment):
    path = f"/api/v1/patients/{enrollment.patient_id}/placements"
    assert _post(client, oscar, path, _body()).status_code == 404
    placement = make_placement(enrollment.patient, tom)
    assert client.get(path, **_auth(oscar)).status_code == 404
    assert client.get(f"/api/v1/placements/{placement.pk}", **_auth(oscar)).status_code == 404
    response = _post(
        client,
        oscar,
        f"/api/v1/placements/{placement.pk}/decision",
        {"provided_level": "1", "reason": "", "version": 1},
    )
    assert response.status_code == 404
    placement.refresh_from_db()
    assert placement.provided_level == ""


def test_the_decision_later_once(client, tom, dana, enrollment):
    placement = make_placement(enrollment.patient, tom, (0, 0, 0, 2, 0, 0))
    path = f"/api/v1/placements/{placement.pk}/decision"
    missing = _post(client, tom, path, {"provided_level": "1", "reason": "", "version": 1})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "payload.reason"
    ok = _post(client, tom, path, {"provided_level": "1", "reason": "Works nights.", "version": 1})
    assert ok.status_code == 200, ok.content
    assert (ok.json()["provided_level"], ok.json()["version"]) == ("1", 2)
    again = _post(client, dana, path, {"provided_level": "2.1", "reason": "", "version": 2})
    assert again.status_code == 409
    assert "already recorded" in again.json()["detail"]
    placement.refresh_from_db()
    assert (placement.provided_level, placement.provided_reason) == ("1", "Works nights.")


def test_a_stale_version_is_409(client, tom, enrollment):
    placement = make_placement(enrollment.patient, tom, (0, 0, 0, 2, 0, 0))
    response = _post(
        client,
        tom,
        f"/api/v1/placements/{placement.pk}/decision",
        {"provided_level": "2.1", "version": 3},
    )
    assert response.status_code == 409


def test_reads(client, tom, enrollment, site):
    nurse = make_user("nia", site=site, role=Role.NURSE)
    first = make_placement(enrollment.patient, tom, (0, 0, 0, 0, 0, 0))
    second = make_placement(enrollment.patient, tom, (0, 0, 0, 2, 0, 0), provided_level="2.1")
    listed = client.get(f"/api/v1/patients/{enrollment.patient_id}/placements", **_auth(nurse))
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [second.pk, first.pk]
    one = client.get(f"/api/v1/placements/{first.pk}", **_auth(nurse))
    assert one.status_code == 200
    assert set(one.json()) == PLACEMENT_KEYS
    assert one.json()["indicated_level"] == "1"
    assert client.get("/api/v1/placements/999999", **_auth(nurse)).status_code == 404
    # A nurse reads placements but does not record them.
    denied = _post(client, nurse, f"/api/v1/patients/{enrollment.patient_id}/placements", _body())
    assert denied.status_code == 403


def test_the_rule_table(client, tom, dana, site, other_site):
    program = make_program(site, name="Evening IOP")
    path = f"/api/v1/programs/{program.pk}/placement-rules"
    default = client.get(path, **_auth(tom)).json()
    assert (default["version"], default["is_default"]) == (None, True)
    first = default["rules"][0]
    assert first["id"] == "any-severe"
    assert first["level"] == "residential"
    assert first["conditions"] == [
        {
            "kind": "dimensions",
            "count": 1,
            "at_least": 4,
            "text": "any dimension ≥ 4",
            "dimension": None,
            "criterion": None,
            "answer": None,
            "code": None,
        }
    ]
    save_rule_table(
        program=program,
        rules_json_or_list=[
            {
                "id": "only",
                "description": "Only rule.",
                "conditions": [{"kind": "dimension", "dimension": 1, "at_least": 2}],
                "level": "php",
                "editions": [4],
            }
        ],
        note="Trial",
        by=dana,
        expected_version=0,
    )
    saved = client.get(path, **_auth(tom)).json()
    assert (saved["version"], saved["is_default"], saved["note"]) == (1, False, "Trial")
    assert [(r["id"], r["level"], r["editions"]) for r in saved["rules"]] == [("only", "php", [4])]
    elsewhere = make_program(other_site, name="Far IOP")
    far = f"/api/v1/programs/{elsewhere.pk}/placement-rules"
    assert client.get(far, **_auth(tom)).status_code == 404
