"""Treatment plans (issue 4 §3): start, edit, sign, review and acknowledge.

A plan belongs to an episode of care. The first version (kind ``initial``) is written as a
draft and signed by a clinician; each review starts a new draft version, a copy of the latest
signed one whose goals keep their ``thread`` so the golden thread (the notes that addressed a
goal) follows the goal from version to version. Signed versions are immutable (the database
refuses changes); the patient acknowledges a signed version by typing their name.

Drafts are edited item by item, each change naming the plan ``version`` it was made on: a
stale version is a ``NoteConflict`` (someone else changed the draft meanwhile).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from openiop.accounts.models import Membership, User
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.clinical.hashing import plan_content, sha256_of
from openiop.clinical.models import (
    ObjectiveStatus,
    PlanAcknowledgement,
    PlanGoal,
    PlanIntervention,
    PlanKind,
    PlanObjective,
    PlanProblem,
    PlanStatus,
    TreatmentPlan,
)
from openiop.lib.dates import local_today
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment

if TYPE_CHECKING:
    from django.http import HttpRequest

ITEM_KINDS = ("problem", "goal", "objective", "intervention")
STATEMENT_MAX_LENGTH = 2000
SUMMARY_MAX_LENGTH = 10_000
SHORT_MAX_LENGTH = 120

SIGNED_PLAN_MESSAGE = (
    "This plan version is signed and cannot be changed. Start a review to write a new version."
)
STALE_PLAN_MESSAGE = (
    "Someone changed this draft since you opened it. Reload the plan to see their changes,"
    " then make yours again."
)


# --- Reading --------------------------------------------------------------------------------


def episode_plans(enrollment: Enrollment) -> Any:
    """The plan versions of ``enrollment``'s episode of care, newest first."""
    return TreatmentPlan.objects.filter(
        patient_id=enrollment.patient_id, enrollment__episode_id=enrollment.episode_id
    ).order_by("-number")


def latest_signed(enrollment: Enrollment) -> TreatmentPlan | None:
    return episode_plans(enrollment).filter(status=PlanStatus.SIGNED).first()


def open_draft(patient: Patient) -> TreatmentPlan | None:
    return TreatmentPlan.objects.filter(patient=patient, status=PlanStatus.DRAFT).first()


# --- Starting a version ---------------------------------------------------------------------


def _lock_patient(patient_id: int) -> None:
    # Starting versions and saving relapse-prevention plans queue on the patient row, so
    # two clinicians pressing "Start" together get one draft and a clear message.
    Patient.objects.select_for_update().filter(pk=patient_id).values_list("pk").first()


def _next_number(patient_id: int) -> int:
    top = TreatmentPlan.objects.filter(patient_id=patient_id).aggregate(top=Max("number"))["top"]
    return (top or 0) + 1


def _check_active(enrollment: Enrollment) -> None:
    if not enrollment.is_active:
        raise NoteConflict("Treatment plans are written for an active enrollment.")


@transaction.atomic
def start_initial_plan(
    enrollment: Enrollment, *, author: User, request: HttpRequest | None = None
) -> TreatmentPlan:
    """Open the draft first version of the plan of ``enrollment``'s episode of care.

    NoteConflict if the enrollment is not active or the episode already has a plan (a draft
    to continue, or a signed version to review).
    """
    _check_active(enrollment)
    _lock_patient(enrollment.patient_id)
    if episode_plans(enrollment).exists() or open_draft(enrollment.patient) is not None:
        raise NoteConflict(
            "This patient already has a treatment plan in this episode of care: continue"
            " the draft or start a review."
        )
    plan = TreatmentPlan.objects.create(
        patient_id=enrollment.patient_id,
        enrollment=enrollment,
        number=_next_number(enrollment.patient_id),
        kind=PlanKind.INITIAL,
        author=author,
    )
    _audit(request, author, plan, Action.CREATE, f"treatment plan v{plan.number} started")
    return plan


