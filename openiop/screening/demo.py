"""Drug-screening history for the demo clinic: the random selection of every past clinic day,
the screens it called (collected, or not collected when the patient stayed away), their
results read against the medications of the day, and the alerts the unexpected ones raised.

Like the rest of the demo's history it is written straight into the tables, in bulk, the way
an import would; but every decision comes from the real pure cores, so the pages agree with
what the services would have done: each day's pool is the patients holding a seat that day
(their bookings), the draw is ``selection.select_screens`` through the selection service's
own decision step, validity is ``validity.classify_validity``, and the stored interpretation
is ``interpretation.interpret`` against the orders active on the collection day, in the JSON
shape ``services_screens`` stores. A few results are unexpected (an unexplained positive,
buprenorphine without its metabolite, a prescribed medicine missing, a dilute specimen with a
positive, alcohol at check-in); their alerts go to the primary therapist and the prescriber,
most reviewed and resolved, a couple still open. Today has no selection yet: the "Run today's
selection" button has work to do. Nothing exists for a day after today.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from openiop.accounts.demo import NORTHSIDE
from openiop.accounts.models import Site, User
from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.lib.dates import at_local, zone
from openiop.medications.catalog import get_medication
from openiop.medications.demo import (
    Course,
    MedicationHistory,
    build_demo_medications,
    order_first_vivitrol,
)
from openiop.medications.models import MedicationOrder
from openiop.medications.services import raise_overdue_injection_alerts
from openiop.programs.models import Enrollment, Program
from openiop.scheduling.models import (
    ATTENDED_STATUSES,
    AttendanceStatus,
    Booking,
    SessionStatus,
)
from openiop.screening.catalog import Method, Outcome, SpecimenType, Verdict, get_analyte
from openiop.screening.interpretation import ActiveMedication
from openiop.screening.models import (
    DrugScreen,
    Panel,
    PanelAnalyte,
    ScreeningPhase,
    ScreenReason,
    ScreenResult,
    ScreenSelection,
    ScreenStatus,
)
from openiop.screening.services_screens import (
    alert_detail,
    interpretation_record,
    is_as_needed,
    reading_severity,
    validity_bounds,
)
from openiop.screening.services_selection import (
    PoolMember,
    decide,
    phases_of,
    policy_from,
)
from openiop.screening.validity import SpecimenMeasurements, classify_validity

RAN_BY = "select-screens, scheduled (demo history)"
# What a 12-panel cup reads; the lab confirms (LC-MS/MS) what a cup cannot tell.
CUP = (
    "thc",
    "cocaine",
    "opiates",
    "oxycodone",
    "fentanyl",
    "amphetamines",
    "mdma",
    "benzodiazepines",
    "buprenorphine",
    "methadone",
    "eddp",
    "etg",
)
# PHP screens more often than the defaults (day 0: 2 a week) in its first weeks.
PHP_PHASES = [
    (0, "First three weeks", 3, 0, Decimal("0")),
    (21, "Stabilising", 2, 0, Decimal("0.100")),
]
ABSENT = {
    AttendanceStatus.EXCUSED: "Absent (excused)",
    AttendanceStatus.UNEXCUSED: "Absent: did not come in",
    AttendanceStatus.NO_SHOW: "Absent: no-show",
}
REVIEW_NOTES = {
    "cocaine": "Talked with the patient: used cocaine at a party on Saturday. Added a "
    "weekend plan to the relapse-prevention plan; screens stay at twice a week.",
    "spiked": "Met with the patient with the therapist: admitted adding a film to the cup. "
    "Now observed collections and weekly prescriber visits; dose unchanged.",
    "etg": "Patient disclosed two drinks the night before. Reviewed the craving plan; "
    "breath-alcohol at check-in for two weeks.",
    "thc": "Patient disclosed cannabis use to sleep. Discussed sleep hygiene; "
    "referred to the prescriber for the insomnia.",
    "relapse": "Discussed in individual therapy and at the team meeting: recommended a step up "
    "to PHP for more structure.",
}


@dataclass(frozen=True)
class ScreeningOutcome:
    selections: int
    screens: int
    unexpected: int


@dataclass
class Draft:
    """A screen being written: the row, its results, and how its story goes."""

    screen: DrugScreen
    day: date
    patient_id: int
    attended_at: datetime | None
    scenario: str = ""
    results: list[ScreenResult] = field(default_factory=list)
    final_at: datetime | None = None
    first_unexpected: dict[str, Any] | None = None
    first_unexpected_at: datetime | None = None


def build_demo_screening(*, rng: random.Random, now: datetime) -> ScreeningOutcome:
    """Write the demo's screening and medication history. Called once, inside the demo
    clinic's transaction, after the bookings and notes."""
    sites = {site.pk: site for site in Site.objects.all()}
    today_of = {pk: now.astimezone(zone(site.time_zone)).date() for pk, site in sites.items()}
    staff = {user.username: user for user in User.objects.filter(is_active=True)}
    _phases()
    history = build_demo_medications(rng=rng, today_of=today_of, staff=staff)
    world = _World.read(sites, today_of)
    planned = _for_cause_plan(rng, world, history)
    drafts, selections = _select(rng, world, planned, staff, history)
    panel = Panel.objects.get(is_default=True, specimen=SpecimenType.URINE)
    cutoffs = {
        row.analyte: (row.screen_cutoff, row.confirm_cutoff)
        for row in PanelAnalyte.objects.filter(panel=panel)
    }
    vivitrol_course = _scenarios(rng, drafts, history, world)
    orders_by_patient: dict[int, list[MedicationOrder]] = defaultdict(list)
    for order in history.orders:
        orders_by_patient[order.patient_id].append(order)
    bounds = validity_bounds()
    for draft in drafts:
        if draft.screen.status == ScreenStatus.COLLECTED:
            _collect(rng, draft, panel, cutoffs, orders_by_patient, bounds, now, world)
    ScreenSelection.objects.bulk_create(selections)
    for draft in drafts:
        draft.screen.selection_id = draft.screen.selection.pk if draft.screen.selection else None
    DrugScreen.objects.bulk_create([d.screen for d in drafts], batch_size=500)
    for draft in drafts:
        for row in draft.results:
            row.screen_id = draft.screen.pk
    ScreenResult.objects.bulk_create(
        [row for draft in drafts for row in draft.results], batch_size=1000
    )
    unexpected = [d for d in drafts if d.screen.verdict == Verdict.UNEXPECTED.value]
    _alerts(rng, unexpected, world, now)
    if vivitrol_course is not None:
        order_first_vivitrol(vivitrol_course, today=today_of[vivitrol_course.site_id], staff=staff)
    for site in sites.values():  # what this morning's injection-alerts run raised
        raise_overdue_injection_alerts(site, today_of[site.pk])
    return ScreeningOutcome(len(selections), len(drafts), len(unexpected))


