"""A draft group note kept in step: with other tabs (versions) and with the session's bookings.

Two defects, each proved here before its fix:
- an entry autosave in a tab that missed another tab's shared-part change handed that tab the
  newest note version, so its next shared-part save overwrote the other tab's change;
- a patient booked into the session after the note was started (a drop-in, a late booking)
  got no entry and, once signed, no note; a booking cancelled since kept its entry.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.clinical.errors import NoteConflict
from openiop.clinical.group_notes import (
    reconcile_group_note,
    save_group_entry,
    save_group_shared,
    sign_group_note,
    start_group_note,
    update_group_note,
)
from openiop.clinical.models import EntryGoal, GroupNoteEntry, Note, NoteKind
from openiop.scheduling.models import AttendanceStatus, BookingKind
from tests.factories import make_user, sign_in
from tests.factories_clinical import held_group, make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program
from tests.factories_scheduling import make_booking
from tests.test_group_notes import FILLED, SHARED

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def group(site, tom):
    return held_group(site, tom)


@pytest.fixture
def note(group, tom):
    return start_group_note(group.session, author=tom)


def late_booking(group, first, last, status=AttendanceStatus.PRESENT, minutes=120):
    """A patient booked into the held session after its note was started (a drop-in)."""
    patient = make_patient(group.session.site, first_name=first, last_name=last)
    enrollment = make_enrollment(
        patient, group.program, primary_therapist=group.session.facilitator
    )
    make_booking(
        group.session,
        patient,
        kind=BookingKind.DROP_IN,
        status=status,
        enrollment=enrollment,
        minutes_attended=minutes,
    )
    return patient


def cancel(booking, status=AttendanceStatus.CANCELLED):
    booking.status = status
    booking.minutes_attended = None
    booking.save()


def fill(note, group, author, extra=()):
    entries = [
        {"patient_id": e.patient_id, **FILLED}
        for e in GroupNoteEntry.objects.filter(note=note)
        if e.attendance_status not in (AttendanceStatus.NO_SHOW, AttendanceStatus.CANCELLED)
    ]
    note.refresh_from_db()
    return update_group_note(
        note, user=author, version=note.version, shared=SHARED, entries=[*entries, *extra]
    )


# --- 1. Versions across tabs: the service ----------------------------------------------------


def test_an_entry_save_hands_back_the_note_version_only_to_a_current_caller(group, tom, note):
    alpha, bravo, _ = note.entries.order_by("pk")
    saved = save_group_entry(alpha, user=tom, version=1, data={"mood": "Calm."}, note_version=1)
    assert (saved.entry.version, saved.note_version) == (2, 2)  # the tab was current
    # Tab B changes the shared part: the note is at 3, tab A still knows 2.
    save_group_shared(note, user=tom, version=2, data={"topic": "Tab B's topic"})
    stale = save_group_entry(bravo, user=tom, version=1, data={"mood": "Tired."}, note_version=2)
    assert stale.entry.version == 2  # the entry itself saved: it was current
    assert stale.note_version is None  # but tab A must not learn version 4
    note.refresh_from_db()
    assert note.version == 4
    with pytest.raises(NoteConflict, match="changed elsewhere"):
        save_group_shared(note, user=tom, version=2, data={"topic": "Tab A's topic"})
    note.refresh_from_db()
    assert note.topic == "Tab B's topic"


def test_an_unchanged_entry_save_hands_back_the_version_it_was_given_if_current(group, tom, note):
    entry = note.entries.first()
    assert save_group_entry(entry, user=tom, version=1, data={}, note_version=1).note_version == 1
    assert (
        save_group_entry(entry, user=tom, version=1, data={}, note_version=7).note_version is None
    )
    assert save_group_entry(entry, user=tom, version=1, data={"mood": "x"}).note_version is None


def test_the_api_version_still_counts_entry_saves(group, tom, note):
    """PATCH /api/v1/notes/{id} sends note.version: an entry autosave makes it stale."""
    save_group_entry(note.entries.first(), user=tom, version=1, data={"mood": "Calm."})
    with pytest.raises(NoteConflict):
        update_group_note(note, user=tom, version=1, shared={"topic": "API"}, entries=[])
    update_group_note(note, user=tom, version=2, shared={"topic": "API"}, entries=[])


# --- 1. Versions across tabs: the page -------------------------------------------------------


class Tab:
    """One browser tab on the group-note page: it keeps the versions the page gave it and
    the ones autosave answers swap in (``hx-swap-oob``), and posts what its forms post."""

    def __init__(self, client, session):
        self.client = client
        self.session = session
        html = client.get(reverse("group-note", kwargs={"session_id": session.pk})).content
        self.html = html.decode()
        self.shared_version = self._version("shared-version", self.html)
        self.entry_versions: dict[int, int] = {}

    @staticmethod
    def _version(element_id: str, html: str) -> int | None:
        found = re.search(rf'id="{element_id}" value="(\d+)"', html)
        return int(found.group(1)) if found else None

    def _swap_in(self, html: str) -> None:
        shared = self._version("shared-version", html)
        if shared is not None:
            self.shared_version = shared
        for entry_id, value in re.findall(r'id="entry-version-(\d+)" value="(\d+)"', html):
            self.entry_versions[int(entry_id)] = int(value)

    def save_shared(self, **data):
        url = reverse("group-note-shared", kwargs={"session_id": self.session.pk})
        response = self.client.post(url, {"version": self.shared_version, **data}, **HTMX)
        self._swap_in(response.content.decode())
        return response

    def save_entry(self, entry, **data):
        url = reverse(
            "group-note-entry-save", kwargs={"session_id": self.session.pk, "entry_id": entry.pk}
        )
        version = self.entry_versions.get(entry.pk, entry.version)
        # The entry form includes the tab's known note version (hx-include="#known-version").
        posted = {"version": version, "note_version": self.shared_version, **data}
        response = self.client.post(url, posted, **HTMX)
        self._swap_in(response.content.decode())
        return response


def test_an_entry_autosave_never_lets_a_stale_tab_overwrite_the_shared_part(
    client, site, tom, group, note
):
    sign_in(client, tom, site=site)
    tab_a = Tab(client, group.session)
    tab_b = Tab(client, group.session)
    assert tab_a.shared_version == tab_b.shared_version == 1
    assert tab_b.save_shared(topic="Tab B's topic").status_code == 200
    entry = note.entries.get(patient=group.patients[0])
    saved = tab_a.save_entry(entry, mood="Calm, engaged.")
    assert saved.status_code == 200
    html = saved.content.decode()
    assert 'id="shared-version"' not in html  # the tab's shared version stays stale
    assert "reload" in html.lower()  # and the tab is told
    overwrite = tab_a.save_shared(topic="Tab A's topic")
    assert overwrite.status_code == 409
    assert "changed elsewhere" in overwrite.content.decode()
    note.refresh_from_db()
    assert note.topic == "Tab B's topic"
    entry.refresh_from_db()
    assert entry.mood == "Calm, engaged."


def test_a_current_tab_keeps_saving_both_parts(client, site, tom, group, note):
    sign_in(client, tom, site=site)
    tab = Tab(client, group.session)
    assert 'hx-include="#known-version"' in tab.html
    assert re.search(r'id="known-version" name="note_version" value="1"', tab.html)
    alpha, bravo = (note.entries.get(patient=p) for p in group.patients[:2])
    for entry, mood in ((alpha, "Calm."), (bravo, "Tired.")):
        response = tab.save_entry(entry, mood=mood)
        assert response.status_code == 200
        assert 'id="known-version" name="note_version"' in response.content.decode()
    assert tab.shared_version == 3
    assert tab.save_shared(topic="Coping with stress").status_code == 200
    assert tab.save_entry(alpha, mood="Calmer.").status_code == 200
    assert tab.save_shared(summary="Urge surfing.").status_code == 200
    note.refresh_from_db()
    assert (note.topic, note.summary, note.version) == ("Coping with stress", "Urge surfing.", 6)


def test_a_bad_known_version_is_refused(client, site, tom, group, note):
    sign_in(client, tom, site=site)
    entry = note.entries.first()
    url = reverse(
        "group-note-entry-save", kwargs={"session_id": group.session.pk, "entry_id": entry.pk}
    )
    response = client.post(url, {"version": 1, "note_version": "abc", "mood": "x"}, **HTMX)
    assert response.status_code == 422
    entry.refresh_from_db()
    assert entry.mood == ""


def test_signing_refuses_a_version_the_signer_had_not_seen(group, tom, note):
    note = fill(note, group, tom)
    seen = note.version
    save_group_shared(note, user=tom, version=seen, data={"topic": "Changed in tab B"})
    with pytest.raises(NoteConflict, match="changed since the page was loaded"):
        sign_group_note(note, user=tom, version=seen)
    note.refresh_from_db()
    assert not note.is_signed
    assert len(sign_group_note(note, user=tom, version=note.version)) == 3


def test_signing_from_a_stale_tab_is_refused_on_the_page(client, site, tom, group, note):
    sign_in(client, tom, site=site)
    fill(note, group, tom)
    tab_a = Tab(client, group.session)
    tab_b = Tab(client, group.session)
    assert tab_b.save_shared(topic="Tab B's last word").status_code == 200
    url = reverse("group-note-sign", kwargs={"session_id": group.session.pk})
    refused = client.post(url, {"note_version": tab_a.shared_version}, **HTMX)
    assert refused.status_code == 204  # HX-Redirect back to the page, with the message
    page = client.get(refused["HX-Redirect"]).content.decode()
    assert "changed since the page was loaded" in page
    note.refresh_from_db()
    assert not note.is_signed
    bad = client.post(url, {"note_version": "abc"}, **HTMX)
    assert bad.status_code == 204
    assert "not a number" in client.get(bad["HX-Redirect"]).content.decode()
    signed = client.post(url, {"note_version": tab_b.shared_version}, **HTMX)
    assert signed.status_code == 204
    note.refresh_from_db()
    assert note.is_signed


# --- 2. Bookings made or cancelled after the note was started: the service ------------------


def test_a_late_booking_gets_a_prefilled_entry(group, tom, note):
    delta = late_booking(group, "Delta", "Dropin")
    echo = late_booking(group, "Echo", "Latebook", AttendanceStatus.NO_SHOW, None)
    result = reconcile_group_note(note, user=tom)
    assert sorted(result.added) == sorted([delta.display_name, echo.display_name])
    assert result.removed == []
    entries = {e.patient_id: e for e in note.entries.all()}
    assert entries[delta.pk].attendance_status == AttendanceStatus.PRESENT
    assert entries[delta.pk].minutes == 120
    assert entries[echo.pk].absence_note == "Did not attend (no-show)."
    note.refresh_from_db()
    assert note.version == 2  # a tab that read version 1 must reload to see them
    assert note.participant_count == 3
    created = AuditEvent.objects.filter(object_type="group_note_entry", action="create")
    assert set(
        created.filter(patient_id__in=[delta.pk, echo.pk]).values_list("patient_id", flat=True)
    ) == {
        delta.pk,
        echo.pk,
    }
    # In step now: nothing more to do, no new version.
    again = reconcile_group_note(note, user=tom)
    assert not again
    note.refresh_from_db()
    assert note.version == 2


def test_a_cancelled_booking_loses_its_draft_entry(group, tom, note):
    alpha = group.patients[0]
    goal = make_plan(alpha, group.enrollments[0], tom).goals.first()
    entry = note.entries.get(patient=alpha)
    save_group_entry(entry, user=tom, version=1, data={"mood": "Calm.", "goal_ids": [goal.pk]})
    cancel(group.bookings[0], AttendanceStatus.CANCELLED_BY_CLINIC)
    result = reconcile_group_note(note, user=tom)
    assert result.removed == [alpha.display_name]
    assert not note.entries.filter(patient=alpha).exists()
    assert not EntryGoal.objects.filter(entry_id=entry.pk).exists()
    event = AuditEvent.objects.get(object_type="group_note_entry", action="delete")
    assert event.patient_id == alpha.pk
    assert "cancelled" in event.detail
    # Booked again: a fresh entry.
    group.bookings[0].status = AttendanceStatus.PRESENT
    group.bookings[0].minutes_attended = 90
    group.bookings[0].save()
    assert reconcile_group_note(note, user=tom).added == [alpha.display_name]
    assert note.entries.get(patient=alpha).minutes == 90


def test_a_signed_note_is_left_alone(group, tom, note):
    note = fill(note, group, tom)
    sign_group_note(note, user=tom)
    late_booking(group, "Delta", "Dropin")
    assert not reconcile_group_note(note, user=tom)
    assert note.entries.count() == 3


def test_signing_never_leaves_a_late_attendee_without_a_note(group, tom, note):
    note = fill(note, group, tom)
    delta = late_booking(group, "Delta", "Dropin")
    with pytest.raises(ValidationError) as caught:
        sign_group_note(note, user=tom)
    # Delta's entry came first in roster order (Dropin < Fakerson): index 0.
    errors = caught.value.message_dict
    assert "entries[0].participation" in errors
    assert [k for k in errors if not k.startswith("entries[0].")] == []
    # The entry stays although the signature was refused: the page and the API list it.
    entry = note.entries.get(patient=delta)
    assert entry.minutes == 120
    assert not Note.objects.filter(kind=NoteKind.GROUP_MEMBER).exists()
    note.refresh_from_db()
    update_group_note(
        note,
        user=tom,
        version=note.version,
        shared={},
        entries=[{"patient_id": delta.pk, **FILLED}],
    )
    members = sign_group_note(note, user=tom)
    assert delta.pk in {m.patient_id for m in members}
    assert len(members) == 4


def test_a_page_that_has_not_seen_a_late_booking_cannot_sign(group, tom, note):
    """An absent drop-in's prefilled note would be complete: a page that knew the note before
    the booking must still reload (and show the patient) before it signs."""
    note = fill(note, group, tom)
    seen = note.version
    late_booking(group, "Delta", "Dropin", AttendanceStatus.NO_SHOW, None)
    with pytest.raises(NoteConflict):
        sign_group_note(note, user=tom, version=seen)
    note.refresh_from_db()
    assert note.version == seen + 1
    assert len(sign_group_note(note, user=tom, version=note.version)) == 4


def test_signing_drops_an_entry_whose_booking_was_cancelled(group, tom, note):
    note = fill(note, group, tom)
    bravo = group.patients[1]
    cancel(group.bookings[1])
    members = sign_group_note(note, user=tom)
    assert bravo.pk not in {m.patient_id for m in members}
    assert len(members) == 2
    note.refresh_from_db()
    assert bravo.pk not in {row["patient"] for row in note.sections["entries"]}
    assert note.participant_count == 1


def _sign_queries(site, tom, program, late: int, prefix: str) -> int:
    group = held_group(
        site,
        tom,
        program=program,
        members=[
            (f"{prefix}{i:02d}", "Fakerson", AttendanceStatus.PRESENT, 180) for i in range(late + 1)
        ],
    )
    note = start_group_note(group.session, author=tom)
    note = fill(note, group, tom)
    for booking in group.bookings[1:]:  # cancelled since the note was started
        cancel(booking)
    for i in range(late):  # booked since, absent: their prefilled note is complete
        late_booking(group, f"{prefix}Late{i:02d}", "Samplename", AttendanceStatus.NO_SHOW, None)
    with CaptureQueriesContext(connection) as captured:
        members = sign_group_note(note, user=tom)
    assert len(members) == 1 + late
    assert GroupNoteEntry.objects.filter(note=note).count() == 1 + late
    return len(captured)


def test_signing_costs_the_same_queries_however_many_bookings_changed(site, tom):
    program = make_program(site)
    assert _sign_queries(site, tom, program, 1, "Few") == _sign_queries(
        site, tom, program, 6, "Many"
    )


# --- 2. Bookings made or cancelled after the note was started: the page ----------------------


def test_opening_the_draft_adds_a_late_booking_and_says_so(client, site, tom, group, note):
    sign_in(client, tom, site=site)
    delta = late_booking(group, "Delta", "Dropin")
    cancel(group.bookings[1])
    response = client.get(reverse("group-note", kwargs={"session_id": group.session.pk}))
    html = response.content.decode()
    assert response.status_code == 200
    assert len(re.findall(r'data-testid="entry-tab"', html)) == 3
    assert "Delta Dropin" in html
    assert 'data-testid="entries-reconciled"' in html
    assert "Bravo Samplename" in html  # named in the notice: their entry was removed
    note.refresh_from_db()
    assert f'id="shared-version" value="{note.version}"' in html
    assert note.entries.filter(patient=delta).exists()


def test_typing_into_an_entry_removed_meanwhile_says_so(client, site, tom, group, note):
    sign_in(client, tom, site=site)
    tab_a = Tab(client, group.session)
    alpha_entry = note.entries.get(patient=group.patients[0])
    cancel(group.bookings[0])
    Tab(client, group.session)  # another tab opens the page: Alpha's entry goes
    response = tab_a.save_entry(alpha_entry, mood="Typed into the old tab.")
    html = response.content.decode()
    assert response.status_code == 409
    assert 'id="entry-status"' in html
    assert "no longer on the note" in html and "Reload the page" in html
    assert 'id="shared-version"' not in html
    assert not GroupNoteEntry.objects.filter(pk=alpha_entry.pk).exists()


def _page_queries(client, site, tom, program, late: int, prefix: str) -> int:
    group = held_group(
        site,
        tom,
        program=program,
        members=[(f"{prefix}{i:02d}", "Fakerson", AttendanceStatus.PRESENT, 180) for i in range(4)],
    )
    note = start_group_note(group.session, author=tom)
    for booking in group.bookings[:late]:
        cancel(booking)
    for i in range(late):
        late_booking(group, f"{prefix}Late{i:02d}", "Samplename")
    url = reverse("group-note", kwargs={"session_id": group.session.pk})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert note.entries.count() == 4
    return len(captured)


def test_the_page_costs_the_same_queries_however_many_bookings_changed(client, site, tom):
    sign_in(client, tom, site=site)
    program = make_program(site)
    few = _page_queries(client, site, tom, program, 1, "Few")
    assert few == _page_queries(client, site, tom, program, 3, "Many")
    in_step = _page_queries(client, site, tom, program, 0, "Same")
    assert in_step < few  # nothing to change: two plain reads, no lock, no write


def test_a_reader_who_cannot_edit_changes_nothing(client, site, group, note):
    theo = make_user("theo", site=site, role=Role.THERAPIST, first_name="Theo", last_name="Other")
    sign_in(client, theo, site=site)
    late_booking(group, "Delta", "Dropin")
    response = client.get(reverse("group-note", kwargs={"session_id": group.session.pk}))
    assert response.status_code == 200
    assert note.entries.count() == 3
    note.refresh_from_db()
    assert note.version == 1


def test_a_refused_signature_shows_the_late_patient_and_a_usable_version(
    client, site, tom, group, note
):
    sign_in(client, tom, site=site)
    fill(note, group, tom)
    tab = Tab(client, group.session)
    late_booking(group, "Delta", "Dropin")
    response = client.post(
        reverse("group-note-sign", kwargs={"session_id": group.session.pk}), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="sign-errors"' in html
    assert "Delta Dropin" in html
    tab._swap_in(html)  # the refused signature re-renders the whole page
    assert tab.save_shared(topic="Still editable").status_code == 200