@transaction.atomic
def start_review(
    enrollment: Enrollment, *, author: User, request: HttpRequest | None = None
) -> TreatmentPlan:
    """Open a review: a draft new version, a copy of the latest signed one.

    Problems, goals (with the same ``thread``), objectives and interventions are copied;
    ``previous`` names the version reviewed. NoteConflict if there is nothing signed to
    review or a draft is already open.
    """
    _check_active(enrollment)
    _lock_patient(enrollment.patient_id)
    if open_draft(enrollment.patient) is not None:
        raise NoteConflict("A draft version of this plan is already open: continue it.")
    source = latest_signed(enrollment)
    if source is None:
        raise NoteConflict(
            "There is no signed plan to review in this episode of care: write the initial"
            " plan first."
        )
    plan = TreatmentPlan.objects.create(
        patient_id=enrollment.patient_id,
        enrollment=enrollment,
        number=_next_number(enrollment.patient_id),
        kind=PlanKind.REVIEW,
        previous=source,
        summary=source.summary,
        author=author,
    )
    problems = list(source.problems.order_by("position", "pk"))
    goals = list(source.goals.order_by("pk"))
    objectives = list(source.objectives.order_by("pk"))
    interventions = list(source.interventions.order_by("pk"))
    new_problems = PlanProblem.objects.bulk_create(
        [PlanProblem(plan=plan, position=p.position, statement=p.statement) for p in problems]
    )
    problem_map = {old.pk: new.pk for old, new in zip(problems, new_problems, strict=True)}
    new_goals = PlanGoal.objects.bulk_create(
        [
            PlanGoal(
                plan=plan,
                problem_id=problem_map[g.problem_id],
                position=g.position,
                statement=g.statement,
                thread=g.thread,
            )
            for g in goals
        ]
    )
    goal_map = {old.pk: new.pk for old, new in zip(goals, new_goals, strict=True)}
    PlanObjective.objects.bulk_create(
        [
            PlanObjective(
                plan=plan,
                goal_id=goal_map[o.goal_id],
                position=o.position,
                statement=o.statement,
                target_date=o.target_date,
                status=o.status,
            )
            for o in objectives
        ]
    )
    PlanIntervention.objects.bulk_create(
        [
            PlanIntervention(
                plan=plan,
                goal_id=goal_map[i.goal_id],
                position=i.position,
                modality=i.modality,
                frequency=i.frequency,
                responsible_id=i.responsible_id,
            )
            for i in interventions
        ]
    )
    _audit(
        request,
        author,
        plan,
        Action.CREATE,
        f"treatment plan review v{plan.number} started from v{source.number}",
    )
    return plan


# --- Editing a draft ------------------------------------------------------------------------


def _locked_draft(plan: TreatmentPlan, version: int | None) -> TreatmentPlan:
    locked = (
        TreatmentPlan.objects.select_for_update()
        .select_related("patient", "patient__site", "enrollment__program")
        .get(pk=plan.pk)
    )
    if locked.status != PlanStatus.DRAFT:
        raise NoteConflict(SIGNED_PLAN_MESSAGE)
    if version is not None and locked.version != int(version):
        raise NoteConflict(STALE_PLAN_MESSAGE)
    return locked


def _bump(plan: TreatmentPlan) -> None:
    plan.version += 1
    plan.save(update_fields=["version", "updated_at"])


def _text(
    data: dict[str, Any], field: str, *, max_length: int, required: bool = True
) -> str | None:
    """The stripped text of ``field`` if given; a ValidationError when blank or too long."""
    if field not in data:
        if required:
            raise ValidationError({field: "This field is required."})
        return None
    value = str(data[field] or "").strip()
    if required and not value:
        raise ValidationError({field: "This field is required."})
    if len(value) > max_length:
        raise ValidationError({field: f"At most {max_length:,} characters."})
    return value


def _target_date(data: dict[str, Any], *, required: bool) -> date | None:
    if "target_date" not in data:
        if required:
            raise ValidationError({"target_date": "Give a target date."})
        return None
    value = data["target_date"]
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationError({"target_date": "Give a target date (YYYY-MM-DD)."}) from None


def _status(data: dict[str, Any]) -> str | None:
    if "status" not in data:
        return None
    value = str(data["status"] or "")
    if value not in ObjectiveStatus.values:
        raise ValidationError({"status": f"{value!r} is not an objective status."})
    return value


