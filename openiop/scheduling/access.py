"""The door to sessions and their rosters.

A session belongs to a site; a request reaches it only where its role holds the permission
(on a web page: the site being worked at; over the API: every such site). Anything else is a
404, never a 403, so session ids cannot be probed. A roster lists patients, so reading one is
audited here (see ``audit_roster_view``).
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest

from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.lib.http import parse_pk
from openiop.patients.access import sites_for
from openiop.scheduling.models import ATTENDED_STATUSES, SEAT_STATUSES, Booking, Session


def visible_sessions(request: HttpRequest, permission: str = "schedule.view") -> QuerySet[Session]:
    """Sessions of the sites where this request's role holds ``permission``."""
    return Session.objects.filter(site__in=sites_for(request, permission))


def with_counts(sessions: QuerySet[Session]) -> QuerySet[Session]:
    """Annotate ``booked_count`` (seats held) and ``present_count`` (attended), in SQL."""
    return sessions.annotate(
        booked_count=Count("bookings", filter=Q(bookings__status__in=SEAT_STATUSES)),
        present_count=Count("bookings", filter=Q(bookings__status__in=ATTENDED_STATUSES)),
    )


def get_session_for_user(
    request: HttpRequest, session_id: int | str, *, permission: str = "schedule.view"
) -> Session:
    """The session ``session_id`` with its site, staff, room, group type and module, or 404."""
    pk = parse_pk(session_id, "session")
    session = (
        with_counts(visible_sessions(request, permission))
        .select_related("site", "facilitator", "room", "group_type", "curriculum_module")
        .filter(pk=pk)
        .first()
    )
    if session is None:
        # Denied attempts are audited (DESIGN.md §7); the event names only the id asked for.
        record_event(
            request=request,
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type="session",
            object_id=pk,
            detail=f"no visible session #{pk} for {permission}",
        )
        raise Http404("No such session.")
    return session


def roster_bookings(session: Session) -> list[Booking]:
    """Every booking of ``session`` with its patient, by last name (one query)."""
    return list(
        Booking.objects.filter(session=session)
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "pk")
    )


def audit_roster_view(request: HttpRequest, session: Session, bookings: list[Booking]) -> None:
    """Audit one read of a roster.

    One event per roster view (object_type "session_roster", object_id the session, the
    patient ids in the detail) rather than one VIEW event per patient shown: the group room
    tablet re-renders the roster all session long, and a dozen rows per load would bury the
    trail. Every write on the roster is audited per patient, with patient_id set, by the
    attendance services.
    """
    shown = ",".join(str(booking.patient_id) for booking in bookings)
    record_event(
        request=request,
        site=session.site,
        action=Action.VIEW,
        object_type="session_roster",
        object_id=session.pk,
        detail=f"Roster of {len(bookings)}: patients {shown}" if bookings else "Empty roster",
    )
