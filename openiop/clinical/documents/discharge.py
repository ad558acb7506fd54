"""The discharge summary of an episode of care that ended with a discharge.

Admission and discharge dates, the reason, each level of care of the episode with its
transfers, attendance totals, the curriculum modules completed, the last signed treatment
plan's goals with the status of each objective, and the clinician's recommendations and
aftercare, typed when the summary is issued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from reportlab.platypus import Flowable, KeepTogether

from openiop.clinical.documents.layout import (
    DocumentContext,
    fields,
    fmt_date,
    fmt_hours,
    fmt_time,
    grid,
    heading,
    narrative,
    para,
    render,
)
from openiop.clinical.models import PlanStatus, TreatmentPlan
from openiop.lib.dates import day_bounds
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus
from openiop.scheduling.curriculum import patient_curriculum
from openiop.scheduling.models import ATTENDED_STATUSES, AttendanceStatus, Booking, SessionStatus

# Absences a discharge summary reports as missed sessions (excused ones included: the
# summary says how many sessions were not attended, whatever the reason).
MISSED_STATUSES = (AttendanceStatus.EXCUSED, AttendanceStatus.UNEXCUSED, AttendanceStatus.NO_SHOW)


@dataclass(frozen=True)
class DischargeFacts:
    enrollment: Enrollment
    episode_enrollments: list[Enrollment]
    attended: int
    missed: int
    minutes: int
    modules_completed: list[str]
    modules_total: int
    plan: TreatmentPlan | None


def discharged_enrollments(patient_id: int) -> list[Enrollment]:
    return list(
        Enrollment.objects.filter(patient_id=patient_id, status=EnrollmentStatus.DISCHARGED)
        .select_related("program")
        .order_by("-discharged_on", "-pk")
    )


def load_enrollment(enrollment_id: int, *, patient_id: int) -> Enrollment | None:
    return (
        Enrollment.objects.filter(pk=enrollment_id, patient_id=patient_id)
        .select_related("program__level_of_care", "episode", "primary_therapist")
        .first()
    )


def discharge_facts(patient: Patient, enrollment: Enrollment) -> DischargeFacts:
    """What the summary states, read in a fixed number of queries."""
    if enrollment.discharged_on is None:
        raise ValueError("A discharge summary needs a discharged enrollment.")
    episode = list(
        Enrollment.objects.filter(
            episode_id=enrollment.episode_id, admitted_on__lte=enrollment.discharged_on
        )
        .select_related("program__level_of_care", "track")
        .order_by("admitted_on", "pk")
    )
    _, end = day_bounds(enrollment.discharged_on, patient.site.time_zone)
    totals = Booking.objects.filter(
        enrollment__episode_id=enrollment.episode_id,
        patient=patient,
        session__status=SessionStatus.SCHEDULED,
        session__starts_at__lt=end,
    ).aggregate(
        attended=Count("pk", filter=Q(status__in=ATTENDED_STATUSES)),
        missed=Count("pk", filter=Q(status__in=MISSED_STATUSES)),
        minutes=Coalesce(
            Sum(
                Coalesce(F("minutes_attended"), F("session__duration_minutes")),
                filter=Q(status__in=ATTENDED_STATUSES),
            ),
            0,
        ),
    )
    curriculum = patient_curriculum(patient)
    plan = (
        TreatmentPlan.objects.filter(
            patient=patient, enrollment__episode_id=enrollment.episode_id, status=PlanStatus.SIGNED
        )
        .prefetch_related("problems", "goals", "objectives")
        .order_by("-number")
        .first()
    )
    return DischargeFacts(
        enrollment=enrollment,
        episode_enrollments=episode,
        attended=totals["attended"],
        missed=totals["missed"],
        minutes=totals["minutes"],
        modules_completed=[m.module.name for m in curriculum if m.completed],
        modules_total=len(curriculum),
        plan=plan,
    )


def _levels(enrollments: Sequence[Enrollment]) -> Flowable:
    rows = []
    for e in enrollments:
        level = e.program.level_of_care
        program = f"{e.program.name}{f' ({e.track.name})' if e.track else ''}"
        change = e.get_transfer_kind_display() if e.transfer_kind else "Admission"
        if e.transfer_reason:
            change = f"{change}: {e.transfer_reason}"
        until = fmt_date(e.discharged_on) if e.discharged_on else "present"
        rows.append(
            [
                program,
                f"{level.name} (ASAM {level.code})",
                f"{fmt_date(e.admitted_on)} – {until}",
                change,
            ]
        )
    return grid(["Program", "Level of care", "Dates", "How it began"], rows, [2.4, 2.2, 2, 2.4])


def _plan_goals(plan: TreatmentPlan, time_zone: str) -> list[Flowable]:
    objectives: dict[int, list] = {}
    for objective in plan.objectives.all():
        objectives.setdefault(objective.goal_id, []).append(objective)
    problem_position = {p.pk: p.position for p in plan.problems.all()}
    goals = sorted(
        plan.goals.all(), key=lambda g: (problem_position.get(g.problem_id, 0), g.position, g.pk)
    )
    story: list[Flowable] = [
        para(
            f"Treatment plan version {plan.number}, signed"
            f" {fmt_time(plan.signed_at, time_zone)} by {plan.signer_name}.",
            "muted",
        )
    ]
    for index, goal in enumerate(goals, start=1):
        rows = [
            [o.statement, fmt_date(o.target_date), o.get_status_display()]
            for o in sorted(objectives.get(goal.pk, []), key=lambda o: (o.position, o.pk))
        ]
        block: list[Flowable] = [para(f"Goal {index}: {goal.statement}", "cell_bold")]
        if rows:
            block.append(
                grid(["Objective", "Target date", "Status at discharge"], rows, [5, 1.4, 1.6])
            )
        story.append(KeepTogether(block))
    if not goals:
        story.append(para("The plan lists no goals.", "muted"))
    return story


def build_discharge_summary(
    ctx: DocumentContext, facts: DischargeFacts, *, aftercare: str
) -> bytes:
    enrollment = facts.enrollment
    first = facts.episode_enrollments[0] if facts.episode_enrollments else enrollment
    therapist = enrollment.primary_therapist
    story: list[Flowable] = [
        fields(
            [
                ("Admitted", fmt_date(first.admitted_on)),
                ("Discharged", fmt_date(enrollment.discharged_on)),
                ("Reason", enrollment.get_discharge_reason_display() or "—"),
                ("Discharge note", enrollment.discharge_note or "—"),
                ("Primary therapist", therapist.signature_name if therapist else "—"),
            ]
        ),
        heading("Levels of care in this episode"),
        _levels(facts.episode_enrollments or [enrollment]),
        heading("Attendance"),
        fields(
            [
                ("Sessions attended", str(facts.attended)),
                ("Sessions missed", f"{facts.missed} (excused and unexcused absences, no-shows)"),
                ("Hours attended", fmt_hours(facts.minutes)),
            ]
        ),
        heading("Life-skills curriculum"),
        para(
            f"{len(facts.modules_completed)} of {facts.modules_total} modules completed"
            + (f": {', '.join(facts.modules_completed)}." if facts.modules_completed else ".")
        ),
        heading("Treatment plan goals"),
    ]
    if facts.plan is not None:
        story += _plan_goals(facts.plan, ctx.time_zone)
    else:
        story.append(para("No treatment plan was signed in this episode.", "muted"))
    story += [heading("Recommendations and aftercare"), narrative(aftercare)]
    return render(ctx, story)
