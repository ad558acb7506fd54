from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from openiop.accounts.roles import Role
from openiop.clinical.errors import SIGNED_NOTE_MESSAGE, NoteConflict, NotPermitted
from openiop.clinical.hashing import verify_note
from openiop.clinical.individual_notes import (
    sign_individual_note,
    start_individual_note,
    update_individual_note,
)
from openiop.clinical.models import Note, NoteGoal, NoteStatus
from openiop.scheduling.models import AttendanceStatus, SessionStatus
from tests.factories import make_user
from tests.factories_clinical import make_plan
from tests.factories_notes import DAP_TEXT, individual, signed_note
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_session

NOW = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)  # 14:00 in Chicago


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case(site, tom):
    return individual(site, tom)


def _started(case, tom, note_format="dap"):
    return start_individual_note(case.session, author=tom, format=note_format)


def _goal(case):
    return case.plan.goals.order_by("pk").first()


# --- start -------------------------------------------------------------------------------


def test_it_starts_a_draft_prefilled_from_the_session(case, tom):
    note = _started(case, tom)
    assert note.status == NoteStatus.DRAFT
    assert note.kind == "individual"
    assert note.patient == case.patient
    assert note.booking == case.booking
    assert note.author == tom
    assert (note.started_at, note.ended_at) == (case.session.starts_at, case.session.ends_at)
    assert note.minutes == 50
    assert note.sections == {"data": "", "assessment": "", "plan": ""}
    assert note.version == 1


@pytest.mark.parametrize(
    ("note_format", "codes"),
    [
        ("birp", {"behavior", "intervention", "response", "plan"}),
        ("soap", {"subjective", "objective", "assessment", "plan"}),
    ],
)
def test_it_starts_each_format_with_its_sections(case, tom, note_format, codes):
    assert set(_started(case, tom, note_format).sections) == codes


@pytest.mark.parametrize("bad", ["group", "narrative", "", None])
def test_it_refuses_a_format_that_is_not_dap_birp_or_soap(case, tom, bad):
    with pytest.raises(ValidationError) as caught:
        start_individual_note(case.session, author=tom, format=bad)
    assert "format" in caught.value.message_dict
    assert not Note.objects.exists()


def test_it_refuses_a_second_note_for_the_session(case, tom):
    _started(case, tom)
    with pytest.raises(NoteConflict, match="already has a note"):
        _started(case, tom)
    assert Note.objects.count() == 1


def test_it_refuses_a_session_that_has_not_happened(site, tom):
    case = individual(site, tom, ago_hours=-3)
    with pytest.raises(NoteConflict, match="not happened yet"):
        _started(case, tom)


def test_it_refuses_a_cancelled_session(case, tom):
    case.session.status = SessionStatus.CANCELLED
    case.session.save()
    with pytest.raises(NoteConflict, match="cancelled"):
        _started(case, tom)


def test_it_refuses_a_group_session(site, tom):
    session = make_session(site, tom, NOW - timedelta(hours=4))
    with pytest.raises(NoteConflict, match="group note"):
        start_individual_note(session, author=tom, format="dap")


@pytest.mark.parametrize("status", [AttendanceStatus.NO_SHOW, AttendanceStatus.EXCUSED])
def test_it_refuses_a_session_the_patient_missed(case, tom, status):
    case.booking.status = status
    case.booking.save()
    with pytest.raises(NoteConflict, match="Correct the attendance"):
        _started(case, tom)


def test_it_refuses_a_session_without_a_patient(case, tom):
    case.booking.status = AttendanceStatus.CANCELLED
    case.booking.save()
    with pytest.raises(NoteConflict, match="Nobody is booked"):
        _started(case, tom)


def test_it_lets_only_the_sessions_clinician_start_it(case, site):
    other = make_user("tess", site=site, role=Role.THERAPIST)
    with pytest.raises(NotPermitted):
        start_individual_note(case.session, author=other, format="dap")


# --- update ------------------------------------------------------------------------------


