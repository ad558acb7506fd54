"""The group schedule: rooms, group types, recurring group series and their sessions.

A series is "every <weekday> at <start_time>" in the site's local time; its sessions are
materialized for a rolling horizon (``generate_sessions``, run nightly by ``openiop
generate-sessions``) and whenever the series changes. At most one session per series and ISO
week exists, so a week whose session was cancelled for a holiday is not refilled, and
materializing twice creates nothing new.

Concurrency: each series is materialized in its own transaction that first locks the series
row (``select_for_update``; SQLite serializes writers anyway), so two servers running the
command at once queue on the row instead of doubling sessions. The unique constraint on
(group_series, starts_at) is the last guard: an insert that loses a race is skipped inside a
savepoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from openiop.accounts.models import Membership, Site
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import IsoWeek, at_local, local_today, zone
from openiop.programs.models import EnrollmentStatus, Track
from openiop.scheduling.booking import (
    book_active_track_enrollments,
    materialize_individual_series,
)
from openiop.scheduling.conflicts import describe_day, find_conflicts, lock_for_booking
from openiop.scheduling.models import (
    DEFAULT_GROUP_CAPACITY,
    AttendanceStatus,
    Booking,
    GroupSeries,
    GroupType,
    IndividualSeries,
    Room,
    Session,
    SessionKind,
    SessionStatus,
    Weekday,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User

DEFAULT_HORIZON_WEEKS = 8
MAX_HORIZON_WEEKS = 52
SCHEDULE_CHANGED = "schedule changed"

# A booking in one of these states has had its attendance recorded; a session holding one is
# history and is never moved or cancelled by a schedule change.
NOT_RECORDED = (
    AttendanceStatus.BOOKED,
    AttendanceStatus.CANCELLED,
    AttendanceStatus.CANCELLED_BY_CLINIC,
)


class SeriesConflict(Exception):
    """The first occurrence of a new series clashes with the facilitator's or room's schedule."""

    def __init__(self, conflicts: list[str]) -> None:
        super().__init__("; ".join(conflicts))
        self.conflicts = conflicts


class StaleSeries(Exception):
    """The series was changed by someone else since the form was opened."""


@dataclass
class MaterializeResult:
    created: list[Session] = field(default_factory=list)
    already_there: int = 0
    conflicts: list[str] = field(default_factory=list)
    booked: int = 0
    # The days skipped for a clash, with the clash messages.
    skipped: dict[date, list[str]] = field(default_factory=dict)

    @property
    def created_count(self) -> int:
        return len(self.created)


@dataclass
class SeriesChange:
    series: GroupSeries
    updated: int = 0
    cancelled: int = 0
    conflicts: list[str] = field(default_factory=list)
    materialized: MaterializeResult = field(default_factory=MaterializeResult)

    @property
    def created(self) -> int:
        return self.materialized.created_count

    @property
    def all_conflicts(self) -> list[str]:
        return self.conflicts + self.materialized.conflicts


@dataclass
class SiteSummary:
    site: Site
    series: int = 0
    created: int = 0
    already_there: int = 0
    booked: int = 0
    individual_series: int = 0
    individual_booked: int = 0
    conflicts: list[str] = field(default_factory=list)


@dataclass
class GenerateSummary:
    horizon_weeks: int
    sites: list[SiteSummary] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(s.created for s in self.sites)

    @property
    def already_there(self) -> int:
        return sum(s.already_there for s in self.sites)

    @property
    def conflicts(self) -> list[str]:
        return [c for s in self.sites for c in s.conflicts]


# --- Rooms and group types -----------------------------------------------------------------


def _unique_error(exc: ValidationError, field_name: str, message: str) -> ValidationError:
    errors = dict(exc.message_dict)
    general = errors.pop("__all__", [])
    kept = [m for m in general if "already exists" not in m]
    if len(kept) != len(general):
        errors.setdefault(field_name, []).append(message)
    if kept:
        errors["__all__"] = kept
    return ValidationError(errors)


def _check_room(room: Room) -> None:
    if not room.name:
        raise ValidationError({"name": "Give the room a name."})
    if room.capacity is not None and room.capacity < 1:
        raise ValidationError({"capacity": "A room seats at least one person; leave it empty."})
    try:
        room.full_clean()
    except ValidationError as exc:
        raise _unique_error(exc, "name", "This site already has a room with that name.") from None


@transaction.atomic
def create_room(
    *,
    site: Site,
    name: str,
    capacity: int | None = None,
    by: User | None,
    request: HttpRequest | None = None,
) -> Room:
    room = Room(site=site, name=name.strip(), capacity=capacity)
    _check_room(room)
    room.save()
    record_event(
        request=request,
        actor=by,
        site=site,
        action=Action.CREATE,
        object_type="room",
        object_id=room.pk,
        detail=room.name,
    )
    return room


@transaction.atomic
def update_room(
    *,
    room: Room,
    name: str,
    capacity: int | None,
    is_active: bool = True,
    by: User | None,
    request: HttpRequest | None = None,
) -> Room:
    """Rename a room, change its seats or take it out of use.

    A room still used by an active group series cannot be taken out of use: move the groups
    first, so no future session is left in a closed room.
    """
    room = Room.objects.select_for_update().select_related("site").get(pk=room.pk)
    room.name = name.strip()
    room.capacity = capacity
    if not is_active and room.is_active:
        used = list(
            GroupSeries.objects.filter(room=room, is_active=True)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=local_today(room.site.time_zone)))
            .values_list("title", flat=True)
        )
        if used:
            raise ValidationError(
                {"is_active": f"Groups still meet here: {', '.join(used)}. Move them first."}
            )
    room.is_active = is_active
    _check_room(room)
    room.save()
    record_event(
        request=request,
        actor=by,
        site=room.site,
        action=Action.UPDATE,
        object_type="room",
        object_id=room.pk,
        detail=f"{room.name}{'' if is_active else ' (out of use)'}",
    )
    return room


def _check_group_type(group_type: GroupType) -> None:
    if not group_type.name:
        raise ValidationError({"name": "Give the group type a name."})
    try:
        group_type.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
        if "code" in errors:
            errors["code"] = ["That code is taken or not a slug (letters, digits, _ and -)."]
        if "name" in errors:
            errors["name"] = ["A group type with that name exists already."]
        raise ValidationError(errors) from None


@transaction.atomic
def create_group_type(
    *,
    code: str,
    name: str,
    description: str = "",
    by: User | None,
    request: HttpRequest | None = None,
) -> GroupType:
    """A kind of group (CBT, DBT, process …) for the whole organization."""
    group_type = GroupType(
        code=code.strip().lower(), name=name.strip(), description=description.strip()
    )
    _check_group_type(group_type)
    group_type.save()
    record_event(
        request=request,
        actor=by,
        action=Action.CREATE,
        object_type="group_type",
        object_id=group_type.pk,
        detail=f"{group_type.code}: {group_type.name}",
    )
    return group_type


@transaction.atomic
def update_group_type(
    *,
    group_type: GroupType,
    name: str,
    description: str,
    is_active: bool = True,
    by: User | None,
    request: HttpRequest | None = None,
) -> GroupType:
    """Rename or describe a group type, or retire it (its code stays, as the API key)."""
    group_type = GroupType.objects.select_for_update().get(pk=group_type.pk)
    group_type.name = name.strip()
    group_type.description = description.strip()
    group_type.is_active = is_active
    _check_group_type(group_type)
    group_type.save()
    record_event(
        request=request,
        actor=by,
        action=Action.UPDATE,
        object_type="group_type",
        object_id=group_type.pk,
        detail=f"{group_type.code}: {group_type.name}{'' if is_active else ' (retired)'}",
    )
    return group_type


# --- Occurrences -----------------------------------------------------------------------------


def occurrence_days(series: GroupSeries, first: date, last: date) -> list[date]:
    """The days in [first, last] on which the series meets, within its effective dates."""
    start = max(first, series.starts_on)
    end = last if series.ends_on is None else min(last, series.ends_on)
    if end < start:
        return []
    day = start + timedelta(days=(series.weekday - start.weekday()) % 7)
    days = []
    while day <= end:
        days.append(day)
        day += timedelta(days=7)
    return days


def _runs(series: GroupSeries) -> bool:
    """Whether the series is in use: itself, its track and its program active."""
    if not series.is_active:
        return False
    track = series.track
    return track is None or (track.is_active and track.program.is_active)


def _week_of(instant: datetime, time_zone: str) -> IsoWeek:
    return IsoWeek.of(timezone.localtime(instant, timezone=zone(time_zone)).date())


def _clash_lines(series: GroupSeries, day: date, clashes: list[str]) -> list[str]:
    return [f"{series.title} on {describe_day(day)}: {clash}" for clash in clashes]


def _lock_series(series: GroupSeries) -> GroupSeries:
    return (
        GroupSeries.objects.select_for_update(of=("self",))
        .select_related("site", "track__program", "group_type", "facilitator", "room")
        .get(pk=series.pk)
    )


def _materialize_locked(
    series: GroupSeries, *, today: date, horizon_end: date, now: datetime
) -> MaterializeResult:
    result = MaterializeResult()
    if not _runs(series):
        return result
    tz = series.site.time_zone
    days = occurrence_days(series, today, horizon_end)
    if not days:
        return result
    first_week_start, _ = IsoWeek.of(days[0]).bounds(tz)
    _, last_week_end = IsoWeek.of(days[-1]).bounds(tz)
    taken = {
        _week_of(instant, tz)
        for instant in Session.objects.filter(
            group_series=series, starts_at__gte=first_week_start, starts_at__lt=last_week_end
        ).values_list("starts_at", flat=True)
    }
    lock_for_booking(facilitator_id=series.facilitator_id, room_id=series.room_id)
    duration = timedelta(minutes=series.duration_minutes)
    for day in days:
        if IsoWeek.of(day) in taken:
            result.already_there += 1
            continue
        starts_at = at_local(day, series.start_time, tz)
        ends_at = starts_at + duration
        if ends_at <= now:
            # Today's occurrence that is already over is not invented after the fact.
            continue
        clashes = find_conflicts(
            starts_at=starts_at,
            ends_at=ends_at,
            facilitator_id=series.facilitator_id,
            room_id=series.room_id,
        )
        if clashes:
            result.skipped[day] = clashes
            result.conflicts.extend(_clash_lines(series, day, clashes))
            continue
        session = Session(
            site=series.site,
            kind=SessionKind.GROUP,
            group_series=series,
            group_type=series.group_type,
            title=series.title,
            starts_at=starts_at,
            ends_at=ends_at,
            duration_minutes=series.duration_minutes,
            facilitator=series.facilitator,
            room=series.room,
            capacity=series.capacity,
        )
        # No full_clean here: every field comes from the validated series, and full_clean
        # would query each foreign key per session. The database constraints still hold.
        try:
            with transaction.atomic():
                session.save()
        except IntegrityError:
            result.already_there += 1
            continue
        result.created.append(session)
    if result.created and series.track_id is not None:
        result.booked = book_active_track_enrollments(sessions=result.created)
    return result


@transaction.atomic
def materialize_series(
    series: GroupSeries, *, horizon_end: date, today: date | None = None
) -> MaterializeResult:
    """Create the series' sessions from max(today, starts_on) through the horizon and ends_on.

    Idempotent: a week that already has a session of the series (held, scheduled or
    cancelled) gets none. Times are the site's local clock on each day, so a 09:00 group stays
    at 09:00 across daylight-saving changes. Occurrences where the facilitator or the room is
    already busy are skipped and reported. New sessions of a track's series are booked for
    the track's active enrollments.
    """
    locked = _lock_series(series)
    today = today or local_today(locked.site.time_zone)
    result = _materialize_locked(locked, today=today, horizon_end=horizon_end, now=timezone.now())
    if result.created:
        record_event(
            site=locked.site,
            action=Action.CREATE,
            object_type="group_series",
            object_id=locked.pk,
            detail=(
                f"{locked.title}: {result.created_count} session(s) created through"
                f" {horizon_end:%Y-%m-%d}, {len(result.conflicts)} skipped for conflicts"
            ),
        )
    return result


# --- Bringing sessions in line with their series --------------------------------------------


def _cancel_bookings(
    session: Session, *, actor: User | None, request: HttpRequest | None, reason: str
) -> int:
    """Bookings still "booked" become "cancelled by clinic"; each patient's change is audited."""
    bookings = list(
        Booking.objects.filter(session=session, status=AttendanceStatus.BOOKED).values_list(
            "pk", "patient_id"
        )
    )
    if not bookings:
        return 0
    Booking.objects.filter(pk__in=[pk for pk, _ in bookings]).update(
        status=AttendanceStatus.CANCELLED_BY_CLINIC, version=F("version") + 1
    )
    for booking_id, patient_id in bookings:
        record_event(
            request=request,
            actor=actor,
            site=session.site,
            action=Action.UPDATE,
            object_type="booking",
            object_id=booking_id,
            patient_id=patient_id,
            detail=f"Cancelled by clinic: {session.title} {session.starts_at:%Y-%m-%d}, {reason}"[
                :500
            ],
        )
    return len(bookings)