def _phases() -> None:
    php = Program.objects.filter(name="Adult PHP").first()
    if php is None:
        return
    ScreeningPhase.objects.bulk_create(
        ScreeningPhase(
            program=php,
            from_day=from_day,
            label=label,
            per_week=per_week,
            per_month=per_month,
            extra_chance=extra,
        )
        for from_day, label, per_week, per_month, extra in PHP_PHASES
    )


@dataclass
class _World:
    """The bookings as the selection sees them, by site, day and patient."""

    sites: dict[int, Site]
    today_of: dict[int, date]
    seats: dict[tuple[int, int], set[date]]  # (site, patient) → days holding a seat
    pool_days: dict[int, dict[date, set[int]]]  # site → day → patients
    enrollment_on: dict[tuple[int, date], int]  # (patient, day) → the booking's enrollment
    arrived: dict[tuple[int, date], datetime]  # (patient, day) → first attended start
    missed: dict[tuple[int, date], str]  # (patient, day) → the first booking's status
    enrollments: dict[int, Enrollment]

    @classmethod
    def read(cls, sites: dict[int, Site], today_of: dict[int, date]) -> _World:
        seats: dict[tuple[int, int], set[date]] = defaultdict(set)
        pool_days: dict[int, dict[date, set[int]]] = defaultdict(lambda: defaultdict(set))
        enrollment_on: dict[tuple[int, date], int] = {}
        arrived: dict[tuple[int, date], datetime] = {}
        missed: dict[tuple[int, date], str] = {}
        rows = (
            Booking.objects.filter(session__status=SessionStatus.SCHEDULED)
            .exclude(status__in=[AttendanceStatus.CANCELLED, AttendanceStatus.CANCELLED_BY_CLINIC])
            .order_by("session__starts_at", "pk")
            .values_list(
                "patient_id", "enrollment_id", "status", "session__site_id", "session__starts_at"
            )
        )
        zones = {pk: zone(site.time_zone) for pk, site in sites.items()}
        for patient_id, enrollment_id, status, site_id, starts_at in rows:
            day = starts_at.astimezone(zones[site_id]).date()
            seats[(site_id, patient_id)].add(day)
            pool_days[site_id][day].add(patient_id)
            enrollment_on.setdefault((patient_id, day), enrollment_id)
            if status in ATTENDED_STATUSES:
                arrived.setdefault((patient_id, day), starts_at)
            else:
                missed.setdefault((patient_id, day), status)
        enrollments = {
            e.pk: e
            for e in Enrollment.objects.select_related(
                "program__site", "primary_therapist", "prescriber"
            )
        }
        return cls(sites, today_of, seats, pool_days, enrollment_on, arrived, missed, enrollments)

    def attended_days(self, patient_id: int, site_id: int, low: date, high: date) -> list[date]:
        return sorted(
            day
            for day in self.seats.get((site_id, patient_id), ())
            if low <= day <= high and (patient_id, day) in self.arrived
        )


