"""Weekly hours against the target: the pure arithmetic (DOMAIN.md §5, issue 3 point 8).

Plain data in, plain data out; no database. ``hours_query`` computes the minutes in SQL and
hands them here for the status, so the rule is written once. ``summarize_week`` is the same
rule over individual bookings: the reference the SQL is tested against.

Attendance status values are repeated here as strings rather than imported from the models,
to keep this module free of the ORM; a test checks they match ``AttendanceStatus``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from openiop.lib.dates import IsoWeek

MINUTES_PER_HOUR = 60
_CENTS = Decimal("0.01")

# Minutes of these statuses count toward the week (check-in to check-out, or as entered).
ATTENDED = frozenset({"present", "late", "left_early"})
# Nothing recorded yet: the seat is still ahead if the session has not ended.
BOOKED = "booked"
# Count zero hours and are not violations (DOMAIN.md §5).
EXCUSED = frozenset({"excused"})
# Count zero hours and are violations of the attendance policy (DOMAIN.md §5).
VIOLATIONS = frozenset({"unexcused", "no_show"})


class WeekStatus(StrEnum):
    MET = "met"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    MISSED = "missed"
    NOT_ENROLLED = "not_enrolled"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    WeekStatus.MET: "Met",
    WeekStatus.ON_TRACK: "On track",
    WeekStatus.AT_RISK: "At risk",
    WeekStatus.MISSED: "Missed",
    WeekStatus.NOT_ENROLLED: "Not enrolled",
}


def minutes_to_hours(minutes: int) -> Decimal:
    """Minutes as hours with two decimals (half up): 570 → 9.50, 1 → 0.02."""
    if minutes < 0:
        raise ValueError("minutes cannot be negative")
    return (Decimal(minutes) / MINUTES_PER_HOUR).quantize(_CENTS, rounding=ROUND_HALF_UP)


def hours_to_minutes(hours: Decimal) -> Decimal:
    """Exact: the floor is compared in minutes so 8.99 h never rounds up to 9."""
    return hours * MINUTES_PER_HOUR


def week_status(
    *,
    attended_minutes: int,
    ahead_minutes: int,
    floor_hours: Decimal,
    week_over: bool,
    enrolled: bool,
) -> WeekStatus:
    """The week's status (issue 3 point 8).

    met: attended ≥ floor. on_track: attended + still ahead ≥ floor. at_risk: attended + still
    ahead < floor and the week is not over. missed: the week is over below the floor.
    not_enrolled: no enrollment during the week. Once the week is over nothing is "ahead".
    """
    if attended_minutes < 0 or ahead_minutes < 0:
        raise ValueError("minutes cannot be negative")
    if not enrolled:
        return WeekStatus.NOT_ENROLLED
    floor = hours_to_minutes(floor_hours)
    if attended_minutes >= floor:
        return WeekStatus.MET
    if week_over:
        return WeekStatus.MISSED
    if attended_minutes + ahead_minutes >= floor:
        return WeekStatus.ON_TRACK
    return WeekStatus.AT_RISK


@dataclass(frozen=True)
class EnrollmentSpan:
    """The dates and weekly target of one enrollment."""

    enrollment_id: int
    admitted_on: date
    discharged_on: date | None
    floor_hours: Decimal
    ceiling_hours: Decimal

    def overlaps(self, week: IsoWeek) -> bool:
        return self.admitted_on <= week.sunday and (
            self.discharged_on is None or self.discharged_on >= week.monday
        )


def target_for_week(spans: Iterable[EnrollmentSpan], week: IsoWeek) -> EnrollmentSpan | None:
    """The enrollment whose target applies to ``week``: of those overlapping it, the latest.

    After a mid-week transfer the new level's target applies, since the treatment team set
    it for the rest of that week.
    """
    overlapping = [span for span in spans if span.overlaps(week)]
    if not overlapping:
        return None
    return max(overlapping, key=lambda span: (span.admitted_on, span.enrollment_id))


@dataclass(frozen=True)
class WeekHours:
    """One patient's week: minutes attended and still ahead, the target, the status.

    ``partial`` marks a week the enrollment only partly covers (admitted after Monday or
    discharged before Sunday): the status is still judged against the floor, and screens
    say so, because programs differ on prorating those weeks.
    """

    week: IsoWeek
    attended_minutes: int
    ahead_minutes: int
    target_min: Decimal | None
    target_max: Decimal | None
    status: WeekStatus
    violations: int = 0
    excused: int = 0
    partial: bool = False
    enrollment_id: int | None = None

    @property
    def attended_hours(self) -> Decimal:
        return minutes_to_hours(self.attended_minutes)

    @property
    def ahead_hours(self) -> Decimal:
        return minutes_to_hours(self.ahead_minutes)

    @property
    def scheduled_hours(self) -> Decimal:
        """Everything booked that week: attended or still ahead."""
        return minutes_to_hours(self.attended_minutes + self.ahead_minutes)

    @property
    def needed_hours(self) -> Decimal:
        """Hours still to attend to reach the floor (0 once met or without a target)."""
        if self.target_min is None:
            return Decimal("0.00")
        missing = hours_to_minutes(self.target_min) - self.attended_minutes
        if missing <= 0:
            return Decimal("0.00")
        return (missing / MINUTES_PER_HOUR).quantize(_CENTS, rounding=ROUND_HALF_UP)

    @property
    def shortfall_hours(self) -> Decimal:
        """Hours the floor exceeds attended + still ahead: what must be added to the schedule."""
        if self.target_min is None:
            return Decimal("0.00")
        missing = hours_to_minutes(self.target_min) - self.attended_minutes - self.ahead_minutes
        if missing <= 0:
            return Decimal("0.00")
        return (missing / MINUTES_PER_HOUR).quantize(_CENTS, rounding=ROUND_HALF_UP)


def make_week_hours(
    *,
    week: IsoWeek,
    attended_minutes: int,
    ahead_minutes: int,
    span: EnrollmentSpan | None,
    week_over: bool,
    violations: int = 0,
    excused: int = 0,
) -> WeekHours:
    """Combine a week's minutes with the enrollment that applies into a ``WeekHours``."""
    # A finished week has nothing ahead, whatever bookings were left unrecorded.
    ahead = 0 if week_over else ahead_minutes
    status = week_status(
        attended_minutes=attended_minutes,
        ahead_minutes=ahead,
        floor_hours=span.floor_hours if span else Decimal(0),
        week_over=week_over,
        enrolled=span is not None,
    )
    partial = span is not None and (
        span.admitted_on > week.monday
        or (span.discharged_on is not None and span.discharged_on < week.sunday)
    )
    return WeekHours(
        week=week,
        attended_minutes=attended_minutes,
        ahead_minutes=ahead,
        target_min=span.floor_hours if span else None,
        target_max=span.ceiling_hours if span else None,
        status=status,
        violations=violations,
        excused=excused,
        partial=partial,
        enrollment_id=span.enrollment_id if span else None,
    )


