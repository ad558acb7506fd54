"""signing.add_addendum and signing.cosign_note: append-only, fanned out to attendees."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.clinical.hashing import (
    addendum_content,
    cosignature_content,
    sha256_of,
    verify_note,
)
from openiop.clinical.models import Addendum, Cosignature, Note
from openiop.clinical.signing import add_addendum, cosign_note
from tests.factories import make_user
from tests.factories_clinical import held_group
from tests.factories_patients import make_patient
from tests.factories_signed_notes import make_group_note, make_individual_note


@pytest.fixture
def sam(site):
    """Sam Supervisorson, LCSW-S, a clinical supervisor."""
    return make_user(
        "sam",
        site=site,
        role=Role.THERAPIST,
        first_name="Sam",
        last_name="Supervisorson",
        credentials="LCSW-S",
        is_clinical_supervisor=True,
    )


@pytest.fixture
def patient(site):
    return make_patient(site, first_name="Delta", last_name="Placeholder")


def test_it_adds_a_signed_addendum_to_a_signed_note(site, tom, patient):
    note = make_individual_note(site, tom, patient)
    addendum = add_addendum(note, user=tom, text="  Late entry: patient called back.  ")
    assert addendum.text == "Late entry: patient called back."
    assert addendum.signer_name == "Tom Fakename, LCSW"
    assert addendum.author == tom
    assert addendum.content_sha256 == sha256_of(addendum_content(addendum))
    note.refresh_from_db()
    assert verify_note(note)
    event = AuditEvent.objects.get(object_type="addendum")
    assert event.patient_id == patient.pk
    assert event.object_id == str(addendum.pk)
    assert event.actor == tom


def test_it_refuses_an_addendum_to_a_draft(site, tom, patient):
    note = make_individual_note(site, tom, patient, signed=False)
    with pytest.raises(NoteConflict, match="sign the note first"):
        add_addendum(note, user=tom, text="Too early.")
    assert not Addendum.objects.exists()


@pytest.mark.parametrize("text", ["", "   \n ", "x" * 10_001])
def test_it_refuses_blank_or_overlong_text(site, tom, patient, text):
    note = make_individual_note(site, tom, patient)
    with pytest.raises(ValidationError) as caught:
        add_addendum(note, user=tom, text=text)
    assert list(caught.value.message_dict) == ["text"]
    assert not Addendum.objects.exists()


def test_it_accepts_the_longest_text(site, tom, patient):
    note = make_individual_note(site, tom, patient)
    assert len(add_addendum(note, user=tom, text="y" * 10_000).text) == 10_000


def test_it_adds_a_group_addendum_to_every_attendee_in_constant_queries(
    site, tom, django_assert_max_num_queries
):
    group = held_group(site, tom)
    note = make_group_note(group, tom)
    with django_assert_max_num_queries(8):
        addendum = add_addendum(note, user=tom, text="The room was changed.")
    assert addendum.note == note
    members = Note.objects.filter(group_note=note)
    assert members.count() == 3
    for member in members:
        (copy,) = member.addenda.all()
        assert copy.text == "The room was changed."
        assert copy.content_sha256 == sha256_of(addendum_content(copy))
    events = AuditEvent.objects.filter(object_type="addendum")
    assert sorted(events.values_list("patient_id", flat=True)) == sorted(
        p.pk for p in group.patients
    )
    assert {e.actor_id for e in events} == {tom.pk}


def test_it_keeps_the_query_count_for_a_larger_group(site, tom, django_assert_max_num_queries):
    members = [(f"Member{i}", "Bulkcase", "present", 180) for i in range(12)]
    note = make_group_note(held_group(site, tom, members=members), tom, requires_cosign=True)
    sam = make_user("sam2", site=site, role=Role.THERAPIST, is_clinical_supervisor=True)
    with django_assert_max_num_queries(8):
        add_addendum(note, user=tom, text="Same for all.")
    with django_assert_max_num_queries(8):
        cosign_note(note, user=sam)
    assert Addendum.objects.count() == 13
    assert Cosignature.objects.count() == 13


def test_it_adds_an_addendum_to_one_attendee_note_only(site, tom):
    group = held_group(site, tom)
    note = make_group_note(group, tom)
    member = Note.objects.filter(group_note=note).first()
    add_addendum(member, user=tom, text="Only about this patient.")
    assert Addendum.objects.get().note == member


def test_it_cosigns_a_supervised_note(site, tom, sam, patient):
    note = make_individual_note(site, tom, patient, requires_cosign=True)
    cosignature = cosign_note(note, user=sam)
    assert cosignature.signer_name == "Sam Supervisorson, LCSW-S"
    assert cosignature.content_sha256 == sha256_of(cosignature_content(cosignature))
    assert AuditEvent.objects.get(object_type="cosignature").patient_id == patient.pk


def test_it_cosigns_a_group_note_and_its_members(site, tom, sam):
    group = held_group(site, tom)
    note = make_group_note(group, tom, requires_cosign=True)
    cosign_note(note, user=sam)
    assert Cosignature.objects.count() == 4
    assert all(hasattr(m, "cosignature") for m in Note.objects.filter(group_note=note))
    assert AuditEvent.objects.filter(object_type="cosignature").count() == 3


def test_it_refuses_a_cosignature_by_someone_not_a_supervisor(site, tom, dana, patient):
    note = make_individual_note(site, tom, patient, requires_cosign=True)
    with pytest.raises(NotPermitted, match="clinical supervisor"):
        cosign_note(note, user=dana)
    assert not Cosignature.objects.exists()


def test_it_refuses_a_cosignature_by_the_author(site, sam, patient):
    note = make_individual_note(site, sam, patient, requires_cosign=True)
    with pytest.raises(NotPermitted, match="You wrote"):
        cosign_note(note, user=sam)


def test_it_refuses_a_note_that_needs_no_cosignature(site, tom, sam, patient):
    note = make_individual_note(site, tom, patient)
    with pytest.raises(NoteConflict, match="does not need"):
        cosign_note(note, user=sam)


def test_it_refuses_a_second_cosignature(site, tom, sam, patient):
    note = make_individual_note(site, tom, patient, requires_cosign=True)
    cosign_note(note, user=sam)
    other = make_user("sue", site=site, role=Role.DIRECTOR, is_clinical_supervisor=True)
    with pytest.raises(NoteConflict, match="already co-signed"):
        cosign_note(note, user=other)
    assert Cosignature.objects.count() == 1


def test_it_refuses_to_cosign_a_draft(site, tom, sam, patient):
    note = make_individual_note(site, tom, patient, signed=False)
    with pytest.raises(NoteConflict, match="draft"):
        cosign_note(note, user=sam)


def test_it_cosigns_attendee_notes_only_through_the_group_note(site, tom, sam):
    note = make_group_note(held_group(site, tom), tom, requires_cosign=True)
    member = Note.objects.filter(group_note=note).first()
    with pytest.raises(NoteConflict, match="co-sign the group note"):
        cosign_note(member, user=sam)
    assert not Cosignature.objects.exists()
