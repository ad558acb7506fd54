"""Random, unpredictable drug-screen selection: the pure core (DOMAIN.md §7, issue 5 point 2).

Plain data in, plain data out; no database, no settings. The service that runs the daily
selection reads the pool once (who is on site today, their policy, their expected on-site days,
the screens they already had), calls :func:`select_screens`, and stores the returned
:class:`Selection` — pool, probabilities, draws and reasons — as the audit record.

The rule
--------
For each period with a minimum (ISO week Monday–Sunday, calendar month), a patient who still
needs ``k`` screens and has ``n`` on-site days left in the period, today included, is selected
today with probability ``k/n`` (selection sampling, Knuth's Algorithm S). Every screen counts,
for-cause ones included. This guarantees the minimum: the chance is 1 when ``k == n``, and
while ``k < n`` a day without a screen leaves ``k <= n - 1``, so the period can always still
be completed — provided the patient attends the on-site days they were expected on and the
selection runs on each of them. The set of screen days it produces is a uniformly random
``k``-subset of the on-site days.

DOMAIN.md §7 names the weakness of an exact count: once the week's screen is done the rest of
the week is a safe window. Programs that want no safe window set ``extra_chance`` = ``e`` > 0.
The rule then becomes: every on-site day is a screen day independently with probability ``e``,
*conditioned on the period reaching its minimum*. Today's chance is::

    P(today) = e · P(Bin(n-1, e) >= k-1) / P(Bin(n, e) >= k)

which is ``e`` once the minimum is met (a screen never tells when the next one comes), 1 when
``k == n``, never below ``k/n``, and tends to ``k/n`` as ``e`` → 0. The minimum is then a
floor, not an exact count, and extra screens count toward it like any other.

Why a patient cannot infer the day
----------------------------------
What a patient can observe is which of their on-site days have passed, which of those brought
a screen (their own, for-cause ones included), and — if they know the policy — how many they
still owe. Under both rules the screen days still ahead, given exactly that, are
*exchangeable*: every arrangement over the remaining on-site days with the same number of
screens is equally likely (with ``e = 0``: a uniform ``k``-subset; with ``e > 0``: independent
days conditioned on a count, which is symmetric in the days). So each remaining on-site day is
equally likely to be a screen day, and when one screen is still owed its day is uniform over
the remaining on-site days. Not being screened on Monday and Tuesday only shortens the list;
it never makes Thursday likelier than Wednesday. Patients are drawn independently, one
uniform number each, from a cryptographically secure generator, so other patients' screens
say nothing either; every patient gets a draw whatever their probability, so the work done is
the same for all.

What a patient *can* know, and no rule can hide while guaranteeing a minimum on on-site days:

- the probability for today, which follows from the observations above (the outcome does not);
- that the last on-site day of a period is certain if the minimum is still owed (with one
  screen a week over five on-site days this happens one week in five when ``e = 0``);
- with ``e = 0``, that the rest of the period is free once the minimum is met — which is what
  ``extra_chance`` removes.

When the policy has both a weekly and a monthly minimum, today's chance is the larger of the
two, which keeps both guarantees (either one reaching certainty makes today certain); days stay
unpredictable, but exact uniformity then holds for the period whose requirement dominates.
Minimums for partial periods (admission mid-month, a phase change mid-week) are the caller's
choice; a minimum that cannot be reached with the days left is flagged as a shortfall and the
patient is screened on every remaining on-site day.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from typing import TypedDict


class Period(StrEnum):
    WEEK = "week"  # ISO week, Monday–Sunday
    MONTH = "month"  # calendar month


@dataclass(frozen=True)
class ScreeningPolicy:
    """Minimum screens per ISO week and per calendar month; 0 means no minimum for that period.

    DOMAIN.md §7 (ASAM 2017): at least weekly early in treatment, at least monthly in stable
    recovery — e.g. ``ScreeningPolicy(per_week=2)``, ``(per_week=1)``, ``(per_month=2)``.
    """

    per_week: int = 0
    per_month: int = 0

    def __post_init__(self) -> None:
        for name in ("per_week", "per_month"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int")
            if value < 0:
                raise ValueError(f"{name} cannot be negative")


@dataclass(frozen=True)
class Candidate:
    """A patient on site on the selection day.

    ``on_site_days``: the dates the patient is expected on site from the selection day on (it
    must include the day); dates after the end of the day's ISO week and month are ignored, so
    a service may pass a fixed horizon. ``screens_this_week`` / ``screens_this_month``: screens
    already collected in the day's ISO week and calendar month, for-cause ones included.
    """

    patient_id: int | str
    policy: ScreeningPolicy
    on_site_days: frozenset[date]
    screens_this_week: int = 0
    screens_this_month: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "on_site_days", frozenset(self.on_site_days))
        for name in ("screens_this_week", "screens_this_month"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int")
            if value < 0:
                raise ValueError(f"{name} cannot be negative")


@dataclass(frozen=True)
class PeriodNeed:
    """Where a patient stands against one period's minimum on the selection day."""

    period: Period
    minimum: int
    done: int
    days_left: int  # on-site days left in the period, the selection day included
    probability: float
    explanation: str

    @property
    def needed(self) -> int:
        return max(0, self.minimum - self.done)

    @property
    def shortfall(self) -> bool:
        """More screens owed than on-site days left: the minimum cannot be met."""
        return self.needed > self.days_left


