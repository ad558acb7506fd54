"""Putting patients into sessions: track groups, drop-ins and individual therapy.

Every function here runs inside a transaction and takes its locks before it reads what it
checks (seats left, overlapping sessions), so two requests racing for the last seat or the
same slot queue and the second one gets a ``BookingConflict`` naming what is in the way:
sessions are locked row by row for capacity, facilitators, rooms and patients through
``conflicts.lock_for_booking``. On SQLite the IMMEDIATE transaction mode serializes writers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F
from django.http import HttpRequest
from django.utils import timezone

from openiop.accounts.models import Membership, User
from openiop.accounts.roles import Role
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import at_local, day_bounds, local_today, zone
from openiop.patients.models import Patient
from openiop.programs.models import Cadence, Enrollment, EnrollmentStatus
from openiop.scheduling.conflicts import (
    describe_day,
    describe_slot,
    find_conflicts,
    lock_for_booking,
)
from openiop.scheduling.models import (
    SEAT_STATUSES,
    AttendanceStatus,
    Booking,
    BookingKind,
    IndividualSeries,
    Room,
    Session,
    SessionKind,
    SessionStatus,
)

# Individual sessions are materialized this far ahead; the rolling horizon of group series
# is the same (issue 3: `generate-sessions --weeks 8`).
INDIVIDUAL_HORIZON_WEEKS = 8
INDIVIDUAL_TITLE = "Individual therapy"
# Staff who see patients one-on-one.
INDIVIDUAL_ROLES = frozenset({Role.THERAPIST, Role.DIRECTOR, Role.PRESCRIBER})
INTERVAL_OF_CADENCE = {Cadence.WEEKLY: 1, Cadence.BIWEEKLY: 2}


class BookingConflict(ValueError):
    """A double-booking or a full session; the message names the conflict (HTTP 409)."""


@dataclass(frozen=True)
class BookingSummary:
    """What a bulk booking did: how many seats it took, and what it had to skip and why."""

    booked: int = 0
    skipped: tuple[str, ...] = field(default_factory=tuple)


def _audit(
    *,
    request: HttpRequest | None,
    by: User | None,
    patient: Patient,
    action: Action,
    object_type: str,
    object_id: object = "",
    detail: str = "",
) -> None:
    record_event(
        request=request,
        actor=by,
        site=patient.site,
        action=action,
        object_type=object_type,
        object_id=object_id,
        patient_id=patient.pk,
        detail=detail,
    )


def _lock_sessions(session_ids: Iterable[int]) -> None:
    """Row-lock sessions (by id, so concurrent bulk bookings cannot deadlock) for capacity."""
    ids = sorted(set(session_ids))
    if ids and connection.features.has_select_for_update:
        list(
            Session.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk")
        )


def _seats_taken(session_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        Booking.objects.filter(session_id__in=list(session_ids), status__in=SEAT_STATUSES)
        .values("session_id")
        .annotate(n=Count("pk"))
    )
    return {row["session_id"]: row["n"] for row in rows}


def _busy_intervals(
    patient_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, list[tuple[int, datetime, datetime]]]:
    """Each patient's seats in scheduled sessions overlapping [start, end): (session, from, to)."""
    busy: dict[int, list[tuple[int, datetime, datetime]]] = defaultdict(list)
    rows = Booking.objects.filter(
        patient_id__in=list(patient_ids),
        status__in=SEAT_STATUSES,
        session__status=SessionStatus.SCHEDULED,
        session__starts_at__lt=end,
        session__ends_at__gt=start,
    ).values_list("patient_id", "session_id", "session__starts_at", "session__ends_at")
    for patient_id, session_id, starts_at, ends_at in rows:
        busy[patient_id].append((session_id, starts_at, ends_at))
    return busy


def _overlaps(
    intervals: list[tuple[int, datetime, datetime]], session: Session
) -> tuple[int, datetime, datetime] | None:
    for interval in intervals:
        other_id, starts_at, ends_at = interval
        if other_id != session.pk and starts_at < session.ends_at and ends_at > session.starts_at:
            return interval
    return None


