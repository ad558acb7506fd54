"""Screening settings a director changes (issue 5 §1, §3): each program's screening phases,
the panels of the test kits and labs with their cutoffs, and the specimen-validity bounds.

Bad input raises ``ValidationError`` with a dict naming the field; nothing is written then.
Every change lands in the audit trail. Panels and validity bounds are organization-wide (one
lab serves every site); screening phases belong to a program of a site.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from openiop.accounts.models import User
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.programs.models import Program
from openiop.screening.catalog import ANALYTE_CODES, SpecimenType, get_analyte
from openiop.screening.defaults import DEFAULT_PHASES
from openiop.screening.models import Panel, PanelAnalyte, ScreeningPhase, ScreeningSettings
from openiop.screening.validity import ValidityBounds

MAX_FROM_DAY = 3650  # ten years after admission


class SettingsConflict(Exception):
    """The settings changed since the page was opened (a stale version)."""


# --- Screening phases ------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseData:
    from_day: int
    label: str
    per_week: int
    per_month: int
    extra_chance: Decimal  # 0 to 1


def _int(data: dict[str, Any], name: str, low: int, high: int, errors: dict[str, str]) -> int:
    raw = data.get(name)
    if raw is None or raw == "":
        errors[name] = "Enter a whole number."
        return 0
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[name] = "Enter a whole number."
        return 0
    if isinstance(raw, bool) or not low <= value <= high:
        errors[name] = f"Enter a number from {low} to {high}."
    return value


def _phase_data(data: dict[str, Any]) -> PhaseData:
    errors: dict[str, str] = {}
    from_day = _int(data, "from_day", 0, MAX_FROM_DAY, errors)
    per_week = _int(data, "per_week", 0, 7, errors)
    per_month = _int(data, "per_month", 0, 31, errors)
    label = str(data.get("label") or "").strip()
    if not label:
        errors["label"] = "Name the phase, for example “Early treatment”."
    elif len(label) > 80:
        errors["label"] = "Keep the name to 80 characters."
    raw_chance = data.get("extra_chance")
    chance = Decimal(0)
    if raw_chance not in (None, ""):
        try:
            chance = Decimal(str(raw_chance))
        except InvalidOperation:
            errors["extra_chance"] = "Enter a chance from 0 to 1."
        else:
            if not chance.is_finite() or not Decimal(0) <= chance <= Decimal(1):
                errors["extra_chance"] = "Enter a chance from 0 to 1."
            elif chance != chance.quantize(Decimal("0.001")):
                errors["extra_chance"] = "Use at most three decimals (0.1 % steps)."
    if not errors and per_week == 0 and per_month == 0 and chance == 0:
        errors["per_week"] = (
            "Set a minimum a week or a month, or an extra chance: this phase would screen no one."
        )
    if errors:
        raise ValidationError(errors)
    return PhaseData(from_day, label, per_week, per_month, chance)


def _locked_program(program: Program) -> Program:
    # Lock the program so two directors editing its phases at once check against each other.
    return Program.objects.select_for_update().get(pk=program.pk)


def _check_days(program: Program, days: list[int]) -> None:
    if len(set(days)) != len(days):
        day = next(d for d in days if days.count(d) > 1)
        raise ValidationError({"from_day": f"{program.name} already has a phase from day {day}."})
    if days and min(days) != 0:
        raise ValidationError(
            {
                "from_day": "The first phase must start at admission (day 0), so every patient "
                "has a screening frequency."
            }
        )


def _audit_phase(
    action: Action, phase: ScreeningPhase, *, by: User | None, request: HttpRequest | None
) -> None:
    record_event(
        request=request,
        actor=by,
        site=phase.program.site,
        action=action,
        object_type="screening_phase",
        object_id=phase.pk,
        detail=(
            f"{phase.program.name}: from day {phase.from_day} {phase.per_week}/week, "
            f"{phase.per_month}/month, extra chance {phase.extra_chance}"
        ),
    )


@transaction.atomic
def create_phase(
    program: Program, *, by: User | None, data: dict[str, Any], request: HttpRequest | None = None
) -> ScreeningPhase:
    """Add a phase to ``program`` (the first one must start on day 0)."""
    parsed = _phase_data(data)
    program = _locked_program(program)
    days = list(program.screening_phases.values_list("from_day", flat=True))
    _check_days(program, [*days, parsed.from_day])
    phase = ScreeningPhase.objects.create(program=program, **parsed.__dict__)
    _audit_phase(Action.CREATE, phase, by=by, request=request)
    return phase


@transaction.atomic
def update_phase(
    phase: ScreeningPhase,
    *,
    by: User | None,
    data: dict[str, Any],
    request: HttpRequest | None = None,
) -> ScreeningPhase:
    parsed = _phase_data(data)
    program = _locked_program(phase.program)
    others = list(program.screening_phases.exclude(pk=phase.pk).values_list("from_day", flat=True))
    _check_days(program, [*others, parsed.from_day])
    phase = ScreeningPhase.objects.select_related("program__site").get(pk=phase.pk)
    for name, value in parsed.__dict__.items():
        setattr(phase, name, value)
    phase.save()
    _audit_phase(Action.UPDATE, phase, by=by, request=request)
    return phase


@transaction.atomic
def delete_phase(
    phase: ScreeningPhase, *, by: User | None, request: HttpRequest | None = None
) -> None:
    """Remove a phase. The day-0 phase goes last: removing every phase returns the program to
    the default phases."""
    program = _locked_program(phase.program)
    others = list(program.screening_phases.exclude(pk=phase.pk).values_list("from_day", flat=True))
    if others and min(others) != 0:
        raise ValidationError(
            {
                "from_day": "This phase starts at admission: remove the later phases first, or "
                "move another phase to day 0."
            }
        )
    phase.program = program
    _audit_phase(Action.DELETE, phase, by=by, request=request)
    ScreeningPhase.objects.filter(pk=phase.pk).delete()


@transaction.atomic
def adopt_default_phases(
    program: Program, *, by: User | None, request: HttpRequest | None = None
) -> list[ScreeningPhase]:
    """Give ``program`` its own copy of the default phases to edit. Refused once it has any."""
    program = _locked_program(program)
    if program.screening_phases.exists():
        raise ValidationError({"from_day": f"{program.name} already has its own phases."})
    phases = ScreeningPhase.objects.bulk_create(
        ScreeningPhase(
            program=program,
            from_day=default.from_day,
            label=default.label,
            per_week=default.per_week,
            per_month=default.per_month,
            extra_chance=default.extra_chance,
        )
        for default in DEFAULT_PHASES
    )
    record_event(
        request=request,
        actor=by,
        site=program.site,
        action=Action.CREATE,
        object_type="screening_phase",
        object_id=program.pk,
        detail=f"{program.name}: copied the {len(phases)} default phases",
    )
    return phases


# --- Panels ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelLine:
    analyte: str
    screen_cutoff: Decimal | None
    confirm_cutoff: Decimal


def _cutoff(raw: Any, field: str, errors: dict[str, str], *, required: bool) -> Decimal | None:
    if raw is None or raw == "":
        if required:
            errors[field] = "Enter the confirmation cutoff (ng/mL)."
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        errors[field] = "Enter a number of ng/mL."
        return None
    if not value.is_finite() or value <= 0:
        errors[field] = "A cutoff must be more than 0 ng/mL."
        return None
    if value >= Decimal("10000000") or value != value.quantize(Decimal("0.001")):
        errors[field] = "Enter at most 7 digits before and 3 after the decimal point."
        return None
    return value


def _panel_fields(data: dict[str, Any], panel: Panel | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = "Name the panel after its test kit or lab, e.g. “Cup 12 (urine)”."
    elif len(name) > 120:
        errors["name"] = "Keep the name to 120 characters."
    elif Panel.objects.filter(name__iexact=name).exclude(pk=getattr(panel, "pk", None)).exists():
        errors["name"] = f"A panel named “{name}” exists already."
    specimen = data.get("specimen")
    if specimen not in {s.value for s in SpecimenType}:
        errors["specimen"] = "Choose urine, oral fluid or breath alcohol."
    description = str(data.get("description") or "").strip()
    if len(description) > 300:
        errors["description"] = "Keep the description to 300 characters."
    is_default = bool(data.get("is_default"))
    is_active = bool(data.get("is_active", True))
    if is_default and not is_active:
        errors["is_default"] = "A panel out of use cannot be the default."
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "specimen": specimen,
        "description": description,
        "is_default": is_default,
        "is_active": is_active,
    }


def _panel_lines(lines: list[dict[str, Any]]) -> list[PanelLine]:
    errors: dict[str, str] = {}
    parsed: list[PanelLine] = []
    seen: set[str] = set()
    for line in lines:
        code = line.get("analyte")
        if code not in ANALYTE_CODES:
            errors["analytes"] = f"Unknown analyte {code!r}."
            continue
        if code in seen:
            errors["analytes"] = f"{get_analyte(code).name} is listed twice."
            continue
        seen.add(code)
        screen = _cutoff(line.get("screen_cutoff"), f"{code}_screen", errors, required=False)
        confirm = _cutoff(line.get("confirm_cutoff"), f"{code}_confirm", errors, required=True)
        if confirm is not None:
            parsed.append(PanelLine(code, screen, confirm))
    if not lines and not errors:
        errors["analytes"] = "Choose at least one analyte the kit or lab reports."
    if errors:
        raise ValidationError(errors)
    return parsed


def _save_panel(
    panel: Panel, values: dict[str, Any], lines: list[PanelLine]
) -> tuple[Panel, str | None]:
    """Write the panel and its lines; returns the panel that stopped being the default."""
    replaced = None
    if values["is_default"]:
        previous = (
            Panel.objects.select_for_update()
            .filter(specimen=values["specimen"], is_default=True)
            .exclude(pk=panel.pk)
            .first()
        )
        if previous is not None:
            replaced = previous.name
            Panel.objects.filter(pk=previous.pk).update(is_default=False)
    for name, value in values.items():
        setattr(panel, name, value)
    panel.save()
    PanelAnalyte.objects.filter(panel=panel).delete()
    PanelAnalyte.objects.bulk_create(
        PanelAnalyte(
            panel=panel,
            analyte=line.analyte,
            screen_cutoff=line.screen_cutoff,
            confirm_cutoff=line.confirm_cutoff,
        )
        for line in lines
    )
    return panel, replaced


def _audit_panel(
    action: Action,
    panel: Panel,
    lines: list[PanelLine],
    replaced: str | None,
    *,
    by: User | None,
    request: HttpRequest | None,
) -> None:
    detail = f"{panel.name} ({panel.specimen}): " + ", ".join(
        f"{line.analyte} {line.screen_cutoff or '-'}/{line.confirm_cutoff}" for line in lines
    )
    if replaced:
        detail = f"{detail}; now the default instead of {replaced}"
    record_event(
        request=request,
        actor=by,
        action=action,
        object_type="screening_panel",
        object_id=panel.pk,
        detail=detail[:1000],
    )


@transaction.atomic
def create_panel(
    *,
    by: User | None,
    data: dict[str, Any],
    analytes: list[dict[str, Any]],
    request: HttpRequest | None = None,
) -> tuple[Panel, str | None]:
    """A new panel (a test kit or a lab) with its analytes and cutoffs. ``analytes``: one dict
    per line {analyte, screen_cutoff (optional), confirm_cutoff}. When it is made the default
    for its specimen, the previous default stops being one; its name is returned."""
    values = _panel_fields(data, None)
    lines = _panel_lines(analytes)
    panel, replaced = _save_panel(Panel(), values, lines)
    _audit_panel(Action.CREATE, panel, lines, replaced, by=by, request=request)
    return panel, replaced


@transaction.atomic
def update_panel(
    panel: Panel,
    *,
    by: User | None,
    data: dict[str, Any],
    analytes: list[dict[str, Any]],
    request: HttpRequest | None = None,
) -> tuple[Panel, str | None]:
    """Change a panel. Results keep the cutoff they were read with, so history is unchanged."""
    panel = Panel.objects.select_for_update().get(pk=panel.pk)
    values = _panel_fields(data, panel)
    lines = _panel_lines(analytes)
    if panel.is_default and not values["is_default"]:
        raise ValidationError(
            {
                "is_default": "Every specimen keeps a default panel: make another panel the "
                "default instead."
            }
        )
    panel, replaced = _save_panel(panel, values, lines)
    _audit_panel(Action.UPDATE, panel, lines, replaced, by=by, request=request)
    return panel, replaced


# --- Specimen-validity bounds --------------------------------------------------------------


BOUND_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ValidityBounds))


def screening_settings() -> ScreeningSettings:
    settings, _ = ScreeningSettings.objects.get_or_create(pk=1)
    return settings


def bounds_from(overrides: dict[str, Any]) -> ValidityBounds:
    """``ValidityBounds`` with the stored overrides (unknown keys are ignored)."""
    return ValidityBounds(
        **{name: Decimal(str(value)) for name, value in overrides.items() if name in BOUND_NAMES}
    )


def current_bounds() -> ValidityBounds:
    """The bounds collection uses now: the defaults with the organization's overrides."""
    return bounds_from(screening_settings().validity_bounds)


