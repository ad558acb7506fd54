"""The catalogues over the API: every analyte and medication code the writes accept."""

from __future__ import annotations

import pytest
from django.test import Client

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.medications.catalog import MEDICATION_CODES
from openiop.screening.catalog import ANALYTE_CODES
from tests.factories import make_user

MEDICATION_KEYS = {
    "code",
    "name",
    "short_name",
    "medication_class",
    "form",
    "route",
    "injected_in_clinic",
    "default_dispensing",
    "is_external",
    "blocks_opioids",
    "explains",
    "expected",
    "cross_reacts",
    "injection",
}
ANALYTE_KEYS = {
    "code",
    "name",
    "detects",
    "drug_class",
    "unit",
    "screen_cutoff",
    "confirm_cutoff",
    "cutoff_source",
}


def get(user, url):
    secret = create_api_token(user=user, name="test").secret
    return Client().get(f"/api/v1{url}", HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_it_lists_every_medication_code(tom):
    response = get(tom, "/medications/catalog")
    assert response.status_code == 200
    body = response.json()
    assert [item["code"] for item in body] == list(MEDICATION_CODES)
    assert all(set(item) == MEDICATION_KEYS for item in body)
    by_code = {item["code"]: item for item in body}
    assert by_code["methadone_otp"]["is_external"] is True
    assert by_code["methadone_otp"]["default_dispensing"] == "external_otp"
    assert by_code["methadone_otp"]["expected"] == ["eddp", "methadone"]
    assert by_code["vivitrol"]["blocks_opioids"] is True
    assert by_code["sublocade"]["injection"]["minimum_days"] == 26
    assert by_code["sublocade"]["injection"]["sites"][0] == {
        "code": "abdomen_upper_left",
        "label": "abdomen, upper left quadrant",
    }
    assert by_code["brixadi_weekly"]["injection"]["maximum_days"] == 9
    assert by_code["sertraline"]["injection"] is None


def test_it_lists_every_analyte_code_with_its_default_cutoffs(tom):
    response = get(tom, "/screens/analytes")
    assert response.status_code == 200
    body = response.json()
    assert [item["code"] for item in body] == list(ANALYTE_CODES)
    assert all(set(item) == ANALYTE_KEYS for item in body)
    by_code = {item["code"]: item for item in body}
    assert by_code["thc"]["screen_cutoff"] == 50
    assert by_code["thc"]["confirm_cutoff"] == 15
    assert by_code["norbuprenorphine"]["screen_cutoff"] is None
    assert by_code["etg"]["cutoff_source"] == "clinical_common"
    assert isinstance(by_code["fentanyl"]["confirm_cutoff"], int | float)  # not a string


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/medications/catalog", {Role.DIRECTOR, Role.THERAPIST, Role.PRESCRIBER, Role.NURSE}),
        ("/screens/analytes", {Role.DIRECTOR, Role.THERAPIST, Role.PRESCRIBER, Role.NURSE}),
    ],
)
def test_it_answers_only_clinical_roles(site, url, allowed):
    for role in Role.values:
        user = make_user(f"user-{role}", site=site, role=role)
        assert get(user, url).status_code == (200 if role in allowed else 403), role
