"""Double-booking checks: a facilitator, a room or a patient in two overlapping sessions.

``find_conflicts`` reads; ``lock_for_booking`` makes the read trustworthy. A caller that is
about to place someone in a session takes the locks first, inside its transaction, then asks
for conflicts, then writes — so two requests racing for the same facilitator, room or patient
queue on the row locks and the second one sees what the first one wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import Q

from openiop.accounts.models import User
from openiop.lib.dates import zone
from openiop.patients.models import Patient
from openiop.scheduling.models import SEAT_STATUSES, Booking, Room, Session, SessionStatus


def describe_slot(session: Session) -> str:
    """“CBT group” 09:00–10:30 on Mon Mar 2, in the session's site time zone."""
    tz = zone(session.site.time_zone)
    start = session.starts_at.astimezone(tz)
    end = session.ends_at.astimezone(tz)
    return f"“{session.title}” {start:%H:%M}–{end:%H:%M} on {describe_day(start)}"


def describe_day(moment: datetime) -> str:
    """Mon Mar 2 (no zero padding, no year: what a front desk says)."""
    return f"{moment:%a} {moment:%b} {moment.day}"


def find_conflicts(
    *,
    starts_at: datetime,
    ends_at: datetime,
    facilitator_id: int | None,
    room_id: int | None,
    patient_ids: Iterable[int] = (),
    exclude_session_ids: Iterable[int] = (),
) -> list[str]:
    """Human messages naming each scheduled session that overlaps [starts_at, ends_at).

    A facilitator leading another session, a room holding another session, or one of the
    patients holding a seat (booked or attended) in another session. Cancelled sessions and
    cancelled bookings free their slot. Two queries at most, whatever the data size.
    """
    patient_ids = sorted(set(patient_ids))
    excluded = list(set(exclude_session_ids))
    overlapping = Q(status=SessionStatus.SCHEDULED, starts_at__lt=ends_at, ends_at__gt=starts_at)
    messages: list[str] = []

    who_or_where = Q()
    if facilitator_id is not None:
        who_or_where |= Q(facilitator_id=facilitator_id)
    if room_id is not None:
        who_or_where |= Q(room_id=room_id)
    if who_or_where:
        sessions = (
            Session.objects.filter(overlapping & who_or_where)
            .exclude(pk__in=excluded)
            .select_related("site", "facilitator", "room")
            .order_by("starts_at", "pk")
        )
        for session in sessions:
            if facilitator_id is not None and session.facilitator_id == facilitator_id:
                name = session.facilitator.display_name
                messages.append(f"{name} already leads {describe_slot(session)}.")
            if room_id is not None and session.room_id == room_id:
                room = session.room.name if session.room else "The room"
                messages.append(f"{room} is already taken by {describe_slot(session)}.")

    if patient_ids:
        bookings = (
            Booking.objects.filter(
                patient_id__in=patient_ids,
                status__in=SEAT_STATUSES,
                session__status=SessionStatus.SCHEDULED,
                session__starts_at__lt=ends_at,
                session__ends_at__gt=starts_at,
            )
            .exclude(session_id__in=excluded)
            .select_related("patient", "session__site")
            .order_by("session__starts_at", "patient_id")
        )
        for booking in bookings:
            messages.append(
                f"{booking.patient.display_name} is already booked in"
                f" {describe_slot(booking.session)}."
            )
    return messages


def lock_for_booking(
    *,
    facilitator_id: int | None = None,
    room_id: int | None = None,
    patient_ids: Iterable[int] = (),
) -> None:
    """Lock the facilitator, room and patient rows until the caller's transaction ends.

    Always in the same order (users, rooms, patients; each by id) so two bookings that need
    overlapping sets of rows cannot deadlock. On SQLite there are no row locks: the project's
    IMMEDIATE transactions already take the database's write lock at BEGIN, which serializes
    every writer.
    """
    if not connection.features.has_select_for_update:
        return
    if facilitator_id is not None:
        list(User.objects.select_for_update().filter(pk=facilitator_id).values_list("pk"))
    if room_id is not None:
        list(Room.objects.select_for_update().filter(pk=room_id).values_list("pk"))
    ids = sorted(set(patient_ids))
    if ids:
        list(
            Patient.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk")
        )
