"""Recording and striking questionnaire responses, and reading them back.

``record_measure`` is the one way a response is stored (the form, the API and the demo all call
it): it validates and scores the answers with the registry (``instruments.score``), stores the
raw answers next to what was computed, audits, raises the safety alert when the registry flags
one (DOMAIN.md §9: PHQ-9 item 9 above 0, C-SSRS moderate or high) and lets the review engine
look at the new score. Responses are append-only; a wrong one is struck with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict
from openiop.lib.dates import local_today
from openiop.measures import engine, instruments, safety
from openiop.measures.models import (
    MeasureResponse,
    MeasureSchedule,
    MeasureStrike,
    Occasion,
    ProgramMeasureSettings,
    Respondent,
)
from openiop.measures.program_settings import settings_for
from openiop.scheduling.enrollment import active_enrollment_of

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User
    from openiop.patients.models import Patient
    from openiop.programs.models import Enrollment, Program

STRIKE_REASON_MAX_LENGTH = 500


class MeasureConflict(NoteConflict):
    """The response is already struck (HTTP 409)."""


def answers_mapping(
    answers: Mapping[int, int | bool | None] | Sequence[int | bool | None],
) -> dict[int, int | bool]:
    """Answers keyed by item number. A sequence lists them in item order (item 1 first); a
    None in it, or a sequence shorter than the instrument, leaves those items unanswered —
    which is how the C-SSRS skip logic's skipped questions are given (the registry refuses
    an answer to a skipped question and requires one to an asked question)."""
    if isinstance(answers, Mapping):
        clean: dict[int, int | bool] = {}
        for key, value in answers.items():
            number = _item_number(key)
            if value is not None:
                clean[number] = value
        return clean
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise ValidationError({"answers": "Give the answers as a list in item order."})
    return {n: value for n, value in enumerate(answers, start=1) if value is not None}


def _item_number(key: object) -> int:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.isdigit() and len(key) <= 3:
        return int(key)
    raise ValidationError({"answers": f"There is no item {key!r}."})


def score_answers(
    *, instrument: str, answers: Mapping[int, int | bool], pcl5_threshold: int
) -> instruments.Scored:
    """Score with the registry, turning its errors into field errors (``answers.<item>``)."""
    try:
        return instruments.score(instrument, answers, pcl5_threshold=pcl5_threshold)
    except instruments.UnknownInstrumentError:
        known = ", ".join(instruments.INSTRUMENT_CODES)
        raise ValidationError(
            {"instrument": f"Unknown instrument {instrument!r}; choose one of {known}."}
        ) from None
    except instruments.AnswerError as error:
        key = f"answers.{error.item}" if error.item is not None else "answers"
        raise ValidationError({key: str(error)}) from None


def _check_taken_on(taken_on: date, *, patient: Patient, today: date) -> None:
    if taken_on > today:
        raise ValidationError({"taken_on": "The date taken cannot be in the future."})
    if taken_on < patient.date_of_birth:
        raise ValidationError({"taken_on": "The date taken is before the patient's birth."})


def _infer_occasion(
    *, patient: Patient, instrument: str, enrollment: Enrollment | None, taken_on: date
) -> str:
    """Intake when this is the first (unstruck) response of the instrument in the current
    episode of care; scheduled when the program gives it every N days; otherwise ad hoc."""
    # Entered late for a day before this episode of care: it is no occasion of the episode.
    if enrollment is None or taken_on < enrollment.episode.opened_on:
        return Occasion.AD_HOC
    earlier = MeasureResponse.objects.filter(
        patient=patient,
        instrument=instrument,
        strike__isnull=True,
        taken_on__gte=enrollment.episode.opened_on,
        taken_on__lte=taken_on,
    ).exists()
    if not earlier:
        return Occasion.INTAKE
    periodic = MeasureSchedule.objects.filter(
        program_id=enrollment.program_id, instrument=instrument, every_days__isnull=False
    ).exists()
    return Occasion.PERIODIC if periodic else Occasion.AD_HOC


@transaction.atomic
def unsaved_response(
    scored: instruments.Scored,
    *,
    patient_id: int,
    site_id: int,
    enrollment: Enrollment | None,
    respondent: str,
    occasion: str,
    taken_on: date,
    by: User,
    recorded_at: datetime,
) -> MeasureResponse:
    """The row that stores ``scored``: the raw answers beside what the registry computed."""
    return MeasureResponse(
        patient_id=patient_id,
        site_id=site_id,
        enrollment=enrollment,
        instrument=scored.code,
        instrument_version=scored.version,
        answers={str(number): value for number, value in scored.answers},
        score=scored.total,
        band=scored.band or "",
        subscales=dict(scored.subscales),
        flags=[
            {
                "code": str(flag.code),
                "severity": str(flag.severity),
                "detail": flag.reason,
                "item": flag.item,
            }
            for flag in scored.flags
        ],
        has_safety_flag=scored.has_safety_flag,
        respondent=respondent,
        occasion=occasion,
        taken_on=taken_on,
        recorded_by=by,
        recorded_at=recorded_at,
    )


def record_measure(
    *,
    patient: Patient,
    instrument: str,
    answers: Mapping[int, int | bool | None] | Sequence[int | bool | None],
    taken_on: date | None = None,
    respondent: Respondent | str = Respondent.STAFF,
    occasion: Occasion | str | None = None,
    by: User,
    request: HttpRequest | None = None,
) -> MeasureResponse:
    """Score and store one administration of ``instrument`` for ``patient``.

    Bad input raises ValidationError keyed by field: ``instrument``, ``answers.<item>`` (the
    item at fault), ``taken_on``, ``respondent``, ``occasion``. A safety flag raises the
    high-severity safety alert before returning.
    """
    if not isinstance(instrument, str) or instrument not in instruments.INSTRUMENTS:
        score_answers(instrument=str(instrument), answers={}, pcl5_threshold=33)
    if respondent not in Respondent.values:
        raise ValidationError({"respondent": f"Choose one of {', '.join(Respondent.values)}."})
    if occasion is not None and occasion not in Occasion.values:
        raise ValidationError({"occasion": f"Choose one of {', '.join(Occasion.values)}."})
    today = local_today(patient.site.time_zone)
    taken_on = taken_on or today
    _check_taken_on(taken_on, patient=patient, today=today)
    enrollment = active_enrollment_of(patient)
    threshold = instruments.PCL5_PROBABLE_PTSD_DEFAULT
    if enrollment is not None and instrument == instruments.PCL5.code:
        threshold = settings_for(enrollment.program).pcl5_threshold
    scored = score_answers(
        instrument=instrument, answers=answers_mapping(answers), pcl5_threshold=threshold
    )
    if occasion is None:
        occasion = _infer_occasion(
            patient=patient, instrument=instrument, enrollment=enrollment, taken_on=taken_on
        )
    response = unsaved_response(
        scored,
        patient_id=patient.pk,
        site_id=patient.site_id,
        enrollment=enrollment,
        respondent=str(respondent),
        occasion=str(occasion),
        taken_on=taken_on,
        by=by,
        recorded_at=timezone.now(),
    )
    response.full_clean()
    response.save()
    summary = f"{scored.code} score {scored.total}" if scored.total is not None else scored.code
    if scored.band:
        summary += f" ({scored.band})"
    record_event(
        request=request,
        actor=by,
        site=patient.site,
        action=Action.CREATE,
        object_type="measure",
        object_id=response.pk,
        patient_id=patient.pk,
        detail=summary + (", safety flag" if scored.has_safety_flag else ""),
    )
    if scored.has_safety_flag:
        safety.raise_safety_alerts(response, request=request)
    # A new score may change the step-up / step-down signals (DOMAIN.md §10).
    engine.on_event(patient, trigger="measure", request=request)
    return response


@transaction.atomic
def strike_measure(
    *,
    response: MeasureResponse,
    reason: str,
    by: User,
    request: HttpRequest | None = None,
) -> MeasureStrike:
    """Mark ``response`` as entered in error. The reason is required; a response is struck
    once (a second strike raises ``MeasureConflict``)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this response is struck."})
    if len(reason) > STRIKE_REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": f"Keep the reason under {STRIKE_REASON_MAX_LENGTH} characters."}
        )
    # Lock the response so two people striking it at once queue; the one-to-one constraint
    # is the last word.
    MeasureResponse.objects.select_for_update().filter(pk=response.pk).first()
    if MeasureStrike.objects.filter(response_id=response.pk).exists():
        raise MeasureConflict("This response is already struck.")
    strike = MeasureStrike(response=response, reason=reason, struck_by=by, struck_at=timezone.now())
    try:
        with transaction.atomic():
            strike.save()
    except IntegrityError:
        raise MeasureConflict("This response is already struck.") from None
    record_event(
        request=request,
        actor=by,
        site=response.site,
        action=Action.UPDATE,
        object_type="measure",
        object_id=response.pk,
        patient_id=response.patient_id,
        detail=f"struck: {reason}"[:500],
    )
    return strike


