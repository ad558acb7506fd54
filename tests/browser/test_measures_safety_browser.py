"""A therapist enters a PHQ-9 with item 9 answered above 0 in Chromium, finds the safety alert
at the top of the chart, and acknowledges it there with the action taken (issue 6 point 2)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.accounts.models import Site, User
from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.measures.models import MeasureResponse
from openiop.patients.models import Patient
from tests.browser.test_plans_browser import problems, settled, shot  # noqa: F401
from tests.browser.test_sign_in import at, sign_in_with_app
from tests.factories import make_site, make_totp, make_user
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic() -> Site:
    return make_site("Testville Clinic")


@pytest.fixture
def tom(clinic: Site) -> User:
    return make_user(
        "tom",
        site=clinic,
        role=Role.THERAPIST,
        first_name="Tom",
        last_name="Fakename",
        credentials="LCSW",
    )


@pytest.fixture
def dana(clinic: Site) -> User:
    return make_user(
        "dana", site=clinic, role=Role.DIRECTOR, first_name="Dana", last_name="Testperson"
    )


@pytest.fixture
def sky(clinic: Site, tom: User, dana: User) -> Patient:
    patient = make_patient(clinic, first_name="Sky", last_name="Safetyfake")
    make_enrollment(
        patient,
        make_program(clinic),
        admitted_on=timezone.localdate() - timedelta(days=10),
        primary_therapist=tom,
    )
    return patient


def test_a_phq9_item_9_answer_alerts_at_the_top_of_the_chart_until_acknowledged(
    page: Page,
    tom: User,
    dana: User,
    sky: Patient,
    artifacts: Path,
    problems: list[str],  # noqa: F811
    failed_responses: list[str],
) -> None:
    sign_in_with_app(page, tom, make_totp(tom))
    page.goto(f"/patients/{sky.pk}/measures/new/?instrument=PHQ-9")
    expect(page.get_by_test_id("measure-title")).to_contain_text("PHQ-9")
    for number in range(1, 9):
        page.get_by_test_id(f"item-{number}").get_by_label("Not at all").check()
    page.get_by_test_id("item-9").get_by_label("Several days").check()
    shot(page, artifacts, "measures-safety-1-form.png")
    page.get_by_test_id("measure-save").click()
    response = MeasureResponse.objects.get(patient=sky)
    expect(page).to_have_url(at(f"/measures/{response.pk}/"))
    assert (response.score, response.band, response.has_safety_flag) == (1, "minimal", True)

    page.goto(f"/patients/{sky.pk}/")
    banner = page.get_by_test_id("safety-banner")
    expect(banner).to_have_count(1)
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text("PHQ-9 item 9 answered 1")
    expect(banner).to_contain_text("Several days")
    expect(banner.get_by_test_id("safety-alerted")).to_contain_text("Tom Fakename")
    expect(banner.get_by_test_id("safety-alerted")).to_contain_text("Dana Testperson")
    # At the top: above the patient's name, the first thing on the page.
    banner_box = banner.bounding_box()
    name_box = page.get_by_test_id("chart-name").bounding_box()
    assert banner_box is not None and name_box is not None
    assert banner_box["y"] + banner_box["height"] <= name_box["y"]
    shot(page, artifacts, "measures-safety-2-chart.png")

    settled(page)
    banner.get_by_label("Action taken").fill(
        "Safety plan reviewed with Sky; crisis line number given; seen again tomorrow."
    )
    banner.get_by_role("button", name="Acknowledge with action taken").click()
    expect(page).to_have_url(at(f"/patients/{sky.pk}/"))
    expect(page.get_by_test_id("safety-banner")).to_have_count(0)
    expect(page.get_by_test_id("chart-name")).to_be_visible()
    shot(page, artifacts, "measures-safety-3-acknowledged.png")

    mine = Alert.objects.get(kind=AlertKind.SAFETY, evidence_id=response.pk, assignee=tom)
    assert mine.state == AlertState.ACKNOWLEDGED
    assert mine.acknowledgement.startswith("Safety plan reviewed with Sky")
    assert problems == []
    assert failed_responses == []
