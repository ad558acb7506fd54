"""The PDF leg of the fan-out privacy test: an attendee's group note, issued as a PDF, holds
no other attendee's name, MRN or id (issue 4 §1), and a group note itself cannot be issued."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from openiop.clinical.disclosures import CLINICAL_NOTE, issue_document
from openiop.clinical.group_notes import create_group_note, sign_group_note
from openiop.clinical.models import Disclosure, DisclosureBasis
from tests.factories_clinical import held_group, make_plan
from tests.factories_documents import pdf_text

# Names no other content can contain (no template text, no clinician, no goal).
MEMBERS = [
    ("Xanthippe", "Quorblewick", "present", 180),
    ("Yevgenia", "Zarkovnitz", "late", 150),
    ("Wilhelmus", "Pffeffernuss", "left_early", 90),
    ("Ulrike", "Vandersnoot", "no_show", None),
]


@pytest.fixture
def member_notes(site, tom):
    group = held_group(site, tom, members=MEMBERS)
    goals = {
        patient.pk: make_plan(patient, enrollment, tom, goals=(f"Own goal of attendee {n}",))
        .goals.first()
        .pk
        for n, (patient, enrollment) in enumerate(
            zip(group.patients, group.enrollments, strict=True), start=1
        )
    }
    entries = [
        {
            "patient_id": patient.pk,
            "participation": "Shared a recent trigger and a plan for it.",
            "mood": "Anxious at first, calmer by the end.",
            "response": "Practised the breathing exercise.",
            "progress": "Used a coping skill twice this week.",
            "goal_ids": [goals[patient.pk]],
            "risk": "None observed.",
            "plan": "Continue group attendance.",
        }
        for patient, (_, _, status, _) in zip(group.patients, MEMBERS, strict=True)
        if status != "no_show"
    ]
    note = create_group_note(
        group.session,
        author=tom,
        shared={
            "topic": "Stress and cravings",
            "summary": "The group discussed stress as a trigger.",
            "interventions": "Psychoeducation; diaphragmatic breathing.",
        },
        entries=entries,
    )
    members = sign_group_note(note, user=tom)
    assert len(members) == len(MEMBERS)
    return group, note, members


def _issue(patient, note_id, tom):
    return issue_document(
        patient=patient,
        kind=CLINICAL_NOTE,
        recipient="Dr. Example Primary Care",
        purpose="Coordination of care",
        basis=DisclosureBasis.PATIENT_CONSENT,
        by=tom,
        note_id=note_id,
    )


def test_each_attendees_note_pdf_names_no_other_attendee(tom, member_notes):
    group, _, members = member_notes
    by_patient = {m.patient_id: m for m in members}
    for index, patient in enumerate(group.patients, start=1):
        text = pdf_text(_issue(patient, by_patient[patient.pk].pk, tom).pdf)
        # Its own identity and its own goal are there, so the checks below can fail.
        assert patient.last_name in text and patient.mrn in text
        if MEMBERS[index - 1][2] != "no_show":
            assert f"Own goal of attendee {index}" in text
        assert "Stress and cravings" in text
        for other_index, other in enumerate(group.patients, start=1):
            if other.pk == patient.pk:
                continue
            for identifier in (other.first_name, other.last_name, other.mrn):
                assert identifier.lower() not in text.lower(), (identifier, patient.last_name)
            assert f"Own goal of attendee {other_index}" not in text
            assert not re.search(rf"(#|\bid |patient ){other.pk}\b", text)


def test_a_group_note_itself_cannot_be_issued(tom, member_notes):
    group, note, _ = member_notes
    with pytest.raises(ValidationError) as caught:
        _issue(group.patients[0], note.pk, tom)
    assert "note" in caught.value.message_dict
    assert not Disclosure.objects.exists()


def test_another_attendees_note_cannot_be_issued_from_this_chart(tom, member_notes):
    group, _, members = member_notes
    first, second = group.patients[:2]
    foreign = next(m for m in members if m.patient_id == second.pk)
    with pytest.raises(ValidationError) as caught:
        _issue(first, foreign.pk, tom)
    assert caught.value.message_dict == {"note": ["Choose one of this patient's notes."]}
    assert not Disclosure.objects.exists()