def test_it_saves_sections_times_and_goals_and_bumps_the_version(case, tom):
    note = _started(case, tom)
    start = case.session.starts_at + timedelta(minutes=5)
    saved = update_individual_note(
        note,
        user=tom,
        version=1,
        data={
            "data": "Reports cravings.",
            "started_at": start,
            "ended_at": start + timedelta(minutes=40),
            "goal_ids": [_goal(case).pk],
        },
    )
    assert saved.version == 2
    assert saved.sections["data"] == "Reports cravings."
    assert saved.minutes == 40
    assert list(NoteGoal.objects.filter(note=note).values_list("goal_id", flat=True)) == [
        _goal(case).pk
    ]
    saved = update_individual_note(saved, user=tom, version=2, data={"goal_ids": []})
    assert not NoteGoal.objects.filter(note=note).exists()


def test_it_reads_iso_times_without_offset_as_the_clinics_clock(case, tom):
    note = _started(case, tom)
    saved = update_individual_note(
        note,
        user=tom,
        version=1,
        data={"started_at": "2026-03-04T11:00", "ended_at": "2026-03-04T11:53"},
    )
    assert saved.started_at == datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
    assert saved.minutes == 53


def test_it_refuses_a_stale_version(case, tom):
    note = _started(case, tom)
    update_individual_note(note, user=tom, version=1, data={"data": "first"})
    with pytest.raises(NoteConflict, match="version 2"):
        update_individual_note(note, user=tom, version=1, data={"data": "second"})
    assert Note.objects.get().sections["data"] == "first"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ended_at": "2026-03-04T11:00", "started_at": "2026-03-04T11:30"}, "ended_at"),
        ({"started_at": "2026-03-04T11:00", "ended_at": "2026-03-04T11:00"}, "ended_at"),
        ({"started_at": "2026-03-04T07:00", "ended_at": "2026-03-04T11:01"}, "ended_at"),
        ({"started_at": "2026-03-03T11:00", "ended_at": "2026-03-03T11:50"}, "started_at"),
        ({"started_at": "2026-03-04T23:30", "ended_at": "2026-03-05T00:20"}, "ended_at"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"ended_at": 1400}, "ended_at"),
        ({"ended_at": "2026-02-30T11:00"}, "ended_at"),
        ({"data": 12}, "data"),
        ({"data": "x" * 20_001}, "data"),
        ({"behavior": "Calm"}, "behavior"),
        ({"mood": "Calm"}, "mood"),
        ({"version": 3}, "version"),
        ({"format": "group"}, "format"),
        ({"goal_ids": "1,2"}, "goal_ids"),
        ({"goal_ids": ["one"]}, "goal_ids"),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_writes_nothing(case, tom, data, field):
    note = _started(case, tom)
    with pytest.raises(ValidationError) as caught:
        update_individual_note(note, user=tom, version=1, data={"plan": "kept?", **data})
    assert field in caught.value.message_dict
    stored = Note.objects.get()
    assert stored.version == 1
    assert stored.sections["plan"] == ""


def test_it_refuses_a_goal_of_another_patients_plan(case, tom, site):
    other = individual(site, tom, first_name="Eve", last_name="Madeup")
    note = _started(case, tom)
    with pytest.raises(ValidationError) as caught:
        update_individual_note(note, user=tom, version=1, data={"goal_ids": [_goal(other).pk]})
    assert "goal_ids" in caught.value.message_dict
    assert not NoteGoal.objects.exists()


def test_it_switches_format_keeping_shared_sections(case, tom):
    note = _started(case, tom)
    note = update_individual_note(note, user=tom, version=1, data={"plan": "Next week."})
    note = update_individual_note(note, user=tom, version=2, data={"format": "soap"})
    assert note.format == "soap"
    assert note.sections == {
        "subjective": "",
        "objective": "",
        "assessment": "",
        "plan": "Next week.",
    }


def test_it_refuses_a_format_switch_that_would_drop_text(case, tom):
    note = _started(case, tom)
    note = update_individual_note(note, user=tom, version=1, data={"data": "Said a lot."})
    with pytest.raises(ValidationError, match="drop the text of Data"):
        update_individual_note(note, user=tom, version=2, data={"format": "birp"})
    assert Note.objects.get().format == "dap"