def _responsible(data: dict[str, Any], plan: TreatmentPlan, *, required: bool) -> int | None:
    if "responsible" not in data:
        if required:
            raise ValidationError({"responsible": "Choose the staff member responsible."})
        return None
    value = data["responsible"]
    try:
        user_id = int(value.pk if isinstance(value, User) else value)
    except (TypeError, ValueError):
        raise ValidationError({"responsible": "Choose the staff member responsible."}) from None
    if user_id not in site_staff_ids(plan.patient.site_id):
        raise ValidationError(
            {"responsible": "The person responsible must be a staff member of this site."}
        )
    return user_id


def site_staff(site_id: int) -> Any:
    """Active staff of a site, who may be responsible for an intervention."""
    return (
        User.objects.filter(memberships__site_id=site_id, is_active=True)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def site_staff_ids(site_id: int) -> set[int]:
    return set(site_staff(site_id).values_list("pk", flat=True))


def _parent(plan: TreatmentPlan, model: Any, value: Any, field: str) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: "Choose where this belongs."}) from None
    if not model.objects.filter(plan=plan, pk=pk).exists():
        raise ValidationError({field: "That is not part of this draft."})
    return pk


_MODELS: dict[str, Any] = {
    "problem": PlanProblem,
    "goal": PlanGoal,
    "objective": PlanObjective,
    "intervention": PlanIntervention,
}
_PARENTS: dict[str, tuple[str, Any]] = {
    "goal": ("problem", PlanProblem),
    "objective": ("goal", PlanGoal),
    "intervention": ("goal", PlanGoal),
}


def _check_kind(kind: str) -> None:
    if kind not in ITEM_KINDS:
        raise ValidationError({"kind": f"{kind!r} is not a part of a plan."})


def _values(
    plan: TreatmentPlan, kind: str, data: dict[str, Any], *, adding: bool
) -> dict[str, Any]:
    """The model fields to set for a ``kind`` item from ``data`` (only given keys when not
    ``adding``); ValidationError naming the field otherwise."""
    values: dict[str, Any] = {}
    if kind in ("problem", "goal", "objective"):
        values["statement"] = _text(
            data, "statement", max_length=STATEMENT_MAX_LENGTH, required=adding
        )
    if kind == "objective":
        values["target_date"] = _target_date(data, required=adding)
        values["status"] = _status(data)
    if kind == "intervention":
        values["modality"] = _text(data, "modality", max_length=SHORT_MAX_LENGTH, required=adding)
        values["frequency"] = _text(data, "frequency", max_length=SHORT_MAX_LENGTH, required=adding)
        values["responsible_id"] = _responsible(data, plan, required=adding)
    return {key: value for key, value in values.items() if value is not None}


@transaction.atomic
def update_plan_summary(
    plan: TreatmentPlan,
    *,
    user: User,
    version: int,
    summary: str,
    request: HttpRequest | None = None,
) -> TreatmentPlan:
    """Change the draft's summary (presenting problems, strengths and needs)."""
    plan = _locked_draft(plan, version)
    plan.summary = _text({"summary": summary}, "summary", max_length=SUMMARY_MAX_LENGTH) or ""
    plan.version += 1
    plan.save(update_fields=["summary", "version", "updated_at"])
    _audit(request, user, plan, Action.UPDATE, f"treatment plan v{plan.number} summary")
    return plan


@transaction.atomic
def add_plan_item(
    plan: TreatmentPlan,
    *,
    user: User,
    version: int,
    kind: str,
    data: dict[str, Any],
    request: HttpRequest | None = None,
) -> Any:
    """Add a problem, goal (under ``data["problem"]``), objective or intervention (under
    ``data["goal"]``) to the draft and return it. Bumps the plan's version."""
    _check_kind(kind)
    plan = _locked_draft(plan, version)
    values = _values(plan, kind, data, adding=True)
    siblings: dict[str, Any] = {"plan": plan}
    if kind in _PARENTS:
        field, model = _PARENTS[kind]
        siblings[f"{field}_id"] = _parent(plan, model, data.get(field), field)
    model = _MODELS[kind]
    top = model.objects.filter(**siblings).aggregate(top=Max("position"))["top"]
    item = model(**siblings, **values, position=(top + 1) if top is not None else 0)
    item.full_clean(exclude=["plan", "problem", "goal", "responsible", "thread"])
    item.save()
    _bump(plan)
    _audit(request, user, plan, Action.UPDATE, f"treatment plan v{plan.number}: {kind} added")
    return item