def responses_for(
    patient: Patient | int, instrument: str | None = None, include_struck: bool = False
) -> QuerySet[MeasureResponse]:
    """A patient's responses, newest first, with their strike and who entered them."""
    queryset = MeasureResponse.objects.filter(patient=patient).select_related(
        "recorded_by", "strike", "strike__struck_by"
    )
    if instrument:
        queryset = queryset.filter(instrument=instrument)
    if not include_struck:
        queryset = queryset.filter(strike__isnull=True)
    return queryset


# --- Program setup: schedules and settings ---------------------------------------------------

EVERY_DAYS_MAX = 365


def _clean_schedule(
    *,
    program: Program,
    instrument: str,
    every_days: int | None,
    at_intake: bool,
    at_discharge: bool,
    schedule: MeasureSchedule | None,
) -> None:
    errors: dict[str, str] = {}
    if instrument not in instruments.INSTRUMENTS:
        errors["instrument"] = f"Unknown instrument {instrument!r}."
    if every_days is not None and not 1 <= every_days <= EVERY_DAYS_MAX:
        errors["every_days"] = f"Give a number of days from 1 to {EVERY_DAYS_MAX}, or leave empty."
    if not (at_intake or at_discharge or every_days):
        errors["at_intake"] = "Choose at least one: at intake, every N days or at discharge."
    if "instrument" not in errors:
        taken = MeasureSchedule.objects.filter(program=program, instrument=instrument)
        if schedule is not None:
            taken = taken.exclude(pk=schedule.pk)
        if taken.exists():
            errors["instrument"] = f"{program.name} already has a schedule for {instrument}."
    if errors:
        raise ValidationError(errors)


