"""The day's random drug-screen selection and for-cause screens (issue 5 §2, DOMAIN.md §7).

``run_selection`` reads the pool once — patients with an active enrollment at the site who
hold a seat in a session there that local day —, their expected on-site days up to the end
of the day's ISO week and month (from their bookings), their policy (the program's phase on
that day) and the screens they already had this week and month; the pure core
(``selection.select_screens``, a cryptographically secure generator) decides; one
``ScreenSelection`` row stores the pool, the reasoning and who ran it, and one ``DrugScreen``
(reason random, status selected) is created per selected patient.

No leak ahead (issue 5: "nothing … reveals a future selection"): a selection is only ever
made for the site's current local day — or, from the command line, for a past day an
operator missed. A future day is refused, so no future selection exists to be shown, timed
or guessed.

Idempotent and safe on several servers: the selection row is unique per site and day. A run
that finds it returns it; two runs at once both compute, and the second's insert of the
selection row fails on the unique constraint (PostgreSQL makes it wait for the first to
commit) — it then returns the first's row, having written nothing. On SQLite the IMMEDIATE
transactions queue the runs, and the second finds the first's row.
"""

from __future__ import annotations

import getpass
import os
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from openiop.accounts.models import Site
from openiop.audit.models import Action
from openiop.audit.services import build_event, record_event, record_events
from openiop.lib.dates import day_bounds, local_today, zone
from openiop.programs.models import Enrollment, EnrollmentStatus
from openiop.scheduling.models import SEAT_STATUSES, Booking, Session, SessionStatus
from openiop.screening.defaults import DEFAULT_PHASES
from openiop.screening.models import (
    DrugScreen,
    ScreeningPhase,
    ScreenReason,
    ScreenSelection,
    ScreenStatus,
)
from openiop.screening.selection import (
    Candidate,
    ScreeningPolicy,
    month_end,
    select_screens,
    week_end,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User
    from openiop.patients.models import Patient

# Screens that count toward a period's minimum: called (not yet collected) or collected. A
# screen marked "not collected" was missed, so the patient still owes it.
COUNTING_STATUSES = (ScreenStatus.SELECTED, ScreenStatus.COLLECTED)
MAX_CAUSE_LENGTH = 300


class SelectionRefused(Exception):
    """The selection cannot be run for that day (a future day, or a past day from the web)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PhasePolicy(ScreeningPolicy):
    """The screening policy of a patient's phase of treatment on a day: the minimums of
    ``ScreeningPolicy`` plus the program's ``extra_chance`` and the phase it comes from."""

    extra_chance: float = 0.0
    label: str = ""
    from_day: int = 0


# --- Policy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Phase:
    from_day: int
    label: str
    per_week: int
    per_month: int
    extra_chance: Decimal


_DEFAULTS = tuple(
    _Phase(p.from_day, p.label, p.per_week, p.per_month, Decimal(p.extra_chance))
    for p in DEFAULT_PHASES
)


def policy_from(phases: Sequence[_Phase], admitted_on: date, day: date) -> PhasePolicy:
    """The phase in force ``day``: the last one whose ``from_day`` has been reached (public
    so the demo clinic's history applies the same policy as the service)."""
    elapsed = max(0, (day - admitted_on).days)
    ordered = sorted(phases or _DEFAULTS, key=lambda p: p.from_day)
    current = ordered[0]
    for phase in ordered:
        if phase.from_day <= elapsed:
            current = phase
    return PhasePolicy(
        per_week=current.per_week,
        per_month=current.per_month,
        extra_chance=float(current.extra_chance),
        label=current.label,
        from_day=current.from_day,
    )


def phases_of(program_ids: Iterable[int]) -> dict[int, list[_Phase]]:
    """Each program's ``ScreeningPhase`` rows, by program id (one query; also the demo's)."""
    found: dict[int, list[_Phase]] = defaultdict(list)
    rows = ScreeningPhase.objects.filter(program_id__in=list(program_ids)).values_list(
        "program_id", "from_day", "label", "per_week", "per_month", "extra_chance"
    )
    for program_id, from_day, label, per_week, per_month, extra in rows:
        found[program_id].append(_Phase(from_day, label, per_week, per_month, extra))
    return found


def policy_for(enrollment: Enrollment, day: date) -> PhasePolicy:
    """The screening policy of ``enrollment`` on ``day``: the program's phase reached by the
    days since admission (``ScreeningPhase`` rows), or the defaults of ``defaults.py`` when
    the program has none (day 0: 2 a week; day 30: 1 a week; day 90: 2 a month)."""
    phases = phases_of([enrollment.program_id]).get(enrollment.program_id, [])
    return policy_from(phases, enrollment.admitted_on, day)


# --- Who ran it ------------------------------------------------------------------------------


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (some containers)
        return f"uid {os.getuid()}"


def ran_by_label(by: User | None) -> str:
    """ "command line (alice)" for the operator's command, the user's name for the button."""
    if by is None:
        return f"command line ({_os_user()})"[:150]
    return (by.get_full_name() or by.get_username())[:150]


def _audit_screens(
    *,
    request: HttpRequest | None,
    by: User | None,
    label: str,
    site: Site,
    screens: list[DrugScreen],
    detail: str,
) -> None:
    """One CREATE event per new screen, with its patient, in one INSERT (a 2,000-patient
    site selects hundreds at once; ``record_event`` would cost a query each)."""
    record_events(
        build_event(
            request=request,
            actor=by,
            actor_username=label,
            site=site,
            action=Action.CREATE,
            object_type="drug_screen",
            object_id=screen.pk,
            patient_id=screen.patient_id,
            detail=detail,
        )
        for screen in screens
    )


# --- The day's selection ---------------------------------------------------------------------


def check_selection_day(site: Site, day: date, *, by: User | None) -> date:
    """``day`` if a selection may be run for it, else ``SelectionRefused``.

    Today (the site's local day) always; never a future day — a selection made ahead would
    exist before the patient arrives and could leak; a past day only from the command line
    (``by`` None), for an operator catching up a day the scheduled run missed.
    """
    today = local_today(site.time_zone)
    if day > today:
        raise SelectionRefused(
            f"{day.isoformat()} is after today ({today.isoformat()} at {site.name}): screens"
            " are selected on the day itself, never ahead, so that nobody can learn them early."
        )
    if day < today and by is not None:
        raise SelectionRefused(
            f"Screens can be selected here for today only ({today.isoformat()}); a missed past"
            " day is selected from the command line: openiop select-screens --date."
        )
    return day


@dataclass(frozen=True)
class PoolMember:
    """One patient in a day's selection pool, the input of ``decide`` (the demo builds these)."""

    patient_id: int
    enrollment_id: int
    policy: PhasePolicy
    on_site_days: frozenset[date]
    screens_this_week: int
    screens_this_month: int


def _build_pool(site: Site, day: date) -> tuple[list[PoolMember], list[int]]:
    """Today's pool (by patient id) and the patients skipped because already screened today.

    Five queries whatever the size of the site: active enrollments, the sessions and the
    bookings up to the end of the day's week and month, phases, and this week's and month's
    screens.
    """
    enrollments = list(
        Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE, program__site=site).values_list(
            "patient_id", "pk", "program_id", "admitted_on"
        )
    )
    if not enrollments:
        return [], []
    horizon = max(week_end(day), month_end(day))
    start, _ = day_bounds(day, site.time_zone)
    _, end = day_bounds(horizon, site.time_zone)
    # Sessions first (a few hundred), turned into local days here; then the bookings as
    # plain id pairs. Converting every booking's time in SQL costs a function call per row on
    # SQLite, which at 2,000 patients is most of the run.
    tz = zone(site.time_zone)
    sessions = Session.objects.filter(
        site=site, status=SessionStatus.SCHEDULED, starts_at__gte=start, starts_at__lt=end
    )
    session_day = {
        pk: timezone.localdate(starts_at, tz)
        for pk, starts_at in sessions.values_list("pk", "starts_at")
    }
    days_by_patient: dict[int, set[date]] = defaultdict(set)
    # Only the enrolled patients' days are used below; filtering on the enrollment here
    # would join two more tables for nothing (the session index finds the rows).
    rows = Booking.objects.filter(
        session__in=sessions.values("pk"), status__in=SEAT_STATUSES
    ).values_list("patient_id", "session_id")
    for patient_id, session_id in rows:
        local_day = session_day.get(session_id)
        if local_day is not None:  # a session that started between the two reads
            days_by_patient[patient_id].add(local_day)
    on_site = [row for row in enrollments if day in days_by_patient.get(row[0], ())]
    if not on_site:
        return [], []
    phases = phases_of({row[2] for row in on_site})
    monday = day - timedelta(days=day.weekday())
    first = day.replace(day=1)
    week_done: dict[int, int] = defaultdict(int)
    month_done: dict[int, int] = defaultdict(int)
    today_screened: set[int] = set()
    screens = DrugScreen.objects.filter(
        patient__enrollments__status=EnrollmentStatus.ACTIVE,
        patient__enrollments__program__site=site,
        selected_on__gte=min(monday, first),
        selected_on__lte=day,
        status__in=COUNTING_STATUSES,
    ).values_list("patient_id", "selected_on")
    for patient_id, selected_on in screens:
        if selected_on == day:
            today_screened.add(patient_id)
        if selected_on >= monday:
            week_done[patient_id] += 1
        if selected_on >= first:
            month_done[patient_id] += 1
    pool = []
    skipped = []
    for patient_id, enrollment_id, program_id, admitted_on in sorted(on_site):
        if patient_id in today_screened:
            # A for-cause screen ordered earlier today is today's specimen; a second one the
            # same day would tell nothing more.
            skipped.append(patient_id)
            continue
        pool.append(
            PoolMember(
                patient_id=patient_id,
                enrollment_id=enrollment_id,
                policy=policy_from(phases.get(program_id, []), admitted_on, day),
                on_site_days=frozenset(d for d in days_by_patient[patient_id] if d >= day),
                screens_this_week=week_done[patient_id],
                screens_this_month=month_done[patient_id],
            )
        )
    return pool, skipped


