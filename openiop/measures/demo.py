"""Measurement-based care for the demo clinic: questionnaire history, intake placements, the
safety alert of the week, and what the review engine and the attention sweep make of it all.

- Every program gives the PHQ-9 and GAD-7 at intake and every 14 days, the BAM every 30 days
  and the craving rating every 7 days (``MeasureSchedule`` rows). Each episode of care gets
  that history from its first admission to its end (or yesterday): most patients improve,
  some worsen, a few stay flat. About a third also had a PCL-5 and an AUDIT at intake.
  This history is written straight into the table in bulk, the way an import would (going
  through ``record_measure`` would run the review engine after every one of ~2,000 scores);
  every row is scored by the registry (``instruments.score``), so scores, bands, subscales and
  flags are exactly what the service stores.
- This week one patient at Downtown answers item 9 of the PHQ-9 above 0: that response goes
  through ``services.record_measure``, which raises the safety alert to the primary therapist
  and the site director, and runs the engine for the patient.
- Every patient in treatment has an intake placement assessment through
  ``services_placement.record_placement`` with the decision recorded; one was indicated PHP
  and placed in IOP at the patient's request, with the reason. Those in treatment for more
  than 30 days were reassessed since.
- Finally the nightly review run (``engine.run_reviews``) and the attention sweep
  (``attention.sweep_site``) run as they would this morning.

Every person is fictional; the randomness comes from the caller's seeded generator only.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from openiop.accounts.demo import DOWNTOWN
from openiop.accounts.models import Site, User
from openiop.lib.dates import at_local, local_today
from openiop.measures import instruments
from openiop.measures.attention import sweep_site
from openiop.measures.engine import run_reviews
from openiop.measures.models import MeasureResponse, MeasureSchedule, Occasion, Respondent
from openiop.measures.services import record_measure, unsaved_response
from openiop.measures.services_placement import record_level_decision, record_placement
from openiop.programs.models import Enrollment, EnrollmentStatus

# instrument → (every N days, given at intake)
REASSESS_AFTER_DAYS = 30
SCHEDULES = {"PHQ-9": 14, "GAD-7": 14, "BAM": 30, "CRAVING": 7}
SELF_REPORT = frozenset({"PHQ-9", "GAD-7", "CRAVING", "BAM", "PCL-5", "AUDIT"})
OVERRIDE_REASON = (
    "PHP indicated by the psychiatric rating; the patient declined daytime care to keep their"
    " job. Evening IOP agreed with weekly psychiatry follow-up and a safety plan (fictional)."
)
MISMATCH_REASON = "Level chosen with the patient at intake; reassess in 30 days (fictional)."
RATIONALES = {
    1: "Mild withdrawal symptoms at intake, monitored.",
    2: "Stable chronic condition, followed by primary care.",
    3: "Depressed mood and anxiety interfering with daily life.",
    4: "Ambivalent about change, attends when reminded.",
    5: "Recent return to use; cravings most evenings.",
    6: "Household member still using; few sober supports.",
}


@dataclass(frozen=True)
class MeasuresOutcome:
    responses: int
    placements: int
    overrides: int
    safety_alerts: int
    reviews: int


@dataclass
class _Course:
    """How one patient's scores move: a start and a change per 14 days."""

    phq9: float
    gad7: float
    craving: float
    slope: float  # PHQ-9 points per 14 days; negative = improving


def _course(rng: random.Random) -> _Course:
    kind = rng.choices(["better", "worse", "flat"], weights=[70, 15, 15])[0]
    slope = {
        "better": -rng.uniform(1.5, 3.0),
        "worse": rng.uniform(0.8, 2.0),
        "flat": rng.uniform(-0.4, 0.4),
    }[kind]
    return _Course(
        phq9=rng.uniform(9, 21), gad7=rng.uniform(8, 17), craving=rng.uniform(4, 9), slope=slope
    )


def _spread(total: int, items: list[int], rng: random.Random) -> dict[int, int]:
    """Answers 0–3 on ``items`` adding up to ``total`` (clipped to what they can hold)."""
    answers = dict.fromkeys(items, 0)
    total = max(0, min(total, 3 * len(items)))
    while total:
        item = rng.choice([n for n in items if answers[n] < 3])
        answers[item] += 1
        total -= 1
    return answers


