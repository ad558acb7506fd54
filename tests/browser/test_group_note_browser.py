"""Writing and signing a group note for a three-patient group, then finding it in a chart.

The whole flow stays on one page: the shared part, then patient to patient with Alt+N,
autosaving as the facilitator types; a marker on the window proves nothing reloads until the
note is signed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.models import Site
from openiop.accounts.roles import Role
from openiop.clinical.group_notes import start_group_note, update_group_note
from openiop.clinical.models import Note, NoteKind
from openiop.scheduling.models import AttendanceStatus, BookingKind
from tests.browser.test_sign_in import at, sign_in_with_app
from tests.factories import make_site, make_totp, make_user
from tests.factories_clinical import HeldGroup, held_group, make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_booking
from tests.test_group_notes import FILLED

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic() -> Site:
    return make_site("Testville Clinic")


@pytest.fixture
def group(clinic: Site) -> HeldGroup:
    tom = make_user(
        "tom",
        site=clinic,
        role=Role.THERAPIST,
        first_name="Tom",
        last_name="Fakename",
        credentials="LCSW",
    )
    group = held_group(clinic, tom)
    # Alpha Testcase has a signed treatment plan whose goals the note can address.
    make_plan(group.patients[0], group.enrollments[0], tom)
    return group


def fill_entry(page: Page, texts: dict[str, str]) -> None:
    pane = page.get_by_test_id("entry-pane")
    for label, text in texts.items():
        pane.get_by_label(label, exact=True).fill(text)
    expect(pane.get_by_test_id("entry-status")).to_contain_text(re.compile(r"Saved \d\d:\d\d"))


def test_it_writes_and_signs_a_group_note_and_the_chart_lists_it(
    page: Page, group: HeldGroup, artifacts: Path, failed_responses: list[str]
) -> None:
    session = group.session
    tom = session.facilitator
    alpha, bravo, charlie = group.patients
    sign_in_with_app(page, tom, make_totp(tom))

    page.goto(f"/sessions/{session.pk}/")
    page.get_by_test_id("write-group-note").click()
    expect(page).to_have_url(at(f"/sessions/{session.pk}/group-note/"))
    expect(page.get_by_test_id("participant-count")).to_contain_text("2")
    page.evaluate("window.noteMarker = 'still here'")

    # The shared part, once.
    page.get_by_label("Topic", exact=True).fill("Coping with cravings")
    page.get_by_label("Interventions", exact=True).fill(
        "CBT psychoeducation; urge-surfing exercise."
    )
    page.get_by_label("Group summary", exact=True).fill(
        "Craving curve taught; members practised urge surfing."
    )
    expect(page.get_by_test_id("shared-status")).to_contain_text(re.compile(r"Saved \d\d:\d\d"))

    # The page opens on the first patient still to do: Bravo (Charlie, a no-show, has his
    # absence note prefilled).
    expect(page.locator("#entry-h")).to_contain_text("Bravo Samplename")
    expect(page.locator('[data-testid=entry-tab][data-state="absent"]')).to_have_count(1)
    fill_entry(
        page,
        {
            "Participation": "Arrived late, joined the exercise.",
            "Mood and affect": "Anxious at first, calmer later.",
            "Response to interventions": "Named two triggers.",
            "Progress toward goals": "Working on attendance.",
            "Risk observations": "None observed.",
            "Plan": "Continue IOP.",
        },
    )
    page.screenshot(path=artifacts / "group-note-1-entry.png", full_page=True)

    # Alt+N: the next patient, without a reload.
    page.keyboard.press("Alt+KeyN")
    expect(page.locator("#entry-h")).to_contain_text("Alpha Testcase")
    # The new patient's first field has the focus: typing goes on without the mouse.
    expect(page.get_by_test_id("entry-pane").get_by_label("Participation")).to_be_focused()
    expect(page).to_have_url(re.compile(r"\?entry=\d+$"))
    fill_entry(
        page,
        {
            "Participation": "Engaged throughout.",
            "Mood and affect": "Euthymic.",
            "Response to interventions": "Practised urge surfing.",
            "Progress toward goals": "Three days without use.",
            "Risk observations": "None observed.",
            "Plan": "Practise urge surfing daily.",
        },
    )
    page.get_by_label("Stay abstinent from alcohol").check()
    expect(page.get_by_test_id("entry-status")).to_contain_text("Saved")
    expect(page.locator('[data-testid=entry-tab][data-state="done"]')).to_have_count(2)
    expect(page.get_by_test_id("todo-count")).to_contain_text("Every patient's entry is filled in")
    assert page.evaluate("window.noteMarker") == "still here"
    page.screenshot(path=artifacts / "group-note-2-ready.png", full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("sign-group-note").click()
    expect(page.get_by_test_id("note-status")).to_have_text("Signed")
    expect(page.get_by_text("Group note signed: 3 notes written")).to_be_visible()
    page.screenshot(path=artifacts / "group-note-3-signed.png", full_page=True)

    member = Note.objects.get(kind=NoteKind.GROUP_MEMBER, patient=alpha)
    assert member.is_signed
    assert list(member.goal_links.values_list("goal__statement", flat=True)) == [
        "Stay abstinent from alcohol"
    ]

    # Alpha's chart lists the note; it names nobody else.
    page.goto(f"/patients/{alpha.pk}/")
    notes = page.get_by_test_id("chart-notes")
    expect(notes).to_contain_text("90853")
    notes.locator(f'a[href="/notes/{member.pk}/"]').first.click()
    expect(page).to_have_url(at(f"/notes/{member.pk}/"))
    expect(page.locator("main")).to_contain_text("Engaged throughout.")
    body = page.locator("main").inner_text()
    for other in (bravo, charlie):
        assert other.last_name not in body
        assert other.mrn not in body
    page.screenshot(path=artifacts / "group-note-4-chart-note.png", full_page=True)
    assert failed_responses == []


FILLED_LABELS = {
    "Participation": "Joined as a drop-in.",
    "Mood and affect": "Calm.",
    "Response to interventions": "Named one trigger.",
    "Progress toward goals": "First week.",
    "Risk observations": "None observed.",
    "Plan": "Book into the track.",
}


def test_two_tabs_never_overwrite_each_other_and_a_drop_in_gets_an_entry(
    page: Page, group: HeldGroup, artifacts: Path, failed_responses: list[str]
) -> None:
    """Tab B saves the shared part; tab A's entry autosave must not hand tab A the newer
    version, so tab A's shared-part save is refused instead of overwriting tab B's."""
    session = group.session
    tom = session.facilitator
    note = start_group_note(session, author=tom)
    sign_in_with_app(page, tom, make_totp(tom))
    url = f"/sessions/{session.pk}/group-note/"
    page.goto(url)
    tab_b = page.context.new_page()
    tab_b.goto(url)

    tab_b.get_by_label("Topic", exact=True).fill("Tab B's topic")
    expect(tab_b.get_by_test_id("shared-status")).to_contain_text(re.compile(r"Saved \d\d:\d\d"))

    page.get_by_test_id("entry-pane").get_by_label("Mood and affect").fill("Calm.")
    expect(page.get_by_test_id("entry-status")).to_contain_text(re.compile(r"Saved \d\d:\d\d"))
    expect(page.get_by_test_id("shared-status")).to_contain_text("reload the page")
    page.get_by_label("Topic", exact=True).fill("Tab A's topic")
    expect(page.get_by_test_id("shared-status")).to_contain_text("changed elsewhere")
    page.screenshot(path=artifacts / "group-note-5-stale-tab.png", full_page=True)
    note.refresh_from_db()
    assert note.topic == "Tab B's topic"
    # Tab B has not seen tab A's entry: its signature is refused, nothing is signed.
    tab_b.once("dialog", lambda dialog: dialog.accept())
    tab_b.get_by_test_id("sign-group-note").click()
    expect(tab_b.get_by_text("changed since the page was loaded")).to_be_visible()
    note.refresh_from_db()
    assert not note.is_signed

    # A drop-in booked after the note was started: reloading brings their entry, and this
    # tab, current again, saves an entry and then the shared part (it learnt each version).
    dropin = make_patient(session.site, first_name="Delta", last_name="Dropin")
    make_booking(
        session,
        dropin,
        kind=BookingKind.DROP_IN,
        status=AttendanceStatus.PRESENT,
        minutes_attended=120,
        enrollment=make_enrollment(dropin, group.program, primary_therapist=tom),
    )
    page.reload()
    expect(page.get_by_test_id("entries-reconciled")).to_contain_text("Delta Dropin")
    expect(page.get_by_test_id("entry-tab")).to_have_count(4)
    # First in roster order and still to do: the page opens on the drop-in.
    expect(page.locator("#entry-h")).to_contain_text("Delta Dropin")
    page.get_by_test_id("entry-pane").get_by_label("Participation").fill("Joined as a drop-in.")
    expect(page.get_by_test_id("entry-status")).to_contain_text(re.compile(r"Saved \d\d:\d\d"))
    page.get_by_label("Topic", exact=True).fill("Coping with cravings")
    expect(page.get_by_test_id("shared-status")).to_contain_text(re.compile(r"Saved \d\d:\d\d"))
    page.screenshot(path=artifacts / "group-note-6-drop-in.png", full_page=True)
    note.refresh_from_db()
    assert note.topic == "Coping with cravings"
    assert note.entries.get(patient=dropin).participation == "Joined as a drop-in."

    # The others' entries and the shared part are written elsewhere (the API): reload, then
    # finish the drop-in's entry and sign at once: the signature waits for the last autosave
    # and sends the version that save handed back.
    update_group_note(
        note,
        user=tom,
        version=note.version,
        shared={"summary": "Urge surfing practised.", "interventions": "CBT; MI."},
        entries=[
            {"patient_id": patient.pk, **FILLED}
            for patient, booking in zip(group.patients, group.bookings, strict=True)
            if booking.status != AttendanceStatus.NO_SHOW
        ],
    )
    page.reload()
    expect(page.locator("#entry-h")).to_contain_text("Delta Dropin")
    pane = page.get_by_test_id("entry-pane")
    for label, text in FILLED_LABELS.items():
        pane.get_by_label(label, exact=True).fill(text)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("sign-group-note").click()
    expect(page.get_by_test_id("note-status")).to_have_text("Signed")
    expect(page.get_by_text("Group note signed: 4 notes written")).to_be_visible()
    assert (
        Note.objects.get(kind=NoteKind.GROUP_MEMBER, patient=dropin).sections["plan"]
        == (FILLED_LABELS["Plan"])
    )
    # The refused save was the only failed response (the 409 this test provoked).
    assert [r for r in failed_responses if not r.startswith("409 ")] == []