def decide(
    day: date, pool: list[PoolMember], rng: random.Random | None
) -> tuple[list[dict[str, Any]], list[int]]:
    """Run the pure core, one call per extra chance in the pool (it is a program setting);
    public so the demo clinic's history makes exactly the service's decisions."""
    by_chance: dict[float, list[PoolMember]] = defaultdict(list)
    for member in pool:
        by_chance[member.policy.extra_chance].append(member)
    members = {m.patient_id: m for m in pool}
    decisions: list[dict[str, Any]] = []
    for chance in sorted(by_chance):
        candidates = [
            Candidate(
                patient_id=m.patient_id,
                policy=ScreeningPolicy(per_week=m.policy.per_week, per_month=m.policy.per_month),
                on_site_days=m.on_site_days,
                screens_this_week=m.screens_this_week,
                screens_this_month=m.screens_this_month,
            )
            for m in by_chance[chance]
        ]
        record = select_screens(day, candidates, extra_chance=chance, rng=rng).as_record()
        for decision in record["decisions"]:
            member = members[int(decision["patient_id"])]
            decisions.append(
                {
                    **decision,
                    "enrollment_id": member.enrollment_id,
                    "phase": member.policy.label,
                    "per_week": member.policy.per_week,
                    "per_month": member.policy.per_month,
                    "extra_chance": chance,
                    "screens_this_week": member.screens_this_week,
                    "screens_this_month": member.screens_this_month,
                    "on_site_days": sorted(d.isoformat() for d in member.on_site_days),
                }
            )
    decisions.sort(key=lambda d: d["patient_id"])
    selected = [d["patient_id"] for d in decisions if d["selected"]]
    return decisions, selected