def _cancel(
    session: Session,
    *,
    reason: str,
    actor: User | None,
    request: HttpRequest | None,
    now: datetime,
) -> int:
    session.status = SessionStatus.CANCELLED
    session.cancel_reason = reason
    session.cancelled_at = now
    session.save(update_fields=["status", "cancel_reason", "cancelled_at"])
    return _cancel_bookings(session, actor=actor, request=request, reason=reason)


def _sync_future_sessions(
    series: GroupSeries,
    *,
    today: date,
    now: datetime,
    actor: User | None,
    request: HttpRequest | None,
) -> SeriesChange:
    """Move, update or cancel the series' future sessions that have no recorded attendance.

    Each session keeps its ISO week: it moves to the series' day and time in that week, or is
    cancelled ("schedule changed") when the series no longer meets that week. A holiday
    cancellation stays cancelled; a session cancelled by an earlier change comes back when the
    series meets that week again.
    """
    change = SeriesChange(series=series)
    tz = series.site.time_zone
    recorded = Booking.objects.filter(
        session__group_series=series, session__starts_at__gte=now
    ).exclude(status__in=NOT_RECORDED)
    sessions = list(
        Session.objects.filter(group_series=series, starts_at__gte=now)
        .exclude(pk__in=recorded.values("session_id"))
        .select_related("site")
        .order_by("starts_at")
    )
    if not sessions:
        return change
    runs = _runs(series)
    by_week: dict[IsoWeek, list[Session]] = defaultdict(list)
    for session in sessions:
        by_week[_week_of(session.starts_at, tz)].append(session)
    lock_for_booking(facilitator_id=series.facilitator_id, room_id=series.room_id)
    duration = timedelta(minutes=series.duration_minutes)
    reinstated: list[Session] = []
    for week, in_week in sorted(by_week.items(), key=lambda item: item[1][0].starts_at):
        day = week.monday + timedelta(days=series.weekday)
        target: datetime | None = None
        if runs and day >= today and occurrence_days(series, day, day):
            target = at_local(day, series.start_time, tz)
            if target < now:
                target = None
        keeper: Session | None = None
        if target is not None:
            keeper = next((s for s in in_week if s.starts_at == target), None) or next(
                (
                    s
                    for s in in_week
                    if s.status == SessionStatus.SCHEDULED or s.cancel_reason == SCHEDULE_CHANGED
                ),
                None,
            )
        for session in in_week:
            if session is not keeper:
                if session.status == SessionStatus.SCHEDULED:
                    change.cancelled += 1
                    _cancel(session, reason=SCHEDULE_CHANGED, actor=actor, request=request, now=now)
                continue
            if target is None:  # unreachable: a keeper exists only for a target
                continue
            was_cancelled = session.status == SessionStatus.CANCELLED
            if was_cancelled and session.cancel_reason != SCHEDULE_CHANGED:
                continue  # a holiday stays a holiday
            new_values = {
                "starts_at": target,
                "ends_at": target + duration,
                "duration_minutes": series.duration_minutes,
                "facilitator_id": series.facilitator_id,
                "room_id": series.room_id,
                "capacity": series.capacity,
                "title": series.title,
                "group_type_id": series.group_type_id,
            }
            if not was_cancelled and all(
                getattr(session, name) == value for name, value in new_values.items()
            ):
                continue
            clashes = find_conflicts(
                starts_at=target,
                ends_at=target + duration,
                facilitator_id=series.facilitator_id,
                room_id=series.room_id,
                exclude_session_ids=[session.pk],
            )
            if clashes:
                change.conflicts.extend(_clash_lines(series, day, clashes))
                if not was_cancelled:
                    change.cancelled += 1
                    _cancel(session, reason=SCHEDULE_CHANGED, actor=actor, request=request, now=now)
                continue
            for name, value in new_values.items():
                setattr(session, name, value)
            if was_cancelled:
                session.status = SessionStatus.SCHEDULED
                session.cancel_reason = ""
                session.cancelled_at = None
                reinstated.append(session)
            session.save()
            change.updated += 1
    if reinstated and series.track_id is not None:
        book_active_track_enrollments(sessions=reinstated)
    return change


