"""The outcomes report: what a program can show a payer (issue 6 point 7).

Per program (or every program of a site) and date range:

- **change in PHQ-9 and GAD-7** from admission to the latest score, over the cohort admitted
  in the range;
- **retention** at 30/60/90 days of the same cohort;
- **completion rate** of the enrollments that ended in the range;
- **hours**: the share of closed patient-weeks in the range that met the weekly floor;
- **screens**: the share of collected screens with a result that were read as expected.

The definitions are in ``docs/outcomes.md``; each ``Measure`` carries its own one-line
definition so the page, the CSV and the API say the same thing. The arithmetic is pure (the
``summarize_*``/``retention_at``/``completion_of``/``…_share`` functions, tested without a
database); ``build_report`` reads with a fixed number of queries whatever the size of the
organization, and buckets bookings into weeks in SQL like ``scheduling.hours_query`` does.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.db import connections, transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from openiop.accounts.models import Site
from openiop.lib.dates import IsoWeek
from openiop.measures.instruments import get_instrument
from openiop.measures.models import MeasureResponse
from openiop.programs.models import (
    DischargeReason,
    Enrollment,
    EnrollmentStatus,
    Program,
    TransferKind,
)
from openiop.scheduling.hours import ATTENDED, hours_to_minutes
from openiop.scheduling.models import Booking, SessionStatus
from openiop.screening.models import DrugScreen, ScreenStatus, Verdict

# Below this many people (or weeks, or screens) a share or a mean says little; the page and
# the CSV say "too few to compare" instead of drawing conclusions.
SMALL_N = 10
# The admission score must be taken within this many days of admission to count as baseline.
BASELINE_DAYS = 14
RETENTION_DAYS = (30, 60, 90)
_TENTH = Decimal("0.1")
MAX_RANGE_DAYS = 3 * 366
DEFAULT_RANGE_DAYS = 365
# A clinically meaningful change (issue 6): 5 points on the PHQ-9, 4 on the GAD-7.
SCORED = (("PHQ-9", 5), ("GAD-7", 4))
# Ways an enrollment ends that count as completing it. A step-down (a discharge with that
# reason, or a transfer to a lower level inside the episode) means the program did its job.
COMPLETED_REASONS = frozenset({DischargeReason.COMPLETED, DischargeReason.STEPPED_DOWN})


class RangeError(ValueError):
    """A bad report range; ``field`` names the form/API field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def default_range(today: date) -> tuple[date, date]:
    """The last 12 months up to today."""
    return today - timedelta(days=DEFAULT_RANGE_DAYS - 1), today


def check_range(start: date, end: date) -> None:
    """Raise ``RangeError`` unless start ≤ end and the range is at most three years."""
    if start > end:
        raise RangeError("start", "The start date must be on or before the end date.")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise RangeError("end", "The range can be at most three years.")


def share(part: int, whole: int) -> Decimal | None:
    """part/whole as a percentage with one decimal, None when there is nothing to divide."""
    if whole <= 0:
        return None
    return (Decimal(100) * part / whole).quantize(_TENTH, rounding=ROUND_HALF_UP)


