"""Questionnaires due: what each active enrollment's program schedules ask for now.

For each active enrollment and each ``MeasureSchedule`` of its program (DOMAIN.md §9, issue 6
point 1), counting only unstruck responses:

- **intake** (``at_intake``): due on the admission date while there is no response of the
  instrument since the enrollment's episode of care opened (a transfer inside the episode does
  not ask for a second intake questionnaire);
- **periodic** (``every_days``): due ``every_days`` after the last response in the episode (after
  the admission date when there is none and the schedule has no intake occasion);
- **discharge** (``at_discharge``): from 7 days before the expected end (admission +
  the program's typical length) while no response was taken in the last 7 days; due on the
  expected end.

An item is listed once it is due (``due_on`` on or before today; discharge items from the start
of their window) and is ``overdue`` once ``due_on`` has passed. One instrument gives one item
per enrollment: intake first, then discharge, then periodic.

Three queries whatever the number of patients: the active enrollments, their programs'
schedules, the last response date per patient and instrument.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Max, QuerySet

from openiop.accounts.models import Site
from openiop.measures.models import MeasureResponse, MeasureSchedule
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus

DISCHARGE_WINDOW_DAYS = 7  # issue 6: "within 7 days of its expected end"


class Reason:
    INTAKE = "intake"
    PERIODIC = "periodic"
    DISCHARGE = "discharge"


REASON_LABELS = {
    Reason.INTAKE: "Intake",
    Reason.PERIODIC: "Scheduled",
    Reason.DISCHARGE: "Discharge",
}


@dataclass(frozen=True)
class DueItem:
    patient: Patient
    enrollment: Enrollment
    instrument: str
    reason: str  # Reason.*
    due_on: date
    overdue: bool

    @property
    def reason_label(self) -> str:
        return REASON_LABELS[self.reason]


def expected_end(enrollment: Enrollment) -> date:
    return enrollment.admitted_on + timedelta(weeks=enrollment.program.typical_length_weeks)


def _item_for(
    enrollment: Enrollment, schedule: MeasureSchedule, last: date | None, today: date
) -> DueItem | None:
    opened_on = enrollment.episode.opened_on
    in_episode = last if last is not None and last >= opened_on else None

    def item(reason: str, due_on: date) -> DueItem:
        return DueItem(
            patient=enrollment.patient,
            enrollment=enrollment,
            instrument=schedule.instrument,
            reason=reason,
            due_on=due_on,
            overdue=due_on < today,
        )

    if schedule.at_intake and in_episode is None:
        return item(Reason.INTAKE, enrollment.admitted_on)
    if schedule.at_discharge:
        end = expected_end(enrollment)
        recent = last is not None and last > today - timedelta(days=DISCHARGE_WINDOW_DAYS)
        if today >= end - timedelta(days=DISCHARGE_WINDOW_DAYS) and not recent:
            return item(Reason.DISCHARGE, end)
    if schedule.every_days:
        start = in_episode if in_episode is not None else enrollment.admitted_on
        due_on = start + timedelta(days=schedule.every_days)
        if due_on <= today:
            return item(Reason.PERIODIC, due_on)
    return None


def _due(enrollments: QuerySet[Enrollment], today: date) -> list[DueItem]:
    active = list(
        enrollments.filter(status=EnrollmentStatus.ACTIVE).select_related(
            "patient", "program", "episode", "primary_therapist"
        )
    )
    if not active:
        return []
    schedules: dict[int, list[MeasureSchedule]] = {}
    for schedule in MeasureSchedule.objects.filter(
        program_id__in={e.program_id for e in active}
    ).order_by("instrument"):
        schedules.setdefault(schedule.program_id, []).append(schedule)
    instruments = {s.instrument for rows in schedules.values() for s in rows}
    if not instruments:
        return []
    last: dict[tuple[int, str], date] = {
        (row["patient_id"], row["instrument"]): row["last"]
        for row in MeasureResponse.objects.filter(
            patient_id__in={e.patient_id for e in active},
            instrument__in=instruments,
            strike__isnull=True,
            taken_on__lte=today,
        )
        .values("patient_id", "instrument")
        .annotate(last=Max("taken_on"))
        .order_by()
    }
    items = []
    for enrollment in active:
        for schedule in schedules.get(enrollment.program_id, []):
            found = _item_for(
                enrollment, schedule, last.get((enrollment.patient_id, schedule.instrument)), today
            )
            if found is not None:
                items.append(found)
    return sort_items(items)


def sort_items(items: Iterable[DueItem]) -> list[DueItem]:
    """Oldest due first, then by patient name and instrument."""
    return sorted(
        items,
        key=lambda i: (
            i.due_on,
            i.patient.last_name,
            i.patient.first_name,
            i.patient.pk,
            i.instrument,
        ),
    )


def due_for_site(site: Site, today: date) -> list[DueItem]:
    """Questionnaires due at ``site`` on ``today``. Three queries."""
    return _due(Enrollment.objects.filter(patient__site=site), today)


def due_for_patient(patient: Patient, today: date) -> list[DueItem]:
    """Questionnaires due for ``patient`` on ``today``. Three queries at most."""
    return _due(Enrollment.objects.filter(patient=patient), today)
