"""The screening phases a program uses until a director sets its own (issue 5 §1).

DOMAIN.md §7 (ASAM 2017): at least weekly early in treatment, at least monthly in stable
recovery. The defaults: from admission 2 screens a week, from day 30 1 a week, from day 90
2 a month, with no extra chance. ``policy_for`` (services_selection.py) falls back to these
when a program has no ``ScreeningPhase`` rows, and the settings page shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class DefaultPhase:
    from_day: int
    label: str
    per_week: int = 0
    per_month: int = 0
    extra_chance: Decimal = Decimal(0)


DEFAULT_PHASES: tuple[DefaultPhase, ...] = (
    DefaultPhase(0, "Early treatment", per_week=2),
    DefaultPhase(30, "Settling in", per_week=1),
    DefaultPhase(90, "Stable recovery", per_month=2),
)
