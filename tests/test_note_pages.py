from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from openiop.clinical.individual_notes import start_individual_note, update_individual_note
from openiop.clinical.models import Addendum, Cosignature, Note, NoteGoal, NoteStatus
from openiop.clinical.signing import add_addendum
from tests.factories import make_user, sign_in
from tests.factories_notes import DAP_TEXT, another_session, individual, signed_note

NOW = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)  # 14:00 in Chicago; the session ran 11:10–12:00


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case(site, tom):
    return individual(site, tom)


@pytest.fixture
def tom_client(client, tom, site):
    sign_in(client, tom, site=site)
    return client


def _form(case, note, **changes):
    data = {
        "version": note.version,
        "started_at": "11:10",
        "ended_at": "12:00",
        "goal_ids": [case.plan.goals.order_by("pk").first().pk],
        **DAP_TEXT,
    }
    data.update(changes)
    return data


# --- start ---------------------------------------------------------------------------------


def test_it_shows_the_start_page_with_the_formats(tom_client, case):
    response = tom_client.get(reverse("individual-note-start", args=[case.session.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Dee Fictional" in body
    assert "BIRP" in body and "SOAP" in body


def test_it_starts_a_note_and_opens_the_editor(tom_client, case):
    response = tom_client.post(
        reverse("individual-note-start", args=[case.session.pk]), {"format": "soap"}
    )
    note = Note.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("note-edit", args=[note.pk])
    assert note.format == "soap"
    assert AuditEvent.objects.filter(
        action=Action.CREATE, object_type="note", patient_id=case.patient.pk
    ).exists()


def test_it_sends_a_second_start_to_the_existing_note(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.post(
        reverse("individual-note-start", args=[case.session.pk]), {"format": "soap"}
    )
    assert response["Location"] == reverse("note-edit", args=[note.pk])
    assert Note.objects.count() == 1


def test_it_refuses_a_format_that_does_not_exist(tom_client, case):
    response = tom_client.post(
        reverse("individual-note-start", args=[case.session.pk]), {"format": "essay"}
    )
    assert response.status_code == 422
    assert not Note.objects.exists()


def test_it_refuses_a_session_not_yet_held(tom_client, site, tom):
    later = individual(site, tom, ago_hours=-5)
    response = tom_client.post(
        reverse("individual-note-start", args=[later.session.pk]), {"format": "dap"}
    )
    assert response.status_code == 409
    assert "not happened yet" in response.content.decode()
    assert not Note.objects.exists()


def test_it_refuses_someone_elses_session(client, site, case):
    tess = make_user("tess", site=site, role=Role.THERAPIST)
    sign_in(client, tess, site=site)
    response = client.post(
        reverse("individual-note-start", args=[case.session.pk]), {"format": "dap"}
    )
    assert response.status_code == 403
    assert not Note.objects.exists()


def test_it_hides_other_sites_sessions(client, oscar, other_site, case):
    sign_in(client, oscar, site=other_site)
    response = client.post(
        reverse("individual-note-start", args=[case.session.pk]), {"format": "dap"}
    )
    assert response.status_code == 404


# --- the editor ----------------------------------------------------------------------------


def test_it_shows_the_editor_with_the_time_band_and_goals(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.get(reverse("note-edit", args=[note.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "50 min → 90834" in body
    assert "Stay abstinent from alcohol" in body
    assert 'name="data"' in body and 'name="behavior"' not in body
    assert 'hx-post="' in body
    assert "style=" not in body and "onclick" not in body


def test_it_autosaves_and_returns_the_new_version_and_band(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.post(
        reverse("note-edit", args=[note.pk]),
        _form(case, note, ended_at="11:30"),
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Draft saved" in body
    assert 'value="2"' in body
    assert "20 min → 90832" in body
    note.refresh_from_db()
    assert note.version == 2 and note.minutes == 20
    assert note.sections["data"] == DAP_TEXT["data"]
    assert AuditEvent.objects.filter(
        action=Action.UPDATE, object_type="note", patient_id=case.patient.pk
    ).exists()


def test_it_tells_a_stale_page_and_keeps_its_version(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    update_individual_note(note, user=tom, version=1, data={"data": "From the other tab."})
    response = tom_client.post(
        reverse("note-edit", args=[note.pk]), _form(case, note), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "saved elsewhere" in body
    assert 'id="note-version"' not in body
    assert Note.objects.get().sections["data"] == "From the other tab."


def test_it_names_bad_times_on_autosave(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.post(
        reverse("note-edit", args=[note.pk]),
        _form(case, note, started_at="11:30", ended_at="11:00"),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "Ended: The end time must be after the start time." in response.content.decode()
    assert Note.objects.get().version == 1


def test_it_refuses_a_goal_from_another_patient(tom_client, case, tom, site):
    other = individual(site, tom, first_name="Eve", last_name="Madeup")
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.post(
        reverse("note-edit", args=[note.pk]),
        _form(case, note, goal_ids=[other.plan.goals.first().pk]),
    )
    assert response.status_code == 422
    assert not NoteGoal.objects.exists()


def test_it_saves_without_htmx_and_redirects(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.post(reverse("note-edit", args=[note.pk]), _form(case, note))
    assert response.status_code == 302
    assert Note.objects.get().version == 2


def test_it_switches_the_format(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    tom_client.post(
        reverse("note-edit", args=[note.pk]), {"intent": "format", "version": 1, "format": "birp"}
    )
    assert Note.objects.get().format == "birp"


def test_it_sends_someone_else_to_the_note_page(client, site, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    tess = make_user("tess", site=site, role=Role.THERAPIST)
    sign_in(client, tess, site=site)
    assert client.get(reverse("note-edit", args=[note.pk]))["Location"] == reverse(
        "note-detail", args=[note.pk]
    )
    response = client.post(reverse("note-edit", args=[note.pk]), _form(case, note))
    assert response.status_code == 302
    assert Note.objects.get().version == 1


# --- signing -------------------------------------------------------------------------------


def test_it_signs_from_the_editor(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.post(reverse("note-sign", args=[note.pk]), _form(case, note))
    assert response.status_code == 302
    assert response["Location"] == reverse("note-detail", args=[note.pk])
    note.refresh_from_db()
    assert note.status == NoteStatus.SIGNED
    assert note.service_code == "90834"


def test_it_names_the_empty_sections_and_keeps_the_draft(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.post(
        reverse("note-sign", args=[note.pk]), _form(case, note, assessment="", plan=" ")
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert "Assessment is required to sign." in body
    assert "Plan is required to sign." in body
    note.refresh_from_db()
    assert note.status == NoteStatus.DRAFT
    assert note.sections["data"] == DAP_TEXT["data"]
    assert f'value="{note.version}"' in body


def test_it_signs_under_16_minutes_without_a_code_and_says_so(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.post(
        reverse("note-sign", args=[note.pk]), _form(case, note, ended_at="11:20"), follow=True
    )
    assert "no psychotherapy code" in response.content.decode()
    assert Note.objects.get().service_code == ""


def test_it_refuses_a_second_signature(tom_client, case, tom):
    note = signed_note(case, tom)
    response = tom_client.post(reverse("note-sign", args=[note.pk]), _form(case, note))
    assert response["Location"] == reverse("note-detail", args=[note.pk])


# --- the note page -------------------------------------------------------------------------


def test_it_shows_a_signed_note_with_fingerprint_and_goals(tom_client, case, tom):
    note = signed_note(case, tom)
    response = tom_client.get(reverse("note-detail", args=[note.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Tom Fakename, LCSW" in body
    assert note.content_sha256 in body
    assert "verified" in body and "does not verify" not in body
    assert "90834" in body
    assert DAP_TEXT["assessment"] in body
    assert "Stay abstinent from alcohol" in body
    assert AuditEvent.objects.filter(
        action=Action.VIEW, object_type="note", patient_id=case.patient.pk
    ).exists()


def test_it_runs_a_constant_number_of_queries(tom_client, case, tom, django_assert_max_num_queries):
    note = signed_note(case, tom)
    for n in range(3):
        add_addendum(note, user=tom, text=f"Late entry {n}.")
    with django_assert_max_num_queries(16):
        assert tom_client.get(reverse("note-detail", args=[note.pk])).status_code == 200


def test_it_hides_another_sites_note(client, oscar, other_site, case, tom):
    note = signed_note(case, tom)
    sign_in(client, oscar, site=other_site)
    assert client.get(reverse("note-detail", args=[note.pk])).status_code == 404
    assert client.post(reverse("note-addendum", args=[note.pk]), {"text": "x"}).status_code == 404
    assert not Addendum.objects.exists()


def test_it_refuses_the_notes_to_roles_without_notes(client, site, case, tom):
    note = signed_note(case, tom)
    desk = make_user("fran", site=site, role=Role.FRONT_DESK)
    sign_in(client, desk, site=site)
    assert client.get(reverse("note-detail", args=[note.pk])).status_code == 403


def test_it_adds_an_addendum_below_the_original(tom_client, case, tom):
    note = signed_note(case, tom)
    response = tom_client.post(
        reverse("note-addendum", args=[note.pk]), {"text": "Client called back: safe."}, follow=True
    )
    body = response.content.decode()
    assert Addendum.objects.get().text == "Client called back: safe."
    assert body.index(DAP_TEXT["data"]) < body.index("Client called back: safe.")


def test_it_refuses_an_addendum_to_a_draft_or_without_text(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    response = tom_client.post(reverse("note-addendum", args=[note.pk]), {"text": "Early."})
    assert response.status_code == 409
    signed = signed_note(
        individual(case.patient.site, tom, first_name="Ann", last_name="Fake"), tom
    )
    response = tom_client.post(reverse("note-addendum", args=[signed.pk]), {"text": "  "})
    assert response.status_code == 422
    assert not Addendum.objects.exists()


@pytest.fixture
def supervised(site, tom):
    sue = make_user(
        "sue",
        site=site,
        role=Role.THERAPIST,
        first_name="Sue",
        last_name="Pervisor",
        credentials="LMFT",
        is_clinical_supervisor=True,
    )
    tom.supervisor = sue
    tom.save()
    return sue


def test_it_lets_the_supervisor_cosign(client, site, case, tom, supervised):
    note = signed_note(case, tom)
    sign_in(client, supervised, site=site)
    page = client.get(reverse("note-detail", args=[note.pk])).content.decode()
    assert "Co-sign" in page and "Awaiting co-signature" in page
    response = client.post(reverse("note-cosign", args=[note.pk]), follow=True)
    assert Cosignature.objects.get().cosigner == supervised
    assert "Co-signed by" in response.content.decode()


def test_it_refuses_cosigning_by_someone_not_a_supervisor(client, site, case, tom, supervised):
    note = signed_note(case, tom)
    tess = make_user("tess", site=site, role=Role.THERAPIST)
    sign_in(client, tess, site=site)
    assert (
        "note-cosign-button"
        not in client.get(reverse("note-detail", args=[note.pk])).content.decode()
    )
    assert client.post(reverse("note-cosign", args=[note.pk])).status_code == 403
    assert not Cosignature.objects.exists()


def test_it_refuses_a_second_cosignature(client, site, case, tom, supervised):
    note = signed_note(case, tom)
    sign_in(client, supervised, site=site)
    client.post(reverse("note-cosign", args=[note.pk]))
    assert client.post(reverse("note-cosign", args=[note.pk])).status_code == 409
    assert Cosignature.objects.count() == 1


# --- a patient's notes and the chart -------------------------------------------------------


def test_it_lists_only_this_patients_notes(
    tom_client, site, case, tom, django_assert_max_num_queries
):
    signed_note(case, tom)
    other = individual(site, tom, first_name="Zed", last_name="Otherperson")
    signed_note(other, tom, text={**DAP_TEXT, "data": "Zed's own words."})
    with django_assert_max_num_queries(14):
        response = tom_client.get(reverse("patient-notes", args=[case.patient.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('data-note="') == 1
    assert "Otherperson" not in body


def test_it_shows_notes_on_the_chart_with_constant_queries(tom_client, site, case, tom):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    signed_note(case, tom)
    url = reverse("patient-chart", args=[case.patient.pk])
    with CaptureQueriesContext(connection) as one:
        body = tom_client.get(url).content.decode()
    assert 'data-testid="chart-notes"' in body
    assert "90834" in body
    for n in range(4):
        note = signed_note(another_session(case, tom, ago_hours=3 + n * 24), tom)
        add_addendum(note, user=tom, text="Late entry.")
    with CaptureQueriesContext(connection) as many:
        tom_client.get(url)
    assert len(many) == len(one)
    assert 'data-testid="note-addenda-count"' in tom_client.get(url).content.decode()


def test_it_leaves_notes_off_the_chart_for_roles_without_notes(client, site, case, tom):
    signed_note(case, tom)
    desk = make_user("fran", site=site, role=Role.FRONT_DESK)
    sign_in(client, desk, site=site)
    body = client.get(reverse("patient-chart", args=[case.patient.pk])).content.decode()
    assert 'data-testid="chart-notes"' not in body


def test_it_signs_when_the_pages_own_autosave_landed_first(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    form = _form(case, note)
    tom_client.post(reverse("note-edit", args=[note.pk]), form, HTTP_HX_REQUEST="true")
    response = tom_client.post(reverse("note-sign", args=[note.pk]), form)
    assert response.status_code == 302
    assert Note.objects.get().is_signed


def test_it_refuses_to_sign_over_different_text_saved_elsewhere(tom_client, case, tom):
    note = start_individual_note(case.session, author=tom, format="dap")
    update_individual_note(note, user=tom, version=1, data={"data": "Other tab's words."})
    response = tom_client.post(reverse("note-sign", args=[note.pk]), _form(case, note))
    assert response.status_code == 409
    stored = Note.objects.get()
    assert not stored.is_signed
    assert stored.sections["data"] == "Other tab's words."
