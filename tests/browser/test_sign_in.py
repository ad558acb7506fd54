"""Signing in and out with a password and a second factor, as a person does with a mouse."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from openiop.accounts.models import Site, User
from openiop.accounts.roles import Role
from tests.factories import PASSWORD, make_site, make_totp, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def at(path: str) -> re.Pattern[str]:
    """Matches the live server's URL for ``path`` (its port changes from run to run)."""
    return re.compile(rf"^http://[^/]+{re.escape(path)}$")


def current_code(key: bytes) -> str:
    """The 6-digit code an authenticator app shows now for ``key``."""
    return f"{totp(key):06d}"


def device_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def submit_password(page: Page, username: str) -> None:
    page.goto("/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_in_with_app(page: Page, user: User, device: TOTPDevice) -> None:
    submit_password(page, user.username)
    expect(page).to_have_url(at("/login/verify/"))
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(device_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(at("/"))


@pytest.fixture
def clinic() -> Site:
    return make_site("Testville Clinic")


def test_it_signs_a_therapist_in_with_the_app_code_and_out_again(
    page: Page, clinic: Site, artifacts: Path
) -> None:
    tom = make_user("tom", site=clinic, role=Role.THERAPIST, first_name="Tom", last_name="Fakename")
    device = make_totp(tom)

    submit_password(page, "tom")
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.screenshot(path=artifacts / "sign-in-1-second-factor.png", full_page=True)
    page.get_by_label("Code from your authenticator app").fill(device_code(device))
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(at("/"))
    expect(page.get_by_role("heading", name="Good to see you, Tom")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Home", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Staff")).to_have_count(0)
    expect(nav.get_by_role("link", name="Audit trail")).to_have_count(0)
    page.screenshot(path=artifacts / "sign-in-2-therapist-home.png", full_page=True)

    page.locator("#user-menu").click()
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(at("/login/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.screenshot(path=artifacts / "sign-in-3-signed-out.png", full_page=True)
    page.goto("/")
    expect(page).to_have_url(at("/login/?next=/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_it_shows_a_director_the_staff_page(page: Page, clinic: Site, artifacts: Path) -> None:
    dana = make_user(
        "dana", site=clinic, role=Role.DIRECTOR, first_name="Dana", last_name="Testperson"
    )
    make_user("tom", site=clinic, role=Role.THERAPIST, first_name="Tom", last_name="Fakename")

    sign_in_with_app(page, dana, make_totp(dana))

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit trail")).to_have_count(0)
    nav.get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", name="Staff at Testville Clinic")).to_be_visible()
    expect(page.get_by_role("cell", name="Fakename")).to_have_count(1)
    page.screenshot(path=artifacts / "sign-in-4-director-staff.png", full_page=True)

    page.locator("#user-menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_it_enrols_a_user_without_a_device_before_letting_them_in(
    page: Page, clinic: Site, artifacts: Path
) -> None:
    nia = make_user("nia", site=clinic, role=Role.NURSE, first_name="Nia", last_name="Notreal")

    submit_password(page, "nia")

    expect(page).to_have_url(at("/account/mfa/setup/"))
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    expect(page.locator(".qr-box svg")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    page.screenshot(path=artifacts / "enrol-1-setup.png", full_page=True)
    # Until enrolment is done, every other page sends the user back here.
    page.goto("/")
    expect(page).to_have_url(at("/account/mfa/setup/"))

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("6-digit code").fill(current_code(key))
    page.get_by_role("button", name="Confirm and continue").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.screenshot(path=artifacts / "enrol-2-recovery-codes.png", full_page=True)
    assert TOTPDevice.objects.filter(user=nia, confirmed=True).count() == 1

    shown = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download as text").click()
    download = download_info.value
    assert download.suggested_filename == "openiop-recovery-codes-nia.txt"
    assert Path(download.path()).read_text().split() == [code.strip() for code in shown]

    page.get_by_role("link", name="I have saved them").click()
    expect(page).to_have_url(at("/"))
    expect(page.get_by_role("heading", name="Good to see you, Nia")).to_be_visible()


def test_it_serves_the_stylesheets_and_scripts(page: Page, failed_responses: list[str]) -> None:
    page.goto("/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.wait_for_load_state("load")

    assert failed_responses == []
    # Bootstrap's stylesheet is in force: the sign-in button is not the browser's grey default.
    color = page.get_by_role("button", name="Sign in").evaluate(
        "button => getComputedStyle(button).backgroundColor"
    )
    assert color not in ("rgb(239, 239, 239)", "rgba(0, 0, 0, 0)")