def _for_cause_plan(
    rng: random.Random, world: _World, history: MedicationHistory
) -> dict[tuple[int, date], tuple[str, str]]:
    """For-cause screens ordered before the day's selection: (patient, day) → (cause, story)."""
    plan: dict[tuple[int, date], tuple[str, str]] = {}
    causes = [
        ("Smelled of alcohol at check-in", "etg", 15, 40),
        ("Returned after missing four days of groups", "", 10, 30),
        ("Recorded on arrival", "", 3, 20),
    ]
    candidates = sorted(
        (
            c
            for c in history.courses.values()
            if c.active and c.patient_id not in history.mat_patients
        ),
        key=lambda c: c.patient_id,
    )
    rng.shuffle(candidates)
    for cause, story, low, high in causes:
        for course in candidates:
            today = world.today_of[course.site_id]
            days = world.attended_days(
                course.patient_id,
                course.site_id,
                today - timedelta(days=high),
                today - timedelta(days=low),
            )
            if days:
                plan[(course.patient_id, rng.choice(days))] = (cause, story)
                candidates.remove(course)
                break
    return plan


def _select(
    rng: random.Random,
    world: _World,
    planned: dict[tuple[int, date], tuple[str, str]],
    staff: dict[str, User],
    history: MedicationHistory,
) -> tuple[list[Draft], list[ScreenSelection]]:
    """Replay each past clinic day's selection at each site, in order, on its real pool."""
    phases = phases_of({e.program_id for e in world.enrollments.values()})
    counted: dict[int, list[date]] = defaultdict(list)  # patient → days of counting screens
    drafts: list[Draft] = []
    selections: list[ScreenSelection] = []
    days = sorted({(day, site_id) for site_id, by_day in world.pool_days.items() for day in by_day})
    for day, site_id in days:
        site = world.sites[site_id]
        if day >= world.today_of[site_id]:
            continue  # today's selection is the button's to run; no day ahead ever has one
        patients = sorted(world.pool_days[site_id][day])
        monday = day - timedelta(days=day.weekday())
        first = day.replace(day=1)
        pool: list[PoolMember] = []
        skipped: list[int] = []
        for patient_id in patients:
            if (patient_id, day) in planned:
                skipped.append(patient_id)
                cause, story = planned[(patient_id, day)]
                screen = _screen(world, site, patient_id, day, ScreenReason.FOR_CAUSE, None)
                screen.cause = cause
                by = world.enrollments[screen.enrollment_id].primary_therapist
                screen.created_by_label = by.display_name if by else RAN_BY
                drafts.append(_draft(world, screen, story))
                if screen.status == ScreenStatus.COLLECTED:
                    counted[patient_id].append(day)
                continue
            enrollment = world.enrollments[world.enrollment_on[(patient_id, day)]]
            done = counted[patient_id]
            pool.append(
                PoolMember(
                    patient_id=patient_id,
                    enrollment_id=enrollment.pk,
                    policy=policy_from(
                        phases.get(enrollment.program_id, []), enrollment.admitted_on, day
                    ),
                    on_site_days=frozenset(
                        d for d in world.seats[(site_id, patient_id)] if d >= day
                    ),
                    screens_this_week=sum(1 for d in done if d >= monday),
                    screens_this_month=sum(1 for d in done if d >= first),
                )
            )
        if not pool and not skipped:
            continue
        decisions, selected = decide(day, pool, rng)
        selection = ScreenSelection(
            site=site,
            day=day,
            ran_at=at_local(day, time(7, 30), site.time_zone),
            ran_by=None,
            ran_by_label=RAN_BY,
            record={
                "day": day.isoformat(),
                "site_id": site.pk,
                "site": site.name,
                "ran_by": RAN_BY,
                "generator": "Random (the demo's seeded generator)",
                "pool_size": len(pool),
                "selected": selected,
                "already_screened_today": skipped,
                "decisions": decisions,
            },
        )
        selections.append(selection)
        for patient_id in selected:
            screen = _screen(world, site, patient_id, day, ScreenReason.RANDOM, selection)
            drafts.append(_draft(world, screen, ""))
            if screen.status == ScreenStatus.COLLECTED:
                counted[patient_id].append(day)
    return drafts, selections


