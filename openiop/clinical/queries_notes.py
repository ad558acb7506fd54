"""Read-only queries behind the note pages, the chart's notes section and the worklist.

Every function runs a fixed number of queries whatever the number of rows. Callers reach the
patient or the note through the access helpers first; these only shape what is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from openiop.clinical.models import Addendum, Cosignature, Note, NoteKind, NoteStatus
from openiop.programs.models import Program
from openiop.scheduling.models import (
    ATTENDED_STATUSES,
    AttendanceStatus,
    Booking,
    Session,
    SessionKind,
    SessionStatus,
)

if TYPE_CHECKING:
    from openiop.accounts.models import Site, User
    from openiop.patients.models import Patient

# Program.note_unsigned_hours' default, for sessions no program can be traced from.
DEFAULT_UNSIGNED_HOURS = 24
# Rows per worklist section; the counts above each section are exact.
WORKLIST_ROWS = 25
# Bookings that need a note written: the patient came (or attendance was not taken).
NOTE_WORTHY_INDIVIDUAL = (AttendanceStatus.BOOKED, *ATTENDED_STATUSES)
# A group note covers every booked patient, absences included (DOMAIN.md §6).
NOT_BOOKED = (AttendanceStatus.CANCELLED, AttendanceStatus.CANCELLED_BY_CLINIC)


def with_badges(notes: QuerySet[Note]) -> QuerySet[Note]:
    """Annotate ``addenda_count`` and ``is_cosigned`` in SQL (no per-row query)."""
    addenda = (
        Addendum.objects.filter(note=OuterRef("pk"))
        .order_by()
        .values("note")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return notes.annotate(
        addenda_count=Coalesce(Subquery(addenda, output_field=IntegerField()), Value(0)),
        is_cosigned=Exists(Cosignature.objects.filter(note=OuterRef("pk"))),
    )


def patient_notes(patient: Patient) -> QuerySet[Note]:
    """The notes in ``patient``'s chart, newest session first: individual notes and their
    own notes of group sessions (never the facilitator's group note, which names others)."""
    return with_badges(
        Note.objects.filter(
            patient=patient, kind__in=(NoteKind.INDIVIDUAL, NoteKind.GROUP_MEMBER)
        ).select_related("session", "author", "signed_by")
    ).order_by("-started_at", "-pk")


def unsigned_hours(session_path: str = "") -> Coalesce:
    """How many hours after a session its note may stay unsigned, as an SQL expression.

    The strictest program among the session's booked patients; else the program of its
    individual series or its group series' track; else the default. ``session_path`` is the
    lookup from the queried model to the session ("" on Session, "session__" on Note).
    """
    session_ref = f"{session_path}pk" if session_path else "pk"
    strictest = (
        Booking.objects.filter(session=OuterRef(session_ref), enrollment__isnull=False)
        .order_by("enrollment__program__note_unsigned_hours")
        .values("enrollment__program__note_unsigned_hours")[:1]
    )
    return Coalesce(
        Subquery(strictest, output_field=IntegerField()),
        F(f"{session_path}individual_series__enrollment__program__note_unsigned_hours"),
        F(f"{session_path}group_series__track__program__note_unsigned_hours"),
        Value(DEFAULT_UNSIGNED_HOURS),
        output_field=IntegerField(),
    )


def _overdue_q(session_path: str, now: datetime, hours_values: set[int]) -> Q:
    """Sessions that ended more than their ``unsigned_hours`` ago (annotated as
    ``unsigned_hours``). The hours are few distinct values per site, so the deadline is an
    OR of plain comparisons that every database runs alike (no interval arithmetic)."""
    return reduce(
        or_,
        (
            Q(unsigned_hours=h, **{f"{session_path}ends_at__lte": now - timedelta(hours=h)})
            for h in sorted(hours_values)
        ),
    )


def hours_in_use() -> set[int]:
    """Every deadline any program uses (a handful of values; one query)."""
    return {
        DEFAULT_UNSIGNED_HOURS,
        *Program.objects.order_by().values_list("note_unsigned_hours", flat=True).distinct(),
    }


def deadline(ended_at: datetime, hours: int) -> datetime:
    """When a session's note becomes overdue."""
    return ended_at + timedelta(hours=hours)


def is_overdue(ended_at: datetime, hours: int, now: datetime) -> bool:
    """Whether a note that is still unsigned at ``now`` is past the program's deadline."""
    return now >= deadline(ended_at, hours)


def sessions_needing_notes(user: User, site: Site, now: datetime) -> QuerySet[Session]:
    """Sessions ``user`` ran at ``site`` that have begun and have no note yet: individual
    sessions the patient came to, group sessions with anyone booked. Annotated with
    ``unsigned_hours`` and, for individual sessions, ``patient_id``."""
    individual_booking = Booking.objects.filter(
        session=OuterRef("pk"), status__in=NOTE_WORTHY_INDIVIDUAL
    ).order_by("pk")
    group_booking = Booking.objects.filter(session=OuterRef("pk")).exclude(status__in=NOT_BOOKED)
    return (
        Session.objects.filter(
            site=site,
            facilitator=user,
            starts_at__lte=now,
            kind__in=(SessionKind.INDIVIDUAL, SessionKind.GROUP),
        )
        .exclude(status=SessionStatus.CANCELLED)
        .filter(
            (Q(kind=SessionKind.INDIVIDUAL) & Exists(individual_booking))
            | (Q(kind=SessionKind.GROUP) & Exists(group_booking))
        )
        .exclude(Exists(Note.objects.filter(session=OuterRef("pk"), group_note__isnull=True)))
        .annotate(
            unsigned_hours=unsigned_hours(),
            patient_id=Subquery(individual_booking.values("patient_id")[:1]),
        )
        .order_by("ends_at", "pk")
    )


@dataclass
class Section:
    """One list of the worklist: the rows shown and how many there are in all."""

    rows: list[Any]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def _section(queryset: QuerySet[Any], limit: int = WORKLIST_ROWS) -> Section:
    rows = list(queryset[:limit])
    total = len(rows) if len(rows) < limit else queryset.count()
    return Section(rows=rows, total=total)


@dataclass
class Worklist:
    overdue_sessions: Section
    waiting_sessions: Section
    overdue_drafts: Section
    drafts: Section
    cosign: Section | None
    now: datetime

    @property
    def overdue_total(self) -> int:
        return self.overdue_sessions.total + self.overdue_drafts.total

    @property
    def overdue_shown(self) -> int:
        return len(self.overdue_sessions.rows) + len(self.overdue_drafts.rows)


def worklist(user: User, site: Site, now: datetime, *, may_cosign: bool) -> Worklist:
    """The signed-in clinician's documentation to do at ``site``.

    Overdue: sessions they ran whose note is missing or still a draft more than the program's
    ``note_unsigned_hours`` after the session ended. Waiting: sessions without a note, not yet
    overdue. Drafts: their draft notes not yet overdue. Co-sign queue (supervisors only):
    signed notes awaiting a co-signature, their own supervisees' first.
    """
    hours = hours_in_use()
    overdue = _overdue_q("", now, hours)
    sessions = sessions_needing_notes(user, site, now).select_related("room")
    drafts = (
        with_badges(
            Note.objects.filter(
                site=site,
                author=user,
                status=NoteStatus.DRAFT,
                kind__in=(NoteKind.INDIVIDUAL, NoteKind.GROUP),
            )
        )
        .select_related("session", "patient")
        .annotate(unsigned_hours=unsigned_hours("session__"))
        .order_by("session__ends_at", "pk")
    )
    overdue_drafts = _overdue_q("session__", now, hours)
    cosign = None
    if may_cosign:
        cosign = _section(
            with_badges(
                Note.objects.filter(
                    site=site,
                    status=NoteStatus.SIGNED,
                    requires_cosign=True,
                    kind__in=(NoteKind.INDIVIDUAL, NoteKind.GROUP),
                )
            )
            .filter(is_cosigned=False)
            .exclude(author=user)
            .select_related("session", "patient", "author")
            .annotate(
                is_supervisee=Case(
                    When(author__supervisor=user, then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            )
            .order_by("-is_supervisee", "signed_at", "pk")
        )
    return Worklist(
        overdue_sessions=_section(sessions.filter(overdue)),
        waiting_sessions=_section(sessions.exclude(overdue)),
        overdue_drafts=_section(drafts.filter(overdue_drafts)),
        drafts=_section(drafts.exclude(overdue_drafts)),
        cosign=cosign,
        now=now,
    )


def patients_by_id(ids: set[int]) -> dict[int, Patient]:
    """Patients of the worklist's individual sessions (one query)."""
    from openiop.patients.models import Patient

    return {p.pk: p for p in Patient.objects.filter(pk__in=ids)} if ids else {}
