"""GET /api/v1/outcomes: the outcomes report as JSON."""

from __future__ import annotations

from datetime import time

import pytest
import time_machine

from openiop.accounts.models import Membership
from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.audit.models import AuditEvent
from openiop.lib.dates import at_local
from tests.factories_outcomes import TODAY, outcomes_clinic
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db

KEYS = {
    "site_id",
    "program_id",
    "from",
    "to",
    "cohort",
    "scores",
    "retention",
    "completion",
    "hours",
    "screens",
    "measures",
}


@pytest.fixture(autouse=True)
def now(site):
    with time_machine.travel(at_local(TODAY, time(12, 0), site.time_zone), tick=False):
        yield


def _get(client, user, query=""):
    secret = create_api_token(user=user, name="test").secret
    return client.get(f"/api/v1/outcomes{query}", HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_it_answers_the_same_figures_as_the_page(client, site, tom):
    outcomes_clinic(site, tom)
    response = _get(client, tom)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == KEYS
    assert (body["site_id"], body["program_id"]) == (site.pk, None)
    assert (body["from"], body["to"]) == ("2025-03-05", "2026-03-04")
    assert body["cohort"] == 3
    phq9 = body["scores"][0]
    assert phq9 == {
        "instrument": "PHQ-9",
        "n": 2,
        "mean_first": 15.0,
        "mean_latest": 11.0,
        "mean_change": -4.0,
        "median_change": -4.0,
        "improve_by": 5,
        "improved_share": 50.0,
        "band_lower_share": 50.0,
        "too_few": True,
    }
    assert [(r["day"], r["eligible"], r["share"]) for r in body["retention"]] == [
        (30, 3, 100.0),
        (60, 2, 50.0),
        (90, 2, 50.0),
    ]
    assert body["completion"] == {"ended": 1, "completed": 1, "share": 100.0, "too_few": True}
    assert (body["hours"]["total"], body["hours"]["met"]) == (23, 1)
    assert body["hours"]["weeks"][-1] == {"week": "2026-W09", "met": 1, "missed": 1, "share": 50.0}
    assert body["screens"]["months"][-2:] == [
        {"month": "2026-02", "expected": 1, "unexpected": 0, "share": 100.0},
        {"month": "2026-03", "expected": 0, "unexpected": 0, "share": None},
    ]
    codes = [m["code"] for m in body["measures"]]
    assert codes[:2] == ["phq9_mean_change", "phq9_median_change"]
    assert "hours_weeks_met" in codes
    assert "Improvewell" not in response.content.decode()
    event = AuditEvent.objects.get(object_type="outcomes_report")
    assert (event.actor, event.action, event.site) == (tom, "view", site)


def test_it_narrows_to_a_program_and_a_range(client, site, tom):
    _, php = outcomes_clinic(site, tom)
    body = _get(client, tom, f"?program_id={php.pk}&from=2026-01-01&to=2026-02-28").json()
    assert (body["program_id"], body["from"], body["to"]) == (php.pk, "2026-01-01", "2026-02-28")
    assert body["cohort"] == 1
    assert body["completion"]["ended"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?from=2026-02-30", "from"),
        ("?to=yesterday", "to"),
        ("?from=2026-03-01&to=2026-02-01", "from"),
        ("?from=2020-01-01&to=2026-02-01", "to"),
        ("?program_id=0", "query.program_id"),
        ("?program_id=abc", "query.program_id"),
    ],
)
def test_bad_input_answers_422_naming_the_field(client, site, tom, query, field):
    response = _get(client, tom, query)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field
    assert not AuditEvent.objects.filter(object_type="outcomes_report").exists()


def test_another_sites_program_is_unknown(client, site, tom, other_site):
    elsewhere = make_program(other_site, name="Elsewhere IOP")
    response = _get(client, tom, f"?program_id={elsewhere.pk}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "program_id"


def test_a_user_of_several_sites_names_one(client, site, other_site, tom):
    Membership.objects.create(user=tom, site=other_site, role=Role.THERAPIST)
    response = _get(client, tom)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "site_id"
    response = _get(client, tom, f"?site_id={other_site.pk}")
    assert response.status_code == 200
    assert response.json()["site_id"] == other_site.pk


def test_an_auditor_is_refused(client, site, audrey):
    assert _get(client, audrey).status_code == 403


def test_it_needs_a_token(client, site):
    assert client.get("/api/v1/outcomes").status_code == 401