def _place(
    *,
    sessions: list[Session],
    enrollments: list[Enrollment],
    kind: str,
) -> tuple[int, list[str]]:
    """Book each enrollment's patient into each session; capacity and overlaps respected.

    Constant number of queries: seats, existing rows and busy intervals are read once.
    """
    if not sessions or not enrollments:
        return 0, []
    _lock_sessions(s.pk for s in sessions)
    session_ids = [s.pk for s in sessions]
    patient_ids = [e.patient_id for e in enrollments]
    seats = _seats_taken(session_ids)
    existing = {
        (b.session_id, b.patient_id): b
        for b in Booking.objects.filter(session_id__in=session_ids, patient_id__in=patient_ids)
    }
    start = min(s.starts_at for s in sessions)
    end = max(s.ends_at for s in sessions)
    busy = _busy_intervals(patient_ids, start, end)
    new: list[Booking] = []
    revived: list[Booking] = []
    skipped: list[str] = []
    for session in sorted(sessions, key=lambda s: (s.starts_at, s.pk)):
        for enrollment in enrollments:
            row = existing.get((session.pk, enrollment.patient_id))
            if row is not None and row.status in SEAT_STATUSES:
                continue
            if seats.get(session.pk, 0) >= session.capacity:
                skipped.append(
                    f"{describe_slot(session)} is full ({session.capacity} of {session.capacity})."
                )
                continue
            clash = _overlaps(busy[enrollment.patient_id], session)
            if clash is not None:
                skipped.append(
                    f"{enrollment.patient.display_name} is already booked at another session"
                    f" overlapping {describe_slot(session)}."
                )
                continue
            if row is not None:
                # A seat given up earlier (cancelled booking): take it again.
                row.status = AttendanceStatus.BOOKED
                row.kind = kind
                row.enrollment = enrollment
                row.version += 1
                revived.append(row)
            else:
                new.append(
                    Booking(
                        session=session,
                        patient_id=enrollment.patient_id,
                        enrollment=enrollment,
                        kind=kind,
                        status=AttendanceStatus.BOOKED,
                    )
                )
            seats[session.pk] = seats.get(session.pk, 0) + 1
            busy[enrollment.patient_id].append((session.pk, session.starts_at, session.ends_at))
    # Bulk writes: one INSERT and one UPDATE whatever the number of seats; the database's
    # constraints (one row per patient and session) still hold.
    if new:
        Booking.objects.bulk_create(new)
    if revived:
        Booking.objects.bulk_update(revived, ["status", "kind", "enrollment", "version"])
    return len(new) + len(revived), skipped


@transaction.atomic
def book_enrollment_into_future_sessions(
    enrollment: Enrollment, *, from_moment: datetime | None = None
) -> BookingSummary:
    """Book the patient into the track's scheduled group sessions from admission (or now).

    Sessions already started are left alone. Full sessions and sessions overlapping another
    booking of the patient are skipped and reported in the summary, never silently dropped.
    """
    if enrollment.track_id is None or enrollment.status != EnrollmentStatus.ACTIVE:
        return BookingSummary()
    site = enrollment.patient.site
    admission_start, _ = day_bounds(enrollment.admitted_on, site.time_zone)
    start = max(admission_start, from_moment or timezone.now())
    sessions = list(
        Session.objects.filter(
            group_series__track_id=enrollment.track_id,
            kind=SessionKind.GROUP,
            status=SessionStatus.SCHEDULED,
            starts_at__gte=start,
        )
        .select_related("site")
        .order_by("starts_at", "pk")
    )
    booked, skipped = _place(sessions=sessions, enrollments=[enrollment], kind=BookingKind.TRACK)
    return BookingSummary(booked=booked, skipped=tuple(skipped))


