"""Taking attendance in the group room on a tablet, and seeing the hours reach the chart.

Real time, not time_machine: the browser keeps its own clock for cookies, so the group is
placed around "now" instead — it started ten minutes ago (never before this week's Monday,
so the chart's current week is the session's week).
"""

from __future__ import annotations

import importlib
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.accounts.models import Site
from openiop.accounts.roles import Role
from openiop.lib.dates import IsoWeek, local_today
from openiop.scheduling.models import AttendanceStatus, Booking, BookingKind, Session
from tests.browser.test_sign_in import at, sign_in_with_app
from tests.factories import make_site, make_totp, make_user
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program, make_room, make_track
from tests.factories_scheduling import make_booking, make_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 1024, "height": 768}


def week_start(site: Site) -> datetime:
    """This week's Monday 00:00 at the site."""
    week = IsoWeek.of(local_today(site.time_zone))
    return week.bounds(site.time_zone)[0]


@pytest.fixture
def reference_data() -> None:
    """The seeded levels of care and group types, which an earlier transactional test's flush
    may have removed. The seeding migrations are idempotent, so they simply run again.
    (serialized_rollback would restore them too, but clashes with content types recreated by
    other transactional tests' flushes.)"""
    for module in (
        "openiop.programs.migrations.0002_seed_levels_of_care",
        "openiop.scheduling.migrations.0002_seed_group_types",
    ):
        importlib.import_module(module).seed(django_apps, None)


@pytest.fixture
def clinic(reference_data: None) -> Site:
    return make_site("Testville Clinic")


@pytest.fixture
def group(clinic: Site) -> Session:
    """A three-hour group run by therapist Tom that began ten minutes ago, with two patients."""
    tom = make_user("tom", site=clinic, role=Role.THERAPIST, first_name="Tom", last_name="Fakename")
    program = make_program(clinic, name="Adult IOP")
    track = make_track(program, "Morning — Mon/Wed/Fri 09:00–12:00")
    starts_at = max(timezone.now() - timedelta(minutes=10), week_start(clinic))
    session = make_session(
        clinic,
        tom,
        starts_at,
        180,
        title="Relapse prevention group",
        room=make_room(clinic, "Group Room A"),
    )
    for first, last, preferred in [("Casey", "Sample", "Case"), ("Robin", "Example", "")]:
        patient = make_patient(clinic, first_name=first, last_name=last, preferred_name=preferred)
        enrollment = make_enrollment(
            patient, program, track, admitted_on=local_today(clinic.time_zone) - timedelta(weeks=3)
        )
        make_booking(session, patient, enrollment=enrollment, kind=BookingKind.TRACK)
    return session


def this_weeks_bar(page: Page, clinic: Site):
    week = str(IsoWeek.of(local_today(clinic.time_zone)))
    return page.locator(f'svg [data-week="{week}"]')


def test_it_takes_attendance_by_tapping_and_the_chart_shows_the_hours(
    page: Page, clinic: Site, group: Session, artifacts: Path, failed_responses: list[str]
) -> None:
    tom = group.facilitator
    casey = Booking.objects.get(session=group, patient__last_name="Sample").patient
    page.set_viewport_size(TABLET)
    sign_in_with_app(page, tom, make_totp(tom))

    # Before: nothing attended this week on Casey's chart.
    page.goto(f"/patients/{casey.pk}/")
    expect(this_weeks_bar(page, clinic)).to_have_attribute("data-hours", "0.00")

    page.goto("/today/")
    expect(page.get_by_role("heading", name="Today at Testville Clinic")).to_be_visible()
    page.screenshot(path=artifacts / "attendance-1-today-tablet.png", full_page=True)
    page.get_by_role("link", name=re.compile("^Roster of Relapse prevention group")).click()
    expect(page).to_have_url(at(f"/sessions/{group.pk}/"))
    expect(page.get_by_role("heading", name=re.compile("Relapse prevention group"))).to_be_visible()
    page.screenshot(path=artifacts / "attendance-2-roster-tablet.png", full_page=True)

    # A marker on the window survives only if the page is never reloaded.
    page.evaluate("window.rosterMarker = 'still here'")
    case_row = page.locator(f"#booking-{Booking.objects.get(patient=casey).pk}")
    case_row.get_by_role("button", name="Present", exact=True).click()
    expect(case_row.get_by_test_id("row-outcome")).to_contain_text("Present · 180 min")
    expect(case_row.get_by_role("button", name="Present", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_test_id("count-present")).to_have_text("1")

    robin_row = page.locator("[data-testid=roster-row]", has_text="Robin Example")
    robin_row.get_by_role("button", name="Late", exact=True).click()
    expect(robin_row.get_by_test_id("row-outcome")).to_contain_text("Late")
    expect(robin_row.get_by_label("Check-in")).not_to_have_value("")
    expect(page.get_by_test_id("count-present")).to_have_text("2")
    assert page.evaluate("window.rosterMarker") == "still here"
    page.screenshot(path=artifacts / "attendance-3-roster-recorded-tablet.png", full_page=True)

    # A bad correction is refused on the row, in place, and nothing changes.
    case_row.get_by_label("Minutes").fill("999")
    case_row.get_by_role("button", name="Save times").click()
    expect(case_row.locator(".invalid-feedback")).to_contain_text("between 0 and 180")
    assert page.evaluate("window.rosterMarker") == "still here"
    assert Booking.objects.get(patient=casey).minutes_attended == 180
    page.screenshot(path=artifacts / "attendance-4-roster-error-tablet.png", full_page=True)

    booking = Booking.objects.get(patient=casey)
    assert (booking.status, booking.recorded_by) == (AttendanceStatus.PRESENT, tom)

    # After: this week's bar on Casey's chart has gone up by the three hours attended.
    page.goto(f"/patients/{casey.pk}/")
    expect(this_weeks_bar(page, clinic)).to_have_attribute("data-hours", "3.00")
    page.screenshot(path=artifacts / "attendance-5-chart-tablet.png", full_page=True)
    assert [r for r in failed_responses if "/attendance/" not in r] == []
