"""Treatment-plan services: start, edit a draft, sign, review, acknowledge."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.clinical import plans
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.clinical.hashing import verify_plan
from openiop.clinical.models import (
    PlanAcknowledgement,
    PlanGoal,
    PlanKind,
    PlanStatus,
    TreatmentPlan,
)
from tests.factories import make_user
from tests.factories_clinical import make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

TARGET = date(2026, 6, 1)


@pytest.fixture
def enrollment(site, tom):
    program = make_program(site)
    program.plan_review_days = 30
    program.save()
    patient = make_patient(site, first_name="Robin", last_name="Planfake", preferred_name="Bee")
    return make_enrollment(patient, program, primary_therapist=tom)


def _complete(plan, user):
    """Fill a draft with one problem, goal, objective and intervention."""
    problem = plans.add_plan_item(
        plan,
        user=user,
        version=plan.version,
        kind="problem",
        data={"statement": "Alcohol use disorder, moderate"},
    )
    plan.refresh_from_db()
    goal = plans.add_plan_item(
        plan,
        user=user,
        version=plan.version,
        kind="goal",
        data={"problem": problem.pk, "statement": "Stay abstinent from alcohol"},
    )
    plan.refresh_from_db()
    plans.add_plan_item(
        plan,
        user=user,
        version=plan.version,
        kind="objective",
        data={"goal": goal.pk, "statement": "Attend 3 groups a week", "target_date": TARGET},
    )
    plan.refresh_from_db()
    plans.add_plan_item(
        plan,
        user=user,
        version=plan.version,
        kind="intervention",
        data={
            "goal": goal.pk,
            "modality": "CBT group",
            "frequency": "3 times a week",
            "responsible": user.pk,
        },
    )
    plan.refresh_from_db()
    return plan


def test_it_starts_an_initial_draft_once(enrollment, tom):
    plan = plans.start_initial_plan(enrollment, author=tom)
    assert (plan.number, plan.kind, plan.status) == (1, PlanKind.INITIAL, PlanStatus.DRAFT)
    with pytest.raises(NoteConflict, match="already has a treatment plan"):
        plans.start_initial_plan(enrollment, author=tom)
    assert TreatmentPlan.objects.count() == 1
    event = AuditEvent.objects.get(object_type="treatment_plan")
    assert event.patient_id == enrollment.patient_id


def test_it_refuses_to_start_a_plan_for_a_discharged_enrollment(enrollment, tom):
    enrollment.status = "discharged"
    enrollment.discharged_on = enrollment.admitted_on
    enrollment.save()
    with pytest.raises(NoteConflict, match="active enrollment"):
        plans.start_initial_plan(enrollment, author=tom)


def test_it_signs_a_complete_draft_with_a_review_date(enrollment, tom, time_machine):
    time_machine.move_to("2026-03-10 15:00:00+00:00")
    plan = _complete(plans.start_initial_plan(enrollment, author=tom), tom)
    signed = plans.sign_plan(plan, user=tom, version=plan.version)
    assert signed.status == PlanStatus.SIGNED
    assert signed.review_due_on == date(2026, 3, 10) + timedelta(days=30)
    assert signed.signer_name == "Tom Fakename, LCSW"
    assert verify_plan(TreatmentPlan.objects.get(pk=plan.pk))


def test_it_names_what_an_incomplete_draft_lacks(enrollment, tom):
    plan = plans.start_initial_plan(enrollment, author=tom)
    with pytest.raises(ValidationError) as exc:
        plans.sign_plan(plan, user=tom)
    assert exc.value.message_dict == {"problems": ["Add at least one problem."]}
    problem = plans.add_plan_item(
        plan, user=tom, version=1, kind="problem", data={"statement": "Opioid use"}
    )
    plans.add_plan_item(
        plan,
        user=tom,
        version=2,
        kind="goal",
        data={"problem": problem.pk, "statement": "No illicit opioids"},
    )
    with pytest.raises(ValidationError) as exc:
        plans.sign_plan(plan, user=tom)
    assert set(exc.value.message_dict) == {
        "problems[0].goals[0].objectives",
        "problems[0].goals[0].interventions",
    }
    assert "no measurable objective" in str(exc.value)
    assert TreatmentPlan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT


def test_it_refuses_a_problem_without_goals(enrollment, tom):
    plan = plans.start_initial_plan(enrollment, author=tom)
    plans.add_plan_item(plan, user=tom, version=1, kind="problem", data={"statement": "Sleep"})
    with pytest.raises(ValidationError) as exc:
        plans.sign_plan(plan, user=tom)
    assert list(exc.value.message_dict) == ["problems[0].goals"]


def test_a_stale_version_is_a_conflict(enrollment, tom):
    plan = plans.start_initial_plan(enrollment, author=tom)
    plans.add_plan_item(plan, user=tom, version=1, kind="problem", data={"statement": "A"})
    with pytest.raises(NoteConflict, match="Someone changed this draft"):
        plans.add_plan_item(plan, user=tom, version=1, kind="problem", data={"statement": "B"})
    assert plan.problems.count() == 1


def test_bad_items_name_the_field(enrollment, tom, dana, oscar):
    plan = plans.start_initial_plan(enrollment, author=tom)
    with pytest.raises(ValidationError) as exc:
        plans.add_plan_item(plan, user=tom, version=1, kind="problem", data={"statement": " "})
    assert list(exc.value.message_dict) == ["statement"]
    with pytest.raises(ValidationError) as exc:
        plans.add_plan_item(
            plan, user=tom, version=1, kind="goal", data={"problem": 999999, "statement": "x"}
        )
    assert list(exc.value.message_dict) == ["problem"]
    with pytest.raises(ValidationError) as exc:
        plans.add_plan_item(plan, user=tom, version=1, kind="menace", data={})
    assert list(exc.value.message_dict) == ["kind"]
    plan = _complete(plan, tom)
    goal = plan.goals.get()
    with pytest.raises(ValidationError) as exc:
        plans.add_plan_item(
            plan,
            user=tom,
            version=plan.version,
            kind="objective",
            data={"goal": goal.pk, "statement": "x", "target_date": "next week"},
        )
    assert list(exc.value.message_dict) == ["target_date"]
    with pytest.raises(ValidationError) as exc:
        plans.add_plan_item(
            plan,
            user=tom,
            version=plan.version,
            kind="intervention",
            data={"goal": goal.pk, "modality": "x", "frequency": "y", "responsible": oscar.pk},
        )
    assert list(exc.value.message_dict) == ["responsible"]
    objective = plan.objectives.get()
    with pytest.raises(ValidationError) as exc:
        plans.update_plan_item(
            plan,
            user=tom,
            version=plan.version,
            kind="objective",
            item_id=objective.pk,
            data={"status": "vanished"},
        )
    assert list(exc.value.message_dict) == ["status"]


def test_it_edits_and_removes_items(enrollment, tom):
    plan = _complete(plans.start_initial_plan(enrollment, author=tom), tom)
    objective = plan.objectives.get()
    plans.update_plan_item(
        plan,
        user=tom,
        version=plan.version,
        kind="objective",
        item_id=objective.pk,
        data={"statement": "Attend 4 groups a week", "status": "met"},
    )
    objective.refresh_from_db()
    assert (objective.statement, objective.status, objective.target_date) == (
        "Attend 4 groups a week",
        "met",
        TARGET,
    )
    plan.refresh_from_db()
    plans.remove_plan_item(
        plan, user=tom, version=plan.version, kind="problem", item_id=plan.problems.get().pk
    )
    assert plan.goals.count() == plan.objectives.count() == plan.interventions.count() == 0


def test_only_a_clinician_signs(enrollment, tom, dana, site):
    plan = _complete(plans.start_initial_plan(enrollment, author=tom), tom)
    with pytest.raises(NotPermitted, match="credentials"):
        plans.sign_plan(plan, user=dana)  # a director without credentials
    nina = make_user("nina", site=site, role=Role.NURSE, credentials="RN")
    with pytest.raises(NotPermitted):
        plans.sign_plan(plan, user=nina)
    assert TreatmentPlan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT


def test_a_signed_plan_cannot_be_edited_or_signed_again(enrollment, tom):
    plan = _complete(plans.start_initial_plan(enrollment, author=tom), tom)
    plans.sign_plan(plan, user=tom)
    with pytest.raises(NoteConflict, match="signed"):
        plans.add_plan_item(plan, user=tom, version=None, kind="problem", data={"statement": "x"})
    with pytest.raises(NoteConflict, match="signed"):
        plans.sign_plan(plan, user=tom)


def test_a_review_copies_the_tree_and_keeps_the_threads(enrollment, tom):
    first = make_plan(enrollment.patient, enrollment, tom)
    review = plans.start_review(enrollment, author=tom)
    assert (review.number, review.kind, review.previous_id) == (2, PlanKind.REVIEW, first.pk)
    old = list(first.goals.order_by("pk"))
    new = list(review.goals.order_by("pk"))
    assert [g.thread for g in new] == [g.thread for g in old]
    assert [g.pk for g in new] != [g.pk for g in old]
    assert review.problems.count() == first.problems.count()
    assert review.objectives.count() == first.objectives.count()
    assert review.interventions.count() == first.interventions.count()
    assert {g.problem.plan_id for g in new} == {review.pk}
    with pytest.raises(NoteConflict, match="already open"):
        plans.start_review(enrollment, author=tom)
    signed = plans.sign_plan(review, user=tom)
    assert signed.status == PlanStatus.SIGNED


def test_a_review_needs_a_signed_plan(enrollment, tom):
    with pytest.raises(NoteConflict, match="no signed plan"):
        plans.start_review(enrollment, author=tom)


def test_the_patient_acknowledges_with_their_name(enrollment, tom):
    plan = make_plan(enrollment.patient, enrollment, tom)
    with pytest.raises(ValidationError) as exc:
        plans.acknowledge_plan(plan, typed_name="Someone Else", recorded_by=tom)
    assert list(exc.value.message_dict) == ["typed_name"]
    ack = plans.acknowledge_plan(plan, typed_name="  bee   PLANFAKE ", recorded_by=tom)
    assert ack.typed_name == "bee PLANFAKE"
    assert ack.acknowledged_at <= timezone.now()
    with pytest.raises(NoteConflict, match="already acknowledged"):
        plans.acknowledge_plan(plan, typed_name="Robin Planfake", recorded_by=tom)
    assert PlanAcknowledgement.objects.count() == 1


def test_a_draft_or_superseded_plan_is_not_acknowledged(enrollment, tom):
    first = make_plan(enrollment.patient, enrollment, tom)
    make_plan(enrollment.patient, enrollment, tom)
    with pytest.raises(NoteConflict, match="newer version"):
        plans.acknowledge_plan(first, typed_name="Robin Planfake", recorded_by=tom)
    draft = make_plan(enrollment.patient, enrollment, tom, signed=False)
    with pytest.raises(NoteConflict, match="sign this draft"):
        plans.acknowledge_plan(draft, typed_name="Robin Planfake", recorded_by=tom)


def test_every_write_is_audited_on_the_patient(enrollment, tom):
    plan = _complete(plans.start_initial_plan(enrollment, author=tom), tom)
    plans.sign_plan(plan, user=tom)
    events = AuditEvent.objects.filter(object_type="treatment_plan")
    assert events.count() == 6
    assert set(events.values_list("patient_id", flat=True)) == {enrollment.patient_id}


def test_review_goal_ids_are_new_rows(enrollment, tom):
    make_plan(enrollment.patient, enrollment, tom)
    review = plans.start_review(enrollment, author=tom)
    assert PlanGoal.objects.filter(plan=review).count() == 2
