"""Signed clinical records are immutable in the database itself, whatever the client.

The ORM (save, queryset update/delete, bulk_update) and raw SQL are refused by triggers on
SQLite and PostgreSQL alike (CI runs this file on both); drafts stay editable. The API's
refusal (409 telling to add an addendum) is tested with the API.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from openiop.clinical.hashing import (
    addendum_content,
    note_content,
    sha256_of,
    verify_note,
    verify_plan,
)
from openiop.clinical.models import (
    Addendum,
    Cosignature,
    Disclosure,
    GroupNoteEntry,
    Note,
    NoteGoal,
    NoteKind,
    NoteStatus,
    PlanAcknowledgement,
    PlanGoal,
    PlanIntervention,
    PlanObjective,
    PlanProblem,
    RelapsePreventionPlan,
    TreatmentPlan,
)
from tests.factories_clinical import held_group, held_individual, make_plan


def refused(action) -> str:
    """Run ``action`` in its own savepoint; return the database's refusal message."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        action()
    return str(caught.value)


def raw(sql: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def individual_note(site, author, *, signed: bool) -> Note:
    group = held_group(site, author, members=[("Delta", "Mockwell", "present", 180)])
    session, booking = held_individual(site, author, group.patients[0])
    plan = make_plan(group.patients[0], group.enrollments[0], author)
    note = Note.objects.create(
        site=site,
        kind=NoteKind.INDIVIDUAL,
        format="dap",
        session=session,
        patient=group.patients[0],
        booking=booking,
        author=author,
        started_at=session.starts_at,
        ended_at=session.ends_at,
        attendance_status="present",
        minutes=50,
        sections={"data": "Reported two calm weeks.", "assessment": "Stable.", "plan": "Weekly."},
    )
    goal = plan.goals.first()
    NoteGoal.objects.create(note=note, goal=goal)
    if signed:
        note.status = NoteStatus.SIGNED
        note.signed_at = timezone.now()
        note.signed_by = author
        note.signer_name = author.signature_name
        note.service_code = "90834"
        note.content_sha256 = sha256_of(note_content(note, [goal.pk]))
        note.save()
    return note


@pytest.fixture
def signed_note(site, tom):
    return individual_note(site, tom, signed=True)


def test_a_signed_note_verifies_and_a_changed_copy_does_not(signed_note):
    assert verify_note(signed_note)
    signed_note.sections = {**signed_note.sections, "plan": "Changed afterwards."}
    assert not verify_note(signed_note)  # the in-memory change no longer matches


def test_the_orm_cannot_save_a_signed_note(signed_note):
    signed_note.sections = {"data": "rewritten", "assessment": "x", "plan": "y"}
    message = refused(signed_note.save)
    assert "signed notes are immutable" in message
    signed_note.refresh_from_db()
    assert signed_note.sections["data"] == "Reported two calm weeks."
    assert verify_note(signed_note)


def test_queryset_update_bulk_update_and_delete_are_refused(signed_note):
    refused(lambda: Note.objects.filter(pk=signed_note.pk).update(minutes=60))
    signed_note.minutes = 60
    refused(lambda: Note.objects.bulk_update([signed_note], ["minutes"]))
    refused(lambda: Note.objects.filter(pk=signed_note.pk).delete())
    refused(lambda: Note.objects.filter(pk=signed_note.pk).update(status=NoteStatus.DRAFT))
    stored = Note.objects.get(pk=signed_note.pk)
    assert (stored.minutes, stored.status) == (50, NoteStatus.SIGNED)


def test_raw_sql_cannot_change_or_delete_a_signed_note(signed_note):
    refused(lambda: raw("UPDATE clinical_note SET summary = %s WHERE id = %s", "x", signed_note.pk))
    refused(lambda: raw("DELETE FROM clinical_note WHERE id = %s", signed_note.pk))
    assert Note.objects.filter(pk=signed_note.pk, summary="").exists()


def test_the_goal_links_of_a_signed_note_are_frozen(signed_note, tom):
    link = NoteGoal.objects.get(note=signed_note)
    refused(lambda: NoteGoal.objects.filter(pk=link.pk).delete())
    other_goal = PlanGoal.objects.exclude(pk=link.goal_id).first()
    refused(lambda: NoteGoal.objects.create(note=signed_note, goal=other_goal))
    refused(
        lambda: raw(
            "UPDATE clinical_notegoal SET goal_id = %s WHERE id = %s", other_goal.pk, link.pk
        )
    )
    assert list(NoteGoal.objects.filter(note=signed_note).values_list("goal_id", flat=True)) == [
        link.goal_id
    ]
    assert verify_note(Note.objects.get(pk=signed_note.pk))


def test_a_draft_stays_editable_and_deletable(site, tom):
    draft = individual_note(site, tom, signed=False)
    Note.objects.filter(pk=draft.pk).update(minutes=45)
    NoteGoal.objects.filter(note=draft).delete()
    draft.delete()
    assert not Note.objects.filter(pk=draft.pk).exists()


def test_the_entries_of_a_signed_group_note_are_frozen(site, tom):
    group = held_group(site, tom)
    note = Note.objects.create(
        site=site,
        kind=NoteKind.GROUP,
        format="group",
        session=group.session,
        author=tom,
        started_at=group.session.starts_at,
        ended_at=group.session.ends_at,
        topic="Coping with cravings",
    )
    entry = GroupNoteEntry.objects.create(
        note=note,
        booking=group.bookings[0],
        patient=group.patients[0],
        attendance_status="present",
        minutes=180,
        participation="Engaged.",
    )
    GroupNoteEntry.objects.filter(pk=entry.pk).update(participation="Engaged throughout.")
    Note.objects.filter(pk=note.pk).update(
        status=NoteStatus.SIGNED,
        signed_at=timezone.now(),
        signed_by=tom,
        signer_name=tom.signature_name,
        content_sha256="0" * 64,
    )
    refused(lambda: GroupNoteEntry.objects.filter(pk=entry.pk).update(participation="Rewritten"))
    refused(lambda: GroupNoteEntry.objects.filter(pk=entry.pk).delete())
    refused(
        lambda: GroupNoteEntry.objects.create(
            note=note,
            booking=group.bookings[1],
            patient=group.patients[1],
            attendance_status="late",
        )
    )
    assert GroupNoteEntry.objects.get(pk=entry.pk).participation == "Engaged throughout."


def test_addenda_and_cosignatures_are_append_only(signed_note, dana):
    addendum = Addendum(
        note=signed_note,
        author=signed_note.author,
        signer_name="Tom Fakename, LCSW",
        text="Late entry: patient called after the session.",
        signed_at=timezone.now(),
    )
    addendum.content_sha256 = sha256_of(addendum_content(addendum))
    addendum.save()
    cosignature = Cosignature.objects.create(
        note=signed_note,
        cosigner=dana,
        signer_name="Dana Testperson",
        signed_at=timezone.now(),
        content_sha256="1" * 64,
    )
    refused(lambda: Addendum.objects.filter(pk=addendum.pk).update(text="Rewritten"))
    refused(lambda: raw("DELETE FROM clinical_addendum WHERE id = %s", addendum.pk))
    refused(lambda: Cosignature.objects.filter(pk=cosignature.pk).delete())
    refused(
        lambda: raw(
            "UPDATE clinical_cosignature SET cosigner_id = NULL WHERE id = %s", cosignature.pk
        )
    )
    assert Addendum.objects.get(pk=addendum.pk).text.startswith("Late entry")
    assert Cosignature.objects.filter(pk=cosignature.pk, cosigner=dana).exists()


def test_a_signed_treatment_plan_and_its_tree_are_frozen(site, tom):
    group = held_group(site, tom, members=[("Echo", "Dummyfield", "present", 180)])
    plan = make_plan(group.patients[0], group.enrollments[0], tom)
    assert verify_plan(plan)
    refused(lambda: TreatmentPlan.objects.filter(pk=plan.pk).update(summary="Rewritten"))
    refused(lambda: TreatmentPlan.objects.filter(pk=plan.pk).delete())
    for model in (PlanProblem, PlanGoal, PlanObjective, PlanIntervention):
        refused(lambda model=model: model.objects.filter(plan=plan).delete())
    refused(
        lambda: PlanObjective.objects.filter(plan=plan).update(
            target_date=timezone.localdate() + timedelta(days=1)
        )
    )
    refused(lambda: PlanProblem.objects.create(plan=plan, statement="Added after signing"))
    refused(
        lambda: raw("UPDATE clinical_plangoal SET statement = %s WHERE plan_id = %s", "x", plan.pk)
    )
    assert verify_plan(TreatmentPlan.objects.get(pk=plan.pk))


def test_a_draft_plan_is_editable(site, tom):
    group = held_group(site, tom, members=[("Foxtrot", "Imaginary", "present", 180)])
    plan = make_plan(group.patients[0], group.enrollments[0], tom, signed=False)
    PlanGoal.objects.filter(plan=plan).update(statement="Reworded goal")
    PlanProblem.objects.create(plan=plan, statement="Another problem", position=5)
    assert plan.goals.filter(statement="Reworded goal").count() == 2


def test_acknowledgements_relapse_plans_and_disclosures_are_append_only(site, tom):
    group = held_group(site, tom, members=[("Golf", "Pretendson", "present", 180)])
    patient = group.patients[0]
    plan = make_plan(patient, group.enrollments[0], tom)
    ack = PlanAcknowledgement.objects.create(
        plan=plan, typed_name="Golf Pretendson", acknowledged_at=timezone.now(), recorded_by=tom
    )
    rpp = RelapsePreventionPlan.objects.create(
        patient=patient, number=1, triggers="Payday evenings", author=tom
    )
    disclosure = Disclosure.objects.create(
        site=site,
        patient=patient,
        document="attendance_letter",
        description="Attendance 1–31 March 2026",
        recipient="Example Employer Inc.",
        purpose="Return-to-work verification",
        basis="patient_consent",
        disclosed_by=tom,
        disclosed_at=timezone.now(),
        content_sha256="2" * 64,
    )
    refused(lambda: PlanAcknowledgement.objects.filter(pk=ack.pk).update(typed_name="Someone"))
    refused(lambda: RelapsePreventionPlan.objects.filter(pk=rpp.pk).update(triggers="None"))
    refused(lambda: RelapsePreventionPlan.objects.filter(pk=rpp.pk).delete())
    refused(
        lambda: raw(
            "UPDATE clinical_disclosure SET recipient = %s WHERE id = %s", "x", disclosure.pk
        )
    )
    refused(lambda: raw("DELETE FROM clinical_disclosure WHERE id = %s", disclosure.pk))
    assert Disclosure.objects.get(pk=disclosure.pk).recipient == "Example Employer Inc."
    assert RelapsePreventionPlan.objects.get(pk=rpp.pk).triggers == "Payday evenings"


def test_the_django_admin_write_paths_are_refused_too(signed_note, rf, tom):
    """OpenIOP mounts no Django admin (every write goes through audited services). Should an
    operator wire one up, its save, delete and bulk "delete selected" paths end in the same
    refusal: they are ORM calls the triggers stop."""
    from django.contrib.admin import AdminSite, ModelAdmin

    admin = ModelAdmin(Note, AdminSite())
    request = rf.post("/admin/clinical/note/")
    request.user = tom
    signed_note.summary = "Edited in the admin"
    refused(lambda: admin.save_model(request, signed_note, form=None, change=True))
    refused(lambda: admin.delete_model(request, signed_note))
    refused(lambda: admin.delete_queryset(request, Note.objects.filter(pk=signed_note.pk)))
    stored = Note.objects.get(pk=signed_note.pk)
    assert stored.summary == "" and verify_note(stored)
