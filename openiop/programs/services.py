"""Program setup for directors: levels of care, programs and tracks.

Setup is organization reference data, not patient data: the audit events carry no patient.
Every service validates with ``full_clean`` and raises ``ValidationError`` keyed by the field
that is wrong, so forms and the API can say which input to fix.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.programs.models import EnrollmentStatus, LevelOfCare, Program, Track

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import Site, User


def hours(value: Decimal | int | float | str) -> Decimal:
    """Weekly hours to one decimal place, as stored."""
    return Decimal(str(value)).quantize(Decimal("0.1"))


def format_hours(value: Decimal | None) -> str:
    if value is None:
        return "no ceiling"
    return f"{value.normalize():f} h"


def _full_clean(instance: LevelOfCare | Program | Track, **kwargs: object) -> None:
    # Model errors keyed by field; constraint errors without a field land on __all__.
    instance.full_clean(**kwargs)  # type: ignore[arg-type]


def check_hours_within_level(
    *, level: LevelOfCare, weekly_hours_min: Decimal, weekly_hours_max: Decimal
) -> None:
    """A program's weekly target must lie inside its level's floor and ceiling (DOMAIN.md §1).

    IOP (ASAM 2.1) is at least 9 h a week for adults and at most 19 h under Medicare; the
    numbers are the level's, which a director may edit, so they are read, never hard-coded.
    """
    errors: dict[str, list[str]] = {}
    if weekly_hours_min < level.weekly_hours_min:
        errors.setdefault("weekly_hours_min", []).append(
            f"{level.name} (ASAM {level.code}) needs at least"
            f" {format_hours(level.weekly_hours_min)} a week."
        )
    if level.weekly_hours_max is not None and weekly_hours_max > level.weekly_hours_max:
        errors.setdefault("weekly_hours_max", []).append(
            f"{level.name} (ASAM {level.code}) allows at most"
            f" {format_hours(level.weekly_hours_max)} a week."
        )
    if weekly_hours_max < weekly_hours_min:
        errors.setdefault("weekly_hours_max", []).append(
            "The weekly ceiling cannot be below the floor."
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def update_level_of_care(
    *,
    level: LevelOfCare,
    name: str,
    weekly_hours_min: Decimal,
    weekly_hours_max: Decimal | None,
    by: User | None,
    request: HttpRequest | None = None,
) -> LevelOfCare:
    """Change a level's name and weekly hour floor/ceiling (states and payers differ).

    Refused when a program at this level would fall outside the new range: its target has to
    be changed first, so no program is silently left out of bounds.
    """
    level = LevelOfCare.objects.select_for_update().get(pk=level.pk)
    level.name = name.strip()
    level.weekly_hours_min = hours(weekly_hours_min)
    level.weekly_hours_max = None if weekly_hours_max is None else hours(weekly_hours_max)
    if level.weekly_hours_max is not None and level.weekly_hours_max < level.weekly_hours_min:
        raise ValidationError({"weekly_hours_max": "The weekly ceiling cannot be below the floor."})
    _full_clean(level)
    outside = Program.objects.filter(level_of_care=level, is_active=True).filter(
        weekly_hours_min__lt=level.weekly_hours_min
    )
    if level.weekly_hours_max is not None:
        outside = outside | Program.objects.filter(
            level_of_care=level, is_active=True, weekly_hours_max__gt=level.weekly_hours_max
        )
    names = sorted({f"{p.name} ({p.site.name})" for p in outside.select_related("site")})
    if names:
        raise ValidationError(
            {
                "weekly_hours_min": (
                    "These programs' weekly targets fall outside the new range; change them"
                    f" first: {', '.join(names)}."
                )
            }
        )
    level.save()
    record_event(
        request=request,
        actor=by,
        action=Action.UPDATE,
        object_type="level_of_care",
        object_id=level.pk,
        detail=(
            f"{level.code} ({level.get_edition_display()}) {level.name}:"
            f" {format_hours(level.weekly_hours_min)}–{format_hours(level.weekly_hours_max)}"
        ),
    )
    return level


def _check_program(program: Program) -> None:
    check_hours_within_level(
        level=program.level_of_care,
        weekly_hours_min=program.weekly_hours_min,
        weekly_hours_max=program.weekly_hours_max,
    )
    if program.typical_length_weeks < 1 or program.typical_length_weeks > 104:
        raise ValidationError({"typical_length_weeks": "Enter a length between 1 and 104 weeks."})
    deadlines = {
        "plan_initial_due_days": (365, "Enter between 1 and 365 days."),
        "plan_review_days": (365, "Enter between 1 and 365 days."),
        "note_unsigned_hours": (336, "Enter between 1 and 336 hours (two weeks)."),
    }
    for field, (most, message) in deadlines.items():
        if not 1 <= getattr(program, field) <= most:
            raise ValidationError({field: message})
    try:
        _full_clean(program)
    except ValidationError as exc:
        raise _renamed_unique(
            exc, "name", "This site already has a program with that name."
        ) from None


def _renamed_unique(exc: ValidationError, field: str, message: str) -> ValidationError:
    """Move a unique-together error from __all__ to the field a person would correct."""
    errors = dict(exc.message_dict)
    general = errors.pop("__all__", [])
    kept = [m for m in general if "already exists" not in m]
    if len(kept) != len(general):
        errors.setdefault(field, []).append(message)
    if kept:
        errors["__all__"] = kept
    return ValidationError(errors)


@transaction.atomic
def create_program(
    *,
    site: Site,
    level_of_care: LevelOfCare,
    name: str,
    weekly_hours_min: Decimal,
    weekly_hours_max: Decimal,
    typical_length_weeks: int = 12,
    plan_initial_due_days: int | None = None,
    plan_review_days: int | None = None,
    note_unsigned_hours: int | None = None,
    by: User | None,
    request: HttpRequest | None = None,
) -> Program:
    """A site's offering at one level of care, with its default weekly target and length
    and its documentation deadlines (None: the default)."""
    program = Program(
        site=site,
        level_of_care=level_of_care,
        name=name.strip(),
        weekly_hours_min=hours(weekly_hours_min),
        weekly_hours_max=hours(weekly_hours_max),
        typical_length_weeks=typical_length_weeks,
    )
    # Empty deadlines take the model's defaults (7 days, 30 days, 24 hours).
    if plan_initial_due_days is not None:
        program.plan_initial_due_days = plan_initial_due_days
    if plan_review_days is not None:
        program.plan_review_days = plan_review_days
    if note_unsigned_hours is not None:
        program.note_unsigned_hours = note_unsigned_hours
    _check_program(program)
    program.save()
    record_event(
        request=request,
        actor=by,
        site=site,
        action=Action.CREATE,
        object_type="program",
        object_id=program.pk,
        detail=f"{program.name} at ASAM {level_of_care.code}",
    )
    return program


@transaction.atomic
def update_program(
    *,
    program: Program,
    level_of_care: LevelOfCare,
    name: str,
    weekly_hours_min: Decimal,
    weekly_hours_max: Decimal,
    typical_length_weeks: int,
    plan_initial_due_days: int | None = None,
    plan_review_days: int | None = None,
    note_unsigned_hours: int | None = None,
    by: User | None,
    request: HttpRequest | None = None,
) -> Program:
    """Change a program's level, name, default weekly target, typical length or
    documentation deadlines (a deadline left None is kept).

    Enrollments keep the target they were admitted with; the program's is the default for
    new admissions. Signed plans keep the review date set when they were signed.
    """
    program = Program.objects.select_for_update().get(pk=program.pk)
    program.level_of_care = level_of_care
    program.name = name.strip()
    program.weekly_hours_min = hours(weekly_hours_min)
    program.weekly_hours_max = hours(weekly_hours_max)
    program.typical_length_weeks = typical_length_weeks
    if plan_initial_due_days is not None:
        program.plan_initial_due_days = plan_initial_due_days
    if plan_review_days is not None:
        program.plan_review_days = plan_review_days
    if note_unsigned_hours is not None:
        program.note_unsigned_hours = note_unsigned_hours
    _check_program(program)
    program.save()
    record_event(
        request=request,
        actor=by,
        site=program.site,
        action=Action.UPDATE,
        object_type="program",
        object_id=program.pk,
        detail=(
            f"{program.name}: {format_hours(program.weekly_hours_min)}–"
            f"{format_hours(program.weekly_hours_max)}, {program.typical_length_weeks} weeks;"
            f" plan due {program.plan_initial_due_days} d, review every"
            f" {program.plan_review_days} d, notes unsigned after {program.note_unsigned_hours} h"
        ),
    )
    return program


def _active_enrollments(**filters: object) -> int:
    from openiop.programs.models import Enrollment

    return Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE, **filters).count()


@transaction.atomic
def set_program_active(
    *, program: Program, is_active: bool, by: User | None, request: HttpRequest | None = None
) -> Program:
    """Open or close a program for admissions. Closing waits until nobody is enrolled."""
    program = Program.objects.select_for_update().get(pk=program.pk)
    if not is_active:
        enrolled = _active_enrollments(program=program)
        if enrolled:
            raise ValidationError(
                {
                    "is_active": (
                        f"{enrolled} patient{'s are' if enrolled != 1 else ' is'} still enrolled"
                        " in this program; discharge or transfer them first."
                    )
                }
            )
    program.is_active = is_active
    program.save(update_fields=["is_active"])
    record_event(
        request=request,
        actor=by,
        site=program.site,
        action=Action.UPDATE,
        object_type="program",
        object_id=program.pk,
        detail=f"{program.name} {'activated' if is_active else 'deactivated'}",
    )
    return program


def _check_track(track: Track) -> None:
    if not track.name:
        raise ValidationError({"name": "Give the track a name."})
    try:
        _full_clean(track)
    except ValidationError as exc:
        raise _renamed_unique(
            exc, "name", "This program already has a track with that name."
        ) from None


@transaction.atomic
def create_track(
    *,
    program: Program,
    name: str,
    description: str = "",
    by: User | None,
    request: HttpRequest | None = None,
) -> Track:
    """A schedule option of a program, e.g. "Evening — Tue/Wed/Thu 18:00–21:00"."""
    if not program.is_active:
        raise ValidationError({"program": "This program is inactive; activate it first."})
    track = Track(program=program, name=name.strip(), description=description.strip())
    _check_track(track)
    track.save()
    record_event(
        request=request,
        actor=by,
        site=program.site,
        action=Action.CREATE,
        object_type="track",
        object_id=track.pk,
        detail=f"{program.name} — {track.name}",
    )
    return track


@transaction.atomic
def update_track(
    *,
    track: Track,
    name: str,
    description: str,
    by: User | None,
    request: HttpRequest | None = None,
) -> Track:
    track = Track.objects.select_for_update().select_related("program__site").get(pk=track.pk)
    track.name = name.strip()
    track.description = description.strip()
    _check_track(track)
    track.save()
    record_event(
        request=request,
        actor=by,
        site=track.program.site,
        action=Action.UPDATE,
        object_type="track",
        object_id=track.pk,
        detail=f"{track.program.name} — {track.name}",
    )
    return track


@transaction.atomic
def set_track_active(
    *, track: Track, is_active: bool, by: User | None, request: HttpRequest | None = None
) -> Track:
    """Open or close a track. Closing waits until nobody is enrolled in it.

    The sessions of an inactive track's group series are no longer generated
    (``openiop.scheduling.series``).
    """
    track = Track.objects.select_for_update().select_related("program__site").get(pk=track.pk)
    if not is_active:
        enrolled = _active_enrollments(track=track)
        if enrolled:
            raise ValidationError(
                {
                    "is_active": (
                        f"{enrolled} patient{'s are' if enrolled != 1 else ' is'} still enrolled"
                        " in this track; discharge or transfer them first."
                    )
                }
            )
    elif not track.program.is_active:
        raise ValidationError({"is_active": "The program is inactive; activate it first."})
    track.is_active = is_active
    track.save(update_fields=["is_active"])
    record_event(
        request=request,
        actor=by,
        site=track.program.site,
        action=Action.UPDATE,
        object_type="track",
        object_id=track.pk,
        detail=f"{track.program.name} — {track.name} {'activated' if is_active else 'deactivated'}",
    )
    return track
