"""Writing a treatment plan and a relapse-prevention plan in Chromium, as a therapist does.

The plan is started from the chart and built item by item in the htmx editor: a marker on
the window proves nothing reloads until the plan is signed. Every page is watched for
console errors and Content-Security-Policy violations.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, expect

from openiop.accounts.models import Site, User
from openiop.accounts.roles import Role
from openiop.clinical.models import (
    PlanAcknowledgement,
    PlanStatus,
    RelapsePreventionPlan,
    TreatmentPlan,
)
from openiop.patients.models import Patient
from tests.browser.test_sign_in import at, sign_in_with_app
from tests.factories import make_site, make_totp, make_user
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Reports every CSP violation to the test; runs before the page's own scripts on every page.
WATCH_CSP = r"""
document.addEventListener("securitypolicyviolation", function (event) {
  window.reportCspViolation(event.violatedDirective + " " + (event.blockedURI || "inline")
    + " at " + (event.sourceFile || location.pathname) + ":" + event.lineNumber);
});
"""


def settled(page: Page) -> None:
    """Wait two animation frames: the browser focuses a swapped-in ``autofocus`` element at
    its next rendering update, after htmx's own settle. A test that moves the focus itself
    right after a swap waits for that first, as a person's next keystroke always does."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def shot(page: Page, artifacts: Path, name: str) -> None:
    # caret="initial": Playwright hides the caret with an inline style by default, which
    # leaves style="" behind; htmx then copies it while settling and the CSP blocks that.
    page.screenshot(path=artifacts / name, full_page=True, caret="initial")