def _item(plan: TreatmentPlan, kind: str, item_id: int | str) -> Any:
    _check_kind(kind)
    try:
        pk = int(item_id)
    except (TypeError, ValueError):
        raise ValidationError({"item": f"No such {kind} in this draft."}) from None
    item = _MODELS[kind].objects.filter(plan=plan, pk=pk).first()
    if item is None:
        raise ValidationError({"item": f"No such {kind} in this draft."})
    return item


@transaction.atomic
def update_plan_item(
    plan: TreatmentPlan,
    *,
    user: User,
    version: int,
    kind: str,
    item_id: int | str,
    data: dict[str, Any],
    request: HttpRequest | None = None,
) -> Any:
    """Change the given fields of one item of the draft. Bumps the plan's version."""
    _check_kind(kind)
    plan = _locked_draft(plan, version)
    item = _item(plan, kind, item_id)
    for field, value in _values(plan, kind, data, adding=False).items():
        setattr(item, field, value)
    item.full_clean(exclude=["plan", "problem", "goal", "responsible", "thread"])
    item.save()
    _bump(plan)
    _audit(request, user, plan, Action.UPDATE, f"treatment plan v{plan.number}: {kind} changed")
    return item


@transaction.atomic
def remove_plan_item(
    plan: TreatmentPlan,
    *,
    user: User,
    version: int,
    kind: str,
    item_id: int | str,
    request: HttpRequest | None = None,
) -> None:
    """Remove one item of the draft with everything under it. Bumps the plan's version."""
    _check_kind(kind)
    plan = _locked_draft(plan, version)
    _item(plan, kind, item_id).delete()
    _bump(plan)
    _audit(request, user, plan, Action.UPDATE, f"treatment plan v{plan.number}: {kind} removed")


# --- Signing and acknowledging --------------------------------------------------------------


def missing_for_signature(plan: TreatmentPlan) -> dict[str, str]:
    """What the draft still lacks before it can be signed, keyed like form fields:
    ``problems``, ``problems[0].goals``, ``problems[0].goals[1].objectives`` … (4 queries)."""
    problems = list(plan.problems.order_by("position", "pk"))
    goals = list(plan.goals.order_by("position", "pk"))
    with_objective = set(plan.objectives.values_list("goal_id", flat=True))
    with_intervention = set(plan.interventions.values_list("goal_id", flat=True))
    missing: dict[str, str] = {}
    if not problems:
        missing["problems"] = "Add at least one problem."
    for p_index, problem in enumerate(problems):
        own = [goal for goal in goals if goal.problem_id == problem.pk]
        label = f"Problem {p_index + 1} ({_short(problem.statement)})"
        if not own:
            missing[f"problems[{p_index}].goals"] = f"{label} has no goal."
        for g_index, goal in enumerate(own):
            key = f"problems[{p_index}].goals[{g_index}]"
            goal_label = f"Goal {p_index + 1}.{g_index + 1} ({_short(goal.statement)})"
            if goal.pk not in with_objective:
                missing[f"{key}.objectives"] = (
                    f"{goal_label} has no measurable objective with a target date."
                )
            if goal.pk not in with_intervention:
                missing[f"{key}.interventions"] = f"{goal_label} has no intervention."
    return missing


def _short(text: str, length: int = 50) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def may_sign(user: User, plan: TreatmentPlan) -> bool:
    """A clinician: a role that writes plans at the patient's site and credentials on file."""
    if not user.credentials.strip():
        return False
    roles = Membership.objects.filter(user=user, site_id=plan.patient.site_id).values_list(
        "role", flat=True
    )
    return any(role_may(role, "plans.write") for role in roles)


