"""A program's measurement-based-care settings, with defaults when it has none stored."""

from __future__ import annotations

from collections.abc import Iterable

from openiop.measures.models import ProgramMeasureSettings
from openiop.measures.review import ReviewPolicy
from openiop.programs.models import Program

# ProgramMeasureSettings fields that are ReviewPolicy fields of the same name.
REVIEW_FIELDS = (
    "unexpected_screens",
    "unexpected_window_days",
    "missed_weeks",
    "score_window_days",
    "craving_rise",
    "craving_sustain",
    "safety_window_days",
    "stable_window_days",
    "stable_min_screens",
    "stable_weeks_met",
    "stable_min_scores",
    "require_goals_met",
)


def settings_for(program: Program) -> ProgramMeasureSettings:
    """The program's stored settings, or an unsaved row with the defaults. One query."""
    stored = ProgramMeasureSettings.objects.filter(program=program).first()
    return stored if stored is not None else ProgramMeasureSettings(program=program)


def settings_by_program(programs: Iterable[Program | int]) -> dict[int, ProgramMeasureSettings]:
    """Settings of many programs at once (defaults for those without a row). One query."""
    ids = {p if isinstance(p, int) else p.pk for p in programs}
    stored = {s.program_id: s for s in ProgramMeasureSettings.objects.filter(program_id__in=ids)}
    return {pk: stored.get(pk) or ProgramMeasureSettings(program_id=pk) for pk in ids}


def review_policy_for(settings: ProgramMeasureSettings) -> ReviewPolicy:
    return ReviewPolicy(**{name: getattr(settings, name) for name in REVIEW_FIELDS})