def _audit_setup(
    *,
    program: Program,
    object_type: str,
    object_id: object,
    detail: str,
    by: User,
    request: HttpRequest | None,
) -> None:
    record_event(
        request=request,
        actor=by,
        site=program.site,
        action=Action.UPDATE,
        object_type=object_type,
        object_id=object_id,
        detail=f"{program.name}: {detail}"[:500],
    )


def _describe(schedule: MeasureSchedule) -> str:
    parts = []
    if schedule.at_intake:
        parts.append("at intake")
    if schedule.every_days:
        parts.append(f"every {schedule.every_days} days")
    if schedule.at_discharge:
        parts.append("at discharge")
    return f"{schedule.instrument} " + ", ".join(parts)


@transaction.atomic
def save_measure_schedule(
    *,
    program: Program,
    instrument: str,
    at_intake: bool,
    every_days: int | None,
    at_discharge: bool,
    by: User,
    schedule: MeasureSchedule | None = None,
    request: HttpRequest | None = None,
) -> MeasureSchedule:
    """Add a schedule for ``instrument`` to ``program`` (or change ``schedule``). One schedule
    per program and instrument; every_days 1–365 or none; at least one occasion."""
    if schedule is not None and schedule.program_id != program.pk:
        raise ValidationError({"instrument": "This schedule belongs to another program."})
    _clean_schedule(
        program=program,
        instrument=instrument,
        every_days=every_days,
        at_intake=at_intake,
        at_discharge=at_discharge,
        schedule=schedule,
    )
    row = schedule or MeasureSchedule(program=program)
    row.instrument = instrument
    row.at_intake = at_intake
    row.every_days = every_days
    row.at_discharge = at_discharge
    row.full_clean()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ValidationError(
            {"instrument": f"{program.name} already has a schedule for {instrument}."}
        ) from None
    _audit_setup(
        program=program,
        object_type="measure_schedule",
        object_id=row.pk,
        detail=("changed " if schedule is not None else "added ") + _describe(row),
        by=by,
        request=request,
    )
    return row