@transaction.atomic
def book_active_track_enrollments(*, sessions: list[Session]) -> int:
    """Book every active enrollment of each session's track into it (for new sessions).

    Called by the series materializer. Respects capacity and patients' other bookings;
    enrollments admitted after the session's day are left out. Returns seats taken.
    """
    group_sessions = [
        s for s in sessions if s.kind == SessionKind.GROUP and s.status == SessionStatus.SCHEDULED
    ]
    if not group_sessions:
        return 0
    with_track = list(
        Session.objects.filter(pk__in=[s.pk for s in group_sessions])
        .exclude(group_series__track__isnull=True)
        .select_related("site", "group_series")
    )
    track_ids = {s.group_series.track_id for s in with_track}
    if not track_ids:
        return 0
    enrollments = list(
        Enrollment.objects.filter(track_id__in=track_ids, status=EnrollmentStatus.ACTIVE)
        .select_related("patient")
        .order_by("admitted_on", "pk")
    )
    by_track: dict[int, list[Enrollment]] = defaultdict(list)
    for enrollment in enrollments:
        by_track[enrollment.track_id].append(enrollment)  # type: ignore[index]
    total = 0
    # Group sessions by (track, admission cut-off) so each call is a constant set of queries.
    plans: dict[tuple[int, tuple[int, ...]], list[Session]] = defaultdict(list)
    for session in with_track:
        day = _local_day(session)
        eligible = tuple(
            e.pk for e in by_track[session.group_series.track_id] if e.admitted_on <= day
        )
        if eligible:
            plans[(session.group_series.track_id, eligible)].append(session)
    index = {e.pk: e for e in enrollments}
    for (_, eligible), planned in plans.items():
        booked, _skipped = _place(
            sessions=planned, enrollments=[index[pk] for pk in eligible], kind=BookingKind.TRACK
        )
        total += booked
    return total


def _local_day(session: Session) -> date:
    return session.starts_at.astimezone(zone(session.site.time_zone)).date()


@transaction.atomic
def cancel_future_bookings(
    *,
    patient: Patient,
    after: datetime,
    reason: str,
    kinds: Iterable[str] | None = None,
    enrollment: Enrollment | None = None,
) -> int:
    """Give up the patient's seats (status "booked") in sessions starting at or after ``after``.

    Recorded attendance is never touched. An individual session whose patient's booking is
    cancelled is cancelled too, which frees the therapist and the room.
    """
    bookings = Booking.objects.filter(
        patient=patient,
        status=AttendanceStatus.BOOKED,
        session__starts_at__gte=after,
        session__status=SessionStatus.SCHEDULED,
    )
    if kinds is not None:
        bookings = bookings.filter(kind__in=list(kinds))
    if enrollment is not None:
        bookings = bookings.filter(enrollment=enrollment)
    rows = list(bookings.values_list("pk", "session_id", "session__kind"))
    if not rows:
        return 0
    Booking.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
        status=AttendanceStatus.CANCELLED, version=F("version") + 1
    )
    individual = [sid for _, sid, kind in rows if kind == SessionKind.INDIVIDUAL]
    if individual:
        Session.objects.filter(pk__in=individual).update(
            status=SessionStatus.CANCELLED, cancel_reason=reason[:300], cancelled_at=timezone.now()
        )
    return len(rows)


def _active_enrollment(patient: Patient) -> Enrollment:
    enrollment = (
        Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE)
        .select_related("track")
        .first()
    )
    if enrollment is None:
        raise ValidationError(
            {"patient_id": [f"{patient.display_name} has no active enrollment; admit them first."]}
        )
    return enrollment


