"""Odd inputs by hand, schemathesis-style, on every drug-screening and medication operation:
whatever comes in, the answer is JSON and never a 500."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import time_machine
from django.test import Client

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from tests.factories import make_user
from tests.factories_enrollment import make_prescriber
from tests.factories_medications import make_order
from tests.factories_patients import make_patient

NOW = "2026-03-04T16:00:00Z"

ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    2**63,
    1e308,
    "",
    "a\u0000b",
    "\uff4d\uff45\uff54\uff48\uff41\uff44\uff4f\uff4e\uff45",  # fullwidth "methadone"
    "💊" * 50,
    "x" * 10_000,
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "2026-03-04T09:00:00-23:59",
    "NaN",
    "Infinity",
    "1e400",
    [],
    {},
    {"$gt": ""},
]

ORDER = {
    "medication": "sublocade",
    "dose": 300,
    "route": "subcutaneous",
    "frequency": "monthly",
    "started_on": "2026-03-01",
    "dispensing": "clinic",
    "external_prescriber": "",
    "prescriber_id": None,
    "ended_on": None,
    "dose_unit": "mg",
    "notes": "",
}
DOSE = {
    "order_id": 1,
    "medication": "sublocade",
    "given_at": "2026-03-04T09:30:00-06:00",
    "dose": 300,
    "injection_site": "abdomen_upper_left",
    "lot": "",
    "notes": "",
}
SCREEN = {
    "collected_at": "2026-03-04T09:40:00-06:00",
    "specimen": "urine",
    "observed": True,
    "temperature_c": 34.5,
    "temperature_read_minutes": 2,
    "creatinine_mg_dl": 85,
    "specific_gravity": 1.015,
    "ph": 6.2,
    "nitrite_ug_ml": 10,
    "specimen_id": "",
    "panel_id": None,
    "cause": "",
    "results": [{"analyte": "thc", "method": "presumptive", "result": "negative"}],
}
RESULT = {"analyte": "thc", "method": "presumptive", "result": "negative", "value": 1, "cutoff": 50}
SELECT = {"site_id": 1, "date": "2026-03-04"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setting(site):
    TOKENS.clear()
    director = make_user("dina", site=site, role=Role.DIRECTOR, first_name="Dina")
    nurse = make_user("nina", site=site, role=Role.NURSE, first_name="Nina")
    prescriber = make_prescriber(site)
    patient = make_patient(site)
    order = make_order(patient, "sublocade", by=prescriber, started_on=date(2026, 3, 1))
    return {"director": director, "nurse": nurse, "patient": patient, "order": order}


TOKENS: dict[int, str] = {}


def call(user: Any, method: str, url: str, body: Any = None) -> Any:
    if user.pk not in TOKENS:
        TOKENS[user.pk] = create_api_token(user=user, name="odd").secret
    secret = TOKENS[user.pk]
    return Client().generic(
        method,
        f"/api/v1{url}",
        body if isinstance(body, str | bytes) else json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def check(response: Any) -> None:
    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"].startswith("application/json")


def variants(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**template, key: value} for key in template for value in ODD_VALUES]


def test_orders_take_odd_values_without_a_500(setting):
    url = f"/patients/{setting['patient'].pk}/medications"
    for body in variants(ORDER):
        check(call(setting["director"], "POST", url, body))


def test_doses_take_odd_values_without_a_500(setting):
    url = f"/patients/{setting['patient'].pk}/administrations"
    for body in variants({**DOSE, "order_id": setting["order"].pk}):
        body = {**body, "medication": body["medication"]} if body["order_id"] else body
        check(call(setting["nurse"], "POST", url, body))


def test_screens_take_odd_values_without_a_500(setting):
    url = f"/patients/{setting['patient'].pk}/screens"
    for body in variants(SCREEN):
        check(call(setting["nurse"], "POST", url, body))
    for result in variants(RESULT):
        check(call(setting["nurse"], "POST", url, {**SCREEN, "results": [result]}))


def test_selection_takes_odd_values_without_a_500(setting, site):
    for body in variants({**SELECT, "site_id": site.pk}):
        check(call(setting["director"], "POST", "/screens/select", body))


@pytest.mark.parametrize(
    "raw",
    [b"", b"\xff\xfe", b"{" * 5000, b'{"a":' * 100 + b"1" + b"}" * 100, b"NaN", b"Infinity"],
)
def test_raw_bodies_never_crash(setting, site, raw):
    patient = setting["patient"].pk
    for user, url in (
        (setting["director"], f"/patients/{patient}/medications"),
        (setting["nurse"], f"/patients/{patient}/administrations"),
        (setting["nurse"], f"/patients/{patient}/screens"),
        (setting["director"], "/screens/select"),
    ):
        check(call(user, "POST", url, raw))


@pytest.mark.parametrize(
    "path_id", ["0", "-1", "abc", "1.5", str(2**63), str(2**64), "%00", "1e3", " 1"]
)
def test_odd_path_ids_and_queries_never_crash(setting, path_id):
    director = setting["director"]
    for url in (
        f"/patients/{path_id}/medications",
        f"/patients/{path_id}/screens",
        f"/patients/{path_id}/screens?limit=abc&offset=1e9",
    ):
        check(call(director, "GET", url))
    patient = setting["patient"].pk
    for query in ("limit=-5", "limit=1e2", "offset=99999999999", "limit=%00", "limit=5&limit=6"):
        check(call(director, "GET", f"/patients/{patient}/screens?{query}"))
