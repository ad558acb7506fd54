"""make_* helpers for clinical documentation tests. Rows are written directly.

``held_group`` gives a group session that has happened with patients booked and attendance
recorded; ``make_plan`` a treatment plan (signed by default, with its fingerprint) whose
goals notes can address. Tests of the services themselves go through the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from openiop.accounts.models import Site, User
from openiop.clinical.hashing import plan_content, sha256_of
from openiop.clinical.models import (
    PlanGoal,
    PlanIntervention,
    PlanObjective,
    PlanProblem,
    PlanStatus,
    TreatmentPlan,
)
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, Program
from openiop.scheduling.models import AttendanceStatus, Booking, Session, SessionKind
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program
from tests.factories_scheduling import make_booking, make_session

# Obviously fictional attendees, one per status a group roster can hold.
GROUP_MEMBERS = [
    ("Alpha", "Testcase", AttendanceStatus.PRESENT, 180),
    ("Bravo", "Samplename", AttendanceStatus.LATE, 150),
    ("Charlie", "Fakerson", AttendanceStatus.NO_SHOW, None),
]


@dataclass
class HeldGroup:
    session: Session
    program: Program
    patients: list[Patient]
    enrollments: list[Enrollment]
    bookings: list[Booking]


def held_group(
    site: Site,
    facilitator: User,
    *,
    members: list[tuple[str, str, str, int | None]] | None = None,
    starts_at: datetime | None = None,
    minutes: int = 180,
    program: Program | None = None,
) -> HeldGroup:
    """A group session that ended an hour ago, each member enrolled, booked and recorded."""
    members = GROUP_MEMBERS if members is None else members
    program = program or make_program(site)
    starts_at = starts_at or timezone.now() - timedelta(minutes=minutes + 60)
    session = make_session(site, facilitator, starts_at, minutes)
    patients, enrollments, bookings = [], [], []
    for first, last, status, attended in members:
        patient = make_patient(site, first_name=first, last_name=last)
        enrollment = make_enrollment(patient, program, primary_therapist=facilitator)
        booking = make_booking(
            session,
            patient,
            status=status,
            enrollment=enrollment,
            minutes_attended=attended,
            recorded_by=facilitator,
            recorded_at=starts_at,
        )
        patients.append(patient)
        enrollments.append(enrollment)
        bookings.append(booking)
    return HeldGroup(session, program, patients, enrollments, bookings)


def held_individual(
    site: Site, therapist: User, patient: Patient, *, minutes: int = 50, ago_hours: int = 2
) -> tuple[Session, Booking]:
    """An individual session with ``patient`` that ended ``ago_hours`` ago, attended."""
    starts_at = timezone.now() - timedelta(hours=ago_hours, minutes=minutes)
    session = make_session(
        site,
        therapist,
        starts_at,
        minutes,
        title="Individual therapy",
        group_type=None,
        kind=SessionKind.INDIVIDUAL,
        capacity=1,
    )
    booking = make_booking(
        session,
        patient,
        kind="individual",
        status=AttendanceStatus.PRESENT,
        minutes_attended=minutes,
        recorded_by=therapist,
        recorded_at=starts_at,
    )
    return session, booking


def make_plan(
    patient: Patient,
    enrollment: Enrollment,
    author: User,
    *,
    goals: tuple[str, ...] = ("Stay abstinent from alcohol", "Rebuild a sober support network"),
    signed: bool = True,
    number: int | None = None,
    review_due_on: date | None = None,
) -> TreatmentPlan:
    """A treatment plan with one problem per goal, one objective and one intervention each."""
    number = number or (TreatmentPlan.objects.filter(patient=patient).count() + 1)
    plan = TreatmentPlan.objects.create(
        patient=patient,
        enrollment=enrollment,
        number=number,
        kind="initial" if number == 1 else "review",
        author=author,
        summary="Synthetic plan for tests.",
    )
    for position, statement in enumerate(goals):
        problem = PlanProblem.objects.create(
            plan=plan, position=position, statement=f"Problem behind: {statement}"
        )
        goal = PlanGoal.objects.create(plan=plan, problem=problem, position=0, statement=statement)
        PlanObjective.objects.create(
            plan=plan,
            goal=goal,
            statement=f"Objective for: {statement}",
            target_date=enrollment.admitted_on + timedelta(days=60),
        )
        PlanIntervention.objects.create(
            plan=plan,
            goal=goal,
            modality="CBT group",
            frequency="3 times a week",
            responsible=author,
        )
    if signed:
        plan.status = PlanStatus.SIGNED
        plan.signed_at = timezone.now()
        plan.signed_by = author
        plan.signer_name = author.signature_name
        plan.review_due_on = review_due_on or (timezone.localdate() + timedelta(days=30))
        plan.content_sha256 = sha256_of(plan_content(plan))
        plan.save()
    return plan