@dataclass(frozen=True)
class Assessment:
    """A patient's chance of a screen today and why, before the draw."""

    patient_id: int | str
    probability: float
    reason: str
    week: PeriodNeed | None  # None: the policy has no weekly minimum
    month: PeriodNeed | None  # None: the policy has no monthly minimum

    @property
    def forced(self) -> bool:
        return self.probability >= 1.0

    @property
    def shortfall(self) -> bool:
        return any(need is not None and need.shortfall for need in (self.week, self.month))


@dataclass(frozen=True)
class Decision:
    """The draw for one patient: selected exactly when ``draw < probability``."""

    assessment: Assessment
    draw: float  # uniform in [0, 1), from the selection's generator
    selected: bool

    @property
    def patient_id(self) -> int | str:
        return self.assessment.patient_id

    @property
    def probability(self) -> float:
        return self.assessment.probability

    @property
    def reason(self) -> str:
        return self.assessment.reason


class DecisionRecord(TypedDict):
    patient_id: int | str
    selected: bool
    probability: float
    draw: float
    reason: str
    week_needed: int | None
    week_days_left: int | None
    month_needed: int | None
    month_days_left: int | None
    shortfall: bool


class SelectionRecord(TypedDict):
    day: str
    extra_chance: float
    selected: list[int | str]
    decisions: list[DecisionRecord]


@dataclass(frozen=True)
class Selection:
    """One day's selection: every patient in the pool with their chance, draw and reason."""

    day: date
    extra_chance: float
    decisions: tuple[Decision, ...] = field(default=())

    @property
    def selected(self) -> tuple[int | str, ...]:
        """Patients to screen today, in pool order."""
        return tuple(d.patient_id for d in self.decisions if d.selected)

    def as_record(self) -> SelectionRecord:
        """JSON-safe form for the selection's audit record (the pool and the reasoning)."""
        return {
            "day": self.day.isoformat(),
            "extra_chance": self.extra_chance,
            "selected": list(self.selected),
            "decisions": [_decision_record(d) for d in self.decisions],
        }


def _decision_record(decision: Decision) -> DecisionRecord:
    week, month = decision.assessment.week, decision.assessment.month
    return {
        "patient_id": decision.patient_id,
        "selected": decision.selected,
        "probability": decision.probability,
        "draw": decision.draw,
        "reason": decision.reason,
        "week_needed": week.needed if week else None,
        "week_days_left": week.days_left if week else None,
        "month_needed": month.needed if month else None,
        "month_days_left": month.days_left if month else None,
        "shortfall": decision.assessment.shortfall,
    }


def week_end(day: date) -> date:
    """The Sunday closing ``day``'s ISO week."""
    return day + timedelta(days=7 - day.isoweekday())


def month_end(day: date) -> date:
    """The last day of ``day``'s calendar month."""
    first_of_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_of_next - timedelta(days=1)


def _check_chance(extra_chance: float) -> None:
    if isinstance(extra_chance, bool) or not isinstance(extra_chance, int | float | Fraction):
        raise TypeError("extra_chance must be a number")
    if not 0 <= extra_chance <= 1:
        raise ValueError("extra_chance must be between 0 and 1")


def _at_least(successes: int, trials: int, chance: Fraction) -> Fraction:
    """P(Binomial(trials, chance) >= successes), exactly."""
    if successes <= 0:
        return Fraction(1)
    return sum(
        (
            math.comb(trials, j) * chance**j * (1 - chance) ** (trials - j)
            for j in range(successes, trials + 1)
        ),
        Fraction(0),
    )


