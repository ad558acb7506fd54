"""A drug screen with an unexpected result reaches the therapist, in Chromium.

The nurse opens the screen called today from "Screens and injections", records the
collection and a fentanyl positive that no prescription explains on the screen's fast form,
and sees it waiting for review on the same list; the
patient's primary therapist finds the alert on their alerts page, acknowledges it and
resolves it with what was done. Every page is watched for console errors and
Content-Security-Policy violations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from pytest_django.live_server_helper import LiveServer

from openiop.accounts.models import Site, User
from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertState
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_plans_browser import WATCH_CSP
from tests.browser.test_sign_in import at, sign_in_with_app
from tests.factories import make_site, make_totp, make_user
from tests.factories_screens import ScreenCase, screen_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=artifacts / name, full_page=True, caret="initial")


def watch(page: Page, found: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Refused" in message.text:
            found.append(f"console {message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: found.append(f"page error: {error}"))
    page.on(
        "response",
        lambda response: (
            found.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    page.expose_function("reportCspViolation", lambda text: found.append(f"CSP: {text}"))
    page.add_init_script(WATCH_CSP)


@pytest.fixture
def problems(page: Page) -> Iterator[list[str]]:
    found: list[str] = []
    watch(page, found)
    yield found


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
def nina(clinic: Site) -> User:
    return make_user("nina", site=clinic, role=Role.NURSE, first_name="Nina", last_name="Notreal")


@pytest.fixture
def case(clinic: Site, tom: User) -> ScreenCase:
    return screen_case(clinic, tom)


def test_a_nurses_unexpected_screen_alerts_the_therapist_who_acknowledges_it(
    page: Page,
    browser: Browser,
    live_server: LiveServer,
    clinic: Site,
    tom: User,
    nina: User,
    case: ScreenCase,
    problems: list[str],
    artifacts: Path,
) -> None:
    # The nurse's morning: the screen is called for today and waits for collection.
    sign_in_with_app(page, nina, make_totp(nina))
    page.goto("/screens/week/")
    to_collect = page.get_by_test_id("week-to-collect")
    expect(to_collect).to_contain_text("Sam Specimen")
    shot(page, artifacts, "screening-1-week-to-collect.png")

    # Collected and read on the screen's fast form: fentanyl positive, which no
    # prescription explains.
    to_collect.get_by_test_id("record-screen").click()
    expect(page).to_have_url(at(f"/screens/{case.screen.pk}/record/"))
    page.get_by_label("Collection observed").check()
    page.locator("#f-temperature_c").fill("34.5")
    page.locator("#f-creatinine_mg_dl").fill("80")
    page.locator("#f-specific_gravity").fill("1.015")
    page.locator("#f-ph").fill("6.5")
    page.locator("label[for=r-fentanyl-positive]").click()
    shot(page, artifacts, "screening-2-record.png")
    page.get_by_test_id("record-save").click()
    expect(page).to_have_url(at(f"/screens/{case.screen.pk}/"))

    page.goto("/screens/week/")
    expect(page.get_by_test_id("to-collect-empty")).to_be_visible()
    to_review = page.get_by_test_id("week-to-review")
    expect(to_review).to_contain_text("Sam Specimen")
    expect(page.get_by_test_id("to-review-count")).to_have_text("1")
    shot(page, artifacts, "screening-3-week-to-review.png")

    # The primary therapist, on their own computer.
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, locale="en-US"
    )
    context.set_default_timeout(TIMEOUT_MS)
    therapist = context.new_page()
    watch(therapist, problems)
    sign_in_with_app(therapist, tom, make_totp(tom))
    therapist.goto("/alerts/")  # the old address leads to the attention list
    expect(therapist).to_have_url(re.compile(r"/attention/$"))
    alert = therapist.get_by_test_id("alert").filter(has_text="Sam Specimen")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Fentanyl")
    expect(alert.get_by_test_id("alert-state")).to_have_text("Open")
    shot(therapist, artifacts, "screening-4-therapist-alert.png")

    alert.get_by_test_id("acknowledge").click()
    expect(therapist).to_have_url(re.compile(r"/attention/#alert-\d+$"))
    expect(therapist.get_by_role("alert").filter(has_text="Acknowledged")).to_be_visible()
    alert = therapist.get_by_test_id("alert").filter(has_text="Sam Specimen")
    expect(alert.get_by_test_id("alert-state")).to_have_text("Acknowledged")
    expect(alert.get_by_test_id("acknowledge")).to_have_count(0)

    # Resolving asks what was done; an empty answer is refused on the page.
    alert.get_by_test_id("resolve").click()
    resolution = alert.get_by_label("How it was resolved")
    expect(resolution).to_have_js_property("validity.valueMissing", True)
    expect(alert.get_by_test_id("alert-state")).to_have_text("Acknowledged")
    resolution.fill("Met with Sam; confirmation ordered.")
    alert.get_by_test_id("resolve").click()
    expect(therapist.get_by_test_id("alerts-empty")).to_be_visible()
    therapist.goto("/attention/?show=resolved")
    expect(therapist.get_by_test_id("alert-resolution")).to_contain_text(
        "Met with Sam; confirmation ordered."
    )
    shot(therapist, artifacts, "screening-5-resolved.png")
    context.close()

    mine = Alert.objects.get(assignee=tom)
    assert mine.state == AlertState.RESOLVED
    assert mine.acknowledged_by == tom
    # The prescriber's copy of the alert is theirs to handle.
    assert Alert.objects.get(assignee=case.prescriber).state == AlertState.OPEN
    # The refused empty resolution answered 422: that is the only 4xx expected.
    assert [p for p in problems if "422" not in p and "Unprocessable" not in p] == []