@transaction.atomic
def book_drop_in(
    *, session: Session, patient: Patient, by: User, request: HttpRequest | None = None
) -> Booking:
    """An extra group for an enrolled patient, when the group has a free seat."""
    lock_for_booking(patient_ids=[patient.pk])
    _lock_sessions([session.pk])
    session = Session.objects.select_related("site").get(pk=session.pk)
    if session.kind != SessionKind.GROUP:
        raise ValidationError({"session": ["Drop-ins are for group sessions."]})
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError({"session": [f"{describe_slot(session)} is cancelled."]})
    if session.site_id != patient.site_id:
        raise ValidationError({"patient_id": ["The patient is registered at another site."]})
    if session.ends_at <= timezone.now():
        raise ValidationError({"session": [f"{describe_slot(session)} is over."]})
    enrollment = _active_enrollment(patient)
    if _local_day(session) < enrollment.admitted_on:
        raise ValidationError(
            {"session": [f"The session is before the admission on {enrollment.admitted_on}."]}
        )
    row = Booking.objects.filter(session=session, patient=patient).first()
    if row is not None and row.status in SEAT_STATUSES:
        raise BookingConflict(
            f"{patient.display_name} is already booked in {describe_slot(session)}."
        )
    taken = _seats_taken([session.pk]).get(session.pk, 0)
    if taken >= session.capacity:
        start = session.starts_at.astimezone(zone(session.site.time_zone))
        raise BookingConflict(
            f"“{session.title}” on {describe_day(start)} is full ({taken} of {session.capacity})."
        )
    messages = find_conflicts(
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        facilitator_id=None,
        room_id=None,
        patient_ids=[patient.pk],
        exclude_session_ids=[session.pk],
    )
    if messages:
        raise BookingConflict(" ".join(messages))
    if row is None:
        row = Booking(session=session, patient=patient)
    else:
        row.version += 1
    row.enrollment = enrollment
    row.kind = BookingKind.DROP_IN
    row.status = AttendanceStatus.BOOKED
    row.full_clean(validate_unique=False, validate_constraints=False)
    row.save()
    _audit(
        request=request,
        by=by,
        patient=patient,
        action=Action.CREATE,
        object_type="booking",
        object_id=row.pk,
        detail=f"Drop-in: {describe_slot(session)}",
    )
    return row


def _check_clinician(user: User, *, site_id: int, field: str) -> None:
    ok = (
        user.is_active
        and Membership.objects.filter(
            user=user, site_id=site_id, role__in=INDIVIDUAL_ROLES
        ).exists()
    )
    if not ok:
        raise ValidationError({field: [f"{user.display_name} is not a clinician at this site."]})


def _check_room(room: Room | None, *, site_id: int) -> None:
    if room is not None and (room.site_id != site_id or not room.is_active):
        raise ValidationError({"room_id": [f"{room.name} is not an active room at this site."]})


@transaction.atomic
def book_individual_session(
    *,
    patient: Patient,
    therapist: User,
    starts_at: datetime,
    duration_minutes: int,
    room: Room | None = None,
    by: User,
    request: HttpRequest | None = None,
) -> Session:
    """One individual therapy session; a double-booking of anyone involved is refused."""
    if timezone.is_naive(starts_at):
        raise ValidationError({"starts_at": ["Give the time with its UTC offset."]})
    if not 15 <= duration_minutes <= 180:
        raise ValidationError({"duration_minutes": ["A session lasts 15 to 180 minutes."]})
    if starts_at <= timezone.now():
        raise ValidationError({"starts_at": ["The session must start in the future."]})
    _check_clinician(therapist, site_id=patient.site_id, field="therapist_id")
    _check_room(room, site_id=patient.site_id)
    enrollment = _active_enrollment(patient)
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    lock_for_booking(
        facilitator_id=therapist.pk, room_id=room.pk if room else None, patient_ids=[patient.pk]
    )
    messages = find_conflicts(
        starts_at=starts_at,
        ends_at=ends_at,
        facilitator_id=therapist.pk,
        room_id=room.pk if room else None,
        patient_ids=[patient.pk],
    )
    if messages:
        raise BookingConflict(" ".join(messages))
    session = Session(
        site=patient.site,
        kind=SessionKind.INDIVIDUAL,
        title=INDIVIDUAL_TITLE,
        starts_at=starts_at,
        ends_at=ends_at,
        duration_minutes=duration_minutes,
        facilitator=therapist,
        room=room,
        capacity=1,
    )
    session.full_clean()
    session.save()
    booking = Booking(
        session=session, patient=patient, enrollment=enrollment, kind=BookingKind.INDIVIDUAL
    )
    booking.full_clean(validate_unique=False, validate_constraints=False)
    booking.save()
    _audit(
        request=request,
        by=by,
        patient=patient,
        action=Action.CREATE,
        object_type="session",
        object_id=session.pk,
        detail=f"Individual session with {therapist.display_name}: {describe_slot(session)}",
    )
    return session