# --- Group series ------------------------------------------------------------------------------


def _check_series(series: GroupSeries) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    site = series.site
    if not series.title.strip():
        add("title", "Give the group a title, e.g. “Relapse prevention”.")
    if series.weekday not in Weekday.values:
        add("weekday", "Pick a day from Monday (0) to Sunday (6).")
    if not 15 <= series.duration_minutes <= 600:
        add("duration_minutes", "A group lasts between 15 and 600 minutes.")
    if series.capacity < 1:
        add("capacity", "A group has at least one seat.")
    if series.ends_on is not None and series.ends_on < series.starts_on:
        add("ends_on", "The last day cannot be before the first day.")
    if not series.group_type.is_active:
        add("group_type", f"The group type “{series.group_type.name}” is retired.")
    if series.track is not None:
        if series.track.program.site_id != site.pk:
            add("track", "That track belongs to another site.")
        elif not (series.track.is_active and series.track.program.is_active):
            add("track", "That track or its program is inactive.")
    facilitator = series.facilitator
    if (
        not facilitator.is_active
        or not Membership.objects.filter(user=facilitator, site=site).exists()
    ):
        add("facilitator", f"{facilitator.display_name} is not active staff at {site.name}.")
    room = series.room
    if room is not None:
        if room.site_id != site.pk:
            add("room", "That room is at another site.")
        elif not room.is_active:
            add("room", f"{room.name} is out of use.")
        elif room.capacity is not None and series.capacity > room.capacity:
            add("capacity", f"{room.name} seats {room.capacity}; lower the group's capacity.")
    if errors:
        raise ValidationError(errors)
    series.full_clean()


