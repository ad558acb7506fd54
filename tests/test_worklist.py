from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from openiop.clinical.individual_notes import start_individual_note
from openiop.clinical.queries_notes import deadline, is_overdue, worklist
from openiop.programs.models import Program
from tests.factories import make_user, sign_in
from tests.factories_clinical import held_group
from tests.factories_notes import another_session, individual, signed_note
from tests.factories_programs import make_program

NOW = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _ids(section):
    return [row.pk for row in section.rows]


def test_it_computes_the_deadline():
    ended = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert deadline(ended, 24) == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert not is_overdue(ended, 24, ended + timedelta(hours=24) - timedelta(seconds=1))
    assert is_overdue(ended, 24, ended + timedelta(hours=24))


def test_it_moves_a_session_without_a_note_to_overdue_at_24_hours(site, tom):
    case = individual(site, tom, ago_hours=0)
    ended = case.session.ends_at
    with time_machine.travel(ended + timedelta(hours=24) - timedelta(seconds=1), tick=False):
        found = worklist(tom, site, datetime.now(UTC), may_cosign=False)
        assert _ids(found.waiting_sessions) == [case.session.pk]
        assert found.overdue_sessions.total == 0
    with time_machine.travel(ended + timedelta(hours=24), tick=False):
        found = worklist(tom, site, datetime.now(UTC), may_cosign=False)
        assert _ids(found.overdue_sessions) == [case.session.pk]
        assert found.waiting_sessions.total == 0


def test_it_moves_a_draft_to_overdue_at_the_deadline(site, tom):
    case = individual(site, tom, ago_hours=0)
    note = start_individual_note(case.session, author=tom, format="dap")
    ended = case.session.ends_at
    with time_machine.travel(ended + timedelta(hours=23, minutes=59), tick=False):
        found = worklist(tom, site, datetime.now(UTC), may_cosign=False)
        assert _ids(found.drafts) == [note.pk] and found.overdue_drafts.total == 0
        assert found.waiting_sessions.total == 0
    with time_machine.travel(ended + timedelta(hours=24, minutes=1), tick=False):
        found = worklist(tom, site, datetime.now(UTC), may_cosign=False)
        assert _ids(found.overdue_drafts) == [note.pk] and found.drafts.total == 0


def test_it_uses_the_programs_own_deadline(site, tom):
    strict = make_program(site, name="Evening IOP", note_unsigned_hours=8)
    default = make_program(site, name="Day IOP")
    case = individual(site, tom, ago_hours=0, program=strict)
    lenient = individual(
        site, tom, ago_hours=0, first_name="Lee", last_name="Nient", program=default
    )
    ended = case.session.ends_at
    with time_machine.travel(ended + timedelta(hours=8, minutes=1), tick=False):
        found = worklist(tom, site, datetime.now(UTC), may_cosign=False)
        assert _ids(found.overdue_sessions) == [case.session.pk]
        assert _ids(found.waiting_sessions) == [lenient.session.pk]


def test_it_drops_signed_notes_and_other_peoples_sessions(site, tom):
    case = individual(site, tom)
    signed_note(case, tom)
    tess = make_user("tess", site=site, role=Role.THERAPIST)
    individual(site, tess, first_name="Tia", last_name="Elsewise")
    individual(site, tom, ago_hours=-4, first_name="Fu", last_name="Ture")
    found = worklist(tom, site, NOW, may_cosign=False)
    assert found.waiting_sessions.total == found.overdue_sessions.total == 0
    assert found.drafts.total == 0


def test_it_lists_a_group_without_a_note(site, tom):
    group = held_group(site, tom)
    found = worklist(tom, site, NOW, may_cosign=False)
    assert _ids(found.waiting_sessions) == [group.session.pk]


def test_it_skips_an_individual_session_the_patient_missed(site, tom):
    case = individual(site, tom)
    case.booking.status = "no_show"
    case.booking.save()
    assert worklist(tom, site, NOW, may_cosign=False).waiting_sessions.total == 0


@pytest.fixture
def sue(site, tom):
    sue = make_user(
        "sue", site=site, role=Role.THERAPIST, first_name="Sue", is_clinical_supervisor=True
    )
    tom.supervisor = sue
    tom.save()
    return sue