def _occurrences(series: IndividualSeries, *, first: date, until: date) -> list[date]:
    """Days of the series from ``first`` (inclusive) to ``until`` (exclusive)."""
    offset = (series.weekday - series.starts_on.weekday()) % 7
    day = series.starts_on + timedelta(days=offset)
    step = timedelta(weeks=series.interval_weeks)
    days: list[date] = []
    while day < until:
        if day >= first and (series.ends_on is None or day <= series.ends_on):
            days.append(day)
        day += step
    return days


@transaction.atomic
def materialize_individual_series(
    series: IndividualSeries, *, weeks: int = INDIVIDUAL_HORIZON_WEEKS
) -> BookingSummary:
    """Create the series' sessions (and bookings) for the next ``weeks``; idempotent.

    Occurrences already created are kept; occurrences that would double-book the therapist,
    the room or the patient are skipped and named in the summary.
    """
    series = IndividualSeries.objects.select_related(
        "enrollment__patient__site", "therapist", "room"
    ).get(pk=series.pk)
    enrollment = series.enrollment
    patient = enrollment.patient
    if not series.is_active or enrollment.status != EnrollmentStatus.ACTIVE:
        return BookingSummary()
    tz_name = patient.site.time_zone
    today = local_today(tz_name)
    now = timezone.now()
    lock_for_booking(
        facilitator_id=series.therapist_id, room_id=series.room_id, patient_ids=[patient.pk]
    )
    existing = set(
        Session.objects.filter(individual_series=series).values_list("starts_at", flat=True)
    )
    booked = 0
    skipped: list[str] = []
    # At most one occurrence a week over the horizon: a bounded number of queries.
    for day in _occurrences(series, first=today, until=today + timedelta(weeks=weeks)):
        starts_at = at_local(day, series.start_time, tz_name)
        if starts_at <= now or starts_at in existing:
            continue
        ends_at = starts_at + timedelta(minutes=series.duration_minutes)
        messages = find_conflicts(
            starts_at=starts_at,
            ends_at=ends_at,
            facilitator_id=series.therapist_id,
            room_id=series.room_id,
            patient_ids=[patient.pk],
        )
        if messages:
            skipped.extend(messages)
            continue
        session = Session(
            site=patient.site,
            kind=SessionKind.INDIVIDUAL,
            individual_series=series,
            title=INDIVIDUAL_TITLE,
            starts_at=starts_at,
            ends_at=ends_at,
            duration_minutes=series.duration_minutes,
            facilitator=series.therapist,
            room=series.room,
            capacity=1,
        )
        session.full_clean(validate_unique=False, validate_constraints=False)
        session.save()
        Booking.objects.create(
            session=session,
            patient=patient,
            enrollment=enrollment,
            kind=BookingKind.INDIVIDUAL,
        )
        booked += 1
    return BookingSummary(booked=booked, skipped=tuple(skipped))


@transaction.atomic
def end_individual_series(
    *, enrollment: Enrollment, ends_on: date, after: datetime, reason: str
) -> int:
    """Stop the enrollment's recurring individual therapy; cancel its sessions from ``after``."""
    series_ids = list(
        IndividualSeries.objects.filter(enrollment=enrollment, is_active=True).values_list(
            "pk", flat=True
        )
    )
    if not series_ids:
        return 0
    for series in IndividualSeries.objects.filter(pk__in=series_ids):
        series.is_active = False
        series.ends_on = max(ends_on, series.starts_on)
        series.save(update_fields=["is_active", "ends_on"])
    cancelled = Booking.objects.filter(
        session__individual_series_id__in=series_ids,
        status=AttendanceStatus.BOOKED,
        session__starts_at__gte=after,
        session__status=SessionStatus.SCHEDULED,
    )
    session_ids = list(cancelled.values_list("session_id", flat=True))
    cancelled.update(status=AttendanceStatus.CANCELLED, version=F("version") + 1)
    Session.objects.filter(pk__in=session_ids).update(
        status=SessionStatus.CANCELLED, cancel_reason=reason[:300], cancelled_at=timezone.now()
    )
    return len(session_ids)


