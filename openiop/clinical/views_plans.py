"""Treatment-plan and relapse-prevention plan screens.

The plan screen shows the current signed version (problems → goals → objectives and
interventions) with the golden thread of each goal; the draft editor changes a draft item by
item with htmx, each change carrying the draft's version; the relapse-prevention plan is a
form whose every save is a new version. Views parse, call one service and render.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.access import current_role, requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.clinical import plan_due, plans, relapse_prevention
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.clinical.forms_plans import (
    AcknowledgeForm,
    RelapsePreventionForm,
    SummaryForm,
    VersionForm,
    apply_errors,
    item_form,
    supports_from_post,
)
from openiop.clinical.models import (
    ObjectiveStatus,
    PlanGoal,
    PlanIntervention,
    PlanObjective,
    PlanStatus,
    RelapsePreventionPlan,
    TreatmentPlan,
)
from openiop.clinical.queries_plans import attach_golden_thread, goal_nodes, plan_tree
from openiop.lib.dates import local_today
from openiop.patients.access import get_patient_for_user
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _patient(
    request: HttpRequest,
    patient_id: int,
    *,
    permission: str,
    action: Action = Action.VIEW,
    object_type: str = "treatment_plan",
    detail: str = "",
) -> Patient:
    return get_patient_for_user(
        request,
        patient_id,
        permission=permission,
        action=action,
        object_type=object_type,
        detail=detail,
    )


def _versions(patient: Patient) -> list[TreatmentPlan]:
    return list(
        TreatmentPlan.objects.filter(patient=patient)
        .select_related(
            "author", "signed_by", "acknowledgement", "acknowledgement__recorded_by", "enrollment"
        )
        .order_by("-number")
    )


def _active_enrollment(patient: Patient) -> Enrollment | None:
    return (
        Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE)
        .select_related("program", "episode")
        .first()
    )


# --- The plan screen ------------------------------------------------------------------------


def _plan_page(
    request: HttpRequest,
    patient: Patient,
    *,
    shown_id: int | None = None,
    ack_form: AcknowledgeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    today = local_today(patient.site.time_zone)
    versions = _versions(patient)
    signed = [v for v in versions if v.status == PlanStatus.SIGNED]
    current = signed[0] if signed else None
    draft = next((v for v in versions if v.status == PlanStatus.DRAFT), None)
    if shown_id is None:
        shown = current
    else:
        shown = next((v for v in versions if v.pk == shown_id), None)
        if shown is None:
            raise Http404("No such plan version.")
    tree = plan_tree(shown) if shown is not None else []
    goals = goal_nodes(tree)
    attach_golden_thread(patient, goals, today)
    due = plan_due.patient_due(patient.pk, today)
    may_write = role_may(current_role(request), "plans.write")
    episode_has_plan = due is not None and any(
        v.enrollment.episode_id == due.enrollment.episode_id for v in versions
    )
    may_acknowledge = (
        may_write
        and shown is not None
        and shown is current
        and not hasattr(shown, "acknowledgement")
    )
    return render(
        request,
        "clinical/plan_detail.html",
        {
            "patient": patient,
            "versions": versions,
            "current": current,
            "draft": draft,
            "shown": shown,
            "tree": tree,
            "goal_count": len(goals),
            "today": today,
            "due": due,
            "may_write": may_write,
            "may_start": may_write and due is not None and draft is None and not episode_has_plan,
            "may_review": may_write
            and due is not None
            and draft is None
            and episode_has_plan
            and current is not None,
            "may_acknowledge": may_acknowledge,
            "ack_form": ack_form or AcknowledgeForm(),
        },
        status=status,
    )


@require_GET
@requires("plans.view")
def plan_detail_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(request, patient_id, permission="plans.view", detail="treatment plan")
    return _plan_page(request, patient)


@require_GET
@requires("plans.view")
def plan_version_view(request: HttpRequest, patient_id: int, plan_id: int) -> HttpResponse:
    patient = _patient(
        request, patient_id, permission="plans.view", detail=f"treatment plan #{plan_id}"
    )
    return _plan_page(request, patient, shown_id=plan_id)


@require_GET
@requires("plans.view")
def plan_print_view(request: HttpRequest, patient_id: int, plan_id: int) -> HttpResponse:
    patient = _patient(
        request,
        patient_id,
        permission="plans.view",
        action=Action.PRINT,
        detail=f"treatment plan #{plan_id} print view",
    )
    plan = (
        TreatmentPlan.objects.filter(patient=patient, pk=plan_id)
        .select_related("author", "acknowledgement", "enrollment__program")
        .first()
    )
    if plan is None:
        raise Http404("No such plan version.")
    today = local_today(patient.site.time_zone)
    tree = plan_tree(plan)
    attach_golden_thread(patient, goal_nodes(tree), today)
    return render(
        request,
        "clinical/plan_print.html",
        {"patient": patient, "plan": plan, "tree": tree, "today": today},
    )


@require_POST
@requires("plans.write")
def plan_start_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _start(request, patient_id, review=False)


@require_POST
@requires("plans.write")
def plan_review_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _start(request, patient_id, review=True)


def _start(request: HttpRequest, patient_id: int, *, review: bool) -> HttpResponse:
    what = "treatment plan review" if review else "initial treatment plan"
    patient = _patient(
        request, patient_id, permission="plans.write", action=Action.CREATE, detail=what
    )
    enrollment = _active_enrollment(patient)
    if enrollment is None:
        messages.error(request, "Treatment plans are written for a patient enrolled in a program.")
        return redirect("plan-detail", patient_id=patient.pk)
    start = plans.start_review if review else plans.start_initial_plan
    try:
        start(enrollment, author=request.user, request=request)  # type: ignore[arg-type]
    except NoteConflict as exc:
        messages.error(request, exc.message)
        return redirect("plan-detail", patient_id=patient.pk)
    return redirect("plan-draft", patient_id=patient.pk)


@require_POST
@requires("plans.write")
def plan_acknowledge_view(request: HttpRequest, patient_id: int, plan_id: int) -> HttpResponse:
    patient = _patient(
        request,
        patient_id,
        permission="plans.write",
        action=Action.CREATE,
        detail=f"acknowledgement of treatment plan #{plan_id}",
    )
    plan = TreatmentPlan.objects.filter(patient=patient, pk=plan_id).first()
    if plan is None:
        raise Http404("No such plan version.")
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            plans.acknowledge_plan(
                plan,
                typed_name=form.cleaned_data["typed_name"],
                recorded_by=request.user,  # type: ignore[arg-type]
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except NoteConflict as exc:
            messages.error(request, exc.message)
            return redirect("plan-detail", patient_id=patient.pk)
        else:
            messages.success(
                request, f"The patient's acknowledgement of version {plan.number} is recorded."
            )
            return redirect("plan-detail", patient_id=patient.pk)
    return _plan_page(request, patient, shown_id=plan.pk, ack_form=form, status=422)


# --- The draft editor -----------------------------------------------------------------------


def _draft(patient: Patient) -> TreatmentPlan | None:
    return (
        TreatmentPlan.objects.filter(patient=patient, status=PlanStatus.DRAFT)
        .select_related("author", "enrollment__program", "previous")
        .first()
    )


def _editor(
    request: HttpRequest,
    patient: Patient,
    draft: TreatmentPlan,
    *,
    editing: str = "",
    failed: str = "",
    failed_form: Any = None,
    problem: str = "",
    missing: dict[str, list[str]] | None = None,
    focus: str = "",
    focus_field: str = "",
    saved: str = "",
    status: int = 200,
) -> HttpResponse:
    """The editor page, or only its draft tree when htmx asks. ``editing`` names the item
    shown as a form ("goal-12"); ``failed`` the form that was refused, shown bound.

    ``focus`` names what gets the keyboard focus once htmx has swapped the tree in (the
    ``autofocus`` attribute): a form's key ("add-goal-3", with ``focus_field`` its field), or
    an element id ("more-objective-7", "edit-goal-7", "plan-missing"). ``saved`` is a short
    confirmation shown by the summary ("summary")."""
    tree = plan_tree(draft)
    staff = list(plans.site_staff(patient.site_id))
    values = _editing_values(tree, editing)
    if values is None:
        problem = problem or "That part of the plan was removed meanwhile."
        editing = ""
    elif editing and not focus:
        # Edit pressed: the form that replaced the item takes the focus.
        focus, focus_field = editing, _first_field(editing.split("-", 1)[0])
    if failed_form is not None and failed != "summary":
        # Show what was typed, with the errors, in the form that was refused, and put the
        # focus on its first wrong field.
        values = {key: failed_form.data.get(key, "") for key in FIELD_NAMES}
        focus = failed
        kind = "problem" if failed == "add-problem" else failed.removeprefix("add-").split("-")[0]
        focus_field = next(
            (name for name in FIELD_NAMES if name in failed_form.errors), _first_field(kind)
        )
    elif failed == "summary":
        focus = "summary"
    if missing:
        focus = "plan-missing"
    if problem:
        focus = "plan-draft-problem"
    context = {
        "patient": patient,
        "draft": draft,
        "tree": tree,
        "staff": staff,
        "editing": editing,
        "failed": failed,
        "values": values or {},
        "errors": failed_form.errors if failed_form is not None else {},
        "form_problems": failed_form.non_field_errors() if failed_form is not None else [],
        "problem": problem,
        "missing": _missing_items(tree, missing or {}),
        "focus": focus,
        "focus_field": focus_field,
        "saved": saved,
        "summary_form": failed_form
        if failed == "summary"
        else SummaryForm(initial={"summary": draft.summary, "version": draft.version}),
        "today": local_today(patient.site.time_zone),
        "may_sign": plans.may_sign(request.user, draft),  # type: ignore[arg-type]
        "statuses": ObjectiveStatus.choices,
    }
    template = "clinical/_plan_draft.html" if _is_htmx(request) else "clinical/plan_draft.html"
    return render(request, template, context, status=status)


FIELD_NAMES = ("statement", "target_date", "status", "modality", "frequency", "responsible")
_MISSING_KEY = re.compile(r"^problems(?:\[(\d+)\](?:\.goals(?:\[(\d+)\]\.(\w+))?)?)?$")


def _first_field(kind: str) -> str:
    return "modality" if kind == "intervention" else "statement"


def _missing_items(tree: list[Any], missing: dict[str, list[str]]) -> list[dict[str, str]]:
    """What the draft lacks before signing, each with a link to the form that adds it:
    ``problems[0].goals[1].objectives`` → the "Add an objective" of goal 1.2."""
    items = []
    for key, messages_ in missing.items():
        match = _MISSING_KEY.match(key)
        target = "add-problem-statement"
        if match and match.group(1) is not None:
            p_index = int(match.group(1))
            problem = tree[p_index] if p_index < len(tree) else None
            if problem is not None and match.group(2) is None:
                target = f"more-goal-{problem.problem.pk}"
            elif problem is not None and int(match.group(2)) < len(problem.goals):
                goal = problem.goals[int(match.group(2))]
                what = "objective" if match.group(3) == "objectives" else "intervention"
                target = f"more-{what}-{goal.goal.pk}"
        items.extend({"key": key, "message": m, "target": target} for m in messages_)
    return items


def _keyed(tree: list[Any]) -> None:
    """Give every node the keys the template matches ``editing``/``failed`` against."""
    for problem in tree:
        problem.key = f"problem-{problem.problem.pk}"
        problem.add_key = f"add-goal-{problem.problem.pk}"
        problem.more_key = f"more-goal-{problem.problem.pk}"
        for goal in problem.goals:
            goal.key = f"goal-{goal.goal.pk}"
            goal.add_objective_key = f"add-objective-{goal.goal.pk}"
            goal.add_intervention_key = f"add-intervention-{goal.goal.pk}"
            goal.more_objective_key = f"more-objective-{goal.goal.pk}"
            goal.more_intervention_key = f"more-intervention-{goal.goal.pk}"
            for objective in goal.objectives:
                objective.key = f"objective-{objective.pk}"
            for intervention in goal.interventions:
                intervention.key = f"intervention-{intervention.pk}"


def _editing_values(tree: list[Any], editing: str) -> dict[str, str] | None:
    """The current values of the item named by ``editing`` (None if it is gone)."""
    _keyed(tree)
    if not editing:
        return {}
    for problem in tree:
        if problem.key == editing:
            return {"statement": problem.problem.statement}
        for goal in problem.goals:
            if goal.key == editing:
                return {"statement": goal.goal.statement}
            for o in goal.objectives:
                if o.key == editing:
                    return {
                        "statement": o.statement,
                        "target_date": o.target_date.isoformat(),
                        "status": o.status,
                    }
            for i in goal.interventions:
                if i.key == editing:
                    return {
                        "modality": i.modality,
                        "frequency": i.frequency,
                        "responsible": str(i.responsible_id),
                    }
    return None


def _editor_patient(request: HttpRequest, patient_id: int, detail: str) -> Patient:
    action = Action.VIEW if request.method == "GET" else Action.UPDATE
    return _patient(request, patient_id, permission="plans.write", action=action, detail=detail)


def _no_draft(request: HttpRequest, patient: Patient) -> HttpResponse:
    message = "There is no draft of this plan open: it may just have been signed."
    if _is_htmx(request):
        response = HttpResponse(status=409)
        response["HX-Redirect"] = reverse("plan-detail", args=[patient.pk])
        messages.error(request, message)
        return response
    messages.error(request, message)
    return redirect("plan-detail", patient_id=patient.pk)


def _saved(
    request: HttpRequest, patient: Patient, draft: TreatmentPlan, **after: str
) -> HttpResponse:
    """The draft after a change: ``after`` says where the keyboard focus goes next."""
    if _is_htmx(request):
        draft.refresh_from_db()
        return _editor(request, patient, draft, **after)
    return redirect("plan-draft", patient_id=patient.pk)


def _after_adding(kind: str, item: Any) -> dict[str, str]:
    """Where the focus goes once an item is added: on to what the new item still needs
    (a problem its goal, a goal its objective, an objective's goal its intervention),
    otherwise back to the "Add …" of the same list, to add another."""
    if kind == "problem":
        return {"focus": f"add-goal-{item.pk}", "focus_field": "statement"}
    if kind == "goal":
        return {"focus": f"add-objective-{item.pk}", "focus_field": "statement"}
    if kind == "objective" and not PlanIntervention.objects.filter(goal_id=item.goal_id).exists():
        return {"focus": f"add-intervention-{item.goal_id}", "focus_field": "modality"}
    return {"focus": f"more-{kind}-{item.goal_id}"}


@require_http_methods(["GET", "POST"])
@requires("plans.write")
def plan_draft_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _editor_patient(request, patient_id, "treatment plan draft")
    draft = _draft(patient)
    if draft is None:
        return _no_draft(request, patient)
    if request.method == "GET":
        return _editor(request, patient, draft)
    form = SummaryForm(request.POST)
    if form.is_valid():
        try:
            plans.update_plan_summary(
                draft,
                user=request.user,  # type: ignore[arg-type]
                version=form.cleaned_data["version"],
                summary=form.cleaned_data["summary"],
                request=request,
            )
        except NoteConflict as exc:
            return _editor(request, patient, draft, problem=exc.message, status=409)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _saved(request, patient, draft, focus="summary", saved="summary")
    return _editor(request, patient, draft, failed="summary", failed_form=form, status=422)


def _check_kind(kind: str) -> None:
    if kind not in plans.ITEM_KINDS:
        raise Http404("No such part of a plan.")


@require_POST
@requires("plans.write")
def plan_item_add_view(request: HttpRequest, patient_id: int, kind: str) -> HttpResponse:
    _check_kind(kind)
    patient = _editor_patient(request, patient_id, f"treatment plan draft: add {kind}")
    draft = _draft(patient)
    if draft is None:
        return _no_draft(request, patient)
    form = item_form(kind, request.POST, staff=plans.site_staff(patient.site_id))
    parent = request.POST.get("parent", "")
    failed = f"add-{kind}-{parent}" if kind != "problem" else "add-problem"
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        if kind in ("goal",):
            data["problem"] = parent
        elif kind in ("objective", "intervention"):
            data["goal"] = parent
        try:
            item = plans.add_plan_item(
                draft,
                user=request.user,  # type: ignore[arg-type]
                version=form.cleaned_data["version"],
                kind=kind,
                data=data,
                request=request,
            )
        except NoteConflict as exc:
            return _editor(request, patient, draft, problem=exc.message, status=409)
        except ValidationError as exc:
            rest = apply_errors(form, exc)
            for messages_ in rest.values():
                for message in messages_:
                    form.add_error(None, message)
        else:
            return _saved(request, patient, draft, **_after_adding(kind, item))
    return _editor(request, patient, draft, failed=failed, failed_form=form, status=422)


@require_http_methods(["GET", "POST"])
@requires("plans.write")
def plan_item_edit_view(
    request: HttpRequest, patient_id: int, kind: str, item_id: int
) -> HttpResponse:
    _check_kind(kind)
    patient = _editor_patient(request, patient_id, f"treatment plan draft: {kind} #{item_id}")
    draft = _draft(patient)
    if draft is None:
        return _no_draft(request, patient)
    key = f"{kind}-{item_id}"
    if request.method == "GET":
        return _editor(request, patient, draft, editing=key)
    form = item_form(kind, request.POST, staff=plans.site_staff(patient.site_id))
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            plans.update_plan_item(
                draft,
                user=request.user,  # type: ignore[arg-type]
                version=form.cleaned_data["version"],
                kind=kind,
                item_id=item_id,
                data=data,
                request=request,
            )
        except NoteConflict as exc:
            return _editor(request, patient, draft, problem=exc.message, status=409)
        except ValidationError as exc:
            rest = apply_errors(form, exc)
            for messages_ in rest.values():
                for message in messages_:
                    form.add_error(None, message)
        else:
            return _saved(request, patient, draft, focus=f"edit-{key}")
    return _editor(request, patient, draft, editing=key, failed=key, failed_form=form, status=422)


@require_POST
@requires("plans.write")
def plan_item_remove_view(
    request: HttpRequest, patient_id: int, kind: str, item_id: int
) -> HttpResponse:
    _check_kind(kind)
    patient = _editor_patient(
        request, patient_id, f"treatment plan draft: remove {kind} #{item_id}"
    )
    draft = _draft(patient)
    if draft is None:
        return _no_draft(request, patient)
    form = VersionForm(request.POST)
    if not form.is_valid():
        return _editor(
            request, patient, draft, problem="Reload the plan and try again.", status=422
        )
    after = _after_removing(draft, kind, item_id)
    try:
        plans.remove_plan_item(
            draft,
            user=request.user,  # type: ignore[arg-type]
            version=form.cleaned_data["version"],
            kind=kind,
            item_id=item_id,
            request=request,
        )
    except NoteConflict as exc:
        return _editor(request, patient, draft, problem=exc.message, status=409)
    except ValidationError as exc:
        return _editor(request, patient, draft, problem=" ".join(exc.messages), status=422)
    return _saved(request, patient, draft, **after)


def _after_removing(draft: TreatmentPlan, kind: str, item_id: int) -> dict[str, str]:
    """Where the focus goes once an item is removed: the "Add …" of the list it was in."""
    if kind == "problem":
        return {"focus": "add-problem", "focus_field": "statement"}
    parent = "problem" if kind == "goal" else "goal"
    model = {"goal": PlanGoal, "objective": PlanObjective, "intervention": PlanIntervention}[kind]
    parent_id = model.objects.filter(plan=draft, pk=item_id).values_list(f"{parent}_id", flat=True)
    first = parent_id.first()
    return {"focus": f"more-{kind}-{first}"} if first is not None else {}


@require_POST
@requires("plans.write")
def plan_sign_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _editor_patient(request, patient_id, "treatment plan signature")
    draft = _draft(patient)
    if draft is None:
        return _no_draft(request, patient)
    form = VersionForm(request.POST)
    if not form.is_valid():
        return _editor(
            request, patient, draft, problem="Reload the plan and try again.", status=422
        )
    try:
        signed = plans.sign_plan(
            draft,
            user=request.user,  # type: ignore[arg-type]
            version=form.cleaned_data["version"],
            request=request,
        )
    except NoteConflict as exc:
        return _editor(request, patient, draft, problem=exc.message, status=409)
    except NotPermitted as exc:
        # The role may write plans (the guard let it in) but this person may not sign:
        # the page says why, like any other refused input.
        return _editor(request, patient, draft, problem=exc.message, status=422)
    except ValidationError as exc:
        return _editor(request, patient, draft, missing=exc.message_dict, status=422)
    due_on = signed.review_due_on
    messages.success(
        request,
        f"Version {signed.number} is signed. The next review is due"
        f" {due_on.strftime('%b')} {due_on.day}, {due_on.year}."
        if due_on
        else "Signed.",
    )
    url = reverse("plan-detail", args=[patient.pk])
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# --- Relapse-prevention plan ----------------------------------------------------------------


def _rpp_versions(patient: Patient) -> list[RelapsePreventionPlan]:
    return list(
        RelapsePreventionPlan.objects.filter(patient=patient)
        .select_related("author")
        .order_by("-number")
    )


def _rpp_page(request: HttpRequest, patient: Patient, *, number: int | None = None) -> HttpResponse:
    versions = _rpp_versions(patient)
    if number is None:
        shown = versions[0] if versions else None
    else:
        shown = next((v for v in versions if v.number == number), None)
        if shown is None:
            raise Http404("No such version.")
    return render(
        request,
        "clinical/rpp_detail.html",
        {
            "patient": patient,
            "versions": versions,
            "shown": shown,
            "latest": versions[0] if versions else None,
            "sections": _sections(shown),
            "may_write": role_may(current_role(request), "plans.write"),
        },
    )


def _sections(plan: RelapsePreventionPlan | None) -> list[dict[str, str]]:
    if plan is None:
        return []
    return [
        {"code": code, "label": label, "help": help_text, "text": getattr(plan, code)}
        for code, label, help_text in relapse_prevention.SECTIONS
    ]


@require_GET
@requires("plans.view")
def rpp_detail_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(
        request,
        patient_id,
        permission="plans.view",
        object_type="relapse_prevention_plan",
        detail="relapse-prevention plan",
    )
    return _rpp_page(request, patient)


@require_GET
@requires("plans.view")
def rpp_version_view(request: HttpRequest, patient_id: int, number: int) -> HttpResponse:
    patient = _patient(
        request,
        patient_id,
        permission="plans.view",
        object_type="relapse_prevention_plan",
        detail=f"relapse-prevention plan v{number}",
    )
    return _rpp_page(request, patient, number=number)


@require_GET
@requires("plans.view")
def rpp_print_view(request: HttpRequest, patient_id: int, number: int) -> HttpResponse:
    patient = _patient(
        request,
        patient_id,
        permission="plans.view",
        action=Action.PRINT,
        object_type="relapse_prevention_plan",
        detail=f"relapse-prevention plan v{number} print view",
    )
    plan = (
        RelapsePreventionPlan.objects.filter(patient=patient, number=number)
        .select_related("author")
        .first()
    )
    if plan is None:
        raise Http404("No such version.")
    return render(
        request,
        "clinical/rpp_print.html",
        {"patient": patient, "plan": plan, "sections": _sections(plan)},
    )


def _support_rows(supports: list[dict[str, str]], errors: dict[str, list[str]]) -> list[Any]:
    rows = []
    for index, row in enumerate(supports):
        rows.append(
            {
                "index": index,
                **row,
                "errors": {
                    field: errors.get(f"supports[{index}].{field}", [])
                    for field in ("name", "phone", "relationship")
                },
            }
        )
    return rows


BLANK_SUPPORT = {"name": "", "phone": "", "relationship": ""}


@require_http_methods(["GET", "POST"])
@requires("plans.write")
def rpp_edit_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    action = Action.VIEW if request.method == "GET" else Action.CREATE
    patient = _patient(
        request,
        patient_id,
        permission="plans.write",
        action=action,
        object_type="relapse_prevention_plan",
        detail="relapse-prevention plan form",
    )
    if request.method == "GET" and _is_htmx(request) and "add_row" in request.GET:
        # "Add another person": one more blank row of the sober-support list.
        try:
            index = max(0, min(int(request.GET["add_row"]), relapse_prevention.MAX_SUPPORTS * 2))
        except ValueError:
            index = 0
        rows = _support_rows([BLANK_SUPPORT], {})
        rows[0]["index"] = index
        return render(
            request,
            "clinical/_rpp_support_added.html",
            {"row": rows[0], "patient": patient, "next_index": index + 1, "oob": True},
        )
    latest = relapse_prevention.latest_plan(patient)
    conflict = ""
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        form = RelapsePreventionForm(request.POST)
        supports = supports_from_post(request.POST)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "based_on"}
            data["supports"] = supports
            try:
                saved = relapse_prevention.save_relapse_prevention_plan(
                    patient,
                    author=request.user,  # type: ignore[arg-type]
                    data=data,
                    based_on_number=form.cleaned_data["based_on"],
                    request=request,
                )
            except NoteConflict as exc:
                conflict = exc.message
                status = 409
            except ValidationError as exc:
                errors = apply_errors(form, exc)
                status = 422
            else:
                messages.success(request, f"Version {saved.number} of the plan is saved.")
                return redirect("rpp-detail", patient_id=patient.pk)
        else:
            status = 422
    else:
        initial: dict[str, Any] = {"based_on": latest.number if latest else 0}
        if latest is not None:
            initial.update(
                {code: getattr(latest, code) for code in relapse_prevention.SECTION_CODES}
            )
        form = RelapsePreventionForm(initial=initial)
        supports = list(latest.supports) if latest is not None else []
    # Two blank rows to fill on a fresh form; what was posted (with its errors) otherwise.
    shown_rows = [*supports, BLANK_SUPPORT, BLANK_SUPPORT] if request.method == "GET" else supports
    rows = _support_rows(shown_rows or [BLANK_SUPPORT], errors)
    return render(
        request,
        "clinical/rpp_form.html",
        {
            "patient": patient,
            "form": form,
            "latest": latest,
            "rows": rows,
            "next_index": len(rows),
            "conflict": conflict,
            "support_errors": errors.get("supports", []),
        },
        status=status,
    )