def _screen(
    world: _World,
    site: Site,
    patient_id: int,
    day: date,
    reason: str,
    selection: ScreenSelection | None,
) -> DrugScreen:
    screen = DrugScreen(
        site=site,
        patient_id=patient_id,
        enrollment_id=world.enrollment_on[(patient_id, day)],
        selection=selection,
        reason=reason,
        selected_on=day,
        created_by_label=RAN_BY,
        version=1,
    )
    if (patient_id, day) in world.arrived:
        screen.status = ScreenStatus.COLLECTED
    else:
        screen.status = ScreenStatus.NOT_COLLECTED
        screen.not_collected_reason = ABSENT.get(
            world.missed.get((patient_id, day), ""), "Absent: did not come in"
        )
        screen.version = 2
    return screen


def _draft(world: _World, screen: DrugScreen, story: str) -> Draft:
    return Draft(
        screen=screen,
        day=screen.selected_on,
        patient_id=screen.patient_id,
        attended_at=world.arrived.get((screen.patient_id, screen.selected_on)),
        scenario=story,
    )


def _active(orders: list[MedicationOrder], day: date) -> list[MedicationOrder]:
    return [o for o in orders if o.started_on <= day and (o.ended_on is None or day <= o.ended_on)]


def _scenarios(
    rng: random.Random, drafts: list[Draft], history: MedicationHistory, world: _World
) -> Course | None:
    """Give a few collected random screens their unexpected story. Returns the patient
    whose oxycodone positive led to a Vivitrol order (first dose still to give)."""
    collected = [d for d in drafts if d.screen.status == ScreenStatus.COLLECTED and not d.scenario]
    used: set[int] = set()

    def today(draft: Draft) -> date:
        return world.today_of[draft.screen.site_id]

    def therapist(draft: Draft) -> str:
        enrollment = world.enrollments[draft.screen.enrollment_id]
        return enrollment.primary_therapist.username if enrollment.primary_therapist else ""

    def pick(story: str, low: int, high: int, *, who, prefer: str = "") -> Draft | None:
        found = [
            d
            for d in collected
            if d.patient_id not in used
            and today(d) - timedelta(days=high) <= d.day <= today(d) - timedelta(days=low)
            and who(d)
        ]
        preferred = [d for d in found if therapist(d) == prefer]
        found = preferred or found
        if not found:
            return None
        draft = rng.choice(found)
        draft.scenario = story
        used.add(draft.patient_id)
        return draft

    courses = history.courses
    bup = set(history.bup_patients)

    def plain(d: Draft) -> bool:
        course = courses[d.patient_id]
        return (
            course.active
            and d.patient_id not in history.mat_patients
            and not any(o.medication == "amphetamine_salts" for o in course.orders)
        )

    downtown = {pk for pk, site in world.sites.items() if site.name != NORTHSIDE}
    pick("cocaine", 20, 45, who=lambda d: plain(d) and d.screen.site_id in downtown)
    pick("spiked", 12, 30, who=lambda d: d.patient_id in bup)
    pick("missing", 2, 9, who=lambda d: d.patient_id in bup, prefer="theo")
    pick("dilute", 5, 20, who=lambda d: plain(d) and d.screen.site_id in downtown)
    oxy = pick(
        "oxycodone", 3, 6, who=lambda d: plain(d) and d.screen.site_id in downtown, prefer="theo"
    )
    pick("thc", 8, 40, who=lambda d: plain(d) and d.screen.site_id not in downtown)
    # The patients who stepped up to PHP: positives in the weeks before the move.
    for enrollment in world.enrollments.values():
        if enrollment.transfer_kind != "step_up" or enrollment.previous_id is None:
            continue
        before = world.enrollments[enrollment.previous_id]
        substance = "cocaine" if enrollment.patient_id % 2 else "etg"
        for draft in collected:
            if (
                draft.patient_id == enrollment.patient_id
                and not draft.scenario
                and before.discharged_on - timedelta(days=21) <= draft.day < before.discharged_on
                and rng.random() < 0.6
            ):
                draft.scenario = f"relapse:{substance}"
    # Now and then a cannabis positive, long reviewed, for patients without a medication.
    for draft in collected:
        if (
            not draft.scenario
            and plain(draft)
            and draft.day < today(draft) - timedelta(days=8)
            and rng.random() < 0.02
        ):
            draft.scenario = "relapse:thc"
    return courses[oxy.patient_id] if oxy is not None else None