def test_it_queues_supervisees_first_for_cosigning(site, tom, sue):
    other_sup = make_user("vic", site=site, role=Role.DIRECTOR, is_clinical_supervisor=True)
    nia = make_user("nia", site=site, role=Role.NURSE, supervisor=other_sup)
    first = signed_note(individual(site, nia, first_name="Ola", last_name="Nurseside"), nia)
    mine = signed_note(individual(site, tom), tom)
    found = worklist(sue, site, NOW + timedelta(minutes=1), may_cosign=True)
    assert _ids(found.cosign) == [mine.pk, first.pk]
    assert found.cosign.rows[0].is_supervisee == 1


def test_it_leaves_out_cosigned_and_own_notes(site, tom, sue):
    from openiop.clinical.signing import cosign_note

    note = signed_note(individual(site, tom), tom)
    cosign_note(note, user=sue)
    assert worklist(sue, site, NOW, may_cosign=True).cosign.total == 0
    assert worklist(tom, site, NOW, may_cosign=True).cosign.total == 0


# --- the page ------------------------------------------------------------------------------


def test_it_shows_the_empty_worklist(client, site, tom):
    sign_in(client, tom, site=site)
    response = client.get(reverse("documentation"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="worklist-overdue-empty"' in body
    assert 'data-testid="worklist-waiting-empty"' in body
    assert 'data-testid="worklist-drafts-empty"' in body
    assert 'data-testid="worklist-cosign"' not in body
    assert 'data-testid="worklist-plans"' in body


def test_it_shows_each_section_and_audits_the_patients_shown(client, site, tom):
    overdue = individual(site, tom, ago_hours=30)
    waiting = individual(site, tom, first_name="Wes", last_name="Waiting")
    draft = start_individual_note(
        another_session(waiting, tom, ago_hours=5).session, author=tom, format="birp"
    )
    sign_in(client, tom, site=site)
    body = client.get(reverse("documentation")).content.decode()
    assert f'data-session="{overdue.session.pk}" data-overdue="true"' in body
    assert f'data-session="{waiting.session.pk}"' in body
    assert f'data-note="{draft.pk}"' in body
    assert reverse("individual-note-start", args=[waiting.session.pk]) in body
    assert reverse("note-edit", args=[draft.pk]) in body
    assert 'data-testid="count-overdue">1 overdue' in body
    event = AuditEvent.objects.get(object_type="documentation_worklist")
    assert event.action == Action.VIEW
    assert str(overdue.patient.pk) in event.detail and str(waiting.patient.pk) in event.detail


def test_it_shows_the_cosign_queue_to_a_supervisor(client, site, tom, sue):
    note = signed_note(individual(site, tom), tom)
    sign_in(client, sue, site=site)
    body = client.get(reverse("documentation")).content.decode()
    assert f'data-note="{note.pk}" data-supervisee="true"' in body
    assert reverse("note-detail", args=[note.pk]) in body


def test_it_keeps_queries_constant(client, site, tom, sue):
    sign_in(client, sue, site=site)
    signed_note(individual(site, tom), tom)
    individual(site, sue, first_name="One", last_name="Waiting")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("documentation"))
    for n in range(4):
        signed_note(individual(site, tom, first_name=f"P{n}", last_name="Cosign"), tom)
        individual(site, sue, first_name=f"W{n}", last_name="Waiting")
        start_individual_note(
            individual(site, sue, first_name=f"D{n}", last_name="Draft", ago_hours=30).session,
            author=sue,
            format="dap",
        )
    held_group(
        site,
        sue,
        members=[("Gus", "Groupfake", "present", 180)],
        program=Program.objects.get(site=site),
    )
    with CaptureQueriesContext(connection) as many:
        body = client.get(reverse("documentation")).content.decode()
    assert body.count("data-overdue") == 4
    assert len(many) == len(few)


def test_it_shows_only_the_current_sites_work(client, site, other_site, tom):
    from openiop.accounts.models import Membership

    Membership.objects.create(user=tom, site=other_site, role=Role.THERAPIST)
    elsewhere = individual(other_site, tom, first_name="Far", last_name="Away")
    sign_in(client, tom, site=site)
    body = client.get(reverse("documentation")).content.decode()
    assert f'data-session="{elsewhere.session.pk}"' not in body
    assert "Away" not in body


def test_it_refuses_roles_without_notes(client, site):
    desk = make_user("fran", site=site, role=Role.FRONT_DESK)
    sign_in(client, desk, site=site)
    assert client.get(reverse("documentation")).status_code == 403