@transaction.atomic
def run_selection(
    site: Site,
    day: date,
    *,
    by: User | None = None,
    request: HttpRequest | None = None,
    rng: random.Random | None = None,
) -> ScreenSelection:
    """Select the patients to screen at ``site`` on ``day``; return the day's selection.

    Idempotent: the existing selection when the day already has one (whoever ran it).
    ``by`` is the user who pressed the button (``None``: the ``select-screens`` command).
    ``rng`` is for tests; the default is ``secrets.SystemRandom``. Raises
    ``SelectionRefused`` for a future day, and for a past day unless run from the command line.
    The returned row's ``was_created`` says whether this call made it.
    """
    check_selection_day(site, day, by=by)
    existing = ScreenSelection.objects.filter(site=site, day=day).first()
    if existing is not None:
        existing.was_created = False  # type: ignore[attr-defined]
        return existing
    pool, skipped = _build_pool(site, day)
    decisions, selected = decide(day, pool, rng)
    label = ran_by_label(by)
    selection = ScreenSelection(
        site=site,
        day=day,
        ran_at=timezone.now(),
        ran_by=by,
        ran_by_label=label,
        record={
            "day": day.isoformat(),
            "site_id": site.pk,
            "site": site.name,
            "ran_by": label,
            "generator": "secrets.SystemRandom" if rng is None else type(rng).__name__,
            "pool_size": len(pool),
            "selected": selected,
            "already_screened_today": skipped,
            "decisions": decisions,
        },
    )
    try:
        with transaction.atomic():
            selection.save()
    except IntegrityError:
        # Another server ran the same site and day at the same moment and committed first.
        existing = ScreenSelection.objects.get(site=site, day=day)
        existing.was_created = False  # type: ignore[attr-defined]
        return existing
    by_patient = {d["patient_id"]: d for d in decisions}
    screens = DrugScreen.objects.bulk_create(
        DrugScreen(
            site=site,
            patient_id=patient_id,
            enrollment_id=by_patient[patient_id]["enrollment_id"],
            selection=selection,
            reason=ScreenReason.RANDOM,
            status=ScreenStatus.SELECTED,
            selected_on=day,
            created_by_label=label,
        )
        for patient_id in selected
    )
    record_event(
        action=Action.CREATE,
        request=request,
        actor=by,
        actor_username=label if by is None else "",
        site=site,
        object_type="screen_selection",
        object_id=selection.pk,
        detail=(
            f"Random screen selection for {day.isoformat()}: {len(selected)} of"
            f" {len(pool)} patients on site selected"
            + (f"; {len(skipped)} already screened today" if skipped else "")
        ),
    )
    _audit_screens(
        request=request,
        by=by,
        label=label,
        site=site,
        screens=screens,
        detail=f"Random screen selected for {day.isoformat()} (selection #{selection.pk})",
    )
    selection.was_created = True  # type: ignore[attr-defined]
    return selection