def _cup_outcome(code: str, meds: list[ActiveMedication], rng: random.Random) -> Outcome:
    expecting = [m for m in meds if code in get_medication(m.code).expected]
    if not expecting:
        return Outcome.NEGATIVE
    if all(m.as_needed for m in expecting) and rng.random() < 0.5:
        return Outcome.NEGATIVE
    if all(get_medication(m.code).immunoassay_may_miss for m in expecting) and rng.random() < 0.4:
        return Outcome.NEGATIVE
    return Outcome.POSITIVE


def _collect(
    rng: random.Random,
    draft: Draft,
    panel: Panel,
    cutoffs: dict[str, tuple[Decimal | None, Decimal]],
    orders_by_patient: dict[int, list[MedicationOrder]],
    bounds: Any,
    now: datetime,
    world: _World,
) -> None:
    """Collection, validity, results and interpretation of a collected screen, as the
    services would have stored them (``record_screen`` then lab results)."""
    screen = draft.screen
    site = world.sites[screen.site_id]
    assert draft.attended_at is not None  # noqa: S101 - collected screens attended
    collected_at = min(draft.attended_at + timedelta(minutes=rng.randint(3, 40)), now)
    story = draft.scenario
    nurse = "nick" if site.name != NORTHSIDE else ""
    collector = world.enrollments[screen.enrollment_id].primary_therapist
    screen.collected_by = _user_named(world, nurse) or collector
    screen.collected_at = collected_at
    screen.panel = panel
    screen.specimen = SpecimenType.URINE.value
    screen.observed = screen.reason == ScreenReason.FOR_CAUSE
    prefix = "DT" if site.name != NORTHSIDE else "NS"
    suffix = "-C" if screen.reason == ScreenReason.FOR_CAUSE else ""
    screen.specimen_id = f"{prefix}-{draft.day:%y%m%d}-{screen.patient_id:04d}{suffix}"
    screen.temperature_c = Decimal(f"{rng.uniform(33.0, 36.4):.1f}")
    screen.temperature_read_minutes = Decimal(f"{rng.uniform(1.0, 3.5):.1f}")
    if story == "dilute":
        screen.creatinine_mg_dl = Decimal("14.20")
        screen.specific_gravity = Decimal("1.0024")
    else:
        screen.creatinine_mg_dl = Decimal(f"{rng.uniform(38, 210):.2f}")
        screen.specific_gravity = Decimal(f"{rng.uniform(1.006, 1.019):.4f}")
    screen.ph = Decimal(f"{rng.uniform(5.2, 7.4):.2f}")
    verdict = classify_validity(
        SpecimenMeasurements(
            SpecimenType.URINE,
            temperature_c=screen.temperature_c,
            temperature_read_after_minutes=screen.temperature_read_minutes,
            creatinine_mg_dl=screen.creatinine_mg_dl,
            specific_gravity=screen.specific_gravity,
            ph=screen.ph,
        ),
        bounds,
    )
    screen.validity = verdict.classification.value
    stored: dict[str, Any] = {
        "validity": {
            "class": verdict.classification.value,
            "reasons": list(verdict.reasons),
            "temperature_verified": verdict.temperature_verified,
            "checks_apply": verdict.checks_apply,
        }
    }
    day = collected_at.astimezone(zone(site.time_zone)).date()
    orders = _active(orders_by_patient.get(screen.patient_id, []), day)
    meds = [ActiveMedication(o.medication, is_as_needed(o.frequency)) for o in orders]
    outcomes = {code: _cup_outcome(code, meds, rng) for code in CUP}
    if story in ("cocaine", "relapse:cocaine"):
        outcomes["cocaine"] = Outcome.POSITIVE
    elif story in ("etg", "relapse:etg"):
        outcomes["etg"] = Outcome.POSITIVE
    elif story in ("dilute", "thc", "relapse:thc"):
        outcomes["thc"] = Outcome.POSITIVE
    elif story == "missing":
        outcomes["buprenorphine"] = Outcome.NEGATIVE
    elif story == "oxycodone":
        outcomes["oxycodone"] = Outcome.POSITIVE
    cup_at = collected_at + timedelta(minutes=rng.randint(4, 9))
    rows = [
        ScreenResult(
            analyte=code,
            method=Method.PRESUMPTIVE.value,
            result=outcomes[code].value,
            value=None,
            cutoff=cutoffs[code][0] if code in cutoffs else get_analyte(code).screen_cutoff,
            source="manual",
            entered_at=cup_at,
        )
        for code in CUP
    ]
    stages: list[tuple[datetime, list[ScreenResult]]] = [(cup_at, list(rows))]
    lab_at = collected_at + timedelta(days=2, hours=rng.randint(1, 6))
    lab: list[tuple[str, Outcome, str]] = []
    if story == "cocaine":
        lab = [("cocaine", Outcome.POSITIVE, "1240")]
    elif story == "spiked":
        lab = [
            ("buprenorphine", Outcome.POSITIVE, "612"),
            ("norbuprenorphine", Outcome.NEGATIVE, "1.1"),
        ]
    if lab and lab_at < now:
        confirm = [
            ScreenResult(
                analyte=code,
                method=Method.CONFIRMATORY.value,
                result=result.value,
                value=Decimal(value),
                cutoff=cutoffs[code][1] if code in cutoffs else get_analyte(code).confirm_cutoff,
                source="lab_csv",
                entered_at=lab_at,
            )
            for code, result, value in lab
        ]
        rows.extend(confirm)
        stages.append((lab_at, list(rows)))
    screen.version = 2  # the collection
    for at, stage_rows in stages:
        screen.version += 1
        stored = interpretation_record(stored, stage_rows, meds, screen.validity, at=at)
        if stored["verdict"] == Verdict.UNEXPECTED.value and draft.first_unexpected is None:
            draft.first_unexpected = dict(stored)
            draft.first_unexpected_at = at
            if story == "cocaine" and len(stages) > 1:
                # The prescriber sent the cup's specimen to the lab for confirmation.
                prescriber = world.enrollments[screen.enrollment_id].prescriber
                if prescriber is not None:
                    stored["confirmation_order"] = {
                        "analytes": list(stored["confirmation_needed"]),
                        "ordered_at": (at + timedelta(hours=1)).isoformat(),
                        "ordered_by_id": prescriber.pk,
                        "ordered_by": prescriber.display_name,
                    }
                    screen.version += 1
        draft.final_at = at
    screen.interpretation = stored
    screen.verdict = stored["verdict"]
    draft.results = rows