def test_it_lets_only_the_author_edit(case, tom, site):
    note = _started(case, tom)
    other = make_user("tess", site=site, role=Role.THERAPIST)
    with pytest.raises(NotPermitted):
        update_individual_note(note, user=other, version=1, data={"data": "mine now"})


# --- sign --------------------------------------------------------------------------------


def test_it_signs_with_code_fingerprint_and_signer(case, tom):
    note = signed_note(case, tom)
    assert note.status == NoteStatus.SIGNED
    assert note.service_code == "90834"
    assert note.signer_name == "Tom Fakename, LCSW"
    assert note.signed_by == tom
    assert note.requires_cosign is False
    assert verify_note(Note.objects.get(pk=note.pk))


@pytest.mark.parametrize(
    ("minutes", "code"), [(15, ""), (16, "90832"), (37, "90832"), (53, "90837")]
)
def test_it_codes_the_documented_time(site, tom, minutes, code):
    case = individual(site, tom, minutes=minutes)
    assert signed_note(case, tom).service_code == code


def test_it_marks_a_supervised_authors_note_for_cosignature(case, site, tom):
    supervisor = make_user("sue", site=site, role=Role.THERAPIST, is_clinical_supervisor=True)
    tom.supervisor = supervisor
    tom.save()
    assert signed_note(case, tom).requires_cosign is True


def test_it_names_every_empty_section(case, tom):
    note = _started(case, tom, "birp")
    note = update_individual_note(
        note,
        user=tom,
        version=1,
        data={"behavior": "Calm", "plan": "  ", "goal_ids": [_goal(case).pk]},
    )
    with pytest.raises(ValidationError) as caught:
        sign_individual_note(note, user=tom)
    assert set(caught.value.message_dict) == {"intervention", "response", "plan"}
    assert Note.objects.get().status == NoteStatus.DRAFT


def test_it_wants_a_goal_when_the_patient_has_a_plan(case, tom):
    note = _started(case, tom)
    note = update_individual_note(note, user=tom, version=1, data=DAP_TEXT)
    with pytest.raises(ValidationError) as caught:
        sign_individual_note(note, user=tom)
    assert set(caught.value.message_dict) == {"goal_ids"}


def test_it_signs_without_goals_when_there_is_no_plan_yet(site, tom):
    case = individual(site, tom, plan=False)
    assert signed_note(case, tom).is_signed


def test_it_refuses_goals_of_a_superseded_plan(case, tom):
    note = _started(case, tom)
    note = update_individual_note(
        note, user=tom, version=1, data={**DAP_TEXT, "goal_ids": [_goal(case).pk]}
    )
    make_plan(case.patient, case.enrollment, tom)
    with pytest.raises(ValidationError, match="pick the goals again"):
        sign_individual_note(note, user=tom)


def test_it_refuses_to_sign_twice_or_edit_once_signed(case, tom):
    note = signed_note(case, tom)
    with pytest.raises(NoteConflict) as caught:
        sign_individual_note(note, user=tom)
    assert caught.value.message == SIGNED_NOTE_MESSAGE
    with pytest.raises(NoteConflict, match="addendum"):
        update_individual_note(note, user=tom, version=note.version, data={"data": "x"})


def test_it_lets_only_the_author_sign(case, tom, site):
    note = _started(case, tom)
    note = update_individual_note(note, user=tom, version=1, data=DAP_TEXT)
    with pytest.raises(NotPermitted):
        sign_individual_note(note, user=make_user("tess", site=site, role=Role.THERAPIST))


def test_it_refuses_to_treat_a_group_members_note_as_individual(site, tom):
    from tests.factories_clinical import held_group

    group = held_group(site, tom)
    patient = make_patient(site, first_name="Gil", last_name="Notreal")
    assert patient.pk
    note = Note.objects.create(
        site=site,
        kind="group",
        format="group",
        session=group.session,
        author=tom,
        started_at=group.session.starts_at,
        ended_at=group.session.ends_at,
    )
    with pytest.raises(NoteConflict, match="not an individual note"):
        update_individual_note(note, user=tom, version=1, data={})
