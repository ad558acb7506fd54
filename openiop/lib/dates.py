"""Calendar arithmetic in a site's time zone: days, ISO weeks (Monday–Sunday) and instants.

Times are stored in UTC; "today", "this week" and billing days are the site's (DESIGN.md §5).
Every conversion goes through here so daylight-saving changes are handled in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def zone(time_zone: str) -> ZoneInfo:
    return ZoneInfo(time_zone)


def local_today(time_zone: str) -> date:
    return timezone.localdate(timezone=zone(time_zone))


def at_local(day: date, clock: time, time_zone: str) -> datetime:
    """The aware instant of ``clock`` on ``day`` at the site.

    A clock time skipped by a spring-forward change resolves to the instant after the gap
    (zoneinfo's fold=0 rule), so a 02:30 group on that night starts at 03:30 local.
    """
    naive = datetime.combine(day, clock)
    aware = naive.replace(tzinfo=zone(time_zone))
    # Normalize through UTC so a non-existent local time lands on a real instant.
    return aware.astimezone(ZoneInfo("UTC")).astimezone(zone(time_zone))


def day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day (23 or 25 hours long on DST change days)."""
    tz = zone(time_zone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


@dataclass(frozen=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W48`` → IsoWeek; raises ValueError with a readable message."""
        match = _ISO_WEEK.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not an ISO week like 2026-W48.")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no week {week}.") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shift(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def bounds(self, time_zone: str) -> tuple[datetime, datetime]:
        """[Monday 00:00, next Monday 00:00) at the site, as aware datetimes."""
        tz = zone(time_zone)
        start = datetime.combine(self.monday, time.min, tzinfo=tz)
        end = datetime.combine(self.monday + timedelta(days=7), time.min, tzinfo=tz)
        return start, end
