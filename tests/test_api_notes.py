"""The notes API: group and individual notes from held sessions, edits with ``version``,
signing and its fan-out, addenda, co-signatures, and the bad inputs of issue 4."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.audit.models import Action, AuditEvent
from openiop.clinical.hashing import verify_note
from openiop.clinical.models import Addendum, Cosignature, GroupNoteEntry, Note, NoteKind
from openiop.scheduling.models import SessionKind, SessionStatus
from tests.factories import make_user
from tests.factories_clinical import held_group, held_individual, make_plan
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_booking, make_session

SUMMARY_KEYS = {
    "id",
    "kind",
    "format",
    "status",
    "version",
    "session_id",
    "patient_id",
    "started_at",
    "ended_at",
    "attendance_status",
    "minutes",
    "service_code",
    "author_id",
    "author_name",
    "signed_at",
    "signer_name",
    "content_sha256",
    "addenda_count",
    "requires_cosign",
    "cosign_state",
    "cosigned_at",
    "cosigner_name",
}
NOTE_KEYS = SUMMARY_KEYS | {
    "group_note_id",
    "shared",
    "sections",
    "goal_ids",
    "addenda",
    "cosignature",
    "verified",
    "entries",
    "member_note_ids",
}
SHARED = {
    "topic": "Managing cravings",
    "summary": "Group practised urge surfing and shared coping plans.",
    "interventions": "CBT skills practice; motivational interviewing.",
}
ENTRY_TEXT = {
    "participation": "Engaged and offered examples.",
    "mood": "Euthymic, congruent affect.",
    "response": "Receptive to urge surfing.",
    "progress": "Identified two new coping skills.",
    "risk": "None observed.",
    "plan": "Continue IOP three times a week.",
}


class Api:
    """A bearer-token client for one user."""

    def __init__(self, user: Any) -> None:
        self.client = Client()
        self.auth = f"Bearer {create_api_token(user=user, name='test').secret}"

    def call(self, method: str, url: str, body: Any = None) -> Any:
        return self.client.generic(
            method,
            f"/api/v1{url}",
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            HTTP_AUTHORIZATION=self.auth,
        )

    def get(self, url: str) -> Any:
        return self.call("GET", url)

    def post(self, url: str, body: Any = None) -> Any:
        return self.call("POST", url, body if body is not None else {})

    def patch(self, url: str, body: Any) -> Any:
        return self.call("PATCH", url, body)

    def delete(self, url: str) -> Any:
        return self.call("DELETE", url)


def fields(response: Any) -> list[str]:
    return [error["field"] for error in response.json()["detail"]]


@pytest.fixture
def api(tom):
    return Api(tom)


@pytest.fixture
def group(site, tom):
    """Alpha Testcase (present), Bravo Samplename (late), Charlie Fakerson (no-show)."""
    return held_group(site, tom)


@pytest.fixture
def sam(site):
    return make_user(
        "sam",
        site=site,
        role=Role.THERAPIST,
        first_name="Sam",
        last_name="Supervisorson",
        credentials="LCSW-S",
        is_clinical_supervisor=True,
    )


def full_entries(group) -> list[dict[str, Any]]:
    """Entries for the two attendees (the no-show keeps its prefilled absence note)."""
    return [{"patient_id": patient.pk, **ENTRY_TEXT} for patient in group.patients[:2]]


def write_group_note(api: Api, group, **body: Any) -> dict[str, Any]:
    payload = {"shared": SHARED, "entries": full_entries(group), **body}
    response = api.post(f"/sessions/{group.session.pk}/group-note", payload)
    assert response.status_code == 201, response.content
    return response.json()


# --- The contract, end to end -----------------------------------------------------------


def test_it_writes_edits_signs_and_fans_out_a_group_note(api, group, tom):
    response = api.post(
        f"/sessions/{group.session.pk}/group-note",
        {
            "shared": {"topic": "Managing cravings"},
            "entries": [{"patient_id": group.patients[0].pk, "participation": "Engaged."}],
        },
    )
    assert response.status_code == 201, response.content
    note = response.json()
    assert set(note) == NOTE_KEYS
    assert note["kind"] == "group"
    assert note["status"] == "draft"
    assert note["patient_id"] is None
    assert note["shared"]["topic"] == "Managing cravings"
    assert note["author_name"] == "Tom Fakename, LCSW"
    # By last name: Fakerson, Samplename, Testcase.
    assert [entry["patient_id"] for entry in note["entries"]] == [
        group.patients[2].pk,
        group.patients[1].pk,
        group.patients[0].pk,
    ]
    by_patient = {entry["patient_id"]: entry for entry in note["entries"]}
    assert by_patient[group.patients[0].pk]["participation"] == "Engaged."
    assert by_patient[group.patients[2].pk]["attendance_status"] == "no_show"

    response = api.patch(
        f"/notes/{note['id']}",
        {"version": note["version"], **SHARED, "entries": full_entries(group)},
    )
    assert response.status_code == 200, response.content
    edited = response.json()
    assert edited["version"] > note["version"]
    assert edited["shared"]["summary"] == SHARED["summary"]

    response = api.post(f"/notes/{note['id']}/sign")
    assert response.status_code == 200, response.content
    signed = response.json()
    assert signed["status"] == "signed"
    assert signed["verified"] is True
    assert signed["signer_name"] == "Tom Fakename, LCSW"
    assert len(signed["member_note_ids"]) == 3

    for patient in group.patients:
        listing = api.get(f"/patients/{patient.pk}/notes")
        assert listing.status_code == 200
        page = listing.json()
        assert page["count"] == 1
        assert page["next_offset"] is None
        (item,) = page["results"]
        assert set(item) == SUMMARY_KEYS
        assert item["kind"] == "group_member"
        assert item["patient_id"] == patient.pk
        assert item["id"] in signed["member_note_ids"]
        member = api.get(f"/notes/{item['id']}").json()
        assert member["verified"] is True
        assert member["group_note_id"] == note["id"]
        assert member["shared"]["summary"] == SHARED["summary"]
        assert member["entries"] is None
    attended = api.get(f"/patients/{group.patients[0].pk}/notes").json()["results"][0]
    assert attended["service_code"] == "90853"
    assert attended["status"] == "signed"


def test_it_pages_a_patients_notes_newest_first(api, site, tom, django_assert_max_num_queries):
    patient = make_patient(site, first_name="Echo", last_name="Pagerson")
    ids = []
    for hours in (30, 20, 10):
        session, _ = held_individual(site, tom, patient, ago_hours=hours)
        response = api.post(
            f"/sessions/{session.pk}/individual-note",
            {"format": "dap", "sections": {"data": "Talked."}},
        )
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    with django_assert_max_num_queries(12):
        page = api.get(f"/patients/{patient.pk}/notes?limit=2").json()
    assert page["count"] == 3
    assert [item["id"] for item in page["results"]] == [ids[2], ids[1]]
    assert page["next_offset"] == 2
    rest = api.get(f"/patients/{patient.pk}/notes?limit=2&offset=2").json()
    assert [item["id"] for item in rest["results"]] == [ids[0]]
    assert rest["next_offset"] is None


def test_it_reads_a_group_note_in_constant_queries(api, site, tom, django_assert_max_num_queries):
    members = [(f"Member{i}", "Bulkcase", "present", 180) for i in range(12)]
    big = held_group(site, tom, members=members)
    note = write_group_note(api, big, entries=[])
    with django_assert_max_num_queries(14):
        response = api.get(f"/notes/{note['id']}")
    assert len(response.json()["entries"]) == 12


def test_it_audits_every_read_with_the_patient(api, group, tom):
    note = write_group_note(api, group)
    api.post(f"/notes/{note['id']}/sign")
    patient = group.patients[0]
    member_id = api.get(f"/patients/{patient.pk}/notes").json()["results"][0]["id"]
    before = AuditEvent.objects.filter(patient_id=patient.pk, action=Action.VIEW).count()
    api.get(f"/notes/{member_id}")
    assert AuditEvent.objects.filter(patient_id=patient.pk, action=Action.VIEW).count() == (
        before + 1
    )
    api.get(f"/notes/{note['id']}")
    event = AuditEvent.objects.filter(object_type="group_note", action=Action.VIEW).first()
    assert event is not None
    assert str(group.patients[2].pk) in event.detail


def test_it_writes_and_signs_an_individual_note(api, site, tom):
    patient = make_patient(site, first_name="Foxtrot", last_name="Singleton")
    session, _ = held_individual(site, tom, patient, minutes=50)
    response = api.post(
        f"/sessions/{session.pk}/individual-note",
        {
            "format": "birp",
            "sections": {"behavior": "Calm.", "intervention": "CBT.", "response": "Good."},
        },
    )
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["kind"] == "individual"
    assert note["format"] == "birp"
    assert note["sections"]["behavior"] == "Calm."
    response = api.post(f"/notes/{note['id']}/sign")
    assert response.status_code == 422
    assert fields(response) == ["note.sections.plan"]
    response = api.patch(
        f"/notes/{note['id']}", {"version": note["version"], "sections": {"plan": "Weekly."}}
    )
    assert response.status_code == 200, response.content
    response = api.post(f"/notes/{note['id']}/sign")
    assert response.status_code == 200, response.content
    assert response.json()["service_code"] == "90834"
    assert response.json()["verified"] is True
    assert response.json()["member_note_ids"] is None


# --- Bad input ---------------------------------------------------------------------------


def test_it_names_each_empty_required_field_when_signing(api, group):
    note = write_group_note(api, group, shared={"topic": "Cravings"}, entries=[])
    response = api.post(f"/notes/{note['id']}/sign")
    assert response.status_code == 422
    named = fields(response)
    assert "note.summary" in named
    assert "note.interventions" in named
    # Entries are numbered as GET lists them: Fakerson (absent, prefilled absence note),
    # Samplename, Testcase.
    order = [entry["patient_id"] for entry in note["entries"]]
    alpha = order.index(group.patients[0].pk)
    assert f"note.entries.{alpha}.participation" in named
    assert f"note.entries.{alpha}.risk" in named
    assert not any(
        name.startswith(f"note.entries.{order.index(group.patients[2].pk)}.") for name in named
    )
    assert all(error["type"] == "value_error" for error in response.json()["detail"])
    assert Note.objects.get(pk=note["id"]).status == "draft"
    assert not Note.objects.filter(kind=NoteKind.GROUP_MEMBER).exists()


def test_it_refuses_a_second_signature(api, group):
    note = write_group_note(api, group)
    assert api.post(f"/notes/{note['id']}/sign").status_code == 200
    response = api.post(f"/notes/{note['id']}/sign")
    assert response.status_code == 409
    assert "addendum" in response.json()["detail"]
    assert Note.objects.filter(kind=NoteKind.GROUP_MEMBER).count() == 3


def test_it_refuses_a_signature_by_someone_else(api, group, site):
    note = write_group_note(api, group)
    tina = make_user("tina", site=site, role=Role.THERAPIST, first_name="Tina")
    response = Api(tina).post(f"/notes/{note['id']}/sign")
    assert response.status_code == 403
    assert Note.objects.get(pk=note["id"]).status == "draft"


def test_it_refuses_an_addendum_to_a_draft(api, group):
    note = write_group_note(api, group)
    response = api.post(f"/notes/{note['id']}/addenda", {"text": "Late entry."})
    assert response.status_code == 409
    assert "sign the note first" in response.json()["detail"]
    assert not Addendum.objects.exists()


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "x" * 10_001}, {"text": None}])
def test_it_refuses_an_addendum_without_proper_text(api, group, body):
    note = write_group_note(api, group)
    api.post(f"/notes/{note['id']}/sign")
    response = api.post(f"/notes/{note['id']}/addenda", body)
    assert response.status_code == 422
    assert fields(response) == ["payload.text"]
    assert not Addendum.objects.exists()


def test_it_refuses_a_blank_addendum_the_service_sees(api, group):
    note = write_group_note(api, group)
    api.post(f"/notes/{note['id']}/sign")
    response = api.post(f"/notes/{note['id']}/addenda", {"text": "   "})
    assert response.status_code == 422
    assert fields(response) == ["payload.text"]


def test_it_adds_an_addendum_to_the_group_and_every_attendee(api, group):
    note = write_group_note(api, group)
    api.post(f"/notes/{note['id']}/sign")
    response = api.post(f"/notes/{note['id']}/addenda", {"text": "Room changed to 2B."})
    assert response.status_code == 201, response.content
    assert set(response.json()) == {
        "id",
        "author_id",
        "signer_name",
        "text",
        "signed_at",
        "content_sha256",
    }
    for patient in group.patients:
        (item,) = api.get(f"/patients/{patient.pk}/notes").json()["results"]
        assert item["addenda_count"] == 1
        member = api.get(f"/notes/{item['id']}").json()
        assert [a["text"] for a in member["addenda"]] == ["Room changed to 2B."]
        assert member["verified"] is True


def test_it_refuses_a_goal_from_another_patients_plan(api, group, tom):
    alpha, bravo = group.patients[0], group.patients[1]
    make_plan(alpha, group.enrollments[0], tom)
    bravo_goal = make_plan(bravo, group.enrollments[1], tom).goals.first()
    note = write_group_note(api, group, entries=[])
    response = api.patch(
        f"/notes/{note['id']}",
        {
            "version": note["version"],
            "summary": "Changed summary.",
            "entries": [{"patient_id": alpha.pk, "goal_ids": [bravo_goal.pk]}],
        },
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.entries.0.goal_ids"]
    stored = Note.objects.get(pk=note["id"])
    assert stored.version == note["version"]
    assert stored.summary == SHARED["summary"]


def test_it_refuses_a_goal_of_another_patient_when_creating(api, group, tom):
    bravo_goal = make_plan(group.patients[1], group.enrollments[1], tom).goals.first()
    response = api.post(
        f"/sessions/{group.session.pk}/group-note",
        {
            "shared": SHARED,
            "entries": [{"patient_id": group.patients[0].pk, "goal_ids": [bravo_goal.pk]}],
        },
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.entries.0.goal_ids"]
    assert not Note.objects.exists()
    assert not GroupNoteEntry.objects.exists()


def test_it_refuses_a_note_for_a_session_that_has_not_happened(api, site, tom):
    session = make_session(site, tom, timezone.now() + timedelta(hours=2))
    make_booking(session, make_patient(site, first_name="Golf", last_name="Futurecase"))
    response = api.post(f"/sessions/{session.pk}/group-note", {"shared": SHARED})
    assert response.status_code == 409
    assert "not ended" in response.json()["detail"]
    assert not Note.objects.exists()


def test_it_refuses_an_individual_note_for_a_future_session(api, site, tom):
    patient = make_patient(site, first_name="Hotel", last_name="Latercase")
    session = make_session(
        site,
        tom,
        timezone.now() + timedelta(days=1),
        50,
        group_type=None,
        kind=SessionKind.INDIVIDUAL,
        capacity=1,
    )
    make_booking(session, patient, kind="individual")
    response = api.post(f"/sessions/{session.pk}/individual-note", {"format": "dap"})
    assert response.status_code == 409
    assert not Note.objects.exists()


def test_it_refuses_a_cancelled_session(api, site, tom):
    session = make_session(
        site,
        tom,
        timezone.now() - timedelta(hours=5),
        status=SessionStatus.CANCELLED,
        cancel_reason="Holiday",
    )
    response = api.post(f"/sessions/{session.pk}/group-note", {})
    assert response.status_code == 409
    assert "cancelled" in response.json()["detail"]


def test_it_refuses_a_group_note_for_an_individual_session(api, site, tom):
    patient = make_patient(site, first_name="India", last_name="Solocase")
    session, _ = held_individual(site, tom, patient)
    response = api.post(f"/sessions/{session.pk}/group-note", {})
    assert response.status_code == 409
    assert not Note.objects.exists()


def test_it_refuses_a_second_group_note(api, group):
    write_group_note(api, group)
    response = api.post(f"/sessions/{group.session.pk}/group-note", {"shared": SHARED})
    assert response.status_code == 409
    assert "already" in response.json()["detail"]
    assert Note.objects.count() == 1


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ([{"patient_id": 99_999_999}], "payload.entries.0.patient_id"),
        ([{"participation": "No id."}], "payload.entries.0.patient_id"),
        ([{"patient_id": 1, "favourite_colour": "teal"}], "payload.entries.0.favourite_colour"),
        ([{"patient_id": 5, "mood": None}], "payload.entries.0.mood"),
        ([{"patient_id": 5, "goal_ids": ["x"]}], "payload.entries.0.goal_ids.0"),
    ],
)
def test_it_names_the_bad_entry_field(api, group, entries, field):
    response = api.post(
        f"/sessions/{group.session.pk}/group-note", {"shared": SHARED, "entries": entries}
    )
    assert response.status_code == 422, response.content
    assert field in fields(response)
    assert not Note.objects.exists()


def test_it_refuses_a_patient_given_twice(api, group):
    patient_id = group.patients[0].pk
    response = api.post(
        f"/sessions/{group.session.pk}/group-note",
        {"entries": [{"patient_id": patient_id}, {"patient_id": patient_id}]},
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.entries"]


def test_it_refuses_individual_fields_on_a_group_note(api, group):
    note = write_group_note(api, group)
    response = api.patch(
        f"/notes/{note['id']}", {"version": note["version"], "sections": {"data": "x"}}
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.sections"]


def test_it_refuses_an_unknown_section(api, site, tom):
    patient = make_patient(site, first_name="Juliet", last_name="Sectioncase")
    session, _ = held_individual(site, tom, patient)
    response = api.post(
        f"/sessions/{session.pk}/individual-note",
        {"format": "soap", "sections": {"data": "DAP section in a SOAP note."}},
    )
    assert response.status_code == 422
    assert fields(response) == ["payload.sections.data"]
    assert not Note.objects.exists()


def test_it_refuses_a_stale_version(api, group):
    note = write_group_note(api, group)
    first = api.patch(f"/notes/{note['id']}", {"version": note["version"], "topic": "One"})
    assert first.status_code == 200
    second = api.patch(f"/notes/{note['id']}", {"version": note["version"], "topic": "Two"})
    assert second.status_code == 409
    assert Note.objects.get(pk=note["id"]).topic == "One"


def test_it_refuses_to_edit_an_attendees_note(api, group):
    note = write_group_note(api, group)
    api.post(f"/notes/{note['id']}/sign")
    member = Note.objects.filter(group_note_id=note["id"]).first()
    response = api.patch(f"/notes/{member.pk}", {"version": member.version, "topic": "X"})
    assert response.status_code == 409
    assert "addendum" in response.json()["detail"]


def test_it_hides_notes_of_other_sites(group, api, oscar):
    note = write_group_note(api, group)
    outsider = Api(oscar)
    assert outsider.get(f"/notes/{note['id']}").status_code == 404
    assert outsider.get(f"/patients/{group.patients[0].pk}/notes").status_code == 404
    assert outsider.post(f"/notes/{note['id']}/sign").status_code == 404
    assert outsider.patch(f"/notes/{note['id']}", {"version": 1}).status_code == 404
    assert outsider.delete(f"/notes/{note['id']}").status_code == 404
    assert Note.objects.get(pk=note["id"]).status == "draft"


# --- Co-signature ------------------------------------------------------------------------


def test_it_cosigns_a_supervised_clinicians_group_note(api, group, tom, sam):
    tom.supervisor = sam
    tom.save()
    note = write_group_note(api, group)
    signed = api.post(f"/notes/{note['id']}/sign").json()
    assert signed["requires_cosign"] is True
    assert signed["cosign_state"] == "pending"
    response = Api(sam).post(f"/notes/{note['id']}/cosign")
    assert response.status_code == 201, response.content
    assert response.json()["signer_name"] == "Sam Supervisorson, LCSW-S"
    for patient in group.patients:
        (item,) = api.get(f"/patients/{patient.pk}/notes").json()["results"]
        assert item["cosign_state"] == "cosigned"
        assert item["cosigner_name"] == "Sam Supervisorson, LCSW-S"
    again = Api(sam).post(f"/notes/{note['id']}/cosign")
    assert again.status_code == 409
    assert Cosignature.objects.count() == 4


def test_it_refuses_a_cosignature_by_a_clinician_who_is_not_a_supervisor(api, group, tom, sam):
    tom.supervisor = sam
    tom.save()
    note = write_group_note(api, group)
    api.post(f"/notes/{note['id']}/sign")
    tina = make_user("tina", site=group.session.site, role=Role.THERAPIST)
    response = Api(tina).post(f"/notes/{note['id']}/cosign")
    assert response.status_code == 403
    assert "supervisor" in response.json()["detail"]
    assert not Cosignature.objects.exists()


def test_it_refuses_a_cosignature_to_a_note_that_needs_none(api, group, sam):
    note = write_group_note(api, group)
    api.post(f"/notes/{note['id']}/sign")
    response = Api(sam).post(f"/notes/{note['id']}/cosign")
    assert response.status_code == 409
    assert not Cosignature.objects.exists()


def test_it_refuses_a_cosignature_by_a_role_without_the_permission(group, site, api):
    note = write_group_note(api, group)
    nurse = make_user("nina", site=site, role=Role.NURSE, is_clinical_supervisor=True)
    assert Api(nurse).post(f"/notes/{note['id']}/cosign").status_code == 403


# --- Immutability and discarding drafts --------------------------------------------------


def test_it_refuses_to_change_or_delete_a_signed_note(api, group):
    note = write_group_note(api, group)
    signed = api.post(f"/notes/{note['id']}/sign").json()
    stored = Note.objects.get(pk=note["id"])
    member = Note.objects.filter(group_note=stored).first()
    member_before = (member.content_sha256, member.updated_at, member.sections)
    for note_id, version in ((stored.pk, stored.version), (member.pk, member.version)):
        response = api.patch(f"/notes/{note_id}", {"version": version, "topic": "Rewritten"})
        assert response.status_code == 409
        assert "addendum" in response.json()["detail"]
        response = api.delete(f"/notes/{note_id}")
        assert response.status_code == 409
        assert "addendum" in response.json()["detail"]
    after = Note.objects.get(pk=note["id"])
    assert after.topic == SHARED["topic"]
    assert after.version == stored.version
    assert after.updated_at == stored.updated_at
    assert after.content_sha256 == signed["content_sha256"]
    assert verify_note(after)
    member.refresh_from_db()
    assert (member.content_sha256, member.updated_at, member.sections) == member_before
    assert verify_note(member)


def test_it_discards_a_draft_for_its_author_only(api, group, site):
    note = write_group_note(api, group)
    tina = make_user("tina", site=site, role=Role.THERAPIST)
    assert Api(tina).delete(f"/notes/{note['id']}").status_code == 403
    assert Note.objects.filter(pk=note["id"]).exists()
    response = api.delete(f"/notes/{note['id']}")
    assert response.status_code == 204
    assert not Note.objects.exists()
    assert not GroupNoteEntry.objects.exists()
    deleted = AuditEvent.objects.filter(action=Action.DELETE, object_type="note")
    assert sorted(deleted.values_list("patient_id", flat=True)) == sorted(
        p.pk for p in group.patients
    )
    # The session may have its group note written again.
    write_group_note(api, group)


def test_it_answers_json_404_for_a_missing_note(api):
    response = api.get("/notes/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
