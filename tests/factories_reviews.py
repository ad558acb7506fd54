"""make_* helpers for the level-review engine tests: screens with a verdict, scores on a date,
weeks of attendance, a plan with its goals met. Rows are written directly so a test can lay out
any history cheaply; everyone is fictional."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from openiop.accounts.models import Site, User
from openiop.clinical.models import (
    ObjectiveStatus,
    PlanGoal,
    PlanKind,
    PlanObjective,
    PlanProblem,
    PlanStatus,
    TreatmentPlan,
)
from openiop.lib.dates import IsoWeek, at_local, local_today
from openiop.measures import instruments
from openiop.measures.models import MeasureResponse
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment
from openiop.screening.models import DrugScreen, ScreenReason, ScreenStatus
from tests.factories_hours import make_attended_session

PHQ9 = {
    "minimal": [0, 0, 0, 0, 0, 0, 0, 1, 0],  # 1
    "mild": [1, 1, 1, 1, 1, 1, 1, 0, 0],  # 7
    "moderate": [2, 2, 2, 1, 1, 1, 1, 0, 0],  # 10
    "severe": [3, 3, 3, 3, 3, 3, 3, 3, 0],  # 24
}
GAD7_MILD = [1, 1, 1, 1, 1, 0, 0]  # 5


def today_at(site: Site) -> date:
    return local_today(site.time_zone)


def screen_on(
    patient: Patient,
    day: date,
    *,
    unexpected: bool,
    enrollment: Enrollment | None = None,
    reason: str = ScreenReason.FOR_CAUSE,
) -> DrugScreen:
    """A collected screen on ``day`` (10:00 at the site) whose stored verdict is given."""
    return DrugScreen.objects.create(
        site=patient.site,
        patient=patient,
        enrollment=enrollment,
        reason=reason,
        cause="" if reason == ScreenReason.RANDOM else "Staff concern",
        status=ScreenStatus.COLLECTED,
        selected_on=day,
        specimen="urine",
        collected_at=at_local(day, time(10, 0), patient.site.time_zone),
        verdict="unexpected" if unexpected else "expected",
        created_by_label="test",
    )


def response_on(
    patient: Patient,
    day: date,
    instrument: str = "PHQ-9",
    answers: list[int] | None = None,
    *,
    by: User,
    enrollment: Enrollment | None = None,
) -> MeasureResponse:
    """A scored response on ``day``, written directly (the service refuses nothing here, but
    this skips its alerts so a test sees only the engine's)."""
    answers = answers if answers is not None else PHQ9["mild"]
    scored = instruments.score(instrument, dict(enumerate(answers, start=1)))
    return MeasureResponse.objects.create(
        patient=patient,
        site=patient.site,
        enrollment=enrollment,
        instrument=instrument,
        instrument_version=scored.version,
        answers={str(k): v for k, v in scored.answers},
        score=scored.total,
        band=scored.band or "",
        subscales=dict(scored.subscales),
        flags=[
            {"code": str(f.code), "severity": str(f.severity), "detail": f.reason, "item": f.item}
            for f in scored.flags
        ],
        has_safety_flag=scored.has_safety_flag,
        taken_on=day,
        recorded_by=by,
        recorded_at=timezone.now(),
    )


def week_attended(
    site: Site, facilitator: User, patient: Patient, week: IsoWeek, *, hours: int
) -> None:
    """``hours`` hours attended in ``week``, as one-hour groups from Monday on."""
    for index in range(hours):
        make_attended_session(
            site,
            facilitator,
            patient,
            day=week.monday + timedelta(days=index % 5),
            clock=time(9 + index // 5, 0),
            minutes=60,
        )


def closed_weeks(today: date, count: int) -> list[IsoWeek]:
    """The ``count`` weeks that ended before ``today``'s week, oldest first."""
    this = IsoWeek.of(today)
    return [this.shift(-k) for k in range(count, 0, -1)]


def plan_with_goals(
    patient: Patient, enrollment: Enrollment, author: User, *, statuses: list[str]
) -> TreatmentPlan:
    """A signed plan with one goal per status in ``statuses`` (one objective each)."""
    number = TreatmentPlan.objects.filter(patient=patient).count() + 1
    plan = TreatmentPlan.objects.create(
        patient=patient,
        enrollment=enrollment,
        number=number,
        kind=PlanKind.INITIAL if number == 1 else PlanKind.REVIEW,
        status=PlanStatus.DRAFT,
        author=author,
    )
    problem = PlanProblem.objects.create(plan=plan, statement="Returning cravings")
    for position, status in enumerate(statuses):
        goal = PlanGoal.objects.create(
            plan=plan, problem=problem, position=position, statement=f"Goal {position + 1}"
        )
        PlanObjective.objects.create(
            plan=plan,
            goal=goal,
            statement="Attends every group this month",
            target_date=enrollment.admitted_on + timedelta(days=60),
            status=status,
        )
    # Signed plans are immutable (database trigger): sign once the content is in.
    TreatmentPlan.objects.filter(pk=plan.pk).update(
        status=PlanStatus.SIGNED,
        signed_at=timezone.now(),
        signed_by=author,
        signer_name="Test Signer",
        content_sha256="0" * 64,
    )
    return plan


ALL_MET = [ObjectiveStatus.MET, ObjectiveStatus.MET]


def moment(day: date, site: Site, hour: int = 12) -> datetime:
    return at_local(day, time(hour, 0), site.time_zone)
