"""Admission, discharge and transfer with their schedule side: the services screens call.

Each one is a single transaction: the enrollment rows (``openiop.programs.enrollment``), the
bookings (``openiop.scheduling.booking``) and the audit events commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from openiop.accounts.models import User
from openiop.audit.models import Action
from openiop.patients.models import Patient
from openiop.programs import enrollment as programs_enrollment
from openiop.programs.models import Cadence, Enrollment, EnrollmentStatus, Program, Track
from openiop.scheduling import booking
from openiop.scheduling.booking import (
    BookingConflict,
    BookingSummary,
    book_drop_in,
    book_individual_session,
    schedule_individual_series,
    set_individual_schedule,
)
from openiop.scheduling.models import AttendanceStatus, Booking, BookingKind, IndividualSeries

__all__ = [
    "AdmissionResult",
    "BookingConflict",
    "TransferResult",
    "admit_patient",
    "book_drop_in",
    "book_individual_session",
    "discharge_patient",
    "schedule_individual_series",
    "set_individual_schedule",
    "transfer_patient",
]


@dataclass(frozen=True)
class AdmissionResult:
    enrollment: Enrollment
    bookings: BookingSummary


@dataclass(frozen=True)
class TransferResult:
    enrollment: Enrollment
    previous: Enrollment
    bookings: BookingSummary
    cancelled: int


def _audit(
    request: HttpRequest | None,
    by: User,
    patient: Patient,
    *,
    action: Action,
    enrollment: Enrollment,
    detail: str,
) -> None:
    booking._audit(
        request=request,
        by=by,
        patient=patient,
        action=action,
        object_type="enrollment",
        object_id=enrollment.pk,
        detail=detail,
    )


def _skipped_note(summary: BookingSummary) -> str:
    return f"; {len(summary.skipped)} skipped" if summary.skipped else ""


@transaction.atomic
def admit_patient(
    *,
    patient: Patient,
    program: Program,
    track: Track | None,
    admitted_on: date,
    weekly_hours_min: Decimal | int | str | None = None,
    weekly_hours_max: Decimal | int | str | None = None,
    primary_therapist: User | None = None,
    prescriber: User | None = None,
    individual_cadence: str = Cadence.WEEKLY,
    by: User,
    request: HttpRequest | None = None,
) -> AdmissionResult:
    """Admit a patient: open the enrollment (new or open episode) and book the track's groups."""
    enrollment = programs_enrollment.open_enrollment(
        patient=patient,
        program=program,
        track=track,
        admitted_on=admitted_on,
        weekly_hours_min=weekly_hours_min,
        weekly_hours_max=weekly_hours_max,
        primary_therapist=primary_therapist,
        prescriber=prescriber,
        individual_cadence=individual_cadence,
    )
    summary = booking.book_enrollment_into_future_sessions(enrollment)
    _audit(
        request,
        by,
        patient,
        action=Action.CREATE,
        enrollment=enrollment,
        detail=(
            f"Admitted to {program.name}{f' — {track.name}' if track else ''} on {admitted_on};"
            f" {summary.booked} group sessions booked{_skipped_note(summary)}"
        ),
    )
    return AdmissionResult(enrollment=enrollment, bookings=summary)


@transaction.atomic
def discharge_patient(
    *,
    enrollment: Enrollment,
    discharged_on: date,
    reason: str,
    note: str = "",
    by: User,
    request: HttpRequest | None = None,
    expected_version: int | None = None,
) -> Enrollment:
    """Discharge: close the enrollment and the episode, free the patient's future seats.

    Bookings in sessions after the discharge day (site time) are cancelled — attendance
    already recorded stays — and recurring individual therapy ends.
    """
    closed = programs_enrollment.close_enrollment(
        enrollment=enrollment,
        discharged_on=discharged_on,
        reason=reason,
        note=note,
        expected_version=expected_version,
    )
    patient = closed.patient
    after = booking.day_start_after(discharged_on, patient.site.time_zone)
    why = f"Discharged on {discharged_on}"
    booking.end_individual_series(enrollment=closed, ends_on=discharged_on, after=after, reason=why)
    cancelled = booking.cancel_future_bookings(patient=patient, after=after, reason=why)
    programs_enrollment.close_episode(episode=closed.episode, closed_on=discharged_on)
    _audit(
        request,
        by,
        patient,
        action=Action.UPDATE,
        enrollment=closed,
        detail=(
            f"Discharged on {discharged_on} ({closed.get_discharge_reason_display()});"
            f" {cancelled} future bookings cancelled"
        ),
    )
    return closed