@transaction.atomic
def update_validity_bounds(
    *,
    by: User | None,
    values: dict[str, Decimal | None],
    version: int,
    request: HttpRequest | None = None,
) -> ScreeningSettings:
    """Store the bounds that differ from the defaults. ``values``: {bound name: value or None
    (the default)}. The whole set is checked by constructing ``ValidityBounds`` (ordered
    bounds, no negative minutes); a problem names the bound. A stale ``version`` raises
    SettingsConflict."""
    unknown = sorted(set(values) - set(BOUND_NAMES))
    if unknown:
        raise ValidationError({unknown[0]: "Not a specimen-validity bound."})
    settings = ScreeningSettings.objects.select_for_update().filter(pk=1).first()
    if settings is None:
        settings = ScreeningSettings.objects.create(pk=1)
    if settings.version != version:
        raise SettingsConflict(
            "Someone changed the validity bounds since you opened this page: reload it and "
            "enter your changes again."
        )
    default = ValidityBounds()
    overrides: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValidationError({name: "Enter a number."})
        if value != getattr(default, name):
            overrides[name] = format(value.normalize(), "f")
    try:
        bounds_from(overrides)
    except ValueError as exc:
        message = str(exc)
        field = next((n for n in BOUND_NAMES if message.startswith(n)), BOUND_NAMES[0])
        raise ValidationError({field: bound_message(message)}) from None
    before = settings.validity_bounds
    settings.validity_bounds = overrides
    settings.version += 1
    settings.save()
    record_event(
        request=request,
        actor=by,
        action=Action.UPDATE,
        object_type="screening_settings",
        object_id=settings.pk,
        detail=f"validity bounds {before or 'defaults'} -> {overrides or 'defaults'}"[:1000],
    )
    return settings


