"""make_* helpers for individual-note tests (services, pages, worklist)."""

from __future__ import annotations

from dataclasses import dataclass

from openiop.accounts.models import Site, User
from openiop.clinical.individual_notes import (
    sign_individual_note,
    start_individual_note,
    update_individual_note,
)
from openiop.clinical.models import Note, TreatmentPlan
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, Program
from openiop.scheduling.models import Booking, Session
from tests.factories_clinical import held_individual, make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

DAP_TEXT = {
    "data": "Client reports three days abstinent; slept poorly.",
    "assessment": "Engaged; mild craving, no safety concerns.",
    "plan": "Continue CBT for cravings; next session in one week.",
}


@dataclass
class Individual:
    patient: Patient
    enrollment: Enrollment
    session: Session
    booking: Booking
    plan: TreatmentPlan | None


def individual(
    site: Site,
    therapist: User,
    *,
    first_name: str = "Dee",
    last_name: str = "Fictional",
    minutes: int = 50,
    ago_hours: int = 2,
    plan: bool = True,
    program: Program | None = None,
) -> Individual:
    """An enrolled patient with a signed plan and an individual session held ``ago_hours`` ago."""
    patient = make_patient(site, first_name=first_name, last_name=last_name)
    program = program or Program.objects.filter(site=site).first() or make_program(site)
    enrollment = make_enrollment(patient, program, primary_therapist=therapist)
    session, booking = held_individual(
        site, therapist, patient, minutes=minutes, ago_hours=ago_hours
    )
    booking.enrollment = enrollment
    booking.save(update_fields=["enrollment"])
    made = make_plan(patient, enrollment, therapist) if plan else None
    return Individual(patient, enrollment, session, booking, made)


def signed_note(case: Individual, author: User, *, text: dict[str, str] | None = None) -> Note:
    """A signed DAP note for ``case`` addressing the first goal of its plan."""
    note = start_individual_note(case.session, author=author, format="dap")
    data: dict[str, object] = dict(text or DAP_TEXT)
    if case.plan is not None:
        data["goal_ids"] = [case.plan.goals.order_by("pk").first().pk]
    note = update_individual_note(note, user=author, version=note.version, data=data)
    return sign_individual_note(note, user=author)


def another_session(case: Individual, therapist: User, *, ago_hours: int) -> Individual:
    """The same patient (enrollment, plan) in another individual session ``ago_hours`` ago."""
    session, booking = held_individual(
        case.session.site, therapist, case.patient, ago_hours=ago_hours
    )
    booking.enrollment = case.enrollment
    booking.save(update_fields=["enrollment"])
    return Individual(case.patient, case.enrollment, session, booking, case.plan)
