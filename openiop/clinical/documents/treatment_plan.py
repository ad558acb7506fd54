"""The treatment plan document: one signed version, problems → goals → objectives →
interventions, with the clinician's signature, the patient's acknowledgement, the version
number and the SHA-256 fingerprint of what was signed."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from reportlab.platypus import Flowable, KeepTogether, Spacer

from openiop.clinical.documents.layout import (
    DocumentContext,
    fields,
    fmt_date,
    fmt_time,
    grid,
    heading,
    narrative,
    para,
    render,
    signature_block,
)
from openiop.clinical.models import PlanAcknowledgement, TreatmentPlan


def load_plan(plan_id: int, *, patient_id: int) -> TreatmentPlan | None:
    """The plan with its whole tree (five queries), or None if not this patient's."""
    return (
        TreatmentPlan.objects.filter(pk=plan_id, patient_id=patient_id)
        .select_related("enrollment__program__level_of_care", "signed_by", "acknowledgement")
        .prefetch_related("problems", "goals", "objectives", "interventions__responsible")
        .first()
    )


def plan_tree(plan: TreatmentPlan) -> list[Flowable]:
    """Problems, goals, objectives and interventions (also used by the discharge summary)."""
    goals_by_problem: dict[int, list] = {}
    for goal in plan.goals.all():
        goals_by_problem.setdefault(goal.problem_id, []).append(goal)
    objectives: dict[int, list] = {}
    for objective in plan.objectives.all():
        objectives.setdefault(objective.goal_id, []).append(objective)
    interventions: dict[int, list] = {}
    for intervention in plan.interventions.all():
        interventions.setdefault(intervention.goal_id, []).append(intervention)
    story: list[Flowable] = []
    problems = sorted(plan.problems.all(), key=lambda p: (p.position, p.pk))
    if not problems:
        return [para("The plan lists no problems.", "muted")]
    for p_index, problem in enumerate(problems, start=1):
        story.append(heading(f"Problem {p_index}: {problem.statement}", 3))
        goals = sorted(goals_by_problem.get(problem.pk, []), key=lambda g: (g.position, g.pk))
        if not goals:
            story.append(para("No goals for this problem.", "muted"))
        for g_index, goal in enumerate(goals, start=1):
            block: list[Flowable] = [
                para(f"Goal {p_index}.{g_index}: {goal.statement}", "cell_bold")
            ]
            rows = [
                [o.statement, fmt_date(o.target_date), o.get_status_display()]
                for o in sorted(objectives.get(goal.pk, []), key=lambda o: (o.position, o.pk))
            ]
            if rows:
                block.append(grid(["Objective", "Target date", "Status"], rows, [5, 1.4, 1.2]))
            else:
                block.append(para("No objectives.", "muted"))
            rows = [
                [i.modality, i.frequency, i.responsible.signature_name]
                for i in sorted(interventions.get(goal.pk, []), key=lambda i: (i.position, i.pk))
            ]
            if rows:
                block.append(Spacer(1, 3))
                block.append(grid(["Intervention", "Frequency", "Responsible"], rows, [3, 2, 2.6]))
            block.append(Spacer(1, 6))
            story.append(KeepTogether(block))
    return story


def build_treatment_plan(ctx: DocumentContext, plan: TreatmentPlan) -> bytes:
    enrollment = plan.enrollment
    level = enrollment.program.level_of_care
    try:
        acknowledgement: PlanAcknowledgement | None = plan.acknowledgement
    except ObjectDoesNotExist:
        acknowledgement = None
    story: list[Flowable] = [
        fields(
            [
                ("Version", f"{plan.number} ({plan.get_kind_display().lower()})"),
                ("Program", f"{enrollment.program.name}, {level.name} (ASAM level {level.code})"),
                ("Admitted", fmt_date(enrollment.admitted_on)),
                ("Next review due", fmt_date(plan.review_due_on)),
            ]
        ),
        heading("Summary"),
        narrative(plan.summary),
        heading("Problems, goals, objectives and interventions"),
        *plan_tree(plan),
        signature_block(
            [
                ("Signed by", plan.signer_name),
                ("Signed at", fmt_time(plan.signed_at, ctx.time_zone)),
                (
                    "Patient acknowledgement",
                    (
                        f"{acknowledgement.typed_name}, "
                        f"{fmt_time(acknowledgement.acknowledged_at, ctx.time_zone)}"
                    )
                    if acknowledgement
                    else "Not acknowledged by the patient",
                ),
                ("Fingerprint (SHA-256)", para(plan.content_sha256, "small")),
            ]
        ),
    ]
    return render(ctx, story)
