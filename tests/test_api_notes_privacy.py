"""The fan-out privacy test for the API: an attendee's note, read on its own or in the
patient's list, holds no other attendee's name, MRN or patient id (issue 4 §1)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openiop.clinical.models import Note
from tests.factories_clinical import held_group, make_plan
from tests.test_api_notes import Api

# Names no other content can contain (no template text, no clinician, no goal).
MEMBERS = [
    ("Xanthippe", "Quorblewick", "present", 180),
    ("Yevgenia", "Zarkovnitz", "late", 150),
    ("Wilhelmus", "Pffeffernuss", "left_early", 90),
    ("Ulrike", "Vandersnoot", "no_show", None),
]


def patient_ids_in(value: Any, key: str = "") -> list[int]:
    """Every value under a key naming a patient, anywhere in the JSON."""
    found: list[int] = []
    if isinstance(value, dict):
        for name, item in value.items():
            found += patient_ids_in(item, name)
    elif isinstance(value, list):
        for item in value:
            found += patient_ids_in(item, key)
    elif "patient" in key and value is not None:
        found.append(value)
    return found


@pytest.fixture
def signed_group(site, tom):
    group = held_group(site, tom, members=MEMBERS)
    goals = {
        patient.pk: make_plan(patient, enrollment, tom).goals.first().pk
        for patient, enrollment in zip(group.patients, group.enrollments, strict=True)
    }
    api = Api(tom)
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
    response = api.post(
        f"/sessions/{group.session.pk}/group-note",
        {
            "shared": {
                "topic": "Stress and cravings",
                "summary": "The group discussed stress as a trigger.",
                "interventions": "Psychoeducation; diaphragmatic breathing.",
            },
            "entries": entries,
        },
    )
    assert response.status_code == 201, response.content
    note_id = response.json()["id"]
    signed = api.post(f"/notes/{note_id}/sign")
    assert signed.status_code == 200, signed.content
    api.post(f"/notes/{note_id}/addenda", {"text": "Session ran five minutes over."})
    return group, api, signed.json()


def test_each_attendee_sees_only_their_own_part(signed_group):
    group, api, signed = signed_group
    assert len(signed["member_note_ids"]) == len(MEMBERS)
    for patient in group.patients:
        others = [other for other in group.patients if other.pk != patient.pk]
        listing = api.get(f"/patients/{patient.pk}/notes")
        (item,) = listing.json()["results"]
        detail = api.get(f"/notes/{item['id']}")
        assert detail.status_code == 200
        assert Note.objects.get(pk=item["id"]).patient_id == patient.pk
        for response in (listing, detail):
            text = response.content.decode()
            for other in others:
                for identifier in (other.first_name, other.last_name, other.mrn):
                    assert identifier.lower() not in text.lower(), (identifier, text)
            assert set(patient_ids_in(json.loads(text))) == {patient.pk}
        # Its own goal only: the golden thread does not leak the others' plans.
        own_goals = set(
            Note.objects.get(pk=item["id"]).goal_links.values_list("goal_id", flat=True)
        )
        assert set(detail.json()["goal_ids"]) == own_goals


def test_the_group_note_is_in_no_patients_list(signed_group):
    group, api, signed = signed_group
    for patient in group.patients:
        ids = {item["id"] for item in api.get(f"/patients/{patient.pk}/notes").json()["results"]}
        assert signed["id"] not in ids


def test_the_names_would_be_caught(signed_group):
    """The test above can fail: the group note itself does name every attendee."""
    group, api, signed = signed_group
    text = api.get(f"/notes/{signed['id']}").content.decode()
    for patient in group.patients:
        assert patient.last_name in text