# --- For cause -------------------------------------------------------------------------------


@transaction.atomic
def order_for_cause(
    patient: Patient,
    *,
    day: date,
    cause: str,
    by: User,
    request: HttpRequest | None = None,
) -> DrugScreen:
    """Call ``patient`` for a screen on ``day`` for a stated cause (e.g. "smelled of
    alcohol at check-in"). Counts toward the period's minimum like any screen.

    ``ValidationError`` naming the field for an empty or too long cause, for a day after the
    site's today (nothing is ordered ahead, as for random screens), and when the patient
    already has a screen to collect that day (one specimen answers both).
    """
    enrollment = (
        Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE)
        .select_related("program__site")
        .first()
    )
    site = enrollment.program.site if enrollment is not None else patient.site
    cause = (cause or "").strip()
    errors: dict[str, str] = {}
    if not cause:
        errors["cause"] = "Say why this screen is needed."
    elif len(cause) > MAX_CAUSE_LENGTH:
        errors["cause"] = f"Keep the reason under {MAX_CAUSE_LENGTH} characters."
    today = local_today(site.time_zone)
    if day > today:
        errors["day"] = (
            f"A screen is ordered for today ({today.isoformat()}) or an earlier day, never ahead."
        )
    pending = (
        DrugScreen.objects.filter(patient=patient, selected_on=day, status=ScreenStatus.SELECTED)
        .values_list("reason", flat=True)
        .first()
    )
    if pending is not None:
        # One specimen answers both: the reason for the call does not change the test.
        errors["patient"] = (
            f"{patient.display_name} is already called for a screen that day"
            f" ({ScreenReason(pending).label.lower()}); collect that one."
        )
    if errors:
        raise ValidationError(errors)
    screen = DrugScreen(
        site=site,
        patient=patient,
        enrollment=enrollment,
        reason=ScreenReason.FOR_CAUSE,
        cause=cause,
        status=ScreenStatus.SELECTED,
        selected_on=day,
        created_by_label=ran_by_label(by),
    )
    screen.save()
    record_event(
        action=Action.CREATE,
        request=request,
        actor=by,
        site=site,
        object_type="drug_screen",
        object_id=screen.pk,
        patient_id=patient.pk,
        detail=f"For-cause screen for {day.isoformat()}: {cause}",
    )
    return screen


# --- Reading the day -------------------------------------------------------------------------


def screens_on(site: Site, day: date) -> list[DrugScreen]:
    """The screens called at ``site`` for ``day`` with their patients, by name (one query)."""
    return list(
        DrugScreen.objects.filter(site=site, selected_on=day)
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "reason", "pk")
    )