@transaction.atomic
def remove_measure_schedule(
    *, schedule: MeasureSchedule, by: User, request: HttpRequest | None = None
) -> None:
    """Stop giving an instrument on schedule (responses already entered stay)."""
    program = schedule.program
    pk, described = schedule.pk, _describe(schedule)
    MeasureSchedule.objects.filter(pk=pk).delete()
    _audit_setup(
        program=program,
        object_type="measure_schedule",
        object_id=pk,
        detail=f"removed {described}",
        by=by,
        request=request,
    )


SETTINGS_MINIMUM: dict[str, int] = {
    "placement_review_days": 1,
    "pcl5_threshold": 1,
    "unexpected_screens": 1,
    "unexpected_window_days": 1,
    "missed_weeks": 1,
    "score_window_days": 1,
    "craving_rise": 1,
    "craving_sustain": 1,
    "safety_window_days": 1,
    "stable_window_days": 1,
    "stable_min_screens": 0,
    "stable_weeks_met": 1,
    "stable_min_scores": 1,
}
SETTINGS_MAXIMUM: dict[str, int] = {"pcl5_threshold": 80}
SETTINGS_FIELDS = (*SETTINGS_MINIMUM, "require_goals_met")
NUMBER_MAX = 365


class SettingsConflict(NoteConflict):
    """The settings changed since the form was loaded (HTTP 409)."""


@transaction.atomic
def update_measure_settings(
    *,
    program: Program,
    values: Mapping[str, int | bool],
    version: int,
    by: User,
    request: HttpRequest | None = None,
) -> ProgramMeasureSettings:
    """Store the program's measurement-based-care settings. ``version`` is the one the form
    was loaded with (1 for a program without stored settings); a stale one raises
    ``SettingsConflict`` and nothing is overwritten. Numbers are whole, at least 1 (the
    number of negative screens for a step-down at least 0), PCL-5 threshold at most 80."""
    errors: dict[str, str] = {}
    for name, minimum in SETTINGS_MINIMUM.items():
        value = values.get(name)
        maximum = SETTINGS_MAXIMUM.get(name, NUMBER_MAX)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[name] = "Enter a whole number."
        elif not minimum <= value <= maximum:
            errors[name] = f"Enter a number from {minimum} to {maximum}."
    if not isinstance(values.get("require_goals_met"), bool):
        errors["require_goals_met"] = "Say whether goals must be met."
    if errors:
        raise ValidationError(errors)
    current = ProgramMeasureSettings.objects.select_for_update().filter(program=program).first()
    stored_version = current.version if current is not None else 1
    if version != stored_version:
        raise SettingsConflict(
            "These settings changed since the page was loaded (someone else saved them). "
            "Reload the page and enter your change again."
        )
    row = current or ProgramMeasureSettings(program=program)
    changed = [name for name in SETTINGS_FIELDS if getattr(row, name) != values[name]]
    for name in SETTINGS_FIELDS:
        setattr(row, name, values[name])
    row.version += 1
    row.full_clean()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # another first save won the race for the one-to-one row
        raise SettingsConflict(
            "These settings changed since the page was loaded. Reload the page."
        ) from None
    _audit_setup(
        program=program,
        object_type="measure_settings",
        object_id=row.pk,
        detail="settings saved" + (f" ({', '.join(changed)})" if changed else ", no change"),
        by=by,
        request=request,
    )
    return row