def _random_answers(code: str, rng: random.Random, *, low: bool) -> dict[int, int]:
    """Plausible answers to every item the skip logic asks, leaning low when ``low``."""
    instrument = instruments.get_instrument(code)
    answers: dict[int, int] = {}
    for item in instrument.items:
        if item.asked_if is not None:
            gate, values = item.asked_if
            if answers.get(gate) not in values:
                continue
        if not item.required and rng.random() < 0.5:
            continue
        values = list(item.values)
        pool = values[: max(2, len(values) // 2)] if low else values
        answers[item.number] = rng.choice(pool)
    return answers


def _row(
    *,
    enrollment: Enrollment,
    code: str,
    answers: dict[int, int],
    taken_on: date,
    occasion: str,
    by: User,
    recorded_at: datetime,
) -> MeasureResponse:
    return unsaved_response(
        instruments.score(code, answers),
        patient_id=enrollment.patient_id,
        site_id=enrollment.program.site_id,
        enrollment=enrollment,
        respondent=Respondent.PATIENT if code in SELF_REPORT else Respondent.STAFF,
        occasion=occasion,
        taken_on=taken_on,
        by=by,
        recorded_at=recorded_at,
    )


def _episode_history(
    stays: list[Enrollment],
    *,
    rng: random.Random,
    until: date,
    fallback: User,
    extra_intake: bool,
) -> list[MeasureResponse]:
    """Every scheduled questionnaire of one episode (its enrollments in order) up to ``until``."""
    course = _course(rng)
    first = stays[0].admitted_on
    last = min(stays[-1].discharged_on or until, until)
    rows: list[MeasureResponse] = []

    def stay_on(day: date) -> Enrollment:
        return next((s for s in reversed(stays) if s.admitted_on <= day), stays[0])

    def add(code: str, answers: dict[int, int], day: date, occasion: str) -> None:
        stay = stay_on(day)
        by = stay.primary_therapist or fallback
        moment = at_local(day, time(9, 30), stay.program.site.time_zone) + timedelta(
            minutes=rng.randint(0, 480)
        )
        rows.append(
            _row(
                enrollment=stay,
                code=code,
                answers=answers,
                taken_on=day,
                occasion=occasion,
                by=by,
                recorded_at=moment,
            )
        )

    for code, every in SCHEDULES.items():
        day = first + timedelta(days=rng.randint(0, 2))
        index = 0
        while day <= last:
            occasion = Occasion.INTAKE if index == 0 else Occasion.PERIODIC
            fortnights = (day - first).days / 14
            if code in ("PHQ-9", "GAD-7"):
                start = course.phq9 if code == "PHQ-9" else course.gad7
                slope = course.slope if code == "PHQ-9" else course.slope * 0.8
                total = round(start + slope * fortnights + rng.gauss(0, 1.2))
                items = list(range(1, 9)) if code == "PHQ-9" else list(range(1, 8))
                answers = _spread(total, items, rng)
                if code == "PHQ-9":
                    answers[9] = 0  # item 9 > 0 only where this module says so, below
            elif code == "CRAVING":
                level = course.craving + course.slope * 0.5 * fortnights + rng.gauss(0, 1)
                answers = {1: max(0, min(10, round(level)))}
            else:
                answers = _random_answers(code, rng, low=course.slope < 0 and index > 0)
            add(code, answers, day, occasion)
            index += 1
            day += timedelta(days=every)
    if extra_intake:
        for code in ("PCL-5", "AUDIT"):
            add(code, _random_answers(code, rng, low=False), first, Occasion.INTAKE)
    return rows


def _placement_input(level_code: str, *, override: bool) -> tuple[dict, dict]:
    """Criteria and dimension ratings that the default rules read as ``level_code`` (or, for
    the override, as PHP)."""
    ratings = dict.fromkeys(range(1, 7), (1, ""))
    criteria = {1: "yes", 2: "yes", 3: "yes", 4: "yes", 5: "no", 6: "no"}
    if level_code == "2.1":
        ratings.update({5: (2, RATIONALES[5]), 3: (2, RATIONALES[3])})
        criteria.update({5: "yes", 6: "yes"})
    elif level_code == "2.5":
        ratings.update({3: (3, RATIONALES[3]), 5: (2, RATIONALES[5])})
        criteria.update({5: "yes", 6: "yes"})
    if override:
        ratings.update({3: (3, RATIONALES[3]), 6: (2, RATIONALES[6])})
        criteria.update({5: "yes", 6: "yes"})
    return (
        {n: {"answer": answer, "note": ""} for n, answer in criteria.items()},
        {n: {"rating": r, "rationale": text} for n, (r, text) in ratings.items()},
    )


def _assess(
    enrollment: Enrollment, *, level: str, kind: str, on: date, by: User, override: bool
) -> bool:
    """One placement through the services: the assessment, then the decision (the level of
    the program the patient is in). True when that differs from the indicated level."""
    criteria, ratings = _placement_input(level, override=override)
    assessment = record_placement(
        patient=enrollment.patient,
        kind=kind,
        edition=3,
        criteria=criteria,
        ratings=ratings,
        assessed_on=on,
        by=by,
    )
    differs = assessment.indicated_level != level
    record_level_decision(
        assessment=assessment,
        provided_level=level,
        reason=(OVERRIDE_REASON if override else MISMATCH_REASON) if differs else "",
        by=by,
        expected_version=assessment.version,
    )
    return differs


def build_demo_measures(*, rng: random.Random, now: datetime) -> MeasuresOutcome:
    """Load the demo's questionnaires, placements, safety alert and reviews (once, after the
    clinic's enrollments, attendance and screens exist)."""
    sites = list(Site.objects.order_by("name"))
    downtown = next(site for site in sites if site.name == DOWNTOWN)
    today = local_today(downtown.time_zone)
    dana = User.objects.get(username="dana")
    enrollments = list(
        Enrollment.objects.select_related("program__site", "program__level_of_care", "patient")
        .select_related("primary_therapist")
        .order_by("admitted_on", "pk")
    )
    programs = {e.program_id: e.program for e in enrollments}
    MeasureSchedule.objects.bulk_create(
        MeasureSchedule(program=program, instrument=code, at_intake=True, every_days=every)
        for program in sorted(programs.values(), key=lambda p: p.pk)
        for code, every in SCHEDULES.items()
    )
    episodes: dict[int, list[Enrollment]] = defaultdict(list)
    for enrollment in enrollments:
        episodes[enrollment.episode_id].append(enrollment)
    ordered = [episodes[key] for key in sorted(episodes)]

    # The patient whose PHQ-9 this week has item 9 above 0: an active Downtown IOP patient
    # with a therapist, in treatment for a few weeks.
    flagged = next(
        (
            stays[-1]
            for stays in ordered
            if stays[-1].status == EnrollmentStatus.ACTIVE
            and stays[-1].program.site_id == downtown.pk
            and stays[-1].program.level_of_care.code == "2.1"
            and stays[-1].primary_therapist_id is not None
            and (today - stays[0].admitted_on).days >= 21
        ),
        None,
    )
    rows: list[MeasureResponse] = []
    for stays in ordered:
        history = _episode_history(
            stays,
            rng=rng,
            until=today - timedelta(days=1),
            fallback=dana,
            extra_intake=rng.random() < 0.35,
        )
        if flagged is not None and stays[-1] is flagged:
            # Their PHQ-9 of this week is entered below, through the service.
            history = [
                r
                for r in history
                if not (r.instrument == "PHQ-9" and r.taken_on >= today - timedelta(days=3))
            ]
        rows.extend(history)
    MeasureResponse.objects.bulk_create(rows, batch_size=2000)

    safety = 0
    if flagged is not None:
        answers = [1, 2, 1, 2, 1, 1, 1, 0, 1]  # total 10 (moderate), item 9 "several days"
        response = record_measure(
            patient=flagged.patient,
            instrument="PHQ-9",
            answers=answers,
            taken_on=today - timedelta(days=2),
            respondent=Respondent.PATIENT,
            by=flagged.primary_therapist,
        )
        safety = int(response.has_safety_flag)

    placements = overrides = 0
    override_done = False
    for stays in ordered:
        current = stays[-1]
        if current.status != EnrollmentStatus.ACTIVE:
            continue
        intake = stays[0]
        override = (
            not override_done
            and intake.program.level_of_care.code == "2.1"
            and current is not flagged
        )
        differs = _assess(
            current,
            level=intake.program.level_of_care.code,
            kind="intake",
            on=intake.admitted_on,
            by=intake.primary_therapist or dana,
            override=override,
        )
        placements += 1
        overrides += differs
        override_done = override_done or override
        if (today - intake.admitted_on).days > REASSESS_AFTER_DAYS:
            # Reassessed at the 30-day review (DOMAIN.md §4), a few days to weeks ago.
            overrides += _assess(
                current,
                level=current.program.level_of_care.code,
                kind="reassessment",
                on=today - timedelta(days=rng.randint(2, REASSESS_AFTER_DAYS - 5)),
                by=current.primary_therapist or dana,
                override=False,
            )
            placements += 1

    run = run_reviews(today=today, sites=sites)
    for site in sites:
        sweep_site(site, now=now)
    return MeasuresOutcome(
        responses=len(rows) + (1 if flagged is not None else 0),
        placements=placements,
        overrides=overrides,
        safety_alerts=safety,
        reviews=len(run.reviews_created),
    )
