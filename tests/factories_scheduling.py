"""make_* helpers for sessions and bookings. Every person here is obviously fictional."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from openiop.accounts.models import Site, User
from openiop.patients.models import Patient
from openiop.scheduling.models import (
    AttendanceStatus,
    Booking,
    BookingKind,
    GroupType,
    Room,
    Session,
    SessionKind,
    SessionStatus,
)


def make_session(
    site: Site,
    facilitator: User,
    starts_at: datetime,
    duration_minutes: int = 180,
    *,
    title: str = "Relapse prevention group",
    group_type: str | GroupType | None = "relapse_prevention",
    room: Room | None = None,
    capacity: int = 12,
    kind: str = SessionKind.GROUP,
    status: str = SessionStatus.SCHEDULED,
    cancel_reason: str = "",
    **fields: Any,
) -> Session:
    """A one-off session (no series) starting at the aware instant ``starts_at``."""
    if isinstance(group_type, str):
        group_type = GroupType.objects.filter(code=group_type).first() or GroupType.objects.first()
    return Session.objects.create(
        site=site,
        kind=kind,
        group_type=group_type,
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=duration_minutes),
        duration_minutes=duration_minutes,
        facilitator=facilitator,
        room=room,
        capacity=capacity,
        status=status,
        cancel_reason=cancel_reason,
        **fields,
    )


def make_booking(
    session: Session,
    patient: Patient,
    *,
    kind: str = BookingKind.TRACK,
    status: str = AttendanceStatus.BOOKED,
    **fields: Any,
) -> Booking:
    """``patient`` booked into ``session`` (status "booked": nothing recorded yet)."""
    return Booking.objects.create(
        session=session, patient=patient, kind=kind, status=status, **fields
    )
