"""Long-acting injectable MAT: due windows, first-dose preconditions, site rotation and the
week's due list — a pure core (DOMAIN.md §8, issue 5 point 6).

Plain data in, plain data out; no database. Medicines are the catalogue codes of
``openiop.medications.catalog`` (``sublocade``, ``brixadi_weekly``, ``brixadi_monthly``,
``vivitrol``; ``bup_nx_sl`` is the sublingual order Sublocade needs first). The dosing
facts are kept here, keyed by code, as ``InjectableRule`` values: every number is a field with
the DOMAIN.md default, and a clinic that follows a different protocol passes its own rules
(``dataclasses.replace(RULES["sublocade"], minimum_days=27)``).

Windows are counted in calendar days from the last injection's date, so daylight-saving
changes play no part. A window is ``earliest ≤ target ≤ latest``:

- Sublocade: monthly, at least 26 days apart (DOMAIN.md §8): 26 / 28 / 28. DOMAIN gives no
  grace after the month, so the day after the target is overdue; the prescribing information
  says delays of up to two weeks are not expected to matter clinically, which is why a late
  injection is reported, never refused.
- Brixadi weekly: 7 days ± 2 → 5 / 7 / 9. Brixadi monthly: 28 days ± 7 → 21 / 28 / 35. The
  two are different products for scheduling: switching starts a new series (DOMAIN.md §8).
- Vivitrol: every 4 weeks (DOMAIN.md §8) → 28 / 28 / 28; DOMAIN gives no tolerance either way.

Statuses, in clinical order: a *day* is ``not_yet_due`` (before the window), ``due`` (inside
it) or ``overdue`` (after it); an *injection given* before the window is ``too_early``, inside
it ``due``, after it ``overdue`` (late).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise

# DOMAIN.md §8 defaults, in days.
SUBLOCADE_MINIMUM_DAYS = 26
SUBLOCADE_INTERVAL_DAYS = 28
BRIXADI_WEEKLY_INTERVAL_DAYS = 7
BRIXADI_WEEKLY_TOLERANCE_DAYS = 2
BRIXADI_MONTHLY_INTERVAL_DAYS = 28
BRIXADI_MONTHLY_TOLERANCE_DAYS = 7
VIVITROL_INTERVAL_DAYS = 28

# First-dose preconditions (DOMAIN.md §8).
VIVITROL_OPIOID_FREE_DAYS = 7  # 7–10: 7 after short-acting opioids ...
VIVITROL_OPIOID_FREE_DAYS_LONG_ACTING = 10  # ... up to 10 after methadone or buprenorphine.
SUBLOCADE_SUBLINGUAL_DAYS = 7
# Not DOMAIN numbers — clinic choices, parameters like the rest:
# a negative screen older than the opioid-free interval does not document that interval;
NEGATIVE_SCREEN_MAX_AGE_DAYS = VIVITROL_OPIOID_FREE_DAYS
# a sublingual order that stopped more than a day before the injection leaves a gap to ask about.
SUBLINGUAL_GAP_DAYS = 1

SUBLINGUAL_BUPRENORPHINE = "bup_nx_sl"

# Injection sites. Sublocade and Brixadi are subcutaneous, Vivitrol intramuscular gluteal
# "alternating buttocks" (DOMAIN.md §8). The per-product lists follow the prescribing
# information as we read it (verify against the current labels); each rule carries its own.
SITE_LABELS: Mapping[str, str] = {
    "abdomen_upper_left": "abdomen, upper left quadrant",
    "abdomen_upper_right": "abdomen, upper right quadrant",
    "abdomen_lower_left": "abdomen, lower left quadrant",
    "abdomen_lower_right": "abdomen, lower right quadrant",
    "thigh_left": "left thigh",
    "thigh_right": "right thigh",
    "buttock_left": "left buttock",
    "buttock_right": "right buttock",
    "upper_arm_left": "back of the left upper arm",
    "upper_arm_right": "back of the right upper arm",
    "gluteal_left": "left gluteal muscle",
    "gluteal_right": "right gluteal muscle",
}
ABDOMEN = (
    "abdomen_upper_left",
    "abdomen_upper_right",
    "abdomen_lower_right",
    "abdomen_lower_left",
)


class DueStatus(StrEnum):
    """Where a day (or a given injection) falls against a window, in clinical order."""

    TOO_EARLY = "too_early"  # an injection given before the window opens
    NOT_YET_DUE = "not_yet_due"  # a day before the window opens
    DUE = "due"
    OVERDUE = "overdue"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    DueStatus.TOO_EARLY: "Too early",
    DueStatus.NOT_YET_DUE: "Not yet due",
    DueStatus.DUE: "Due",
    DueStatus.OVERDUE: "Overdue",
}


@dataclass(frozen=True)
class InjectableRule:
    """How often one injectable product is given, in days after the last injection."""

    code: str
    name: str
    minimum_days: int  # earliest day of the window (inclusive)
    interval_days: int  # the target day
    maximum_days: int  # latest day of the window (inclusive); the day after is overdue
    sites: tuple[str, ...]  # allowed injection sites, in rotation order

    def __post_init__(self) -> None:
        if not 1 <= self.minimum_days <= self.interval_days <= self.maximum_days:
            raise ValueError(
                f"{self.code}: need 1 ≤ minimum ≤ interval ≤ maximum days, got "
                f"{self.minimum_days}, {self.interval_days}, {self.maximum_days}."
            )
        if not self.sites:
            raise ValueError(f"{self.code}: at least one injection site is needed.")
        if len(set(self.sites)) != len(self.sites):
            raise ValueError(f"{self.code}: injection sites repeat.")


RULES: Mapping[str, InjectableRule] = {
    rule.code: rule
    for rule in (
        InjectableRule(
            "sublocade",
            "Sublocade",
            SUBLOCADE_MINIMUM_DAYS,
            SUBLOCADE_INTERVAL_DAYS,
            SUBLOCADE_INTERVAL_DAYS,
            ABDOMEN,
        ),
        InjectableRule(
            "brixadi_weekly",
            "Brixadi weekly",
            BRIXADI_WEEKLY_INTERVAL_DAYS - BRIXADI_WEEKLY_TOLERANCE_DAYS,
            BRIXADI_WEEKLY_INTERVAL_DAYS,
            BRIXADI_WEEKLY_INTERVAL_DAYS + BRIXADI_WEEKLY_TOLERANCE_DAYS,
            (
                *ABDOMEN,
                "thigh_left",
                "thigh_right",
                "buttock_left",
                "buttock_right",
                "upper_arm_left",
                "upper_arm_right",
            ),
        ),
        InjectableRule(
            "brixadi_monthly",
            "Brixadi monthly",
            BRIXADI_MONTHLY_INTERVAL_DAYS - BRIXADI_MONTHLY_TOLERANCE_DAYS,
            BRIXADI_MONTHLY_INTERVAL_DAYS,
            BRIXADI_MONTHLY_INTERVAL_DAYS + BRIXADI_MONTHLY_TOLERANCE_DAYS,
            (*ABDOMEN, "thigh_left", "thigh_right", "buttock_left", "buttock_right"),
        ),
        InjectableRule(
            "vivitrol",
            "Vivitrol",
            VIVITROL_INTERVAL_DAYS,
            VIVITROL_INTERVAL_DAYS,
            VIVITROL_INTERVAL_DAYS,
            ("gluteal_left", "gluteal_right"),
        ),
    )
}


def rule_for(code: str, rules: Mapping[str, InjectableRule] = RULES) -> InjectableRule:
    """The rule of an injectable product; ValueError for any other code."""
    try:
        return rules[code]
    except KeyError:
        raise ValueError(f"{code!r} is not an injectable with a dosing schedule.") from None


def is_injectable(code: str, rules: Mapping[str, InjectableRule] = RULES) -> bool:
    return code in rules


# --- Due windows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DueWindow:
    medication: str
    last_given_on: date
    earliest: date
    target: date
    latest: date


def window_after(rule: InjectableRule, last_given_on: date) -> DueWindow:
    """The window of the injection that follows one given on ``last_given_on``."""
    return DueWindow(
        medication=rule.code,
        last_given_on=last_given_on,
        earliest=last_given_on + timedelta(days=rule.minimum_days),
        target=last_given_on + timedelta(days=rule.interval_days),
        latest=last_given_on + timedelta(days=rule.maximum_days),
    )


def next_window(
    code: str, given_on: Iterable[date], *, rules: Mapping[str, InjectableRule] = RULES
) -> DueWindow | None:
    """The next window after the latest of ``given_on`` (the dates of this product's series).

    None when nothing was given yet: that is a first dose, with no window but preconditions
    (``first_dose_warnings``). Pass only the current series — ``current_series`` picks it.
    """
    rule = rule_for(code, rules)
    dates = list(given_on)
    if not dates:
        return None
    return window_after(rule, max(dates))


def status_on(window: DueWindow, day: date) -> DueStatus:
    """not_yet_due before ``earliest``, due through ``latest``, overdue after."""
    if day < window.earliest:
        return DueStatus.NOT_YET_DUE
    if day <= window.latest:
        return DueStatus.DUE
    return DueStatus.OVERDUE


def timing_of(window: DueWindow, given_on: date) -> DueStatus:
    """An injection given on ``given_on``: too_early, due (in the window) or overdue (late)."""
    status = status_on(window, given_on)
    return DueStatus.TOO_EARLY if status is DueStatus.NOT_YET_DUE else status


@dataclass(frozen=True)
class Administration:
    """One in-clinic injection (or other administration) as a row gives it."""

    patient_id: int
    medication: str
    given_on: date
    site: str = ""


def current_series(
    code: str,
    administrations: Iterable[Administration],
    *,
    rules: Mapping[str, InjectableRule] = RULES,
) -> list[date]:
    """Dates of ``code`` given since the patient's last injection of another product.

    Switching product starts a new series (DOMAIN.md §8: Brixadi weekly and monthly are not
    interchangeable), so a Sublocade dose after Brixadi weekly ends the weekly series, and a
    later weekly dose starts over. Non-injectables (e.g. sublingual doses given in clinic) do
    not break a series. ``administrations`` are one patient's, in any order.
    """
    rule_for(code, rules)
    injections = sorted(
        (a for a in administrations if a.medication in rules), key=lambda a: a.given_on
    )
    series: list[date] = []
    for administration in injections:
        if administration.medication == code:
            series.append(administration.given_on)
        else:
            series = []
    return series


def administration_warnings(
    code: str,
    *,
    given_on: date,
    previous: Iterable[date],
    rules: Mapping[str, InjectableRule] = RULES,
) -> list[str]:
    """Plain-word warnings for recording an injection of ``code`` on ``given_on``.

    ``previous`` is the product's current series before this injection. Too early and late
    are warned, not refused: the prescriber decides (a late Sublocade dose is still given).
    """
    rule = rule_for(code, rules)
    window = next_window(code, [d for d in previous if d < given_on], rules=rules)
    if any(d == given_on for d in previous):
        return [f"{rule.name} is already recorded on {given_on.isoformat()}."]
    if window is None:
        return []
    timing = timing_of(window, given_on)
    days = (given_on - window.last_given_on).days
    last = window.last_given_on.isoformat()
    if timing is DueStatus.TOO_EARLY:
        return [
            f"Too early: {days} days after the last {rule.name} injection ({last}); "
            f"{rule.name} needs at least {rule.minimum_days} days, so the earliest day is "
            f"{window.earliest.isoformat()}."
        ]
    if timing is DueStatus.OVERDUE:
        return [
            f"Late: {days} days after the last {rule.name} injection ({last}); it was due by "
            f"{window.latest.isoformat()}."
        ]
    return []


# --- First-dose preconditions ----------------------------------------------------------------


@dataclass(frozen=True)
class FirstDoseFacts:
    """What the chart documents before a first injection; None means not documented."""

    last_opioid_use_on: date | None = None  # reported or observed use
    last_positive_opioid_screen_on: date | None = None
    last_negative_opioid_screen_on: date | None = None
    sublingual_started_on: date | None = None  # start of the bup_nx_sl order
    sublingual_ended_on: date | None = None  # its end, if it has one
    long_acting_opioid: bool = False  # methadone or buprenorphine: the 10-day end of 7–10


@dataclass(frozen=True)
class Precondition:
    code: str  # stable, for tests and the screen's styling
    message: str  # what the nurse reads


def vivitrol_warnings(
    *,
    on: date,
    last_opioid_use_on: date | None,
    last_positive_opioid_screen_on: date | None,
    last_negative_opioid_screen_on: date | None,
    long_acting_opioid: bool = False,
    opioid_free_days: int = VIVITROL_OPIOID_FREE_DAYS,
    opioid_free_days_long_acting: int = VIVITROL_OPIOID_FREE_DAYS_LONG_ACTING,
    negative_screen_max_age_days: int = NEGATIVE_SCREEN_MAX_AGE_DAYS,
) -> list[Precondition]:
    """Warnings before a first Vivitrol dose on ``on`` (DOMAIN.md §8: 7–10 opioid-free days).

    Naltrexone precipitates withdrawal in a patient with opioids on board, so the opioid-free
    interval must be documented: the later of the last reported use and the last positive
    opioid screen starts it, and a recent negative screen supports it. An empty list means the
    chart documents the interval; anything unknown is a warning, never silence.
    """
    known = [d for d in (last_opioid_use_on, last_positive_opioid_screen_on) if d is not None]
    for d in (*known, last_negative_opioid_screen_on):
        if d is not None and d > on:
            raise ValueError(f"{d.isoformat()} is after the dose date {on.isoformat()}.")
    needed = opioid_free_days_long_acting if long_acting_opioid else opioid_free_days
    warnings: list[Precondition] = []
    last_opioid = max(known) if known else None
    if last_opioid is None:
        warnings.append(
            Precondition(
                "opioid_free_unknown",
                f"The last opioid use is not documented. Vivitrol needs "
                f"{opioid_free_days}–{opioid_free_days_long_acting} opioid-free days first; "
                f"record the last use or a positive screen before the first dose.",
            )
        )
    else:
        free = (on - last_opioid).days
        if free < needed:
            why = " after a long-acting opioid" if long_acting_opioid else ""
            warnings.append(
                Precondition(
                    "opioid_free_too_short",
                    f"Only {free} opioid-free days since {last_opioid.isoformat()}; Vivitrol "
                    f"needs at least {needed}{why}. Risk of precipitated withdrawal.",
                )
            )
    negative = last_negative_opioid_screen_on
    if negative is None:
        warnings.append(
            Precondition(
                "no_negative_screen",
                "No negative opioid screen is on record before the first Vivitrol dose.",
            )
        )
    elif last_opioid is not None and negative <= last_opioid:
        warnings.append(
            Precondition(
                "negative_screen_before_use",
                f"The last negative opioid screen ({negative.isoformat()}) is not after the "
                f"last opioid use or positive screen ({last_opioid.isoformat()}).",
            )
        )
    elif (on - negative).days > negative_screen_max_age_days:
        warnings.append(
            Precondition(
                "negative_screen_old",
                f"The last negative opioid screen is {(on - negative).days} days old "
                f"({negative.isoformat()}); screen again before the first Vivitrol dose.",
            )
        )
    return warnings


def sublocade_warnings(
    *,
    on: date,
    sublingual_started_on: date | None,
    sublingual_ended_on: date | None = None,
    minimum_days: int = SUBLOCADE_SUBLINGUAL_DAYS,
    allowed_gap_days: int = SUBLINGUAL_GAP_DAYS,
) -> list[Precondition]:
    """Warnings before a first Sublocade dose on ``on`` (DOMAIN.md §8: ≥ 7 days on SL first).

    Days on sublingual buprenorphine count from the order's start up to the day before the
    injection (or the order's end): started on the 1st, injected on the 8th → 7 days.
    """
    if sublingual_started_on is None:
        return [
            Precondition(
                "no_sublingual",
                f"No sublingual buprenorphine order is on record. Sublocade needs at least "
                f"{minimum_days} days of sublingual buprenorphine first.",
            )
        ]
    if sublingual_started_on > on:
        return [
            Precondition(
                "no_sublingual",
                f"The sublingual buprenorphine order starts {sublingual_started_on.isoformat()}"
                f", after the dose date. Sublocade needs at least {minimum_days} days of it "
                f"first.",
            )
        ]
    warnings: list[Precondition] = []
    last_day = on - timedelta(days=1)
    if sublingual_ended_on is not None and sublingual_ended_on < last_day:
        last_day = sublingual_ended_on
    days = max((last_day - sublingual_started_on).days + 1, 0)
    if days < minimum_days:
        warnings.append(
            Precondition(
                "sublingual_too_short",
                f"Only {days} days of sublingual buprenorphine (from "
                f"{sublingual_started_on.isoformat()}); Sublocade needs at least {minimum_days}.",
            )
        )
    if sublingual_ended_on is not None:
        gap = (on - sublingual_ended_on).days
        if gap > allowed_gap_days:
            warnings.append(
                Precondition(
                    "sublingual_gap",
                    f"The sublingual buprenorphine order ended {sublingual_ended_on.isoformat()}"
                    f", {gap} days before the dose; confirm the patient is still taking it.",
                )
            )
    return warnings


def first_dose_warnings(code: str, *, on: date, facts: FirstDoseFacts) -> list[Precondition]:
    """The preconditions of a first dose of ``code``: Vivitrol and Sublocade have some."""
    if code == "vivitrol":
        return vivitrol_warnings(
            on=on,
            last_opioid_use_on=facts.last_opioid_use_on,
            last_positive_opioid_screen_on=facts.last_positive_opioid_screen_on,
            last_negative_opioid_screen_on=facts.last_negative_opioid_screen_on,
            long_acting_opioid=facts.long_acting_opioid,
        )
    if code == "sublocade":
        return sublocade_warnings(
            on=on,
            sublingual_started_on=facts.sublingual_started_on,
            sublingual_ended_on=facts.sublingual_ended_on,
        )
    return []


# --- Injection-site rotation -----------------------------------------------------------------


@dataclass(frozen=True)
class SiteSuggestion:
    site: str
    label: str
    warnings: tuple[str, ...] = field(default=())


def site_label(site: str) -> str:
    return SITE_LABELS.get(site, site.replace("_", " "))


def suggest_site(
    code: str, recent_sites: Sequence[str], *, rules: Mapping[str, InjectableRule] = RULES
) -> SiteSuggestion:
    """The next site for ``code`` given the sites used so far, oldest first.

    Picks the allowed site unused for longest (never-used sites first, in rotation order), so
    Vivitrol alternates buttocks and the subcutaneous products walk the abdominal quadrants.
    Sites not allowed for the product are ignored for the choice and named in a warning.
    """
    rule = rule_for(code, rules)
    last_use: dict[str, int] = {}
    unknown: list[str] = []
    for index, site in enumerate(recent_sites):
        if site in rule.sites:
            last_use[site] = index
        elif site and site not in unknown:
            unknown.append(site)
    site = min(rule.sites, key=lambda s: (last_use.get(s, -1), rule.sites.index(s)))
    warnings = tuple(
        f"{site_label(s)} is not a listed site for {rule.name}." for s in unknown
    ) + tuple(rotation_warnings(code, recent_sites, rules=rules))
    return SiteSuggestion(site=site, label=site_label(site), warnings=warnings)


def rotation_warnings(
    code: str, sites: Sequence[str], *, rules: Mapping[str, InjectableRule] = RULES
) -> list[str]:
    """One warning per back-to-back repeat of a site in ``sites`` (oldest first)."""
    rule = rule_for(code, rules)
    return [
        f"{rule.name} was given in the {site_label(now)} twice in a row; rotate sites."
        for before, now in pairwise(sites)
        if now and now == before
    ]


def site_warnings(
    code: str,
    site: str,
    *,
    previous_site: str | None,
    rules: Mapping[str, InjectableRule] = RULES,
) -> list[str]:
    """Warnings for recording an injection of ``code`` at ``site`` after ``previous_site``."""
    rule = rule_for(code, rules)
    warnings: list[str] = []
    if site not in rule.sites:
        warnings.append(f"{site_label(site)} is not a listed site for {rule.name}.")
    if previous_site is not None and site == previous_site:
        warnings.append(
            f"Same site as the last {rule.name} injection ({site_label(site)}); rotate sites."
        )
    return warnings


# --- Injections due this week ----------------------------------------------------------------


@dataclass(frozen=True)
class InjectableOrder:
    """An active medication order as a row gives it; non-injectable codes are skipped."""

    order_id: int
    patient_id: int
    medication: str
    started_on: date
    ended_on: date | None = None


@dataclass(frozen=True)
class DueItem:
    order_id: int
    patient_id: int
    medication: str
    status: DueStatus  # as of ``today``: not_yet_due, due or overdue
    first_dose: bool  # nothing given in the current series: no window, check preconditions
    due_from: date  # the window's earliest day, or the order's start for a first dose
    target: date
    latest: date | None  # None for a first dose: it has no overdue day
    last_given_on: date | None
    last_site: str


def injections_due(
    orders: Iterable[InjectableOrder],
    administrations: Iterable[Administration],
    *,
    today: date,
    through: date,
    rules: Mapping[str, InjectableRule] = RULES,
) -> list[DueItem]:
    """Injections due or overdue from ``today`` through ``through``: the nurse's list.

    An order is listed when its window opens on or before ``through`` — already open, overdue,
    or opening later in the period (status not_yet_due, with the day it opens). An order with
    nothing given in its series is a first dose, due from its start. Orders ended before
    ``today`` and non-injectable orders are skipped. Overdue first, then by target day.
    """
    if through < today:
        raise ValueError("The period ends before it starts.")
    by_patient: dict[int, list[Administration]] = {}
    for administration in administrations:
        by_patient.setdefault(administration.patient_id, []).append(administration)
    items: list[DueItem] = []
    for order in orders:
        if order.medication not in rules:
            continue
        if order.ended_on is not None and order.ended_on < today:
            continue
        if order.started_on > through:
            continue
        given = by_patient.get(order.patient_id, [])
        series = current_series(order.medication, given, rules=rules)
        window = next_window(order.medication, series, rules=rules)
        if window is None:
            status = DueStatus.DUE if order.started_on <= today else DueStatus.NOT_YET_DUE
            items.append(
                DueItem(
                    order_id=order.order_id,
                    patient_id=order.patient_id,
                    medication=order.medication,
                    status=status,
                    first_dose=True,
                    due_from=order.started_on,
                    target=order.started_on,
                    latest=None,
                    last_given_on=None,
                    last_site="",
                )
            )
            continue
        if window.earliest > through:
            continue
        last_site = max(
            (a for a in given if a.medication == order.medication),
            key=lambda a: a.given_on,
        ).site
        items.append(
            DueItem(
                order_id=order.order_id,
                patient_id=order.patient_id,
                medication=order.medication,
                status=status_on(window, today),
                first_dose=False,
                due_from=window.earliest,
                target=window.target,
                latest=window.latest,
                last_given_on=window.last_given_on,
                last_site=last_site,
            )
        )
    items.sort(
        key=lambda i: (i.status is not DueStatus.OVERDUE, i.target, i.patient_id, i.order_id)
    )
    return items


def injections_due_this_week(
    orders: Iterable[InjectableOrder],
    administrations: Iterable[Administration],
    *,
    today: date,
    rules: Mapping[str, InjectableRule] = RULES,
) -> list[DueItem]:
    """``injections_due`` from ``today`` through the Sunday of its ISO week (Monday–Sunday,
    as ``openiop.lib.dates.IsoWeek``)."""
    sunday = today + timedelta(days=6 - today.weekday())
    return injections_due(orders, administrations, today=today, through=sunday, rules=rules)