def staff_of_site(site: Site) -> list[User]:
    """Active staff of a site who may facilitate a group, by name."""
    from openiop.accounts.models import User

    return list(
        User.objects.filter(memberships__site=site, is_active=True)
        .order_by("last_name", "first_name", "username")
        .distinct()
    )


def _horizon(today: date, weeks: int = DEFAULT_HORIZON_WEEKS) -> date:
    return today + timedelta(weeks=weeks)


@transaction.atomic
def create_group_series(
    *,
    site: Site,
    track: Track | None,
    group_type: GroupType,
    title: str,
    weekday: int,
    start_time: time,
    duration_minutes: int,
    facilitator: User,
    room: Room | None = None,
    capacity: int = DEFAULT_GROUP_CAPACITY,
    starts_on: date,
    ends_on: date | None = None,
    by: User | None,
    request: HttpRequest | None = None,
    horizon_weeks: int = DEFAULT_HORIZON_WEEKS,
    today: date | None = None,
) -> SeriesChange:
    """A recurring group, with its sessions materialized for the horizon (8 weeks).

    Raises ``SeriesConflict`` (and writes nothing) when the first occurrence clashes with the
    facilitator's or the room's schedule; later clashes are skipped and reported.
    """
    series = GroupSeries(
        site=site,
        track=track,
        group_type=group_type,
        title=title.strip(),
        weekday=weekday,
        start_time=start_time.replace(second=0, microsecond=0),
        duration_minutes=duration_minutes,
        facilitator=facilitator,
        room=room,
        capacity=capacity,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    _check_series(series)
    series.save()
    record_event(
        request=request,
        actor=by,
        site=site,
        action=Action.CREATE,
        object_type="group_series",
        object_id=series.pk,
        detail=f"{series} with {facilitator.display_name}"[:500],
    )
    today = today or local_today(site.time_zone)
    locked = _lock_series(series)
    result = _materialize_locked(
        locked, today=today, horizon_end=_horizon(today, horizon_weeks), now=timezone.now()
    )
    days = occurrence_days(locked, today, _horizon(today, horizon_weeks))
    if days and days[0] in result.skipped:
        # The first meeting cannot happen as asked: refuse the whole series (nothing saved).
        raise SeriesConflict(result.skipped[days[0]])
    return SeriesChange(series=locked, materialized=result)


@transaction.atomic
def update_group_series(
    *,
    series: GroupSeries,
    version: int,
    group_type: GroupType,
    title: str,
    weekday: int,
    start_time: time,
    duration_minutes: int,
    facilitator: User,
    room: Room | None,
    capacity: int,
    starts_on: date,
    ends_on: date | None,
    by: User | None,
    request: HttpRequest | None = None,
    horizon_weeks: int = DEFAULT_HORIZON_WEEKS,
    today: date | None = None,
) -> SeriesChange:
    """Change a series; its future sessions without recorded attendance follow it.

    ``version`` is the one the editor read: a stale edit raises ``StaleSeries`` and changes
    nothing. Sessions already held, or with attendance recorded, are history and stay.
    """
    locked = _lock_series(series)
    if locked.version != version:
        raise StaleSeries(
            "Someone else changed this group series since you opened it. Reload and try again."
        )
    locked.group_type = group_type
    locked.title = title.strip()
    locked.weekday = weekday
    locked.start_time = start_time.replace(second=0, microsecond=0)
    locked.duration_minutes = duration_minutes
    locked.facilitator = facilitator
    locked.room = room
    locked.capacity = capacity
    locked.starts_on = starts_on
    locked.ends_on = ends_on
    _check_series(locked)
    locked.version = F("version") + 1
    locked.save()
    locked.refresh_from_db(fields=["version"])
    return _after_change(locked, by=by, request=request, today=today, weeks=horizon_weeks)


def _after_change(
    series: GroupSeries,
    *,
    by: User | None,
    request: HttpRequest | None,
    today: date | None,
    weeks: int,
    what: str = "changed",
) -> SeriesChange:
    now = timezone.now()
    today = today or local_today(series.site.time_zone)
    change = _sync_future_sessions(series, today=today, now=now, actor=by, request=request)
    change.materialized = _materialize_locked(
        series, today=today, horizon_end=_horizon(today, weeks), now=now
    )
    record_event(
        request=request,
        actor=by,
        site=series.site,
        action=Action.UPDATE,
        object_type="group_series",
        object_id=series.pk,
        detail=(
            f"{series} {what}: {change.updated} session(s) updated, {change.cancelled}"
            f" cancelled, {change.created} created, {len(change.all_conflicts)} conflict(s)"
        )[:500],
    )
    return change


@transaction.atomic
def end_group_series(
    *,
    series: GroupSeries,
    ends_on: date,
    by: User | None,
    request: HttpRequest | None = None,
    today: date | None = None,
) -> SeriesChange:
    """Stop a series after ``ends_on``; its later sessions without attendance are cancelled.

    Ending before the first day retires the series altogether.
    """
    locked = _lock_series(series)
    if ends_on < locked.starts_on:
        locked.is_active = False
        locked.ends_on = locked.starts_on
    else:
        locked.ends_on = ends_on
    locked.full_clean()
    locked.version = F("version") + 1
    locked.save()
    locked.refresh_from_db(fields=["version"])
    return _after_change(
        locked, by=by, request=request, today=today, weeks=DEFAULT_HORIZON_WEEKS, what="ended"
    )


# --- Holidays ------------------------------------------------------------------------------------


@transaction.atomic
def cancel_session(
    *, session: Session, reason: str, by: User | None, request: HttpRequest | None = None
) -> int:
    """Cancel one session (a holiday, a facilitator off sick) with a reason.

    Every booking still "booked" becomes "cancelled by clinic" — it counts neither as an
    absence nor toward hours (DOMAIN.md §5). A session with attendance recorded was held and
    cannot be cancelled. Returns how many bookings were cancelled.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the session is cancelled, e.g. “Holiday”."})
    if len(reason) > 300:
        raise ValidationError({"reason": "Keep the reason under 300 characters."})
    locked = (
        Session.objects.select_for_update(of=("self",)).select_related("site").get(pk=session.pk)
    )
    if locked.status == SessionStatus.CANCELLED:
        raise ValidationError({"session": "This session is already cancelled."})
    if Booking.objects.filter(session=locked).exclude(status__in=NOT_RECORDED).exists():
        raise ValidationError(
            {
                "session": (
                    "Attendance has been recorded for this session, so it was held and cannot"
                    " be cancelled. Correct the attendance instead."
                )
            }
        )
    now = timezone.now()
    cancelled = _cancel(locked, reason=reason, actor=by, request=request, now=now)
    record_event(
        request=request,
        actor=by,
        site=locked.site,
        action=Action.UPDATE,
        object_type="session",
        object_id=locked.pk,
        detail=f"Cancelled {locked}: {reason}; {cancelled} booking(s) cancelled by clinic"[:500],
    )
    session.status = locked.status
    session.cancel_reason = locked.cancel_reason
    session.cancelled_at = locked.cancelled_at
    return cancelled


# --- The rolling horizon ----------------------------------------------------------------------


def check_weeks(weeks: int) -> int:
    if not 1 <= weeks <= MAX_HORIZON_WEEKS:
        raise ValueError(f"--weeks must be between 1 and {MAX_HORIZON_WEEKS}, not {weeks}.")
    return weeks


def generate_sessions(
    *,
    weeks: int = DEFAULT_HORIZON_WEEKS,
    today: date | None = None,
    sites: Iterable[Site] | None = None,
    on_site: object = None,
) -> GenerateSummary:
    """Materialize every active series of every site (or of ``sites``) for ``weeks`` ahead.

    Idempotent and safe to start on several servers at once (see the module docstring). Each
    series runs in its own transaction, so one busy series does not hold the others back.
    ``on_site`` (optional callable) receives each ``SiteSummary`` when its site is done.
    """
    check_weeks(weeks)
    summary = GenerateSummary(horizon_weeks=weeks)
    chosen = list(sites) if sites is not None else list(Site.objects.order_by("name"))
    for site in chosen:
        site_today = today or local_today(site.time_zone)
        horizon_end = _horizon(site_today, weeks)
        site_summary = SiteSummary(site=site)
        series_ids = list(
            GroupSeries.objects.filter(site=site, is_active=True, starts_on__lte=horizon_end)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=site_today))
            .filter(
                Q(track__isnull=True) | Q(track__is_active=True, track__program__is_active=True)
            )
            .order_by("weekday", "start_time", "pk")
            .values_list("pk", flat=True)
        )
        for series_id in series_ids:
            result = materialize_series(
                GroupSeries(pk=series_id), horizon_end=horizon_end, today=site_today
            )
            site_summary.series += 1
            site_summary.created += result.created_count
            site_summary.already_there += result.already_there
            site_summary.booked += result.booked
            site_summary.conflicts.extend(result.conflicts)
        # Recurring individual therapy rolls forward on the same horizon.
        individual_ids = list(
            IndividualSeries.objects.filter(
                enrollment__patient__site=site,
                enrollment__status=EnrollmentStatus.ACTIVE,
                is_active=True,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for series_id in individual_ids:
            booked = materialize_individual_series(IndividualSeries(pk=series_id), weeks=weeks)
            site_summary.individual_series += 1
            site_summary.individual_booked += booked.booked
            site_summary.conflicts.extend(booked.skipped)
        summary.sites.append(site_summary)
        if callable(on_site):
            on_site(site_summary)
    return summary
