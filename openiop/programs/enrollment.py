"""Episodes and enrollments: open, close and transfer (the programs layer).

These functions own the enrollment rows and their rules; they know nothing of sessions or
bookings. ``openiop.scheduling.enrollment`` wraps them with the schedule side (booking the
track's groups, cancelling future bookings) and the audit trail, and is what screens and the
API call.

Invalid input raises ``django.core.exceptions.ValidationError`` with a dict keyed by field
(forms show it beside the field, the API answers 422 naming it). A second active enrollment
raises ``ActiveEnrollmentExists`` (HTTP 409), a stale version ``StaleEnrollment`` (409).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from openiop.accounts.models import Membership, User
from openiop.accounts.roles import Role
from openiop.lib.dates import local_today
from openiop.patients.models import Patient
from openiop.programs.models import (
    Cadence,
    DischargeReason,
    Enrollment,
    EnrollmentStatus,
    Episode,
    Program,
    Track,
    TransferKind,
)

# Who may carry a caseload or prescribe. Directors are often licensed clinicians who keep a
# few patients; prescribing is for MD/NP/PA staff only (DESIGN.md §1).
THERAPIST_ROLES = frozenset({Role.THERAPIST, Role.DIRECTOR})
PRESCRIBER_ROLES = frozenset({Role.PRESCRIBER})

# A planned admission may be booked ahead; further out it is almost always a typo.
MAX_DAYS_AHEAD = 90

ACTIVE_MESSAGE = "This patient already has an active enrollment."


class ActiveEnrollmentExists(ValueError):
    """The patient already has an active enrollment (one at a time, a DB constraint)."""


class StaleEnrollment(ValueError):
    """The enrollment changed since the caller read it (optimistic locking)."""


def _money(value: Decimal | int | float | str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"))


def _check_staff(
    errors: dict[str, list[str]],
    field: str,
    user: User | None,
    *,
    site_id: int,
    roles: frozenset[str],
    what: str,
) -> None:
    if user is None:
        return
    ok = (
        user.is_active
        and Membership.objects.filter(user=user, site_id=site_id, role__in=roles).exists()
    )
    if not ok:
        errors.setdefault(field, []).append(
            f"{user.display_name} is not an active {what} at this site."
        )


def validate_enrollment_fields(
    *,
    patient: Patient,
    program: Program,
    track: Track | None,
    admitted_on: date,
    weekly_hours_min: Decimal,
    weekly_hours_max: Decimal,
    primary_therapist: User | None,
    prescriber: User | None,
    individual_cadence: str,
) -> None:
    """Every rule of a new enrollment that is not a database constraint; raises at once."""
    errors: dict[str, list[str]] = {}
    today = local_today(patient.site.time_zone)
    if not patient.is_active:
        errors[NON_FIELD_ERRORS] = [
            f"{patient.display_name} is marked inactive; reactivate the record before admitting."
        ]
    if admitted_on < patient.date_of_birth:
        errors["admitted_on"] = ["The admission date is before the patient's date of birth."]
    elif admitted_on > today + timedelta(days=MAX_DAYS_AHEAD):
        errors["admitted_on"] = [
            f"The admission date is more than {MAX_DAYS_AHEAD} days ahead ({admitted_on})."
        ]
    if program.site_id != patient.site_id:
        errors["program"] = ["The program is not offered at the patient's site."]
    elif not program.is_active:
        errors["program"] = [f"“{program.name}” is no longer active."]
    if track is not None:
        if track.program_id != program.pk:
            errors["track"] = [f"“{track.name}” is not a track of “{program.name}”."]
        elif not track.is_active:
            errors["track"] = [f"“{track.name}” is no longer active."]
    elif "program" not in errors and program.tracks.filter(is_active=True).exists():
        errors["track"] = ["Choose one of the program's tracks."]

    level = program.level_of_care
    floor, ceiling = level.weekly_hours_min, level.weekly_hours_max
    band = f"{floor}–{ceiling} h" if ceiling is not None else f"at least {floor} h"
    if weekly_hours_min < floor or (ceiling is not None and weekly_hours_min > ceiling):
        errors["weekly_hours_min"] = [
            f"The weekly floor {weekly_hours_min} h is outside {level.name}'s range ({band})."
        ]
    if ceiling is not None and weekly_hours_max > ceiling:
        errors["weekly_hours_max"] = [
            f"The weekly ceiling {weekly_hours_max} h is above {level.name}'s {ceiling} h."
        ]
    elif weekly_hours_max < weekly_hours_min:
        errors["weekly_hours_max"] = ["The weekly hour ceiling is below the floor."]

    _check_staff(
        errors,
        "primary_therapist",
        primary_therapist,
        site_id=patient.site_id,
        roles=THERAPIST_ROLES,
        what="therapist",
    )
    _check_staff(
        errors,
        "prescriber",
        prescriber,
        site_id=patient.site_id,
        roles=PRESCRIBER_ROLES,
        what="prescriber",
    )
    if individual_cadence not in Cadence.values:
        errors["individual_cadence"] = [f"{individual_cadence!r} is not a cadence."]
    if errors:
        raise ValidationError(errors)


def _lock_patient(patient: Patient) -> None:
    """Serialize every enrollment change of one patient (row lock; SQLite: IMMEDIATE)."""
    if connection.features.has_select_for_update:
        list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk"))


@transaction.atomic
def open_enrollment(
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
    episode: Episode | None = None,
    previous: Enrollment | None = None,
    transfer_kind: str = "",
    transfer_reason: str = "",
) -> Enrollment:
    """Open an active enrollment, in ``episode``, the patient's open episode, or a new one.

    Target hours default to the program's; they must lie within the level of care's floor
    and ceiling (DOMAIN.md §1, §5).
    """
    _lock_patient(patient)
    hours_min = _money(weekly_hours_min)
    hours_max = _money(weekly_hours_max)
    hours_min = program.weekly_hours_min if hours_min is None else hours_min
    hours_max = program.weekly_hours_max if hours_max is None else hours_max
    validate_enrollment_fields(
        patient=patient,
        program=program,
        track=track,
        admitted_on=admitted_on,
        weekly_hours_min=hours_min,
        weekly_hours_max=hours_max,
        primary_therapist=primary_therapist,
        prescriber=prescriber,
        individual_cadence=individual_cadence,
    )
    if Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE).exists():
        raise ActiveEnrollmentExists(ACTIVE_MESSAGE)
    if episode is None:
        episode = Episode.objects.filter(patient=patient, closed_on__isnull=True).first()
    if episode is None:
        last_discharge = Enrollment.objects.filter(patient=patient).aggregate(
            last=Max("discharged_on")
        )["last"]
        if last_discharge is not None and admitted_on < last_discharge:
            raise ValidationError(
                {"admitted_on": [f"The admission is before the last discharge ({last_discharge})."]}
            )
        episode = Episode(patient=patient, opened_on=admitted_on)
        episode.full_clean()
        episode.save()
    enrollment = Enrollment(
        episode=episode,
        patient=patient,
        program=program,
        track=track,
        admitted_on=admitted_on,
        weekly_hours_min=hours_min,
        weekly_hours_max=hours_max,
        primary_therapist=primary_therapist,
        prescriber=prescriber,
        individual_cadence=individual_cadence,
        previous=previous,
        transfer_kind=transfer_kind,
        transfer_reason=transfer_reason,
    )
    try:
        enrollment.full_clean()
    except ValidationError as exc:
        if ACTIVE_MESSAGE in exc.messages:
            raise ActiveEnrollmentExists(ACTIVE_MESSAGE) from None
        raise
    try:
        # A savepoint, so a lost race leaves the caller's transaction usable for the error.
        with transaction.atomic():
            enrollment.save()
    except IntegrityError as exc:
        if Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE).exists():
            raise ActiveEnrollmentExists(ACTIVE_MESSAGE) from exc
        raise
    return enrollment


def lock_enrollment(enrollment: Enrollment, *, expected_version: int | None = None) -> Enrollment:
    """Re-read ``enrollment`` under a row lock; refuse a stale version or a closed one."""
    locked = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("patient__site", "program__level_of_care", "track", "episode")
        .get(pk=enrollment.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleEnrollment(
            "Someone changed this enrollment since you opened it; reload and try again."
        )
    if locked.status != EnrollmentStatus.ACTIVE:
        raise ValidationError({"enrollment": ["This enrollment is already closed."]})
    return locked


def _check_closing_day(enrollment: Enrollment, day: date, field: str) -> None:
    today = local_today(enrollment.patient.site.time_zone)
    if day < enrollment.admitted_on:
        raise ValidationError(
            {field: [f"The date is before the admission on {enrollment.admitted_on}."]}
        )
    if day > today:
        raise ValidationError({field: ["The date cannot be in the future."]})


@transaction.atomic
def close_enrollment(
    *,
    enrollment: Enrollment,
    discharged_on: date,
    reason: str,
    note: str = "",
    status: str = EnrollmentStatus.DISCHARGED,
    expected_version: int | None = None,
    field: str = "discharged_on",
) -> Enrollment:
    """Close an active enrollment with a discharge reason (DischargeReason)."""
    enrollment = lock_enrollment(enrollment, expected_version=expected_version)
    _check_closing_day(enrollment, discharged_on, field)
    if status == EnrollmentStatus.DISCHARGED and reason not in DischargeReason.values:
        raise ValidationError({"reason": [f"{reason!r} is not a discharge reason."]})
    enrollment.status = status
    enrollment.discharged_on = discharged_on
    enrollment.discharge_reason = reason
    enrollment.discharge_note = note
    enrollment.version += 1
    enrollment.full_clean()
    enrollment.save()
    return enrollment


@transaction.atomic
def close_episode(*, episode: Episode, closed_on: date) -> Episode:
    episode.closed_on = closed_on
    episode.full_clean()
    episode.save(update_fields=["closed_on"])
    return episode


def infer_transfer_kind(old: Program, new: Program) -> str:
    """Step up to a more intensive level, down to a less intensive one, else a track change."""
    old_rank = old.level_of_care.sort_order
    new_rank = new.level_of_care.sort_order
    if new_rank > old_rank:
        return TransferKind.STEP_UP
    if new_rank < old_rank:
        return TransferKind.STEP_DOWN
    return TransferKind.CHANGE_TRACK


_DISCHARGE_REASON_OF_KIND = {
    TransferKind.STEP_UP: DischargeReason.STEPPED_UP,
    TransferKind.STEP_DOWN: DischargeReason.STEPPED_DOWN,
    TransferKind.CHANGE_TRACK: "",
}


@transaction.atomic
def transfer_enrollment(
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
    expected_version: int | None = None,
) -> Enrollment:
    """Close ``enrollment`` (status transferred) and open the next one in the same episode.

    The care team and cadence carry over unless given. One transaction: a failure in the
    second half leaves the first enrollment untouched.
    """
    old = lock_enrollment(enrollment, expected_version=expected_version)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the patient is transferred."]})
    if program.pk == old.program_id and (track.pk if track else None) == old.track_id:
        raise ValidationError({"track": ["The patient is already in this program and track."]})
    inferred = infer_transfer_kind(old.program, program)
    if kind in (None, ""):
        kind = inferred
    elif kind not in TransferKind.values:
        raise ValidationError({"kind": [f"{kind!r} is not a kind of transfer."]})
    elif kind != inferred:
        raise ValidationError(
            {
                "kind": [
                    f"From {old.program.level_of_care.name} to {program.level_of_care.name}"
                    f" is a {TransferKind(inferred).label.lower()}, not a"
                    f" {TransferKind(kind).label.lower()}."
                ]
            }
        )
    _check_closing_day(old, on, "on")
    old.status = EnrollmentStatus.TRANSFERRED
    old.discharged_on = on
    old.discharge_reason = _DISCHARGE_REASON_OF_KIND[TransferKind(kind)]
    old.discharge_note = reason[:500]
    old.version += 1
    old.full_clean()
    old.save()
    return open_enrollment(
        patient=old.patient,
        program=program,
        track=track,
        admitted_on=on,
        weekly_hours_min=weekly_hours_min,
        weekly_hours_max=weekly_hours_max,
        primary_therapist=old.primary_therapist if primary_therapist is None else primary_therapist,
        prescriber=old.prescriber if prescriber is None else prescriber,
        individual_cadence=individual_cadence or old.individual_cadence,
        episode=old.episode,
        previous=old,
        transfer_kind=kind,
        transfer_reason=reason[:500],
    )
