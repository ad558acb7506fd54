"""Placement assessments and a program's rule table (DOMAIN.md §3–§4, issue 6 point 4).

The arithmetic is the pure core ``openiop.measures.placement``; these services read what it
needs, store what it decided next to the raw input, and audit every write.

* ``current_rules`` / ``save_rule_table``: a program's editable rule table, append-only
  versions (``PlacementRuleTable``); a program without one uses ``DEFAULT_RULES``.
* ``record_placement``: the seed's six criteria, the contra-indications and the six dimension
  ratings → the indication (tier and code, fired rules with their evidence, deciding rules),
  stored with the rule-table version used; optionally the decision in the same call.
* ``record_level_decision``: the level actually provided, once; a reason when it differs
  from the indicated one. The database freezes the row afterwards.
* ``placements_due``: active enrollments whose latest placement is older than the program's
  ``placement_review_days`` (or who have none), in constant queries.

Bad input raises ``ValidationError`` with a dict keyed by field ("ratings.3", "criteria.2",
"rules"); a stale version or a second decision raises ``PlacementConflict`` (HTTP 409).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone

from openiop.accounts.models import Site, User
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict
from openiop.lib.dates import local_today
from openiop.measures.models import (
    PlacementAssessment,
    PlacementKind,
    PlacementRuleTable,
)
from openiop.measures.placement import (
    CRITERIA,
    DEFAULT_RULES,
    DIMENSIONS,
    EDITIONS,
    LEVEL_CODES,
    MAX_RATING,
    Answer,
    Assessment,
    ConditionKind,
    ContraIndication,
    DimensionRating,
    Indication,
    PlacementError,
    Rule,
    Tier,
    indicate,
    record_decision,
    validate_rules,
)
from openiop.measures.program_settings import settings_by_program
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus, Episode, Program

# A rating from this value up needs a rationale: a clinician must say why (DOMAIN.md §4).
RATIONALE_FROM = 2
MAX_NOTE = 2000
MAX_TABLE_NOTE = 300
IOP_CODE = "2.1"
EDITION_NAMES = {3: "3rd", 4: "4th"}


class PlacementConflict(NoteConflict):
    """The assessment or the rule table changed since it was read, or the level provided was
    already recorded (HTTP 409)."""


# --- the rule table ----------------------------------------------------------------------


def current_rules(program: Program | None) -> tuple[PlacementRuleTable | None, tuple[Rule, ...]]:
    """The program's latest rule-table version and its rules, or ``(None, DEFAULT_RULES)``
    when it has none (or there is no program). One query."""
    if program is None:
        return None, DEFAULT_RULES
    table = PlacementRuleTable.objects.filter(program=program).order_by("-version").first()
    if table is None:
        return None, DEFAULT_RULES
    return table, rules_of(table)


def rules_of(table: PlacementRuleTable | None) -> tuple[Rule, ...]:
    """The rules stored in ``table`` (already validated when saved)."""
    if table is None:
        return DEFAULT_RULES
    return validate_rules(Rule.from_dict(item) for item in table.rules)


def _rules_from(data: Any) -> tuple[Rule, ...]:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as error:
            raise PlacementError(f"rule table is not valid JSON: {error}") from None
    if not isinstance(data, list | tuple):
        raise PlacementError("rule table must be a list of rules")
    items = []
    for position, item in enumerate(data, start=1):
        if isinstance(item, Rule):
            items.append(item)
            continue
        try:
            items.append(Rule.from_dict(item))
        except PlacementError as error:
            raise PlacementError(f"rule #{position}: {error}") from None
    return validate_rules(items)


def parse_rules(rules: str | Sequence[Rule | Mapping[str, Any]]) -> tuple[Rule, ...]:
    """A rule table from JSON text or a list of rules (objects or dicts); ValidationError
    keyed "rules" naming the rule (its position and id) and the field at fault."""
    try:
        parsed = _rules_from(rules)
    except PlacementError as error:
        raise ValidationError({"rules": str(error)}) from None
    if not parsed:
        raise ValidationError({"rules": "The table needs at least one rule."})
    return parsed


@transaction.atomic
def save_rule_table(
    *,
    program: Program,
    rules_json_or_list: str | Sequence[Rule | Mapping[str, Any]],
    note: str,
    by: User,
    expected_version: int,
    request: HttpRequest | None = None,
) -> PlacementRuleTable:
    """Append the next version of ``program``'s rule table.

    ``expected_version`` is the version the editor was showing (0 for the defaults); when the
    table moved on since, ``PlacementConflict`` and nothing is written. Earlier versions stay:
    assessments keep pointing at the version they were decided with.
    """
    rules = parse_rules(rules_json_or_list)
    note = (note or "").strip()
    if len(note) > MAX_TABLE_NOTE:
        raise ValidationError({"note": f"Keep the note to {MAX_TABLE_NOTE} characters."})
    # Lock the program so two directors saving at once check against each other.
    program = Program.objects.select_for_update().select_related("site").get(pk=program.pk)
    latest = (
        PlacementRuleTable.objects.filter(program=program)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    ) or 0
    if expected_version != latest:
        raise PlacementConflict(
            f"The rule table of {program.name} changed since you opened it (now version "
            f"{latest}). Reload it and apply your change again."
        )
    table = PlacementRuleTable.objects.create(
        program=program,
        version=latest + 1,
        rules=[rule.as_dict() for rule in rules],
        note=note,
        created_by=by,
        created_at=timezone.now(),
    )
    record_event(
        request=request,
        actor=by,
        site=program.site,
        action=Action.CREATE,
        object_type="placement_rule_table",
        object_id=table.pk,
        detail=f"{program.name}: rule table version {table.version}, {len(rules)} rules"
        + (f" ({note})" if note else ""),
    )
    return table


# --- the assessment ----------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementContext:
    """What an assessment of this patient is attached to, and whose rule table applies."""

    episode: Episode | None
    enrollment: Enrollment | None
    program: Program | None


def placement_context(patient: Patient) -> PlacementContext:
    """The active enrollment's program; else the first active IOP program of the patient's
    site (so an intake assessment uses the table of the program the patient would join);
    else no program (``DEFAULT_RULES``)."""
    enrollment = (
        Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE)
        .select_related("program", "episode")
        .order_by("-admitted_on", "-pk")
        .first()
    )
    if enrollment is not None:
        return PlacementContext(enrollment.episode, enrollment, enrollment.program)
    program = (
        Program.objects.filter(
            site_id=patient.site_id, is_active=True, level_of_care__code=IOP_CODE
        )
        .order_by("pk")
        .first()
    )
    episode = (
        Episode.objects.filter(patient=patient, closed_on__isnull=True)
        .order_by("-opened_on", "-pk")
        .first()
    )
    return PlacementContext(episode, None, program)


def _parts(value: Any, first: str, second: str) -> tuple[Any, Any]:
    """(answer, note) / (rating, rationale) from a mapping, a pair or a bare value."""
    if isinstance(value, Mapping):
        return value.get(first), value.get(second, "")
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"give {first} and {second}")
        return value[0], value[1]
    return value, ""


def _number_key(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else None


def _parse_criteria(criteria: Mapping[Any, Any], errors: dict[str, str]) -> dict[int, Any]:
    parsed: dict[int, tuple[Answer, str]] = dict.fromkeys(CRITERIA, (Answer.UNKNOWN, ""))
    if not isinstance(criteria, Mapping):
        errors["criteria"] = "Answer the criteria 1–6 as yes, no or unknown."
        return parsed
    for raw_key, value in criteria.items():
        number = _number_key(raw_key)
        field = f"criteria.{raw_key}"
        if number not in CRITERIA:
            errors[field] = f"There is no criterion {raw_key}: the criteria are 1–6."
            continue
        try:
            answer, note = _parts(value, "answer", "note")
        except ValueError as error:
            errors[field] = str(error).capitalize() + "."
            continue
        try:
            answer = Answer(answer)
        except ValueError:
            errors[field] = f"Answer criterion {number} yes, no or unknown."
            continue
        text = _text(note)
        if text is None:
            errors[field] = "The note must be text."
        elif len(text) > MAX_NOTE:
            errors[field] = f"Keep the note to {MAX_NOTE} characters."
        else:
            parsed[number] = (answer, text)
    return parsed


def _parse_ratings(
    ratings: Mapping[Any, Any], errors: dict[str, str]
) -> dict[int, DimensionRating]:
    parsed: dict[int, DimensionRating] = {}
    if not isinstance(ratings, Mapping):
        errors["ratings"] = "Rate the six dimensions 0–4."
        return parsed
    for raw_key, value in ratings.items():
        number = _number_key(raw_key)
        field = f"ratings.{raw_key}"
        if number not in DIMENSIONS:
            errors[field] = f"There is no dimension {raw_key}: the dimensions are 1–6."
            continue
        try:
            rating, rationale = _parts(value, "rating", "rationale")
        except ValueError as error:
            errors[field] = str(error).capitalize() + "."
            continue
        if isinstance(rating, bool) or not isinstance(rating, int):
            errors[field] = f"Rate dimension {number} with a whole number from 0 to {MAX_RATING}."
            continue
        if not 0 <= rating <= MAX_RATING:
            errors[field] = f"Rating {rating} is outside the scale 0–{MAX_RATING}."
            continue
        text = _text(rationale)
        if text is None:
            errors[field] = "The rationale must be text."
        elif len(text) > MAX_NOTE:
            errors[field] = f"Keep the rationale to {MAX_NOTE} characters."
        elif rating >= RATIONALE_FROM and not text:
            errors[field] = (
                f"Give the rationale for rating dimension {number} at {rating}: a rating of "
                f"{RATIONALE_FROM} or more needs one."
            )
        else:
            parsed[number] = DimensionRating(rating, text)
    for number in DIMENSIONS:
        if number not in parsed and f"ratings.{number}" not in errors and "ratings" not in errors:
            errors[f"ratings.{number}"] = f"Rate dimension {number} (0–{MAX_RATING})."
    return parsed


def _parse_contraindications(codes: Iterable[Any], errors: dict[str, str]) -> list[str]:
    if isinstance(codes, str | bytes) or not isinstance(codes, Iterable):
        errors["contraindications"] = "Give the contra-indications as a list of codes."
        return []
    found: list[str] = []
    for code in codes:
        try:
            value = ContraIndication(code).value
        except ValueError:
            known = ", ".join(c.value for c in ContraIndication)
            errors["contraindications"] = f"Unknown contra-indication {code!r} (known: {known})."
            return []
        if value not in found:
            found.append(value)
    return found


def _dimensions_behind(rule: Rule, assessment: Assessment) -> list[int]:
    """The dimensions a fired rule looked at and found high: what the chart marks."""
    dims: set[int] = set()
    for condition in rule.conditions:
        if condition.kind is ConditionKind.DIMENSION and condition.dimension is not None:
            dims.add(condition.dimension)
        elif condition.kind is ConditionKind.DIMENSIONS and condition.at_least is not None:
            dims.update(d for d in DIMENSIONS if assessment.rating(d) >= condition.at_least)
    return sorted(dims)


def _fired_rows(
    indication: Indication, rules: Sequence[Rule], assessment: Assessment
) -> list[dict[str, Any]]:
    by_id = {rule.id: rule for rule in rules}
    return [
        {
            "rule_id": fired.rule_id,
            "description": fired.description,
            "level": fired.level.key,
            "evidence": list(fired.evidence),
            "dimensions": _dimensions_behind(by_id[fired.rule_id], assessment),
        }
        for fired in indication.fired
    ]


def _decision_errors(error: PlacementError) -> ValidationError:
    message = str(error)
    field = "reason" if message.startswith("reason") else "provided_level"
    return ValidationError({field: message[:1].upper() + message[1:] + "."})


def level_differs(placement: PlacementAssessment) -> bool:
    """Whether the level provided is of another tier than the one indicated ("3.7" provided
    for an indicated "3.x" does not differ)."""
    if not placement.provided_level:
        return False
    provided = LEVEL_CODES.get(placement.edition, {}).get(placement.provided_level)
    return provided != Tier.from_key(placement.indicated_tier)


def indication_of(assessment: PlacementAssessment) -> Indication:
    """The stored indication as the core's object (enough for ``record_decision``)."""
    return Indication(assessment.edition, Tier.from_key(assessment.indicated_tier), (), ())