def screen_probability(needed: int, days_left: int, extra_chance: float = 0.0) -> float:
    """Today's chance of a screen for one period: ``needed`` more, ``days_left`` on-site days.

    ``needed / days_left`` when ``extra_chance`` is 0; otherwise the chance that today is a
    screen day when every on-site day is one independently with probability ``extra_chance``,
    conditioned on at least ``needed`` of the ``days_left`` days being screen days. 1 whenever
    ``needed >= days_left`` (certain, or a shortfall); ``extra_chance`` when ``needed`` is 0.
    """
    for name, value in (("needed", needed), ("days_left", days_left)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int")
        if value < 0:
            raise ValueError(f"{name} cannot be negative")
    if days_left == 0:
        raise ValueError("days_left counts the selection day, so it is at least 1")
    _check_chance(extra_chance)
    return float(_exact_probability(needed, days_left, Fraction(extra_chance)))


@lru_cache(maxsize=4096)
def _exact_probability(needed: int, days_left: int, chance: Fraction) -> Fraction:
    # Exact rationals: no underflow for tiny chances, and (needed, days_left, chance) takes
    # few values in a day's pool, so the cache makes a 2,000-patient day cost a few sums.
    if needed >= days_left:
        return Fraction(1)
    if needed == 0:
        return chance
    if chance == 0:
        return Fraction(needed, days_left)
    return (
        chance * _at_least(needed - 1, days_left - 1, chance) / _at_least(needed, days_left, chance)
    )


def _days(n: int) -> str:
    return "1 on-site day" if n == 1 else f"{n} on-site days"


def _show(probability: Fraction, extra_chance: Fraction) -> str:
    if probability == 1:
        return "certain"
    if extra_chance == 0 or probability == 0:
        return str(probability)
    return f"{float(probability):.1%}"


@lru_cache(maxsize=4096)
def _need(
    period: Period, minimum: int, done: int, days_left: int, extra_chance: Fraction
) -> PeriodNeed:
    needed = max(0, minimum - done)
    exact = _exact_probability(needed, days_left, extra_chance)
    shown = _show(exact, extra_chance)
    if needed == 0:
        extra = f"extra chance {shown}" if extra_chance else "0"
        text = f"{period} minimum met ({done} of {minimum}) → {extra}"
    else:
        text = f"needs {needed} more this {period}, {_days(days_left)} left"
        if extra_chance and needed < days_left:
            text += f", extra chance {_show(extra_chance, extra_chance)}"
        text += f" → {shown}"
        if needed > days_left:
            text += " (shortfall: the minimum cannot be met; screen every on-site day)"
    return PeriodNeed(
        period=period,
        minimum=minimum,
        done=done,
        days_left=days_left,
        probability=float(exact),
        explanation=text,
    )


def assess(day: date, candidate: Candidate, *, extra_chance: float = 0.0) -> Assessment:
    """A patient's chance of a screen on ``day`` and the reasoning, without drawing."""
    _check_chance(extra_chance)
    return _assess(day, candidate, Fraction(extra_chance), week_end(day), month_end(day))


def _assess(
    day: date, candidate: Candidate, chance: Fraction, last_of_week: date, last_of_month: date
) -> Assessment:
    if day not in candidate.on_site_days:
        raise ValueError(f"patient {candidate.patient_id} is not on site on {day.isoformat()}")
    if min(candidate.on_site_days) < day:
        raise ValueError(
            f"on-site days of patient {candidate.patient_id} must start on {day.isoformat()}"
        )
    policy = candidate.policy
    week = month = None
    if policy.per_week:
        left = sum(1 for d in candidate.on_site_days if d <= last_of_week)
        week = _need(Period.WEEK, policy.per_week, candidate.screens_this_week, left, chance)
    if policy.per_month:
        left = sum(1 for d in candidate.on_site_days if d <= last_of_month)
        month = _need(Period.MONTH, policy.per_month, candidate.screens_this_month, left, chance)
    needs = [need for need in (week, month) if need is not None]
    if not needs:
        probability = float(chance)
        shown = f"extra chance {_show(chance, chance)}" if chance else "0"
        reason = f"no minimum in the policy → {shown}"
    else:
        probability = max(need.probability for need in needs)
        reason = "; ".join(need.explanation for need in needs)
        if len({need.probability for need in needs}) > 1:
            reason += "; the larger applies"
    return Assessment(
        patient_id=candidate.patient_id,
        probability=probability,
        reason=reason,
        week=week,
        month=month,
    )


def select_screens(
    day: date,
    pool: Iterable[Candidate],
    *,
    extra_chance: float = 0.0,
    rng: random.Random | None = None,
) -> Selection:
    """Pick who gives a specimen on ``day`` among the patients on site.

    One draw per patient, in pool order, from ``rng`` — by default ``secrets.SystemRandom()``
    (DOMAIN.md §7: a cryptographically secure generator); tests pass a seeded
    ``random.Random``. ``extra_chance`` (0–1) is the program's chance of a screen on any
    on-site day even when the minimum is met; 0 keeps the classic exact-count rule. Raises
    ValueError for a patient listed twice or not on site on ``day``.
    """
    _check_chance(extra_chance)
    source = rng if rng is not None else secrets.SystemRandom()
    chance, last_of_week, last_of_month = Fraction(extra_chance), week_end(day), month_end(day)
    seen: set[int | str] = set()
    decisions = []
    for candidate in pool:
        if candidate.patient_id in seen:
            raise ValueError(f"patient {candidate.patient_id} is in the pool twice")
        seen.add(candidate.patient_id)
        assessment = _assess(day, candidate, chance, last_of_week, last_of_month)
        draw = source.random()
        decisions.append(
            Decision(assessment=assessment, draw=draw, selected=draw < assessment.probability)
        )
    return Selection(day=day, extra_chance=float(extra_chance), decisions=tuple(decisions))
