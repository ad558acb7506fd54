"""The group-note services: start, edit (whole note, shared part, one entry) and sign."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.clinical.errors import SIGNED_NOTE_MESSAGE, NoteConflict, NotPermitted
from openiop.clinical.group_notes import (
    GROUP_SERVICE_CODE,
    create_group_note,
    entry_state,
    save_group_entry,
    save_group_shared,
    sign_group_note,
    start_group_note,
    update_group_note,
)
from openiop.clinical.hashing import verify_note
from openiop.clinical.models import EntryGoal, GroupNoteEntry, Note, NoteGoal, NoteKind
from openiop.scheduling.models import AttendanceStatus, CurriculumModule, SessionKind
from tests.factories import make_user
from tests.factories_clinical import held_group, held_individual, make_plan
from tests.factories_patients import make_patient
from tests.factories_programs import make_program
from tests.factories_scheduling import make_session

SHARED = {
    "topic": "Coping with cravings",
    "summary": "Psychoeducation on the craving curve, urge surfing practice, discussion.",
    "interventions": "CBT psychoeducation; urge-surfing exercise; motivational interviewing.",
}
FILLED = {
    "participation": "Engaged throughout, volunteered an example.",
    "mood": "Euthymic, congruent affect.",
    "response": "Practised urge surfing and named one trigger.",
    "progress": "Reports three days without use; working on the sober-support goal.",
    "risk": "None observed.",
    "plan": "Continue IOP; practise urge surfing daily.",
}


def members(n: int) -> list[tuple[str, str, str, int | None]]:
    statuses = [AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.NO_SHOW]
    rows = []
    for i in range(n):
        status = statuses[i % 3]
        minutes = None if status == AttendanceStatus.NO_SHOW else 150
        rows.append((f"Member{i:02d}", f"Fakeperson{i:02d}", status, minutes))
    return rows


@pytest.fixture
def group(site, tom):
    return held_group(site, tom)


@pytest.fixture
def note(group, tom):
    return start_group_note(group.session, author=tom)


def fill(note, group, author):
    entries = []
    for patient, booking in zip(group.patients, group.bookings, strict=True):
        if booking.status == AttendanceStatus.NO_SHOW:
            entries.append({"patient_id": patient.pk})
        else:
            entries.append({"patient_id": patient.pk, **FILLED})
    return update_group_note(
        note, user=author, version=note.version, shared=SHARED, entries=entries
    )


# --- start ---------------------------------------------------------------------------------


def test_it_starts_a_note_with_an_entry_per_booked_patient(group, tom):
    module = CurriculumModule.objects.first()
    group.session.curriculum_module = module
    group.session.save()
    note = start_group_note(group.session, author=tom)
    assert note.kind == NoteKind.GROUP
    assert note.patient_id is None
    assert note.participant_count == 2  # present and late; the no-show did not attend
    assert note.curriculum_module == module
    assert note.started_at == group.session.starts_at
    assert note.ended_at == group.session.ends_at
    entries = {e.patient_id: e for e in note.entries.all()}
    alpha, bravo, charlie = group.patients
    assert entries[alpha.pk].attendance_status == "present"
    assert entries[alpha.pk].minutes == 180
    assert entries[bravo.pk].minutes == 150
    assert entries[charlie.pk].minutes is None
    assert entries[charlie.pk].absence_note == "Did not attend (no-show)."
    assert entries[alpha.pk].absence_note == ""
    assert {e.patient_id for e in AuditEvent.objects.filter(object_type="group_note_entry")} == {
        p.pk for p in group.patients
    }


def test_it_leaves_out_cancelled_bookings(site, tom):
    group = held_group(
        site,
        tom,
        members=[
            ("Alpha", "Testcase", AttendanceStatus.PRESENT, 180),
            ("Delta", "Dropped", AttendanceStatus.CANCELLED, None),
        ],
    )
    note = start_group_note(group.session, author=tom)
    assert [e.patient_id for e in note.entries.all()] == [group.patients[0].pk]


def test_it_refuses_a_second_note_for_a_session(group, tom, note):
    with pytest.raises(NoteConflict, match="already has a group note"):
        start_group_note(group.session, author=tom)
    assert Note.objects.count() == 1


def test_it_refuses_a_cancelled_session(group, tom):
    group.session.status = "cancelled"
    group.session.save()
    with pytest.raises(NoteConflict, match="cancelled"):
        start_group_note(group.session, author=tom)
    assert not Note.objects.exists()


def test_it_refuses_a_session_that_has_not_ended(site, tom):
    session = make_session(site, tom, timezone.now() - timedelta(minutes=30), 180)
    with pytest.raises(NoteConflict, match="not ended"):
        start_group_note(session, author=tom)
    future = make_session(site, tom, timezone.now() + timedelta(days=1), 180)
    with pytest.raises(NoteConflict, match="not ended"):
        start_group_note(future, author=tom)
    assert not Note.objects.exists()


def test_it_refuses_an_individual_session(site, tom):
    patient = make_patient(site, first_name="Solo", last_name="Sample")
    session, _ = held_individual(site, tom, patient)
    assert session.kind == SessionKind.INDIVIDUAL
    with pytest.raises(NoteConflict, match="individual note"):
        start_group_note(session, author=tom)
    assert not Note.objects.exists()


# --- update --------------------------------------------------------------------------------


def test_it_updates_the_shared_part_and_entries(group, tom, note):
    alpha = group.patients[0]
    plan = make_plan(alpha, group.enrollments[0], tom)
    goal = plan.goals.first()
    module = CurriculumModule.objects.first()
    updated = update_group_note(
        note,
        user=tom,
        version=1,
        shared={**SHARED, "curriculum_module": module.pk},
        entries=[{"patient_id": alpha.pk, "participation": "Engaged.", "goal_ids": [goal.pk]}],
    )
    assert updated.version == 2
    assert updated.topic == SHARED["topic"]
    assert updated.curriculum_module == module
    entry = GroupNoteEntry.objects.get(note=note, patient=alpha)
    assert entry.participation == "Engaged."
    assert entry.mood == ""  # keys not given do not change
    assert entry.version == 2
    assert list(EntryGoal.objects.filter(entry=entry).values_list("goal_id", flat=True)) == [
        goal.pk
    ]
    event = AuditEvent.objects.filter(object_type="group_note_entry", action="update").get()
    assert event.patient_id == alpha.pk


def test_it_refuses_a_stale_version(group, tom, note):
    update_group_note(note, user=tom, version=1, shared={"topic": "First"}, entries=[])
    with pytest.raises(NoteConflict, match="changed elsewhere"):
        update_group_note(note, user=tom, version=1, shared={"topic": "Second"}, entries=[])
    note.refresh_from_db()
    assert note.topic == "First"
    assert note.version == 2


def test_it_refuses_a_patient_not_on_the_note(group, site, tom, note):
    stranger = make_patient(site, first_name="Zed", last_name="Notinthegroup")
    with pytest.raises(ValidationError) as caught:
        update_group_note(
            note,
            user=tom,
            version=1,
            shared={"topic": "Kept out"},
            entries=[
                {"patient_id": group.patients[0].pk, "mood": "Calm."},
                {"patient_id": stranger.pk, "mood": "Calm."},
            ],
        )
    assert "entries[1].patient_id" in caught.value.message_dict
    note.refresh_from_db()
    assert note.topic == ""
    assert note.version == 1
    assert not GroupNoteEntry.objects.filter(mood="Calm.").exists()


def test_it_refuses_a_goal_of_another_patients_plan(group, tom, note):
    alpha, bravo, _ = group.patients
    bravo_plan = make_plan(bravo, group.enrollments[1], tom)
    with pytest.raises(ValidationError) as caught:
        update_group_note(
            note,
            user=tom,
            version=1,
            shared={},
            entries=[
                {"patient_id": bravo.pk, "goal_ids": [bravo_plan.goals.first().pk]},
                {"patient_id": alpha.pk, "goal_ids": [bravo_plan.goals.first().pk]},
            ],
        )
    assert "entries[1].goal_ids" in caught.value.message_dict
    assert not EntryGoal.objects.exists()


@pytest.mark.parametrize(
    ("shared", "entries", "field"),
    [
        ({"topic": "x" * 201}, [], "topic"),
        ({"summary": 12}, [], "summary"),
        ({"curriculum_module": 999999}, [], "curriculum_module"),
        ({"colour": "blue"}, [], "colour"),
        ({}, [{"mood": "Calm."}], "entries[0].patient_id"),
        ({}, [{"patient_id": "abc"}], "entries[0].patient_id"),
        ({}, ["not an object"], "entries[0]"),
        ({}, [{"patient_id": "SELF", "shoe_size": 9}], "entries[0].shoe_size"),
        ({}, [{"patient_id": "SELF", "goal_ids": "1,2"}], "entries[0].goal_ids"),
        ({}, [{"patient_id": "SELF", "goal_ids": ["x"]}], "entries[0].goal_ids"),
        ({}, [{"patient_id": "SELF"}, {"patient_id": "SELF"}], "entries[1].patient_id"),
    ],
)
def test_it_names_the_bad_field(group, tom, note, shared, entries, field):
    own = group.patients[0].pk
    entries = [
        {**e, "patient_id": own} if isinstance(e, dict) and e.get("patient_id") == "SELF" else e
        for e in entries
    ]
    with pytest.raises(ValidationError) as caught:
        update_group_note(note, user=tom, version=1, shared=shared, entries=entries)
    assert field in caught.value.message_dict
    note.refresh_from_db()
    assert note.version == 1


def test_only_the_author_edits(group, site, tom, note):
    other = make_user("theo", site=site, role=Role.THERAPIST, first_name="Theo")
    with pytest.raises(NotPermitted):
        update_group_note(note, user=other, version=1, shared={"topic": "Mine"}, entries=[])
    entry = note.entries.first()
    with pytest.raises(NotPermitted):
        save_group_entry(entry, user=other, version=1, data={"mood": "Calm."})


def test_entry_autosave_uses_the_entrys_own_version(group, tom, note):
    alpha_entry, bravo_entry, _ = note.entries.all()
    saved = save_group_entry(alpha_entry, user=tom, version=1, data={"mood": "Calm."})
    assert saved.entry.version == 2
    # Another patient's entry, opened at the same time, saves without a conflict.
    other = save_group_entry(bravo_entry, user=tom, version=1, data={"mood": "Tired."})
    assert other.entry.version == 2
    # The same entry with the version read before the first save is stale.
    with pytest.raises(NoteConflict, match="nothing was overwritten"):
        save_group_entry(alpha_entry, user=tom, version=1, data={"mood": "Overwritten?"})
    alpha_entry.refresh_from_db()
    assert alpha_entry.mood == "Calm."
    note.refresh_from_db()
    assert note.version == 3  # every change counts on the note


def test_entry_autosave_without_a_change_writes_nothing(group, tom, note):
    entry = note.entries.first()
    saved = save_group_entry(entry, user=tom, version=1, data={"mood": ""})
    assert saved.entry.version == 1
    assert not AuditEvent.objects.filter(action="update").exists()


def test_shared_autosave_conflicts_with_a_stale_note_version(group, tom, note):
    save_group_shared(note, user=tom, version=1, data={"topic": "Anger"})
    with pytest.raises(NoteConflict):
        save_group_shared(note, user=tom, version=1, data={"topic": "Stress"})


def test_create_starts_and_fills_in_one_go(group, tom):
    alpha = group.patients[0]
    note = create_group_note(
        group.session,
        author=tom,
        shared=SHARED,
        entries=[{"patient_id": alpha.pk, **FILLED}],
    )
    assert note.summary == SHARED["summary"]
    assert note.entries.get(patient=alpha).plan == FILLED["plan"]


def test_create_writes_nothing_on_bad_input(group, tom):
    with pytest.raises(ValidationError):
        create_group_note(
            group.session, author=tom, shared=SHARED, entries=[{"patient_id": 999999}]
        )
    assert not Note.objects.exists()
    assert not GroupNoteEntry.objects.exists()


# --- sign ----------------------------------------------------------------------------------


def test_it_signs_and_fans_out_one_note_per_booked_patient(group, tom, note):
    alpha, bravo, charlie = group.patients
    plan = make_plan(alpha, group.enrollments[0], tom)
    goal_ids = sorted(plan.goals.values_list("pk", flat=True))
    note = fill(note, group, tom)
    save_group_entry(
        note.entries.get(patient=alpha), user=tom, version=2, data={"goal_ids": goal_ids}
    )
    member_notes = sign_group_note(note, user=tom)
    assert len(member_notes) == 3
    note.refresh_from_db()
    assert note.is_signed
    assert note.signer_name == "Tom Fakename, LCSW"
    assert verify_note(note)
    assert [e["member_note"] for e in note.sections["entries"]] == [m.pk for m in member_notes]
    by_patient = {m.patient_id: Note.objects.get(pk=m.pk) for m in member_notes}
    a = by_patient[alpha.pk]
    assert a.kind == NoteKind.GROUP_MEMBER
    assert a.group_note == note
    assert a.is_signed and verify_note(a)
    assert a.summary == SHARED["summary"]
    assert a.sections == FILLED
    assert a.service_code == GROUP_SERVICE_CODE
    assert a.minutes == 180
    assert a.attendance_status == "present"
    assert a.participant_count == 2
    assert a.signer_name == "Tom Fakename, LCSW"
    assert sorted(NoteGoal.objects.filter(note=a).values_list("goal_id", flat=True)) == goal_ids
    b = by_patient[bravo.pk]
    assert b.minutes == 150
    assert b.attendance_status == "late"
    c = by_patient[charlie.pk]
    assert c.sections == {"absence_note": "Did not attend (no-show)."}
    assert c.service_code == ""
    assert not NoteGoal.objects.filter(note=c).exists()
    assert set(
        AuditEvent.objects.filter(object_type="note", action="create").values_list(
            "patient_id", flat=True
        )
    ) == {alpha.pk, bravo.pk, charlie.pk}


def test_member_notes_name_no_other_patient(group, tom, note):
    note = fill(note, group, tom)
    member_notes = sign_group_note(note, user=tom)
    for member in member_notes:
        others = [p for p in group.patients if p.pk != member.patient_id]
        stored = Note.objects.filter(pk=member.pk).values().get()
        text = repr(stored)
        for other in others:
            assert other.first_name not in text
            assert other.last_name not in text
            assert other.mrn not in text
        # Ids are numbers that may appear by chance in other numbers: compare the fields.
        assert stored["patient_id"] == member.patient_id
        other_ids = {o.pk for o in others}
        assert not other_ids & set(stored["sections"].values())


def test_signing_refreshes_attendance_from_the_roster(group, tom, note):
    note = fill(note, group, tom)
    bravo_booking = group.bookings[1]
    bravo_booking.minutes_attended = 120
    bravo_booking.save()
    member_notes = sign_group_note(note, user=tom)
    bravo_note = next(m for m in member_notes if m.patient_id == group.patients[1].pk)
    assert bravo_note.minutes == 120
    assert note.entries.get(patient=group.patients[1]).minutes == 120


def test_it_names_every_empty_field_and_writes_nothing(group, tom, note):
    alpha = group.patients[0]
    update_group_note(
        note,
        user=tom,
        version=1,
        shared={"topic": "Anger"},
        entries=[
            {"patient_id": alpha.pk, **FILLED, "risk": "  "},
            {"patient_id": group.patients[2].pk, "absence_note": ""},
        ],
    )
    with pytest.raises(ValidationError) as caught:
        sign_group_note(note, user=tom)
    errors = caught.value.message_dict
    # Entries are in roster order (last name): Charlie Fakerson, Bravo Samplename, Alpha Testcase.
    assert [e.patient.first_name for e in note.entries.select_related("patient")] == [
        "Charlie",
        "Bravo",
        "Alpha",
    ]
    assert "summary" in errors
    assert "interventions" in errors
    assert "topic" not in errors
    assert "entries[2].risk" in errors
    assert "None observed" in errors["entries[2].risk"][0]
    assert "entries[2].participation" not in errors
    assert "entries[1].participation" in errors  # Bravo, late, nothing written
    assert "entries[0].absence_note" in errors
    assert "entries[0].participation" not in errors  # an absent patient needs no narrative
    note.refresh_from_db()
    assert not note.is_signed
    assert Note.objects.count() == 1


def test_it_refuses_to_sign_with_attendance_unrecorded(site, tom):
    group = held_group(site, tom, members=[("Echo", "Unrecorded", AttendanceStatus.BOOKED, None)])
    note = start_group_note(group.session, author=tom)
    update_group_note(
        note,
        user=tom,
        version=1,
        shared=SHARED,
        entries=[{"patient_id": group.patients[0].pk, **FILLED}],
    )
    with pytest.raises(ValidationError) as caught:
        sign_group_note(note, user=tom)
    assert "entries[0].attendance_status" in caught.value.message_dict


def test_it_refuses_a_second_signature_and_later_edits(group, tom, note):
    note = fill(note, group, tom)
    sign_group_note(note, user=tom)
    with pytest.raises(NoteConflict, match="addendum"):
        sign_group_note(note, user=tom)
    with pytest.raises(NoteConflict) as caught:
        update_group_note(note, user=tom, version=note.version, shared={"topic": "x"}, entries=[])
    assert caught.value.message == SIGNED_NOTE_MESSAGE
    with pytest.raises(NoteConflict):
        save_group_entry(note.entries.first(), user=tom, version=1, data={"mood": "x"})
    assert Note.objects.filter(kind=NoteKind.GROUP_MEMBER).count() == 3


def test_only_the_author_signs(group, site, tom, note):
    note = fill(note, group, tom)
    other = make_user("theo", site=site, role=Role.THERAPIST, first_name="Theo")
    with pytest.raises(NotPermitted):
        sign_group_note(note, user=other)
    note.refresh_from_db()
    assert not note.is_signed


def test_a_supervised_authors_notes_wait_for_a_cosignature(group, site, tom, note):
    supervisor = make_user("sam", site=site, role=Role.THERAPIST, is_clinical_supervisor=True)
    tom.supervisor = supervisor
    tom.save()
    note = fill(note, group, tom)
    member_notes = sign_group_note(note, user=tom)
    note.refresh_from_db()
    assert note.requires_cosign
    assert all(m.requires_cosign for m in member_notes)


def test_entry_states(group, tom, note):
    note = fill(note, group, tom)
    states = [entry_state(e) for e in note.entries.all()]
    assert states == ["absent", "done", "done"]
    entry = note.entries.last()
    entry.plan = ""
    assert entry_state(entry) == "incomplete"


def _sign_queries(site, tom, size, prefix, program):
    group = held_group(
        site,
        tom,
        program=program,
        members=[(f"{prefix}{first}", *rest) for first, *rest in members(size)],
    )
    note = start_group_note(group.session, author=tom)
    note = fill(note, group, tom)
    # Every attendee addresses a goal of their plan: the golden thread is written too.
    for patient, enrollment, booking in zip(
        group.patients, group.enrollments, group.bookings, strict=True
    ):
        if booking.status != AttendanceStatus.NO_SHOW:
            goal = make_plan(patient, enrollment, tom).goals.first()
            entry = note.entries.get(patient=patient)
            save_group_entry(entry, user=tom, version=entry.version, data={"goal_ids": [goal.pk]})
    with CaptureQueriesContext(connection) as captured:
        signed = sign_group_note(note, user=tom)
    assert len(signed) == size
    assert NoteGoal.objects.filter(note__in=signed).count() == sum(
        1 for b in group.bookings if b.status != AttendanceStatus.NO_SHOW
    )
    return len(captured)


def test_signing_costs_the_same_number_of_queries_for_3_or_12_attendees(site, tom):
    program = make_program(site)
    small = _sign_queries(site, tom, 3, "Small", program)
    large = _sign_queries(site, tom, 12, "Large", program)
    assert small == large
    # Two transactions: bringing the entries in step with the bookings (kept if signing is
    # refused), then the signature, which checks the bookings again under the session lock.
    assert large <= 20