@transaction.atomic
def sign_plan(
    plan: TreatmentPlan,
    *,
    user: User,
    version: int | None = None,
    request: HttpRequest | None = None,
) -> TreatmentPlan:
    """Sign the draft as ``user`` and return it, frozen.

    Only a clinician signs (NotPermitted otherwise). The draft needs at least one problem,
    each problem a goal, each goal a measurable objective with a target date and an
    intervention: ValidationError naming each gap. Sets the next review date (signing day +
    the program's review interval) and the SHA-256 of the signed content.
    """
    plan = _locked_draft(plan, version)
    if not may_sign(user, plan):
        raise NotPermitted(
            "Only a clinician may sign a treatment plan: a role that writes plans at this"
            " site and professional credentials on your profile."
        )
    missing = missing_for_signature(plan)
    if missing:
        raise ValidationError(missing)
    now = timezone.now()
    signed_on = local_today(plan.patient.site.time_zone)
    plan.status = PlanStatus.SIGNED
    plan.signed_at = now
    plan.signed_by = user
    plan.signer_name = user.signature_name
    plan.review_due_on = signed_on + timedelta(days=plan.enrollment.program.plan_review_days)
    plan.content_sha256 = sha256_of(plan_content(plan))
    plan.save()
    _audit(
        request,
        user,
        plan,
        Action.UPDATE,
        f"treatment plan v{plan.number} signed; review due {plan.review_due_on.isoformat()}",
    )
    return plan


def _name_key(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()


def accepted_names(patient: Patient) -> set[str]:
    """The names a patient may type to acknowledge a plan: legal or preferred."""
    names = {patient.legal_name, patient.display_name}
    if patient.preferred_name:
        names.add(f"{patient.preferred_name} {patient.last_name}")
    return {_name_key(name) for name in names}


@transaction.atomic
def acknowledge_plan(
    plan: TreatmentPlan,
    *,
    typed_name: str,
    recorded_by: User,
    request: HttpRequest | None = None,
) -> PlanAcknowledgement:
    """Record the patient's acknowledgement of the signed ``plan``: the name they typed
    (legal or preferred name, any case) and the time. Once per version, on the current one."""
    plan = (
        TreatmentPlan.objects.select_for_update(of=("self",))
        .select_related("patient", "patient__site")
        .get(pk=plan.pk)
    )
    if plan.status != PlanStatus.SIGNED:
        raise NoteConflict("The patient acknowledges a signed plan: sign this draft first.")
    if PlanAcknowledgement.objects.filter(plan=plan).exists():
        raise NoteConflict("The patient has already acknowledged this plan version.")
    newer = TreatmentPlan.objects.filter(
        patient_id=plan.patient_id, status=PlanStatus.SIGNED, number__gt=plan.number
    ).exists()
    if newer:
        raise NoteConflict(
            "A newer version of this plan is signed: the patient acknowledges that one."
        )
    typed = re.sub(r"\s+", " ", typed_name or "").strip()
    if not typed:
        raise ValidationError({"typed_name": "The patient types their name to acknowledge."})
    if len(typed) > 200:
        raise ValidationError({"typed_name": "At most 200 characters."})
    if _name_key(typed) not in accepted_names(plan.patient):
        raise ValidationError(
            {"typed_name": "The name typed does not match the patient's legal or preferred name."}
        )
    acknowledgement = PlanAcknowledgement.objects.create(
        plan=plan, typed_name=typed, acknowledged_at=timezone.now(), recorded_by=recorded_by
    )
    _audit(
        request,
        recorded_by,
        plan,
        Action.CREATE,
        f"treatment plan v{plan.number} acknowledged by the patient",
        object_type="plan_acknowledgement",
    )
    return acknowledgement


def _audit(
    request: HttpRequest | None,
    user: User,
    plan: TreatmentPlan,
    action: Action,
    detail: str,
    *,
    object_type: str = "treatment_plan",
) -> None:
    record_event(
        request=request,
        actor=user,
        site=plan.patient.site,
        action=action,
        object_type=object_type,
        object_id=plan.pk,
        patient_id=plan.patient_id,
        detail=detail,
    )