@transaction.atomic
def record_placement(
    *,
    patient: Patient,
    kind: str | None,
    edition: int,
    criteria: Mapping[Any, Any],
    ratings: Mapping[Any, Any],
    contraindications: Iterable[Any] = (),
    assessed_on: date | None = None,
    by: User,
    provided_level: str | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> PlacementAssessment:
    """Record one placement assessment and what the program's rule table indicates.

    ``criteria``: {1..6: (answer yes/no/unknown, note)} (a criterion left out is unknown);
    ``ratings``: {1..6: (rating 0–4, rationale)}, all six, a rationale for every rating of 2
    or more. Mappings ``{"answer", "note"}`` / ``{"rating", "rationale"}`` work as values too.
    ``kind`` None: intake for the patient's first assessment of the episode, else
    reassessment. With ``provided_level`` the decision is recorded in the same call.
    """
    errors: dict[str, str] = {}
    if kind in (None, ""):
        kind = None
    elif kind not in PlacementKind.values:
        errors["kind"] = "Choose intake or reassessment."
    if isinstance(edition, bool) or edition not in EDITIONS:
        errors["edition"] = "Choose the ASAM edition: 3 (2013) or 4 (2023)."
    parsed_criteria = _parse_criteria(criteria, errors)
    parsed_ratings = _parse_ratings(ratings, errors)
    contra = _parse_contraindications(contraindications, errors)
    today = local_today(patient.site.time_zone)
    assessed_on = assessed_on or today
    if assessed_on > today:
        errors["assessed_on"] = "The assessment date cannot be in the future."
    elif assessed_on < patient.date_of_birth:
        errors["assessed_on"] = "The assessment date is before the patient was born."
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if len(reason) > MAX_NOTE:
        errors["reason"] = f"Keep the reason to {MAX_NOTE} characters."
    if errors:
        raise ValidationError(errors)

    assessment = Assessment(
        edition=edition,
        ratings=tuple(parsed_ratings[d] for d in DIMENSIONS),
        criteria=tuple(parsed_criteria[c][0] for c in CRITERIA),
        contraindications=frozenset(ContraIndication(c) for c in contra),
    )
    context = placement_context(patient)
    table, rules = current_rules(context.program)
    indication = indicate(assessment, rules)
    decision = None
    if provided_level not in (None, ""):
        try:
            decision = record_decision(indication, str(provided_level), reason)
        except PlacementError as error:
            raise _decision_errors(error) from None
    if kind is None:
        earlier = PlacementAssessment.objects.filter(patient=patient)
        if context.episode is not None:
            earlier = earlier.filter(episode=context.episode)
        kind = PlacementKind.REASSESSMENT if earlier.exists() else PlacementKind.INTAKE
    now = timezone.now()
    placement = PlacementAssessment(
        patient=patient,
        site=patient.site,
        episode=context.episode,
        enrollment=context.enrollment,
        program=context.program,
        kind=kind,
        edition=edition,
        criteria={
            str(c): {"answer": parsed_criteria[c][0].value, "note": parsed_criteria[c][1]}
            for c in CRITERIA
        },
        ratings={
            str(d): {"rating": parsed_ratings[d].rating, "rationale": parsed_ratings[d].rationale}
            for d in DIMENSIONS
        },
        contraindications=contra,
        rule_table=table,
        indicated_tier=indication.tier.key,
        indicated_level=indication.level,
        fired_rules=_fired_rows(indication, rules, assessment),
        deciding_rules=list(indication.deciding),
        notes=list(indication.notes),
        assessed_on=assessed_on,
        assessed_by=by,
        created_at=now,
    )
    if decision is not None:
        placement.provided_level = decision.provided
        placement.provided_reason = decision.reason
        placement.decided_by = by
        placement.decided_at = now
    placement.save()
    table_label = f"rule table v{table.version}" if table is not None else "default rules"
    detail = (
        f"{placement.get_kind_display()} ({EDITION_NAMES[edition]} ed.): indicated "
        f"{indication.level} by {', '.join(indication.deciding) or 'no rule (base level)'}; "
        f"{table_label}"
    )
    if decision is not None:
        detail += f"; provided {decision.provided}"
    record_event(
        request=request,
        actor=by,
        site=patient.site,
        action=Action.CREATE,
        object_type="placement_assessment",
        object_id=placement.pk,
        patient_id=patient.pk,
        detail=detail[:1000],
    )
    return placement


@transaction.atomic
def record_level_decision(
    *,
    assessment: PlacementAssessment,
    provided_level: str,
    reason: str,
    by: User,
    expected_version: int,
    request: HttpRequest | None = None,
) -> PlacementAssessment:
    """Record the level of care actually provided, once. A reason is required when it
    differs from the indicated level (DOMAIN.md §4). A second decision, or a stale
    ``expected_version``, raises ``PlacementConflict``."""
    locked = (
        PlacementAssessment.objects.select_for_update()
        .select_related("patient__site")
        .get(pk=assessment.pk)
    )
    if locked.provided_level:
        raise PlacementConflict(
            f"The level provided was already recorded ({locked.provided_level}); a decided "
            "placement cannot change. Record a reassessment instead."
        )
    if locked.version != expected_version:
        raise PlacementConflict(
            "This assessment changed since you opened it. Reload it and decide again."
        )
    if not isinstance(provided_level, str) or not provided_level.strip():
        raise ValidationError({"provided_level": "Choose the level of care provided."})
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) > MAX_NOTE:
        raise ValidationError({"reason": f"Keep the reason to {MAX_NOTE} characters."})
    try:
        decision = record_decision(indication_of(locked), provided_level.strip(), reason)
    except PlacementError as error:
        raise _decision_errors(error) from None
    locked.provided_level = decision.provided
    locked.provided_reason = decision.reason
    locked.decided_by = by
    locked.decided_at = timezone.now()
    locked.version += 1
    locked.save(
        update_fields=["provided_level", "provided_reason", "decided_by", "decided_at", "version"]
    )
    differs = LEVEL_CODES[locked.edition][decision.provided] != Tier.from_key(locked.indicated_tier)
    record_event(
        request=request,
        actor=by,
        site=locked.patient.site,
        action=Action.UPDATE,
        object_type="placement_assessment",
        object_id=locked.pk,
        patient_id=locked.patient_id,
        detail=(
            f"level provided {decision.provided}, indicated {locked.indicated_level}"
            + (f"; reason: {decision.reason}" if differs else "")
        )[:1000],
    )
    return locked


