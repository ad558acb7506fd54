"""Step-up / step-down review signals for one enrollment, a pure core.

DOMAIN.md §10 (issue 6 point 5): the software **recommends** a review; a clinician decides.

Step-up signals (each configurable in ``ReviewPolicy``):

- ``unexpected_screens``: at least ``unexpected_screens`` unexpected screen results collected
  in the last ``unexpected_window_days`` days (an example policy seen in practice: 3);
- ``missed_hours``: the last ``missed_weeks`` closed weeks all missed the hours floor;
- ``phq9_band_up`` / ``gad7_band_up``: the latest score in the last ``score_window_days`` days
  is in a higher band (DOMAIN.md §9) than the first score in that window;
- ``craving_rising``: in the last ``score_window_days`` days, the latest ``craving_sustain``
  craving ratings are all at least ``craving_rise`` above the first rating in the window;
- ``safety_flag``: a PHQ-9 item 9 above 0 or a moderate/high C-SSRS result in the last
  ``safety_window_days`` days.

Step-down signals, over the last ``stable_window_days`` days (default 4 weeks):

- ``screens_negative``: at least ``stable_min_screens`` screens and none unexpected;
- ``hours_met``: the last ``stable_weeks_met`` closed weeks all met the floor;
- ``scores_stable``: at least ``stable_min_scores`` PHQ-9/GAD-7 scores, no band up for either,
  and no craving rise;
- ``goals_met``: the treatment plan's goals are met (when ``require_goals_met``).

Precedence: **step-up wins**. When any step-up signal is present the step-down signals are
not reported, so a review never shows both directions. A step-down review is recommended only
when every step-down signal is present. Step-down is not looked for at outpatient level; at
inpatient level step-up signals are reported (and block step-down) but recommend nothing, as
there is nowhere to step up to.

Only data dated on or before ``today`` counts, so replaying a past day gives that day's answer.
Every signal names the data that produced it: its ``evidence`` sentence quotes the dates (ISO)
and values, and ``dates`` lists the same dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from openiop.lib.dates import IsoWeek
from openiop.measures.placement import Tier
from openiop.scheduling.hours import WeekStatus

# DOMAIN.md §9: band names from lowest to highest.
BANDS: dict[str, tuple[str, ...]] = {
    "PHQ-9": ("minimal", "mild", "moderate", "moderately severe", "severe"),
    "GAD-7": ("minimal", "mild", "moderate", "severe"),
}
_CLOSED = (WeekStatus.MET, WeekStatus.MISSED)


class Direction(StrEnum):
    STEP_UP = "step_up"
    STEP_DOWN = "step_down"


class Recommendation(StrEnum):
    REVIEW_STEP_UP = "review_step_up"
    REVIEW_STEP_DOWN = "review_step_down"
    NONE = "none"


def _positive_int(name: str, value: object, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")


@dataclass(frozen=True)
class ReviewPolicy:
    """The thresholds of DOMAIN.md §10, each a program setting with this default."""

    unexpected_screens: int = 3
    unexpected_window_days: int = 30
    missed_weeks: int = 2
    score_window_days: int = 28
    craving_rise: int = 2
    craving_sustain: int = 2
    safety_window_days: int = 14
    stable_window_days: int = 28
    stable_min_screens: int = 2
    stable_weeks_met: int = 4
    stable_min_scores: int = 2
    require_goals_met: bool = True

    def __post_init__(self) -> None:
        for name in (
            "unexpected_screens",
            "unexpected_window_days",
            "missed_weeks",
            "score_window_days",
            "craving_rise",
            "craving_sustain",
            "safety_window_days",
            "stable_window_days",
            "stable_weeks_met",
            "stable_min_scores",
        ):
            _positive_int(name, getattr(self, name))
        _positive_int("stable_min_screens", self.stable_min_screens, 0)
        if not isinstance(self.require_goals_met, bool):
            raise TypeError("require_goals_met must be a bool")


# --- inputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekRecord:
    """One ISO week's hours status (``openiop.scheduling.hours``). Only met/missed weeks that
    ended by ``today`` are closed and count; the others are skipped, neither counting nor
    breaking a run of missed or met weeks."""

    week: IsoWeek
    status: WeekStatus
    attended_hours: Decimal | None = None
    target_hours: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", WeekStatus(self.status))

    def describe(self) -> str:
        text = f"week {self.week} (from {self.week.monday.isoformat()})"
        if self.attended_hours is not None and self.target_hours is not None:
            text += f": {self.attended_hours} h of {self.target_hours} h"
        elif self.attended_hours is not None:
            text += f": {self.attended_hours} h"
        return text


@dataclass(frozen=True)
class ScreenRecord:
    collected_on: date
    unexpected: bool


@dataclass(frozen=True)
class ScoreRecord:
    """A PHQ-9 or GAD-7 result with its band name as in DOMAIN.md §9."""

    instrument: str
    taken_on: date
    score: int
    band: str

    def __post_init__(self) -> None:
        if self.instrument not in BANDS:
            raise ValueError(f"instrument {self.instrument!r} is not one of {', '.join(BANDS)}")
        if self.band not in BANDS[self.instrument]:
            raise ValueError(f"{self.instrument}: band {self.band!r} is unknown")

    @property
    def rank(self) -> int:
        return BANDS[self.instrument].index(self.band)

    def describe(self) -> str:
        return f"{self.score} ({self.band}) on {self.taken_on.isoformat()}"


@dataclass(frozen=True)
class CravingRecord:
    rated_on: date
    rating: int

    def __post_init__(self) -> None:
        if isinstance(self.rating, bool) or not isinstance(self.rating, int):
            raise TypeError("craving rating must be an int")
        if not 0 <= self.rating <= 10:
            raise ValueError(f"craving rating {self.rating} is outside 0–10")


@dataclass(frozen=True)
class SafetyFlag:
    """A PHQ-9 item 9 above 0 or a moderate/high C-SSRS result; ``detail`` in plain words,
    e.g. "PHQ-9 item 9 answered 2"."""

    flagged_on: date
    detail: str


@dataclass(frozen=True)
class ReviewInput:
    today: date
    level: Tier
    weeks: tuple[WeekRecord, ...] = ()
    screens: tuple[ScreenRecord, ...] = ()
    scores: tuple[ScoreRecord, ...] = ()
    cravings: tuple[CravingRecord, ...] = ()
    safety_flags: tuple[SafetyFlag, ...] = ()
    goals_met: bool | None = None  # None: no plan or not yet reviewed

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", Tier(self.level))
        for name in ("weeks", "screens", "scores", "cravings", "safety_flags"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


# --- outputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    direction: Direction
    code: str
    evidence: str
    dates: tuple[date, ...]  # every date quoted in the evidence, oldest first


@dataclass(frozen=True)
class Review:
    recommendation: Recommendation
    signals: tuple[Signal, ...]
    missing_for_step_down: tuple[str, ...] = ()  # step-down codes not (yet) present

    def codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.signals)


# --- the signals ------------------------------------------------------------------------


def _since(today: date, days: int) -> date:
    """First day of a window of ``days`` days ending today (today included)."""
    return today - timedelta(days=days - 1)


def _isos(days: Iterable[date]) -> str:
    return ", ".join(d.isoformat() for d in days)


def _closed_weeks(data: ReviewInput) -> list[WeekRecord]:
    """Closed weeks that ended on or before today, most recent first, one per week."""
    weeks = {w.week: w for w in data.weeks if w.status in _CLOSED and w.week.sunday <= data.today}
    return [weeks[k] for k in sorted(weeks, key=lambda k: k.monday, reverse=True)]


def _unexpected_screens(data: ReviewInput, policy: ReviewPolicy) -> Signal | None:
    start = _since(data.today, policy.unexpected_window_days)
    hits = sorted(
        s.collected_on
        for s in data.screens
        if s.unexpected and start <= s.collected_on <= data.today
    )
    if len(hits) < policy.unexpected_screens:
        return None
    return Signal(
        Direction.STEP_UP,
        "unexpected_screens",
        f"{len(hits)} unexpected screen results in {policy.unexpected_window_days} days "
        f"(threshold {policy.unexpected_screens}): {_isos(hits)}",
        tuple(hits),
    )


def _missed_hours(weeks: list[WeekRecord], policy: ReviewPolicy) -> Signal | None:
    recent = weeks[: policy.missed_weeks]
    if len(recent) < policy.missed_weeks or any(w.status != WeekStatus.MISSED for w in recent):
        return None
    recent.reverse()
    return Signal(
        Direction.STEP_UP,
        "missed_hours",
        f"Hours floor missed {len(recent)} weeks running: "
        + "; ".join(w.describe() for w in recent),
        tuple(w.week.monday for w in recent),
    )


def _window_scores(data: ReviewInput, instrument: str, days: int) -> list[ScoreRecord]:
    start = _since(data.today, days)
    return sorted(
        (
            s
            for s in data.scores
            if s.instrument == instrument and start <= s.taken_on <= data.today
        ),
        key=lambda s: (s.taken_on, s.score),
    )


def _band_up(data: ReviewInput, instrument: str, days: int) -> Signal | None:
    scores = _window_scores(data, instrument, days)
    if len(scores) < 2 or scores[-1].rank <= scores[0].rank:
        return None
    first, last = scores[0], scores[-1]
    return Signal(
        Direction.STEP_UP,
        instrument.lower().replace("-", "") + "_band_up",
        f"{instrument} rose from {first.describe()} to {last.describe()}",
        (first.taken_on, last.taken_on),
    )


def _craving_rising(data: ReviewInput, policy: ReviewPolicy, days: int) -> Signal | None:
    start = _since(data.today, days)
    ratings = sorted(
        (c for c in data.cravings if start <= c.rated_on <= data.today),
        key=lambda c: (c.rated_on, c.rating),
    )
    if len(ratings) < policy.craving_sustain + 1:
        return None
    first, latest = ratings[0], ratings[-policy.craving_sustain :]
    if any(c.rating < first.rating + policy.craving_rise for c in latest):
        return None
    shown = ", ".join(f"{c.rating} on {c.rated_on.isoformat()}" for c in latest)
    return Signal(
        Direction.STEP_UP,
        "craving_rising",
        f"Craving rose from {first.rating} on {first.rated_on.isoformat()} to {shown}",
        (first.rated_on, *(c.rated_on for c in latest)),
    )


def _safety(data: ReviewInput, policy: ReviewPolicy) -> Signal | None:
    start = _since(data.today, policy.safety_window_days)
    flags = sorted(
        (f for f in data.safety_flags if start <= f.flagged_on <= data.today),
        key=lambda f: (f.flagged_on, f.detail),
    )
    if not flags:
        return None
    return Signal(
        Direction.STEP_UP,
        "safety_flag",
        "Safety flag: " + "; ".join(f"{f.detail} on {f.flagged_on.isoformat()}" for f in flags),
        tuple(f.flagged_on for f in flags),
    )


def _step_up(data: ReviewInput, policy: ReviewPolicy, weeks: list[WeekRecord]) -> list[Signal]:
    found = [
        _safety(data, policy),
        _unexpected_screens(data, policy),
        _missed_hours(weeks, policy),
        _band_up(data, "PHQ-9", policy.score_window_days),
        _band_up(data, "GAD-7", policy.score_window_days),
        _craving_rising(data, policy, policy.score_window_days),
    ]
    return [s for s in found if s is not None]


def _screens_negative(data: ReviewInput, policy: ReviewPolicy) -> Signal | None:
    start = _since(data.today, policy.stable_window_days)
    screens = sorted(
        (s for s in data.screens if start <= s.collected_on <= data.today),
        key=lambda s: (s.collected_on, s.unexpected),
    )
    days = [s.collected_on for s in screens]
    if len(screens) < policy.stable_min_screens or any(s.unexpected for s in screens):
        return None
    text = f"{len(screens)} screens in {policy.stable_window_days} days, none unexpected"
    return Signal(
        Direction.STEP_DOWN,
        "screens_negative",
        text + (f": {_isos(days)}" if days else ""),
        tuple(days),
    )


def _hours_met(weeks: list[WeekRecord], policy: ReviewPolicy) -> Signal | None:
    recent = weeks[: policy.stable_weeks_met]
    if len(recent) < policy.stable_weeks_met or any(w.status != WeekStatus.MET for w in recent):
        return None
    recent.reverse()
    return Signal(
        Direction.STEP_DOWN,
        "hours_met",
        f"Hours floor met {len(recent)} weeks running: " + "; ".join(w.describe() for w in recent),
        tuple(w.week.monday for w in recent),
    )


def _scores_stable(data: ReviewInput, policy: ReviewPolicy) -> Signal | None:
    days = policy.stable_window_days
    series = {name: _window_scores(data, name, days) for name in BANDS}
    scores = sorted((s for group in series.values() for s in group), key=lambda s: s.taken_on)
    if len(scores) < policy.stable_min_scores:
        return None
    if any(_band_up(data, name, days) for name in BANDS):
        return None
    if _craving_rising(data, policy, days) is not None:
        return None
    shown = "; ".join(
        f"{name} " + ", ".join(s.describe() for s in group)
        for name, group in series.items()
        if group
    )
    return Signal(
        Direction.STEP_DOWN,
        "scores_stable",
        f"Scores stable over {days} days, no band up and no craving rise: {shown}",
        tuple(s.taken_on for s in scores),
    )


def _step_down(data: ReviewInput, policy: ReviewPolicy, weeks: list[WeekRecord]) -> list[Signal]:
    found = [
        _screens_negative(data, policy),
        _hours_met(weeks, policy),
        _scores_stable(data, policy),
    ]
    if policy.require_goals_met and data.goals_met:
        found.append(
            Signal(
                Direction.STEP_DOWN,
                "goals_met",
                f"Treatment-plan goals met as of {data.today.isoformat()}",
                (data.today,),
            )
        )
    return [s for s in found if s is not None]


STEP_DOWN_CODES = ("screens_negative", "hours_met", "scores_stable", "goals_met")


def review(data: ReviewInput, policy: ReviewPolicy | None = None) -> Review:
    """The signals for one enrollment on ``data.today`` and the review they recommend.

    Step-up takes precedence: with any step-up signal, no step-down signal is reported.
    """
    policy = policy or ReviewPolicy()
    weeks = _closed_weeks(data)
    up = _step_up(data, policy, weeks)
    if up:
        # At inpatient level there is nowhere to step up to, but the signals still block
        # any step-down and are shown.
        at_top = data.level == Tier.INPATIENT
        return Review(Recommendation.NONE if at_top else Recommendation.REVIEW_STEP_UP, tuple(up))
    if data.level == Tier.OUTPATIENT:
        return Review(Recommendation.NONE, ())
    down = _step_down(data, policy, weeks)
    required = [c for c in STEP_DOWN_CODES if c != "goals_met" or policy.require_goals_met]
    present = {s.code for s in down}
    missing = tuple(c for c in required if c not in present)
    recommendation = Recommendation.NONE if missing else Recommendation.REVIEW_STEP_DOWN
    return Review(recommendation, tuple(down), missing)


def review_all(
    items: Sequence[tuple[object, ReviewInput]], policy: ReviewPolicy | None = None
) -> dict[object, Review]:
    """``review`` over many enrollments keyed by any id (the nightly run's pure part)."""
    return {key: review(data, policy) for key, data in items}