@transaction.atomic
def schedule_individual_series(
    *,
    enrollment: Enrollment,
    weekday: int,
    start_time: time,
    duration_minutes: int = 50,
    room: Room | None = None,
    by: User,
    request: HttpRequest | None = None,
) -> tuple[IndividualSeries, BookingSummary]:
    """Set the recurring individual slot and report what was booked and skipped."""
    enrollment = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("patient__site", "primary_therapist")
        .get(pk=enrollment.pk)
    )
    patient = enrollment.patient
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise ValidationError({"enrollment": ["This enrollment is closed."]})
    therapist = enrollment.primary_therapist
    if therapist is None:
        raise ValidationError(
            {"primary_therapist": ["Choose the patient's primary therapist first."]}
        )
    interval = INTERVAL_OF_CADENCE.get(enrollment.individual_cadence)
    if interval is None:
        raise ValidationError(
            {"individual_cadence": ["The enrollment has no individual-therapy cadence."]}
        )
    if not 0 <= weekday <= 6:
        raise ValidationError({"weekday": ["Choose a day of the week."]})
    if not 15 <= duration_minutes <= 180:
        raise ValidationError({"duration_minutes": ["A session lasts 15 to 180 minutes."]})
    _check_clinician(therapist, site_id=patient.site_id, field="primary_therapist")
    _check_room(room, site_id=patient.site_id)
    today = local_today(patient.site.time_zone)
    end_individual_series(
        enrollment=enrollment,
        ends_on=today,
        after=timezone.now(),
        reason="Individual therapy moved to a new time.",
    )
    series = IndividualSeries(
        enrollment=enrollment,
        therapist=therapist,
        weekday=weekday,
        start_time=start_time,
        duration_minutes=duration_minutes,
        interval_weeks=interval,
        room=room,
        starts_on=max(today, enrollment.admitted_on),
    )
    series.full_clean()
    series.save()
    summary = materialize_individual_series(series)
    _audit(
        request=request,
        by=by,
        patient=patient,
        action=Action.CREATE,
        object_type="individual_series",
        object_id=series.pk,
        detail=(
            f"Individual therapy with {therapist.display_name} every"
            f" {'week' if interval == 1 else 'two weeks'}; {summary.booked} booked,"
            f" {len(summary.skipped)} skipped"
        ),
    )
    return series, summary


def set_individual_schedule(
    *,
    enrollment: Enrollment,
    weekday: int,
    start_time: time,
    duration_minutes: int = 50,
    room: Room | None = None,
    by: User,
    request: HttpRequest | None = None,
) -> IndividualSeries:
    """Recurring individual therapy with the primary therapist on the enrollment's cadence.

    Weekly → every week, biweekly → every other week; materialized eight weeks ahead.
    Conflicting occurrences are skipped (``schedule_individual_series`` reports them).
    """
    series, _summary = schedule_individual_series(
        enrollment=enrollment,
        weekday=weekday,
        start_time=start_time,
        duration_minutes=duration_minutes,
        room=room,
        by=by,
        request=request,
    )
    return series


def day_start_after(day: date, time_zone: str) -> datetime:
    """The first instant after local ``day`` ends (next midnight at the site)."""
    return day_bounds(day, time_zone)[1]


def booking_cutoff(day: date, time_zone: str) -> datetime:
    """From when a change effective on ``day`` applies: now if it is today, else its start."""
    if day == local_today(time_zone):
        return timezone.now()
    return day_bounds(day, time_zone)[0]


__all__ = [
    "BookingConflict",
    "BookingSummary",
    "book_active_track_enrollments",
    "book_drop_in",
    "book_enrollment_into_future_sessions",
    "book_individual_session",
    "booking_cutoff",
    "cancel_future_bookings",
    "day_start_after",
    "end_individual_series",
    "materialize_individual_series",
    "schedule_individual_series",
    "set_individual_schedule",
]