@pytest.fixture
def problems(page: Page) -> Iterator[list[str]]:
    """Console errors and CSP violations of every page the test opens."""
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") and "Refused" in message.text:
            found.append(f"console {message.type}: {message.text}")
        elif message.type == "error":
            found.append(f"console error: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: found.append(f"page error: {error}"))
    page.expose_function("reportCspViolation", lambda text: found.append(f"CSP: {text}"))
    page.add_init_script(WATCH_CSP)
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
def robin(clinic: Site, tom: User) -> Patient:
    patient = make_patient(clinic, first_name="Robin", last_name="Planfake")
    make_enrollment(
        patient,
        make_program(clinic),
        admitted_on=timezone.localdate() - timedelta(days=9),
        primary_therapist=tom,
    )
    return patient


def test_a_therapist_writes_signs_and_has_a_plan_acknowledged_without_reloads(
    page: Page,
    tom: User,
    robin: Patient,
    artifacts: Path,
    problems: list[str],
    failed_responses: list[str],
) -> None:
    sign_in_with_app(page, tom, make_totp(tom))
    page.goto(f"/patients/{robin.pk}/")
    chart = page.get_by_test_id("chart-plans")
    expect(chart.get_by_test_id("chart-plan-due")).to_contain_text("Initial plan")
    shot(page, artifacts, "plans-1-chart.png")
    chart.get_by_test_id("chart-plan-start").click()
    expect(page).to_have_url(at(f"/patients/{robin.pk}/plan/draft/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Version 1")
    expect(page.get_by_test_id("draft-empty")).to_be_visible()
    page.evaluate("window.planMarker = 'still here'")
    page.on("dialog", lambda dialog: dialog.accept())

    # The summary: saving says so and leaves the focus where it was.
    page.get_by_role("textbox", name="Summary").fill(
        "Drinking daily since a job loss; strong family support."
    )
    page.get_by_role("button", name="Save summary").click()
    expect(page.get_by_test_id("summary-saved")).to_have_text("Summary saved.")
    expect(page.get_by_role("textbox", name="Summary")).to_be_focused()
    settled(page)

    # A problem and its goal with the keyboard alone: each addition moves the focus on to
    # what the new item still needs.
    page.get_by_label("Problem", exact=True).focus()
    page.keyboard.type("Alcohol use disorder, moderate")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("draft-problem")).to_contain_text("Alcohol use disorder")
    goal_field = page.get_by_test_id("draft-problem").get_by_label("Goal", exact=True)
    expect(goal_field).to_be_focused()
    shot(page, artifacts, "plans-2-problem.png")
    page.keyboard.type("Stay sober one day at a time")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    goal = page.get_by_test_id("draft-goal")
    expect(goal).to_contain_text("Stay sober one day at a time")
    expect(goal.get_by_label("Measurable objective")).to_be_focused()

    # Signing now is refused; the list of what is missing appears by the button, focused,
    # each line a link to the form that adds it.
    page.get_by_test_id("plan-sign").click()
    missing = page.get_by_test_id("plan-sign-card").get_by_test_id("plan-missing")
    expect(missing).to_be_focused()
    expect(missing).to_contain_text("Version 1 is not signed: the plan is incomplete")
    expect(missing.get_by_role("link")).to_have_count(2)
    expect(missing.get_by_role("link").nth(0)).to_contain_text(
        "Goal 1.1 (Stay sober one day at a time) has no measurable objective"
    )
    expect(missing.get_by_role("link").nth(1)).to_contain_text("has no intervention")
    shot(page, artifacts, "plans-3-missing.png")
    settled(page)

    goal.get_by_text("Add an objective to goal 1.1").click()
    goal.get_by_label("Measurable objective").fill("Attend 3 groups a week for 4 weeks")
    target = timezone.localdate() + timedelta(days=28)
    goal.get_by_label("Target date").fill(target.isoformat())
    goal.get_by_label("Target date").press("Enter")
    expect(page.get_by_test_id("draft-objective")).to_contain_text("Attend 3 groups a week")
    expect(page.get_by_test_id("draft-objective")).to_contain_text(target.strftime("%b %-d, %Y"))
    # The goal has no intervention yet: that form opens next, focused.
    expect(goal.get_by_label("Intervention", exact=True)).to_be_focused()
    page.keyboard.type("CBT group")
    page.keyboard.press("Tab")
    page.keyboard.type("3 times a week")
    goal.get_by_label("Responsible").select_option(label="Tom Fakename, LCSW")
    goal.get_by_role("button", name="Add intervention").click()
    expect(page.get_by_test_id("draft-intervention")).to_contain_text("CBT group")
    expect(page.get_by_text("Add another intervention to goal 1.1")).to_be_focused()
    expect(page.get_by_test_id("plan-missing")).to_have_count(0)
    assert page.evaluate("window.planMarker") == "still here"
    shot(page, artifacts, "plans-4-complete.png")

    page.get_by_test_id("plan-sign").click()
    expect(page).to_have_url(at(f"/patients/{robin.pk}/plan/"))
    expect(page.get_by_text("Version 1 is signed")).to_be_visible()
    version = page.get_by_test_id("plan-version")
    expect(version).to_contain_text("Version 1 · Initial")
    expect(version.get_by_text("Current", exact=True)).to_be_visible()
    expect(page.get_by_test_id("plan-signature")).to_contain_text("Tom Fakename, LCSW")
    expect(page.get_by_test_id("goal-never-addressed")).to_be_visible()

    shot(page, artifacts, "plans-5-signed.png")

    ack = page.get_by_test_id("plan-acknowledgement")
    ack.get_by_label("Patient's name, typed by the patient").fill("Robin Planfake")
    ack.get_by_test_id("plan-acknowledge").click()
    expect(page.get_by_text("acknowledgement of version 1 is recorded")).to_be_visible()
    expect(page.get_by_test_id("plan-acknowledgement")).to_contain_text("Robin Planfake")
    shot(page, artifacts, "plans-6-acknowledged.png")

    plan = TreatmentPlan.objects.get(patient=robin)
    assert plan.status == PlanStatus.SIGNED
    assert PlanAcknowledgement.objects.get(plan=plan).typed_name == "Robin Planfake"
    # The refused signature (422, what the test provoked) is the only failed response.
    assert [r.split(" ", 1)[0] + " " + r.rsplit("/patients/", 1)[1] for r in failed_responses] == [
        f"422 {robin.pk}/plan/draft/sign/"
    ]
    assert [p for p in problems if "status of 422" not in p] == [], "\n".join(problems)


def test_a_therapist_writes_a_relapse_prevention_plan_in_two_versions_and_prints_it(
    page: Page,
    tom: User,
    robin: Patient,
    artifacts: Path,
    problems: list[str],
    failed_responses: list[str],
) -> None:
    sign_in_with_app(page, tom, make_totp(tom))
    page.goto(f"/patients/{robin.pk}/")
    page.get_by_test_id("chart-rpp-link").click()
    expect(page.get_by_test_id("rpp-empty")).to_be_visible()
    page.get_by_test_id("rpp-edit").click()
    page.get_by_label("Triggers").fill("Payday; driving past the old bar.")
    page.get_by_label("When a craving hits").fill("Wait 15 minutes, call Sam.")
    page.get_by_label("In an emergency").fill("Call 988 or go to the ER.")
    rows = page.get_by_test_id("support-row")
    rows.nth(0).get_by_label("Name").fill("Sam Sponsorfake")
    rows.nth(0).get_by_label("Phone").fill("555-010-0142")
    rows.nth(0).get_by_label("Relationship").fill("Sponsor")
    rows.nth(1).get_by_label("Name").fill("Jo Sisterfake")
    rows.nth(1).get_by_label("Phone").fill("(555) 010-0199")
    shot(page, artifacts, "plans-7-rpp-form.png")
    page.get_by_test_id("rpp-save").click()
    expect(page.get_by_text("Version 1 of the plan is saved")).to_be_visible()
    supports = page.get_by_test_id("rpp-supports")
    expect(supports).to_contain_text("Sam Sponsorfake")
    expect(supports).to_contain_text("(555) 010-0199")

    page.get_by_test_id("rpp-edit").click()
    expect(page.get_by_test_id("rpp-save")).to_have_text("Save as version 2")
    page.get_by_label("Warning signs").fill("Skipping meetings; isolating.")
    # "Add another person" appends a row and puts the cursor in its name; a row left
    # empty is skipped.
    expect(page.get_by_test_id("support-row")).to_have_count(4)
    page.get_by_test_id("rpp-add-support").click()
    expect(page.get_by_test_id("support-row")).to_have_count(5)
    expect(page.get_by_test_id("support-row").nth(4).get_by_label("Name")).to_be_focused()
    page.get_by_test_id("rpp-save").click()
    expect(page.get_by_text("Version 2 of the plan is saved")).to_be_visible()
    expect(page.get_by_test_id("rpp-versions").get_by_role("link")).to_have_count(2)
    shot(page, artifacts, "plans-8-rpp-v2.png")

    page.get_by_test_id("rpp-print-link").click()
    sheet = page.get_by_test_id("rpp-print")
    expect(sheet).to_contain_text("Version 2")
    expect(sheet).to_contain_text("Skipping meetings")
    expect(sheet).to_contain_text("555-010-0142")
    expect(sheet).to_contain_text("988")
    shot(page, artifacts, "plans-9-rpp-print.png")

    latest = RelapsePreventionPlan.objects.filter(patient=robin).order_by("-number")
    assert [(p.number, len(p.supports)) for p in latest] == [(2, 2), (1, 2)]
    assert problems == [], "\n".join(problems)
    assert failed_responses == []


def test_the_plan_editor_asks_before_a_swap_would_drop_typed_text(
    page: Page,
    tom: User,
    robin: Patient,
    problems: list[str],
) -> None:
    sign_in_with_app(page, tom, make_totp(tom))
    page.goto(f"/patients/{robin.pk}/")
    page.get_by_test_id("chart-plans").get_by_test_id("chart-plan-start").click()
    expect(page).to_have_url(at(f"/patients/{robin.pk}/plan/draft/"))
    summary = page.get_by_role("textbox", name="Summary")
    summary.fill("Typed but not saved yet.")
    page.get_by_label("Problem", exact=True).fill("Opioid use disorder")

    # Adding the problem would redraw the editor: the unsaved summary is named and kept.
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Add problem").click()
    expect(summary).to_be_focused()
    assert asked and "not saved" in asked[0] and "Summary" in asked[0]
    expect(summary).to_have_value("Typed but not saved yet.")
    expect(page.get_by_test_id("draft-problem")).to_have_count(0)

    # Saving the summary first (the typed problem put aside: saving the summary would redraw
    # it away too), then adding the problem, asks nothing and loses nothing.
    page.get_by_label("Problem", exact=True).fill("")
    page.get_by_role("button", name="Save summary").click()
    expect(page.get_by_test_id("summary-saved")).to_have_text("Summary saved.")
    # The redrawn editor has settled once the focus is back in the summary box.
    expect(page.get_by_role("textbox", name="Summary")).to_be_focused()
    settled(page)
    page.on("dialog", lambda dialog: asked.append(dialog.message) or dialog.dismiss())
    problem = page.get_by_label("Problem", exact=True)
    problem.fill("Opioid use disorder")
    expect(problem).to_have_value("Opioid use disorder")
    page.get_by_role("button", name="Add problem").click()
    expect(page.get_by_test_id("draft-problem")).to_contain_text("Opioid use disorder")
    expect(page.get_by_role("textbox", name="Summary")).to_have_value("Typed but not saved yet.")
    assert len(asked) == 1
    assert TreatmentPlan.objects.get(patient=robin).summary == "Typed but not saved yet."
    assert problems == []
