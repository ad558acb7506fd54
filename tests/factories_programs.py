"""make_* helpers for programs, tracks, rooms and group series.

They write rows directly (no services, no sessions materialized) so that any test can build
the setup it needs cheaply; tests of the services themselves call the services.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

from openiop.accounts.models import Site, User
from openiop.programs.models import LevelOfCare, Program, Track
from openiop.scheduling.models import GroupSeries, GroupType, Room


def level_of_care(code: str = "2.1", edition: int = 3) -> LevelOfCare:
    """A seeded level of care (DOMAIN.md §1), e.g. IOP 2.1 of the ASAM 3rd edition."""
    return LevelOfCare.objects.get(code=code, edition=edition)


def make_program(
    site: Site,
    level_code: str = "2.1",
    *,
    name: str = "Adult IOP",
    edition: int = 3,
    weekly_hours_min: Decimal | int | str = 9,
    weekly_hours_max: Decimal | int | str = 12,
    typical_length_weeks: int = 12,
    **fields: Any,
) -> Program:
    return Program.objects.create(
        site=site,
        level_of_care=level_of_care(level_code, edition),
        name=name,
        weekly_hours_min=Decimal(str(weekly_hours_min)),
        weekly_hours_max=Decimal(str(weekly_hours_max)),
        typical_length_weeks=typical_length_weeks,
        **fields,
    )


def make_track(
    program: Program,
    name: str = "Evening — Tue/Wed/Thu 18:00–21:00",
    *,
    description: str = "",
    **fields: Any,
) -> Track:
    return Track.objects.create(program=program, name=name, description=description, **fields)


def make_room(site: Site, name: str = "Group Room A", *, capacity: int | None = 14) -> Room:
    return Room.objects.create(site=site, name=name, capacity=capacity)


def group_type(code: str = "cbt") -> GroupType:
    """A seeded group type (cbt, dbt, process, skills, psychoeducation, life_skills, …)."""
    return GroupType.objects.get(code=code)


def make_series(
    track_or_site: Track | Site,
    facilitator: User,
    weekday: int = 0,
    start_time: time | str = time(18, 0),
    *,
    title: str = "CBT group",
    group_type_code: str = "cbt",
    duration_minutes: int = 90,
    room: Room | None = None,
    capacity: int = 12,
    starts_on: date | None = None,
    ends_on: date | None = None,
    **fields: Any,
) -> GroupSeries:
    """A group series row. weekday 0 = Monday; start_time is the site's local time."""
    if isinstance(track_or_site, Track):
        track: Track | None = track_or_site
        site = track_or_site.program.site
    else:
        track = None
        site = track_or_site
    if isinstance(start_time, str):
        start_time = time.fromisoformat(start_time)
    return GroupSeries.objects.create(
        site=site,
        track=track,
        group_type=group_type(group_type_code),
        title=title,
        weekday=weekday,
        start_time=start_time,
        duration_minutes=duration_minutes,
        facilitator=facilitator,
        room=room,
        capacity=capacity,
        starts_on=starts_on or date(2020, 1, 6),
        ends_on=ends_on,
        **fields,
    )