def _mean(values: Sequence[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(_TENTH, rounding=ROUND_HALF_UP)


def _median(values: Sequence[int]) -> Decimal | None:
    if not values:
        return None
    return Decimal(str(statistics.median(values))).quantize(_TENTH, rounding=ROUND_HALF_UP)


# --- pure arithmetic ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorePair:
    """One patient's admission score and latest score of one instrument."""

    first: int
    latest: int


@dataclass(frozen=True)
class ChangeSummary:
    instrument: str
    improve_by: int
    n: int
    mean_first: Decimal | None
    mean_latest: Decimal | None
    mean_change: Decimal | None  # latest - first: negative is better
    median_change: Decimal | None
    improved: int
    band_lower: int
    # How many pairs fall in each band at admission and at the latest score, in band order.
    bands_first: tuple[tuple[str, int], ...] = ()
    bands_latest: tuple[tuple[str, int], ...] = ()

    @property
    def improved_share(self) -> Decimal | None:
        return share(self.improved, self.n)

    @property
    def band_lower_share(self) -> Decimal | None:
        return share(self.band_lower, self.n)

    @property
    def too_few(self) -> bool:
        return self.n < SMALL_N


@functools.cache
def _band_table(instrument: str) -> tuple[int, ...]:
    """Band position of every possible total (the bands cover 0 to the maximum)."""
    bands = get_instrument(instrument).bands
    return tuple(
        next(i for i, band in enumerate(bands) if band.low <= total <= band.high)
        for total in range(bands[-1].high + 1)
    )


def band_index(instrument: str, total: int) -> int:
    """Position of the band holding ``total`` (0 = least severe)."""
    table = _band_table(instrument)
    if not 0 <= total < len(table):
        raise ValueError(f"{total} is outside the bands of {instrument}")
    return table[total]


def summarize_changes(
    instrument: str, pairs: Sequence[ScorePair], *, improve_by: int
) -> ChangeSummary:
    """Mean and median change, share improved by ≥ ``improve_by`` points, share whose band is
    lower at the latest score. Scores fall with improvement, so change = latest - first."""
    bands = get_instrument(instrument).bands
    changes = [pair.latest - pair.first for pair in pairs]
    first_counts = [0] * len(bands)
    latest_counts = [0] * len(bands)
    band_lower = 0
    for pair in pairs:
        before, after = band_index(instrument, pair.first), band_index(instrument, pair.latest)
        first_counts[before] += 1
        latest_counts[after] += 1
        band_lower += after < before
    return ChangeSummary(
        instrument=instrument,
        improve_by=improve_by,
        n=len(pairs),
        mean_first=_mean([pair.first for pair in pairs]),
        mean_latest=_mean([pair.latest for pair in pairs]),
        mean_change=_mean(changes),
        median_change=_median(changes),
        improved=sum(1 for change in changes if -change >= improve_by),
        band_lower=band_lower,
        bands_first=tuple(
            (band.name, count) for band, count in zip(bands, first_counts, strict=True)
        ),
        bands_latest=tuple(
            (band.name, count) for band, count in zip(bands, latest_counts, strict=True)
        ),
    )


class Score(NamedTuple):
    """One score, as a plain tuple (a large organization's year has ~100,000 of them) that
    sorts by day, then by the response id: within a day the response entered last is the
    latest (ids grow with each entry; responses are append-only)."""

    taken_on: date
    id: int
    total: int


def pair_for(
    scores: Iterable[Score | tuple[Any, ...]], *, admitted_on: date, last_day: date
) -> ScorePair | None:
    """The admission score (the first taken within ``BASELINE_DAYS`` of admission) and the
    latest score up to ``last_day``; None without a baseline or without a second score."""
    inside = sorted(s for s in scores if admitted_on <= s[0] <= last_day)
    if len(inside) < 2:
        return None
    first = inside[0]
    if first[0] > admitted_on + timedelta(days=BASELINE_DAYS):
        return None
    return ScorePair(first=first[2], latest=inside[-1][2])


@dataclass(frozen=True)
class Stay:
    """One cohort admission: when it began and when the episode of care ended (None: open)."""

    admitted_on: date
    episode_ended_on: date | None


@dataclass(frozen=True)
class RetentionPoint:
    day: int
    eligible: int
    retained: int

    @property
    def share(self) -> Decimal | None:
        return share(self.retained, self.eligible)

    @property
    def too_few(self) -> bool:
        return self.eligible < SMALL_N


def retention_at(stays: Iterable[Stay], *, day: int, as_of: date) -> RetentionPoint:
    """Of the admissions at least ``day`` days before ``as_of``, how many were still in
    treatment on day ``day`` (the episode, across transfers, had not ended before it)."""
    eligible = retained = 0
    for stay in stays:
        mark = stay.admitted_on + timedelta(days=day)
        if mark > as_of:
            continue
        eligible += 1
        if stay.episode_ended_on is None or stay.episode_ended_on >= mark:
            retained += 1
    return RetentionPoint(day=day, eligible=eligible, retained=retained)


@dataclass(frozen=True)
class Ending:
    """How an enrollment ended: a discharge reason, or the kind of transfer that followed."""

    status: str
    discharge_reason: str
    transfer_kind: str


@dataclass(frozen=True)
class Completion:
    completed: int
    ended: int
    by_reason: tuple[tuple[str, int], ...]

    @property
    def share(self) -> Decimal | None:
        return share(self.completed, self.ended)

    @property
    def too_few(self) -> bool:
        return self.ended < SMALL_N


def completion_of(endings: Iterable[Ending]) -> Completion:
    """Completed / ended. A discharge ends an enrollment; so does a step-up or step-down
    transfer (the patient leaves this level of care). A change of track does not end anything
    and is left out. Completed: discharged "completed" or "stepped down", or a step-down
    transfer."""
    completed = ended = 0
    reasons: dict[str, int] = defaultdict(int)
    for ending in endings:
        if ending.status == EnrollmentStatus.TRANSFERRED:
            if ending.transfer_kind not in (TransferKind.STEP_UP, TransferKind.STEP_DOWN):
                continue
            label = f"transfer_{ending.transfer_kind}"
            done = ending.transfer_kind == TransferKind.STEP_DOWN
        elif ending.status == EnrollmentStatus.DISCHARGED:
            label = ending.discharge_reason or "unspecified"
            done = ending.discharge_reason in COMPLETED_REASONS
        else:
            continue
        ended += 1
        completed += done
        reasons[label] += 1
    return Completion(completed=completed, ended=ended, by_reason=tuple(sorted(reasons.items())))


@dataclass(frozen=True)
class WeekCount:
    week: IsoWeek
    met: int
    missed: int

    @property
    def total(self) -> int:
        return self.met + self.missed

    @property
    def share(self) -> Decimal | None:
        return share(self.met, self.total)


@dataclass(frozen=True)
class HoursSummary:
    weeks: tuple[WeekCount, ...]

    @property
    def met(self) -> int:
        return sum(w.met for w in self.weeks)

    @property
    def total(self) -> int:
        return sum(w.total for w in self.weeks)

    @property
    def share(self) -> Decimal | None:
        return share(self.met, self.total)

    @property
    def too_few(self) -> bool:
        return self.total < SMALL_N


def covered_range(admitted_on: date, discharged_on: date | None, weeks: Sequence[IsoWeek]) -> range:
    """Indexes of the consecutive ``weeks`` an enrollment covers entirely (admitted on or
    before the Monday, discharged on or after the Sunday, or still open). Partial weeks
    (admission or discharge mid-week, a transfer) are left out: programs differ on prorating
    them, and judging them against a full floor would count every admission week as missed."""
    if not weeks:
        return range(0)
    first_monday = weeks[0].monday
    # Week i runs from first_monday + 7i to first_monday + 7i + 6.
    lo = max(0, -(-(admitted_on - first_monday).days // 7))
    hi = len(weeks) - 1
    if discharged_on is not None:
        hi = min(hi, ((discharged_on - first_monday).days - 6) // 7)
    return range(lo, hi + 1)


def summarize_hours(
    spans: Iterable[tuple[int, date, date | None, Decimal]],
    minutes: Mapping[int, Mapping[int, int]],
    weeks: Sequence[IsoWeek],
) -> HoursSummary:
    """For each week an enrollment (patient id, admitted, discharged, floor) covers entirely:
    met (attended minutes ≥ floor) or missed. ``minutes``: patient id → week index → minutes
    attended."""
    met = [0] * len(weeks)
    missed = [0] * len(weeks)
    nothing: dict[int, int] = {}
    for patient_id, admitted_on, discharged_on, floor in spans:
        # Minutes are whole numbers, so "≥ floor × 60" is "≥ its ceiling": exact, and an int
        # comparison is cheaper than a Decimal one ninety thousand times.
        needed = math.ceil(hours_to_minutes(floor))
        attended = minutes.get(patient_id, nothing)
        for index in covered_range(admitted_on, discharged_on, weeks):
            if attended.get(index, 0) >= needed:
                met[index] += 1
            else:
                missed[index] += 1
    return HoursSummary(
        weeks=tuple(
            WeekCount(week=week, met=met[i], missed=missed[i]) for i, week in enumerate(weeks)
        )
    )


@dataclass(frozen=True)
class MonthCount:
    month: date  # the first of the month
    expected: int
    unexpected: int

    @property
    def total(self) -> int:
        return self.expected + self.unexpected

    @property
    def share(self) -> Decimal | None:
        return share(self.expected, self.total)


@dataclass(frozen=True)
class ScreensSummary:
    months: tuple[MonthCount, ...]

    @property
    def expected(self) -> int:
        return sum(m.expected for m in self.months)

    @property
    def total(self) -> int:
        return sum(m.total for m in self.months)

    @property
    def share(self) -> Decimal | None:
        return share(self.expected, self.total)

    @property
    def too_few(self) -> bool:
        return self.total < SMALL_N


def months_between(start: date, end: date) -> list[date]:
    """First days of the months from ``start``'s to ``end``'s, inclusive."""
    months = []
    current = start.replace(day=1)
    while current <= end:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def closed_weeks(start: date, end: date, today: date) -> list[IsoWeek]:
    """ISO weeks lying wholly inside [start, end] that ended before ``today``."""
    week = IsoWeek.of(start)
    if week.monday < start:
        week = week.shift(1)
    weeks = []
    while week.sunday <= end and week.sunday < today:
        weeks.append(week)
        week = week.shift(1)
    return weeks


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One row of the CSV and of the API's ``measures``: a figure with its n and definition."""

    code: str
    label: str
    n: int
    value: Decimal | None
    unit: str
    definition: str

    @property
    def too_few(self) -> bool:
        return self.n < SMALL_N


@dataclass(frozen=True)
class OutcomesReport:
    site: Site
    program: Program | None
    start: date
    end: date
    today: date
    cohort: int
    changes: tuple[ChangeSummary, ...]
    retention: tuple[RetentionPoint, ...]
    completion: Completion
    hours: HoursSummary
    screens: ScreensSummary
    measures: tuple[Measure, ...] = field(default=())

    @property
    def scope(self) -> str:
        return self.program.name if self.program else "All programs"


def _measures(report: OutcomesReport) -> tuple[Measure, ...]:
    rows: list[Measure] = []
    for change in report.changes:
        code = change.instrument.lower().replace("-", "")
        baseline = (
            f"patients admitted in the range with a {change.instrument} within"
            f" {BASELINE_DAYS} days of admission and a later one in the episode"
        )
        rows += [
            Measure(
                f"{code}_mean_change",
                f"{change.instrument}: mean change, admission to latest",
                change.n,
                change.mean_change,
                "points",
                f"Mean of latest - admission score over {baseline}; negative is better.",
            ),
            Measure(
                f"{code}_median_change",
                f"{change.instrument}: median change, admission to latest",
                change.n,
                change.median_change,
                "points",
                f"Median of latest - admission score over {baseline}.",
            ),
            Measure(
                f"{code}_improved",
                f"{change.instrument}: improved by ≥ {change.improve_by} points",
                change.n,
                change.improved_share,
                "%",
                f"Share of {baseline} whose latest score is at least {change.improve_by}"
                " points lower.",
            ),
            Measure(
                f"{code}_band_lower",
                f"{change.instrument}: severity band lower at latest",
                change.n,
                change.band_lower_share,
                "%",
                f"Share of {baseline} whose latest score is in a less severe band.",
            ),
        ]
    for point in report.retention:
        rows.append(
            Measure(
                f"retention_{point.day}",
                f"Retention at {point.day} days",
                point.eligible,
                point.share,
                "%",
                f"Share of admissions in the range made at least {point.day} days before the"
                f" range end (or today) whose episode of care was still open on day {point.day};"
                " a transfer inside the episode counts as retained.",
            )
        )
    rows.append(
        Measure(
            "completion_rate",
            "Completion rate",
            report.completion.ended,
            report.completion.share,
            "%",
            "Enrollments that ended in the range (discharge, step-up or step-down transfer)"
            " and were completed: discharged 'completed' or 'stepped down', or transferred to a"
            " lower level. Changes of track are not endings.",
        )
    )
    rows.append(
        Measure(
            "hours_weeks_met",
            "Patient-weeks meeting the hours floor",
            report.hours.total,
            report.hours.share,
            "%",
            "Share of closed ISO weeks in the range, fully covered by an enrollment, in which"
            " the minutes attended reached the enrollment's weekly floor.",
        )
    )
    rows.append(
        Measure(
            "screens_expected",
            "Screens read as expected (negative)",
            report.screens.total,
            report.screens.share,
            "%",
            "Share of collected screens with a result, called for in the range, that were read"
            " as expected (nothing unexplained by prescriptions) rather than unexpected.",
        )
    )
    return tuple(rows)


def _bucket(lookup: str, starts: Sequence[object]) -> Case:
    """Index of the interval holding ``lookup`` as a CASE nested as a binary search over the
    sorted interval ``starts``: a row is compared with about log2(n) boundaries rather than
    with every week or month of the range. Rows before the first start land in interval 0;
    the caller filters them out."""

    def node(low: int, high: int) -> object:
        if high - low == 1:
            return Value(low)
        middle = (low + high) // 2
        return Case(
            When(**{f"{lookup}__lt": starts[middle]}, then=node(low, middle)),
            default=node(middle, high),
            output_field=IntegerField(),
        )

    tree = node(0, len(starts))
    if isinstance(tree, Value):
        return Case(default=tree, output_field=IntegerField())
    return tree  # type: ignore[return-value]


def _raw(queryset: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows as the database driver returns them, without Django's per-value conversion,
    which costs more than the query itself for the ~100,000 rows of a large organization's
    year. Dates may come back as ISO strings (SQLite): read them with ``_day``."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _score(row: tuple[Any, ...]) -> tuple[date | None, int, int]:
    return (_day(row[2]), row[3], row[4])


def _day(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _attended_minutes(
    site: Site, weeks: Sequence[IsoWeek], time_zone: str
) -> dict[int, dict[int, int]]:
    """{patient id: {week index: minutes attended in the site's sessions}} in one GROUP BY
    query. Every patient of the site: the caller looks up those it judges, which costs less
    than narrowing the scan to them in SQL."""
    bounds = [week.bounds(time_zone) for week in weeks]
    query = (
        Booking.objects.filter(
            session__site=site,
            status__in=ATTENDED,
            session__status=SessionStatus.SCHEDULED,
            session__starts_at__gte=bounds[0][0],
            session__starts_at__lt=bounds[-1][1],
        )
        .annotate(bucket=_bucket("session__starts_at", [start for start, _ in bounds]))
        .values_list("patient_id", "bucket")
        .annotate(
            minutes=Coalesce(
                Sum(Coalesce(F("minutes_attended"), F("session__duration_minutes"))), Value(0)
            )
        )
        .order_by()
    )
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for patient_id, bucket, minutes in _raw(query):
        found[patient_id][bucket] = minutes
    return found


@contextmanager
def _big_reads() -> Iterator[None]:
    """On PostgreSQL, let the report's aggregates run in memory and without JIT: a year of a
    large organization groups ~300,000 bookings into ~100,000 patient-weeks, which spills to
    disk at the default 4 MB ``work_mem``, and JIT compilation costs more than it saves on
    these one-off queries (measured: 547 → 300 ms, bench/outcomes_report.py). ``SET LOCAL``
    lasts until the transaction ends; the settings are put back right after the report."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        try:
            yield
        finally:
            cursor.execute("SET LOCAL jit TO DEFAULT")
            cursor.execute("SET LOCAL work_mem TO DEFAULT")


def build_report(
    *, site: Site, program: Program | None, start: date, end: date, today: date
) -> OutcomesReport:
    """The report for ``program`` (None: every program of ``site``) over [start, end].

    Eight queries whatever the size (four more on PostgreSQL, for its settings). The caller
    checks the range (``check_range``) and that ``program`` is the site's.
    """
    with _big_reads():
        return _build_report(site=site, program=program, start=start, end=end, today=today)


def _build_report(
    *, site: Site, program: Program | None, start: date, end: date, today: date
) -> OutcomesReport:
    """Eight queries: cohort, episodes, scores, endings, transfers, hours spans, minutes,
    screens."""
    programs = Q(program=program) if program is not None else Q(program__site=site)
    as_of = min(end, today)
    # The cohort: admissions in the range. A transfer from another enrollment of the programs
    # reported on is not a new admission (the patient was already counted where they began).
    inside = Program.objects.filter(pk=program.pk) if program else Program.objects.filter(site=site)
    cohort = Enrollment.objects.filter(
        programs,
        Q(previous__isnull=True) | ~Q(previous__program__in=inside),
        admitted_on__gte=start,
        admitted_on__lte=end,
    ).order_by()
    cohort_rows = [
        (pk, patient_id, episode_id, _day(admitted_on))
        for pk, patient_id, episode_id, admitted_on in _raw(
            cohort.values_list("id", "patient_id", "episode_id", "admitted_on")
        )
    ]
    # An episode's end: the last discharge once no enrollment of it is active.
    episode_end: dict[int, date | None] = {}
    open_episodes: set[int] = set()
    for episode_id, status, discharged_on in _raw(
        Enrollment.objects.filter(episode_id__in=cohort.values("episode_id"))
        .values_list("episode_id", "status", "discharged_on")
        .order_by()
    ):
        if status == EnrollmentStatus.ACTIVE:
            open_episodes.add(episode_id)
        elif discharged_on is not None:
            day = _day(discharged_on)
            known = episode_end.get(episode_id)
            episode_end[episode_id] = day if known is None else max(known, day)
    for episode_id in open_episodes:
        episode_end[episode_id] = None
    stays = [
        Stay(admitted_on=row[3], episode_ended_on=episode_end.get(row[2])) for row in cohort_rows
    ]
    retention = tuple(retention_at(stays, day=day, as_of=as_of) for day in RETENTION_DAYS)

    # Scores: every unstruck PHQ-9 and GAD-7 of the cohort's patients since the range began.
    scores: dict[tuple[int, str], list[tuple[Any, ...]]] = defaultdict(list)
    wanted = {row[1] for row in cohort_rows}
    # By site and instrument (an index), then the cohort's patients in Python: cheaper than a
    # semi-join on the cohort per response.
    for row in _raw(
        MeasureResponse.objects.filter(
            site=site,
            instrument__in=[code for code, _ in SCORED],
            strike__isnull=True,
            score__isnull=False,
            taken_on__gte=start,
            taken_on__lte=today,
        )
        .values_list("patient_id", "instrument", "taken_on", "id", "score")
        .order_by()
    ):
        # (patient id, instrument, taken_on, id, score): the last three are a ``Score``.
        if row[0] in wanted:
            scores[(row[0], row[1])].append(row[2:] if isinstance(row[2], date) else _score(row))
    changes = []
    for instrument, improve_by in SCORED:
        pairs = []
        for _, patient_id, episode_id, admitted_on in cohort_rows:
            ended = episode_end.get(episode_id)
            pair = pair_for(
                scores.get((patient_id, instrument), ()),
                admitted_on=admitted_on,
                last_day=min(ended, today) if ended else today,
            )
            if pair is not None:
                pairs.append(pair)
        changes.append(summarize_changes(instrument, pairs, improve_by=improve_by))

    ended = Enrollment.objects.filter(
        programs,
        status__in=[EnrollmentStatus.DISCHARGED, EnrollmentStatus.TRANSFERRED],
        discharged_on__gte=start,
        discharged_on__lte=end,
    ).order_by()
    # The kind of the transfer that followed, read apart: SQLite plans the reverse one-to-one
    # join ("next") as a scan of every enrollment per ended one.
    followed = dict(
        _raw(
            Enrollment.objects.filter(previous_id__in=ended.values("id"))
            .values_list("previous_id", "transfer_kind")
            .order_by()
        )
    )
    completion = completion_of(
        Ending(status=status, discharge_reason=reason, transfer_kind=followed.get(pk) or "")
        for pk, status, reason in _raw(ended.values_list("id", "status", "discharge_reason"))
    )

    weeks = closed_weeks(start, end, today)
    hours = HoursSummary(weeks=())
    if weeks:
        in_weeks = Enrollment.objects.filter(
            Q(discharged_on__isnull=True) | Q(discharged_on__gte=weeks[0].sunday),
            programs,
            patient__site=site,
            admitted_on__lte=weeks[-1].monday,
        )
        spans = [
            (patient_id, _day(admitted_on), _day(discharged_on), Decimal(str(floor)))
            for patient_id, admitted_on, discharged_on, floor in _raw(
                in_weeks.values_list(
                    "patient_id", "admitted_on", "discharged_on", "weekly_hours_min"
                ).order_by()
            )
        ]
        minutes = _attended_minutes(site, weeks, site.time_zone) if spans else {}
        hours = summarize_hours(spans, minutes, weeks)

    months = months_between(start, end)
    counts: dict[tuple[int, str], int] = {}
    for index, verdict, count in (
        DrugScreen.objects.filter(
            programs_for_screens(program, site),
            site=site,
            status=ScreenStatus.COLLECTED,
            verdict__in=[Verdict.EXPECTED, Verdict.UNEXPECTED],
            selected_on__gte=start,
            selected_on__lte=end,
        )
        .annotate(month=_bucket("selected_on", months))
        .values_list("month", "verdict")
        .annotate(count=Count("id"))
        .order_by()
    ):
        counts[(index, verdict)] = count
    screens = ScreensSummary(
        months=tuple(
            MonthCount(
                month=month,
                expected=counts.get((index, Verdict.EXPECTED), 0),
                unexpected=counts.get((index, Verdict.UNEXPECTED), 0),
            )
            for index, month in enumerate(months)
        )
    )
    report = OutcomesReport(
        site=site,
        program=program,
        start=start,
        end=end,
        today=today,
        cohort=len(cohort_rows),
        changes=tuple(changes),
        retention=retention,
        completion=completion,
        hours=hours,
        screens=screens,
    )
    return replace(report, measures=_measures(report))


def programs_for_screens(program: Program | None, site: Site) -> Q:
    """Screens of the program's enrollments; for the whole site, every screen there (a screen
    may have no enrollment, e.g. one ordered between admissions)."""
    if program is None:
        return Q()
    return Q(enrollment__program=program)