# --- due reassessments ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementDue:
    """An active enrollment whose placement is due: ``last`` is the latest assessment of the
    patient (None when there is none) and ``due_on`` when the next one was due."""

    enrollment: Enrollment
    patient: Patient
    due_on: date
    last: PlacementAssessment | None


def _latest_placement_id() -> Subquery:
    return Subquery(
        PlacementAssessment.objects.filter(patient=OuterRef("patient"))
        .order_by("-assessed_on", "-created_at", "-id")
        .values("id")[:1]
    )


def next_due_on(last: PlacementAssessment | None, enrollment: Enrollment, days: int) -> date:
    """When the next placement is due: ``days`` after the latest one, or at admission."""
    if last is None:
        return enrollment.admitted_on
    return last.assessed_on + timedelta(days=days)


def placements_due(site: Site, today: date) -> list[PlacementDue]:
    """Active enrollments of ``site`` due a placement on ``today``: those whose patient's
    latest assessment is ``placement_review_days`` (program setting, default 30) old or
    older, and those with none. Three queries whatever the number of patients."""
    enrollments = list(
        Enrollment.objects.filter(program__site=site, status=EnrollmentStatus.ACTIVE)
        .select_related("patient", "program")
        .annotate(latest_placement_id=_latest_placement_id())
        .order_by("patient__last_name", "patient__first_name", "pk")
    )
    if not enrollments:
        return []
    latest_ids = [e.latest_placement_id for e in enrollments if e.latest_placement_id]  # type: ignore[attr-defined]
    latest = PlacementAssessment.objects.in_bulk(latest_ids) if latest_ids else {}
    settings = settings_by_program({e.program_id for e in enrollments})
    due: list[PlacementDue] = []
    for enrollment in enrollments:
        last = latest.get(enrollment.latest_placement_id)  # type: ignore[attr-defined]
        days = settings[enrollment.program_id].placement_review_days
        due_on = next_due_on(last, enrollment, days)
        if due_on <= today:
            due.append(PlacementDue(enrollment, enrollment.patient, due_on, last))
    due.sort(key=lambda row: (row.due_on, row.patient.last_name, row.enrollment.pk))
    return due
