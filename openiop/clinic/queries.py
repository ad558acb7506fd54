"""Read-only queries behind the chart, the census and the at-risk list.

Each page runs a fixed number of queries whatever the patient's history or the site's size:
the hours come from one GROUP BY (``openiop.scheduling.hours_query``), lists are capped or
paginated, counts are conditional aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet

from openiop.accounts.models import Site
from openiop.lib.dates import IsoWeek, local_today
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus, Episode
from openiop.scheduling.hours import WeekHours, WeekStatus
from openiop.scheduling.hours_query import ActivePatientWeeks, patient_weeks, site_active_weeks
from openiop.scheduling.models import AttendanceStatus, Booking, SessionStatus

CHART_WEEKS = 12
UPCOMING_DAYS = 14
UPCOMING_CAP = 40
HISTORY_WEEKS = 8
HISTORY_PAGE_SIZE = 20


# --- the chart ---------------------------------------------------------------------------------


@dataclass
class EpisodeStory:
    episode: Episode
    enrollments: list[Enrollment] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.episode.closed_on is None and any(e.is_active for e in self.enrollments)

    @property
    def last_day(self) -> date | None:
        ends = [e.discharged_on for e in self.enrollments]
        return None if any(end is None for end in ends) else max(ends)  # type: ignore[type-var]


@dataclass(frozen=True)
class Chart:
    patient: Patient
    today: date
    current_week: IsoWeek
    active: Enrollment | None
    episodes: list[EpisodeStory]
    weeks: list[WeekHours]
    upcoming: list[Booking]
    upcoming_capped: bool
    history: Page

    @property
    def this_week(self) -> WeekHours:
        return self.weeks[-1]


def _booking_rows(patient: Patient) -> QuerySet[Booking]:
    return Booking.objects.filter(patient=patient).select_related(
        "session__facilitator", "session__room", "session__group_type"
    )


def patient_chart(*, patient: Patient, now: datetime, history_page: object = 1) -> Chart:
    """Everything the chart shows; five queries plus two for the history page."""
    time_zone = patient.site.time_zone
    today = local_today(time_zone)
    current = IsoWeek.of(today)
    enrollments = list(
        Enrollment.objects.filter(patient=patient)
        .select_related(
            "episode",
            "program__level_of_care",
            "track",
            "primary_therapist",
            "prescriber",
        )
        .order_by("episode__opened_on", "episode_id", "admitted_on", "id")
    )
    stories: dict[int, EpisodeStory] = {}
    for enrollment in enrollments:
        story = stories.setdefault(enrollment.episode_id, EpisodeStory(enrollment.episode))
        story.enrollments.append(enrollment)
    # Newest episode first; inside an episode the story reads forward in time.
    episodes = sorted(
        stories.values(), key=lambda s: (s.episode.opened_on, s.episode.pk), reverse=True
    )
    active = next((e for e in enrollments if e.is_active), None)

    weeks = [current.shift(offset) for offset in range(-(CHART_WEEKS - 1), 1)]
    hours = patient_weeks(
        patient_id=patient.pk, time_zone=time_zone, weeks=weeks, now=now, enrollments=enrollments
    )

    upcoming = list(
        _booking_rows(patient)
        .filter(
            status=AttendanceStatus.BOOKED,
            session__status=SessionStatus.SCHEDULED,
            session__ends_at__gt=now,
            session__starts_at__lt=now + timedelta(days=UPCOMING_DAYS),
        )
        .order_by("session__starts_at", "id")[: UPCOMING_CAP + 1]
    )
    history_start, _ = current.shift(-(HISTORY_WEEKS - 1)).bounds(time_zone)
    history = (
        _booking_rows(patient)
        .filter(session__starts_at__gte=history_start, session__starts_at__lt=now)
        .order_by("-session__starts_at", "-id")
    )
    page = Paginator(history, HISTORY_PAGE_SIZE).get_page(history_page)
    return Chart(
        patient=patient,
        today=today,
        current_week=current,
        active=active,
        episodes=episodes,
        weeks=hours,
        upcoming=upcoming[:UPCOMING_CAP],
        upcoming_capped=len(upcoming) > UPCOMING_CAP,
        history=page,
    )


# --- the census --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CensusRow:
    label: str
    detail: str
    count: int
    share: float  # of the largest row, 0–1, for the bar


@dataclass(frozen=True)
class Census:
    week: IsoWeek
    active: int
    by_level: list[CensusRow]
    by_track: list[CensusRow]
    admissions: int
    transfers: int
    discharges: int


def _edition(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10 if number % 100 not in (11, 12, 13) else 0)
    return f"{number}{suffix or 'th'} ed."


def _rows(items: list[tuple[str, str, int]]) -> list[CensusRow]:
    peak = max((count for _, _, count in items), default=0)
    return [
        CensusRow(label=label, detail=detail, count=count, share=count / peak if peak else 0)
        for label, detail, count in items
    ]


def site_census(*, site: Site) -> Census:
    """Active patients by level of care and by track, and this week's movements. 3 queries."""
    week = IsoWeek.of(local_today(site.time_zone))
    active = Enrollment.objects.filter(
        program__site=site, patient__site=site, status=EnrollmentStatus.ACTIVE
    )
    levels = (
        active.values(
            "program__level_of_care__name",
            "program__level_of_care__code",
            "program__level_of_care__edition",
            "program__level_of_care__sort_order",
        )
        .annotate(count=Count("id"))
        .order_by("program__level_of_care__edition", "program__level_of_care__sort_order")
    )
    tracks = (
        active.values("program__name", "track__name")
        .annotate(count=Count("id"))
        .order_by("program__name", "track__name")
    )
    in_week = Q(discharged_on__gte=week.monday, discharged_on__lte=week.sunday)
    movements = Enrollment.objects.filter(program__site=site, patient__site=site).aggregate(
        # An admission opens an episode; a transfer's new enrollment is not one.
        admissions=Count(
            "id",
            filter=Q(
                previous__isnull=True, admitted_on__gte=week.monday, admitted_on__lte=week.sunday
            ),
        ),
        transfers=Count("id", filter=in_week & Q(status=EnrollmentStatus.TRANSFERRED)),
        discharges=Count("id", filter=in_week & Q(status=EnrollmentStatus.DISCHARGED)),
    )
    by_level = _rows(
        [
            (
                row["program__level_of_care__name"],
                f"ASAM {row['program__level_of_care__code']}, "
                f"{_edition(row['program__level_of_care__edition'])}",
                row["count"],
            )
            for row in levels
        ]
    )
    by_track = _rows(
        [(row["program__name"], row["track__name"] or "No track", row["count"]) for row in tracks]
    )
    return Census(
        week=week,
        active=sum(row.count for row in by_level),
        by_level=by_level,
        by_track=by_track,
        admissions=movements["admissions"],
        transfers=movements["transfers"],
        discharges=movements["discharges"],
    )