BOUND_LABELS: dict[str, str] = {
    "temperature_min_c": "Temperature at least (°C)",
    "temperature_max_c": "Temperature at most (°C)",
    "temperature_read_within_minutes": "Temperature read within (minutes)",
    "dilute_creatinine_below": "Dilute: creatinine below (mg/dL)",
    "dilute_specific_gravity_below": "Dilute: specific gravity below",
    "substituted_creatinine_below": "Substituted: creatinine below (mg/dL)",
    "substituted_specific_gravity_at_most": "Substituted: specific gravity at most",
    "substituted_specific_gravity_at_least": "Substituted: specific gravity at least",
    "ph_adulterated_below": "Adulterated: pH below",
    "ph_invalid_below": "Invalid: pH below",
    "ph_invalid_at_or_above": "Invalid: pH at or above",
    "ph_adulterated_at_or_above": "Adulterated: pH at or above",
    "nitrite_invalid_at_or_above": "Invalid: nitrite at or above (µg/mL)",
    "nitrite_adulterated_at_or_above": "Adulterated: nitrite at or above (µg/mL)",
}


def bound_message(message: str) -> str:
    """``ValidityBounds``' message with the bounds' labels instead of their field names."""
    for name in sorted(BOUND_NAMES, key=len, reverse=True):
        message = message.replace(name, f"“{BOUND_LABELS[name]}”")
    return message[0].upper() + message[1:] + "."