def _user_named(world: _World, username: str) -> User | None:
    if not username:
        return None
    for enrollment in world.enrollments.values():
        for user in (enrollment.prescriber, enrollment.primary_therapist):
            if user is not None and user.username == username:
                return user
    return User.objects.filter(username=username).first()


def _alerts(rng: random.Random, unexpected: list[Draft], world: _World, now: datetime) -> None:
    """The alerts each unexpected screen raised, and what became of them: older ones reviewed
    and resolved; the missing medicine, the oxycodone positive and the dilute specimen still
    waiting (the last one seen by the therapist)."""
    rows: list[Alert] = []
    reviewed: list[DrugScreen] = []
    for draft in unexpected:
        screen = draft.screen
        enrollment = world.enrollments[screen.enrollment_id]
        people: list[User] = []
        for user in (enrollment.primary_therapist, enrollment.prescriber):
            if user is not None and user not in people:
                people.append(user)
        if not people or draft.first_unexpected is None or draft.first_unexpected_at is None:
            continue
        site = world.sites[screen.site_id]
        day = screen.collected_at.astimezone(zone(site.time_zone)).date()
        created = draft.first_unexpected_at
        story = draft.scenario.split(":")[-1]
        waiting = draft.scenario in ("missing", "oxycodone", "dilute")
        review_at = min((draft.final_at or created) + timedelta(hours=rng.randint(2, 26)), now)
        reviewer = people[0] if draft.scenario != "spiked" else people[-1]
        note = REVIEW_NOTES.get(
            "relapse" if draft.scenario.startswith("relapse:") and story != "thc" else story,
            REVIEW_NOTES["thc"],
        )
        if not waiting:
            stored = dict(screen.interpretation)
            stored["reviews"] = [
                {
                    "at": review_at.isoformat(),
                    "by_id": reviewer.pk,
                    "by": reviewer.display_name,
                    "note": note,
                }
            ]
            screen.interpretation = stored
            screen.reviewed_at = review_at
            screen.reviewed_by = reviewer
            screen.version += 1
            reviewed.append(screen)
        for user in people:
            alert = Alert(
                site=site,
                patient_id=screen.patient_id,
                kind=AlertKind.UNEXPECTED_SCREEN,
                severity=reading_severity(screen, draft.first_unexpected),
                title=f"Unexpected drug screen of {day:%b} {day.day}",
                detail=alert_detail(draft.first_unexpected),
                evidence_type="drug_screen",
                evidence_id=screen.pk,
                assignee=user,
                created_at=created,
            )
            if not waiting:
                alert.state = AlertState.RESOLVED
                alert.acknowledged_at = min(created + timedelta(hours=1), review_at)
                alert.acknowledged_by = user
                alert.resolved_at = review_at
                alert.resolved_by = user
                alert.resolution = (
                    f"Reviewed the screen: {note}"
                    if user == reviewer
                    else "Discussed with the care team; nothing more to do."
                )
                alert.version = 3 if user != reviewer else 2
            elif draft.scenario == "dilute" and user == people[0]:
                alert.state = AlertState.ACKNOWLEDGED
                alert.acknowledged_at = min(created + timedelta(hours=3), now)
                alert.acknowledged_by = user
                alert.version = 2
            rows.append(alert)
    Alert.objects.bulk_create(rows)
    DrugScreen.objects.bulk_update(
        reviewed, ["interpretation", "reviewed_at", "reviewed_by", "version"], batch_size=200
    )