@transaction.atomic
def transfer_patient(
    *,
    enrollment: Enrollment,
    program: Program,
    track: Track | None,
    on: date,
    reason: str,
    kind: str | None = None,
    weekly_hours_min: Decimal | int | str | None = None,
    weekly_hours_max: Decimal | int | str | None = None,
    primary_therapist: User | None = None,
    prescriber: User | None = None,
    individual_cadence: str | None = None,
    by: User,
    request: HttpRequest | None = None,
    expected_version: int | None = None,
) -> TransferResult:
    """Step up, step down or change track inside the same episode, all or nothing.

    The old enrollment closes on ``on`` and the new one opens the same day; the old track's
    future bookings are cancelled and the new track's sessions booked. Recurring individual
    therapy follows the patient when the therapist and cadence stay the same, else it ends.
    Drop-ins stay.
    """
    new = programs_enrollment.transfer_enrollment(
        enrollment=enrollment,
        program=program,
        track=track,
        on=on,
        reason=reason,
        kind=kind,
        weekly_hours_min=weekly_hours_min,
        weekly_hours_max=weekly_hours_max,
        primary_therapist=primary_therapist,
        prescriber=prescriber,
        individual_cadence=individual_cadence,
        expected_version=expected_version,
    )
    old = Enrollment.objects.select_related("patient__site").get(pk=enrollment.pk)
    patient = new.patient
    cutoff = booking.booking_cutoff(on, patient.site.time_zone)
    why = f"Transferred on {on}"
    cancelled = booking.cancel_future_bookings(
        patient=patient, after=cutoff, reason=why, kinds=[BookingKind.TRACK], enrollment=old
    )
    keeps_individual = (
        new.primary_therapist_id == old.primary_therapist_id
        and new.individual_cadence == old.individual_cadence
        and new.individual_cadence != Cadence.NONE
    )
    if keeps_individual:
        _move_individual_series(old=old, new=new, after=cutoff)
    else:
        cancelled += booking.end_individual_series(
            enrollment=old, ends_on=on, after=cutoff, reason=why
        )
    # A transfer recorded after the fact books only what is still ahead: sessions already
    # held cannot be attended any more, and leaving them "booked" would count them as missed.
    summary = booking.book_enrollment_into_future_sessions(
        new, from_moment=max(cutoff, timezone.now())
    )
    _audit(
        request,
        by,
        patient,
        action=Action.UPDATE,
        enrollment=new,
        detail=(
            f"{new.get_transfer_kind_display()} on {on} from enrollment {old.pk} to"
            f" {program.name}{f' — {track.name}' if track else ''}; {cancelled} bookings"
            f" cancelled, {summary.booked} booked{_skipped_note(summary)}"
        ),
    )
    return TransferResult(enrollment=new, previous=old, bookings=summary, cancelled=cancelled)


def _move_individual_series(*, old: Enrollment, new: Enrollment, after: datetime) -> None:
    """Re-attach the recurring individual slot and its future bookings to the new enrollment."""
    IndividualSeries.objects.filter(enrollment=old, is_active=True).update(enrollment=new)
    Booking.objects.filter(
        enrollment=old,
        kind=BookingKind.INDIVIDUAL,
        session__starts_at__gte=after,
        status=AttendanceStatus.BOOKED,
    ).update(enrollment=new)


def active_enrollment_of(patient: Patient) -> Enrollment | None:
    return Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE).first()