@dataclass(frozen=True)
class BookingFact:
    """One booking as the week sees it: when its session runs, its status, its minutes."""

    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    status: str
    minutes_attended: int | None = None
    session_cancelled: bool = False


def attended_minutes_of(booking: BookingFact) -> int:
    """Minutes a booking adds to the week: recorded minutes for attended statuses, else 0.

    Attendance recorded without minutes counts the whole session (the roster's default).
    """
    if booking.session_cancelled or booking.status not in ATTENDED:
        return 0
    if booking.minutes_attended is None:
        return booking.duration_minutes
    return booking.minutes_attended


def summarize_week(
    *,
    week: IsoWeek,
    time_zone: str,
    now: datetime,
    bookings: Sequence[BookingFact],
    spans: Sequence[EnrollmentSpan],
) -> WeekHours:
    """A week's hours from individual bookings; the reference for the SQL in ``hours_query``.

    A booking belongs to the week its session starts in (site time zone). A booking with
    nothing recorded is still ahead while its session has not ended.
    """
    start, end = week.bounds(time_zone)
    in_week = [b for b in bookings if start <= b.starts_at < end and not b.session_cancelled]
    return make_week_hours(
        week=week,
        attended_minutes=sum(attended_minutes_of(b) for b in in_week),
        ahead_minutes=sum(
            b.duration_minutes for b in in_week if b.status == BOOKED and b.ends_at > now
        ),
        span=target_for_week(spans, week),
        week_over=now >= end,
        violations=sum(1 for b in in_week if b.status in VIOLATIONS),
        excused=sum(1 for b in in_week if b.status in EXCUSED),
    )