# --- at risk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskRow:
    enrollment: Enrollment
    week: WeekHours


@dataclass(frozen=True)
class AtRisk:
    week: IsoWeek
    last_week: IsoWeek
    active: int
    at_risk: list[RiskRow]
    missed_last_week: list[RiskRow]


def site_at_risk(*, site: Site, now: datetime) -> AtRisk:
    """Active patients at risk this week, and those who missed last week. Three queries."""
    week = IsoWeek.of(local_today(site.time_zone))
    last = week.shift(-1)
    rows: list[ActivePatientWeeks] = site_active_weeks(site=site, weeks=[week, last], now=now)
    at_risk = [
        RiskRow(r.enrollment, r.weeks[0]) for r in rows if r.weeks[0].status == WeekStatus.AT_RISK
    ]
    missed = [
        RiskRow(r.enrollment, r.weeks[1]) for r in rows if r.weeks[1].status == WeekStatus.MISSED
    ]
    # Largest gap first: those who need the most hours are the first calls to make.
    at_risk.sort(key=lambda r: (-r.week.shortfall_hours, r.enrollment.patient.last_name))
    missed.sort(key=lambda r: (-r.week.needed_hours, r.enrollment.patient.last_name))
    return AtRisk(
        week=week, last_week=last, active=len(rows), at_risk=at_risk, missed_last_week=missed
    )
