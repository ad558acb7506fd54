"""Playwright against Debian's Chromium, never a browser that Playwright downloads.

Tests here drive the app the way a person does, through pytest-django's ``live_server``.
Without /usr/bin/chromium they are skipped on a laptop, and fail in CI (``CI`` or
``OPENIOP_REQUIRE_BROWSER`` set), so a missing browser can never pass silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from pytest_django.live_server_helper import LiveServer

# Playwright's sync API runs an asyncio event loop in this thread; Django refuses ORM calls
# while a loop runs unless told the calls are really synchronous (they are: one greenlet).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
# The flags keep Chromium off the network (the machines have none but localhost) and quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


def _browser_required() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")
        for name in ("CI", "OPENIOP_REQUIRE_BROWSER")
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: the event loop lives only while this module's tests run.
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (Debian's package)."
        if _browser_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where screenshots go (git-ignored), so a person can look at what the test saw."""
    path = Path(request.config.rootpath) / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def failed_responses() -> list[str]:
    """Every response of 400 or more the page received (a missing stylesheet, a broken script)."""
    return []


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, failed_responses: list[str]) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, locale="en-US"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on(
        "response",
        lambda response: (
            failed_responses.append(f"{response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    yield page
    context.close()
