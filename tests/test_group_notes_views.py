"""The group-note page: opening, autosave (htmx), moving between patients, signing, privacy."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.clinical.group_notes import start_group_note, update_group_note
from openiop.clinical.models import Note, NoteKind
from openiop.scheduling.models import AttendanceStatus
from tests.factories import make_user, sign_in
from tests.factories_clinical import held_group, make_plan
from tests.test_group_notes import FILLED, SHARED

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_tom(client, site, tom):
    sign_in(client, tom, site=site)
    return client


@pytest.fixture
def group(site, tom):
    return held_group(site, tom)


@pytest.fixture
def note(group, tom):
    return start_group_note(group.session, author=tom)


def page(session, **query):
    url = reverse("group-note", kwargs={"session_id": session.pk})
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def entry_url(session, entry, name="group-note-entry"):
    return reverse(name, kwargs={"session_id": session.pk, "entry_id": entry.pk})


def fill_all(note, group, tom):
    entries = [
        {"patient_id": p.pk, **FILLED}
        for p, b in zip(group.patients, group.bookings, strict=True)
        if b.status != AttendanceStatus.NO_SHOW
    ]
    return update_group_note(note, user=tom, version=note.version, shared=SHARED, entries=entries)


# --- roster button and start -----------------------------------------------------------------


def test_the_roster_offers_to_write_then_open_the_note(as_tom, group):
    roster = reverse("session-roster", kwargs={"session_id": group.session.pk})
    html = as_tom.get(roster).content.decode()
    assert 'data-testid="write-group-note"' in html
    response = as_tom.post(reverse("group-note-start", kwargs={"session_id": group.session.pk}))
    assert response.status_code == 302
    assert response["Location"] == page(group.session)
    assert Note.objects.filter(kind=NoteKind.GROUP, session=group.session).count() == 1
    html = as_tom.get(roster).content.decode()
    assert 'data-testid="open-group-note"' in html
    assert 'data-testid="write-group-note"' not in html


def test_a_role_without_notes_sees_no_button(client, site, group):
    front = make_user("fran", site=site, role=Role.FRONT_DESK)
    sign_in(client, front, site=site)
    roster = reverse("session-roster", kwargs={"session_id": group.session.pk})
    html = client.get(roster).content.decode()
    assert "group-note" not in html


def test_starting_twice_says_so(as_tom, group, note):
    response = as_tom.post(
        reverse("group-note-start", kwargs={"session_id": group.session.pk}), follow=True
    )
    assert "already has a group note" in response.content.decode()
    assert Note.objects.filter(kind=NoteKind.GROUP).count() == 1


def test_the_empty_page_offers_to_start(as_tom, group):
    html = as_tom.get(page(group.session)).content.decode()
    assert 'data-testid="start-group-note"' in html


def test_another_sites_session_is_404(client, other_site, oscar, group, note):
    sign_in(client, oscar, site=other_site)
    assert client.get(page(group.session)).status_code == 404
    entry = note.entries.first()
    assert client.get(entry_url(group.session, entry), **HTMX).status_code == 404


# --- the page -----------------------------------------------------------------------------


def test_the_page_shows_the_shared_part_and_one_entry(as_tom, group, note, tom):
    alpha = group.patients[0]
    plan = make_plan(alpha, group.enrollments[0], tom)
    response = as_tom.get(page(group.session))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Tom Fakename, LCSW" in html
    assert 'data-testid="participant-count">2' in html
    assert len(re.findall(r'data-testid="entry-tab"', html)) == 3
    # The first patient still to do, in roster order: Bravo Samplename (Charlie is absent
    # and his absence note is prefilled).
    assert re.search(r'id="entry-h">Bravo Samplename', html)
    assert 'data-state="absent"' in html
    # Alpha's goals are offered on Alpha's entry only.
    alpha_entry = note.entries.get(patient=alpha)
    html = as_tom.get(page(group.session, entry=alpha_entry.pk)).content.decode()
    for goal in plan.goals.all():
        assert goal.statement in html
    event = AuditEvent.objects.filter(object_type="group_note").latest("pk")
    assert str(alpha.pk) in event.detail


def test_the_page_survives_a_reload_with_the_drafts(as_tom, group, note):
    entry = note.entries.get(patient=group.patients[1])
    as_tom.post(
        entry_url(group.session, entry, "group-note-entry-save"),
        {"version": 1, "mood": "Anxious, brightened later."},
        **HTMX,
    )
    html = as_tom.get(page(group.session, entry=entry.pk)).content.decode()
    assert "Anxious, brightened later." in html


def test_the_page_keeps_its_query_count(as_tom, site, tom, django_assert_max_num_queries):
    group = held_group(
        site,
        tom,
        members=[(f"Many{i:02d}", "Fakerson", AttendanceStatus.PRESENT, 180) for i in range(12)],
    )
    start_group_note(group.session, author=tom)
    with django_assert_max_num_queries(22):
        response = as_tom.get(page(group.session))
    assert response.status_code == 200


def test_next_and_previous_swap_the_entry(as_tom, group, note):
    charlie_entry, bravo_entry, alpha_entry = note.entries.all()
    response = as_tom.get(entry_url(group.session, bravo_entry), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="entry-pane"')
    assert 'id="entry-tabs"' in html and 'hx-swap-oob="true"' in html
    assert entry_url(group.session, alpha_entry) in html  # next
    assert entry_url(group.session, charlie_entry) in html  # previous
    assert 'data-hotkey="KeyN"' in html
    # Without htmx the link goes to the page itself.
    plain = as_tom.get(entry_url(group.session, bravo_entry))
    assert plain.status_code == 302
    assert plain["Location"] == page(group.session, entry=bravo_entry.pk)


def test_an_entry_of_another_note_is_404(as_tom, site, tom, group, note):
    other = held_group(
        site,
        tom,
        members=[("Other", "Groupmember", AttendanceStatus.PRESENT, 180)],
        program=group.program,
    )
    other_note = start_group_note(other.session, author=tom)
    foreign = other_note.entries.get()
    assert as_tom.get(entry_url(group.session, foreign), **HTMX).status_code == 404
    save_url = entry_url(group.session, foreign, "group-note-entry-save")
    assert as_tom.post(save_url, {"version": 1, "mood": "x"}).status_code == 404
    # From the page (htmx) the answer says it, whatever the id: the entry is not on this note.
    response = as_tom.post(save_url, {"version": 1, "mood": "x"}, **HTMX)
    assert response.status_code == 409
    assert "no longer on the note" in response.content.decode()
    foreign.refresh_from_db()
    assert foreign.mood == ""


# --- autosave -----------------------------------------------------------------------------


def test_entry_autosave_answers_with_the_new_version(as_tom, group, note):
    entry = note.entries.get(patient=group.patients[0])
    response = as_tom.post(
        entry_url(group.session, entry, "group-note-entry-save"),
        {"version": 1, "note_version": 1, "participation": "Engaged.", "mood": "Calm."},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="entry-version-{entry.pk}" value="2" hx-swap-oob="true"' in html
    # The page knew the current note version (1): it learns the new one.
    assert 'id="shared-version" value="2"' in html
    assert 'id="known-version" name="note_version" value="2"' in html
    assert re.search(r"Saved \d\d:\d\d", html)
    entry.refresh_from_db()
    assert (entry.participation, entry.mood, entry.version) == ("Engaged.", "Calm.", 2)
    event = AuditEvent.objects.filter(object_type="group_note_entry", action="update").get()
    assert event.patient_id == entry.patient_id


def test_entry_autosave_refuses_a_stale_version(as_tom, group, note):
    entry = note.entries.get(patient=group.patients[0])
    url = entry_url(group.session, entry, "group-note-entry-save")
    as_tom.post(url, {"version": 1, "mood": "First."}, **HTMX)
    response = as_tom.post(url, {"version": 1, "mood": "Second."}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Not saved" in html and "nothing was overwritten" in html
    assert "entry-version" not in html  # the stale version stays stale
    entry.refresh_from_db()
    assert entry.mood == "First."


def test_two_patients_entries_save_independently(as_tom, group, note):
    a, b = note.entries.get(patient=group.patients[0]), note.entries.get(patient=group.patients[1])
    for entry in (a, b):
        response = as_tom.post(
            entry_url(group.session, entry, "group-note-entry-save"),
            {"version": 1, "mood": "Calm."},
            **HTMX,
        )
        assert response.status_code == 200


def test_entry_autosave_saves_goals_and_refuses_a_foreign_goal(as_tom, group, note, tom):
    alpha, bravo = group.patients[0], group.patients[1]
    alpha_goal = make_plan(alpha, group.enrollments[0], tom).goals.first()
    bravo_goal = make_plan(bravo, group.enrollments[1], tom).goals.first()
    entry = note.entries.get(patient=alpha)
    url = entry_url(group.session, entry, "group-note-entry-save")
    ok = as_tom.post(url, {"version": 1, "goal_ids_sent": "1", "goal_ids": [alpha_goal.pk]}, **HTMX)
    assert ok.status_code == 200
    bad = as_tom.post(
        url, {"version": 2, "goal_ids_sent": "1", "goal_ids": [bravo_goal.pk]}, **HTMX
    )
    assert bad.status_code == 422
    assert "not a goal of this patient" in bad.content.decode()
    # Unticking every box clears them.
    cleared = as_tom.post(url, {"version": 2, "goal_ids_sent": "1"}, **HTMX)
    assert cleared.status_code == 200
    assert not entry.goal_links.exists()


def test_entry_autosave_without_a_version_is_refused(as_tom, group, note):
    entry = note.entries.first()
    response = as_tom.post(
        entry_url(group.session, entry, "group-note-entry-save"), {"mood": "x"}, **HTMX
    )
    assert response.status_code == 422
    assert "Reload the page" in response.content.decode()


def test_shared_autosave_and_its_conflict(as_tom, group, note):
    url = reverse("group-note-shared", kwargs={"session_id": group.session.pk})
    response = as_tom.post(url, {"version": 1, "topic": "Coping with stress"}, **HTMX)
    assert response.status_code == 200
    assert 'id="shared-version" value="2"' in response.content.decode()
    stale = as_tom.post(url, {"version": 1, "topic": "Overwrite?"}, **HTMX)
    assert stale.status_code == 409
    assert "changed elsewhere" in stale.content.decode()
    note.refresh_from_db()
    assert note.topic == "Coping with stress"
    bad = as_tom.post(url, {"version": 2, "curriculum_module": "999999"}, **HTMX)
    assert bad.status_code == 422


def test_someone_elses_draft_is_read_only(client, site, group, note):
    theo = make_user("theo", site=site, role=Role.THERAPIST, first_name="Theo", last_name="Other")
    sign_in(client, theo, site=site)
    html = client.get(page(group.session)).content.decode()
    assert "only the author edits and signs it" in html
    assert 'data-testid="entry-readonly"' in html
    entry = note.entries.first()
    response = client.post(
        entry_url(group.session, entry, "group-note-entry-save"),
        {"version": 1, "mood": "x"},
        **HTMX,
    )
    assert response.status_code == 403
    assert "Only the author" in response.content.decode()


def test_autosave_without_htmx_redirects_back(as_tom, group, note):
    entry = note.entries.first()
    response = as_tom.post(
        entry_url(group.session, entry, "group-note-entry-save"), {"version": 1, "mood": "x"}
    )
    assert response.status_code == 302
    assert response["Location"] == page(group.session, entry=entry.pk)


# --- signing ------------------------------------------------------------------------------


def test_signing_with_empty_fields_shows_them_per_patient(as_tom, group, note):
    response = as_tom.post(reverse("group-note-sign", kwargs={"session_id": group.session.pk}))
    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="sign-errors"' in html
    assert "Group summary: required to sign." in html
    assert "Participation: required to sign." in html
    assert "Needs fixing" in html
    note.refresh_from_db()
    assert not note.is_signed


def test_signing_writes_the_notes_and_shows_the_signed_view(as_tom, group, note, tom):
    fill_all(note, group, tom)
    response = as_tom.post(
        reverse("group-note-sign", kwargs={"session_id": group.session.pk}), follow=True
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Group note signed: 3 notes written" in html
    assert 'data-testid="note-status">Signed' in html
    assert len(re.findall(r'data-testid="member-note-link"', html)) >= 3
    for member in Note.objects.filter(kind=NoteKind.GROUP_MEMBER):
        assert f"#{member.pk}" in html
    again = as_tom.post(
        reverse("group-note-sign", kwargs={"session_id": group.session.pk}), follow=True
    )
    assert "Add an addendum" in again.content.decode()


def test_fan_out_privacy_in_html(as_tom, group, note, tom):
    """Each attendee's note, as a chart shows it, names no other attendee in any way."""
    fill_all(note, group, tom)
    as_tom.post(reverse("group-note-sign", kwargs={"session_id": group.session.pk}))
    members = list(Note.objects.filter(kind=NoteKind.GROUP_MEMBER))
    assert len(members) == 3
    for member in members:
        own = member.patient
        response = as_tom.get(page(group.session, patient=own.pk))
        html = response.content.decode()
        assert response.status_code == 200
        assert 'data-testid="member-note"' in html
        assert own.last_name in html
        for other in group.patients:
            if other.pk == own.pk:
                continue
            assert other.first_name not in html
            assert other.last_name not in html
            assert other.mrn not in html
            # No link, id or attribute carrying the other patient's id.
            assert not re.search(rf"patients?[/=_-]{other.pk}\b", html)
            assert f'"{other.pk}"' not in html
        event = AuditEvent.objects.filter(patient_id=own.pk, action="view").latest("pk")
        assert event.patient_id == own.pk


def test_the_member_view_refuses_a_patient_not_in_the_group(as_tom, site, group, note, tom):
    fill_all(note, group, tom)
    as_tom.post(reverse("group-note-sign", kwargs={"session_id": group.session.pk}))
    assert as_tom.get(page(group.session, patient=999999)).status_code == 404
    assert as_tom.get(page(group.session, patient="abc")).status_code == 404
