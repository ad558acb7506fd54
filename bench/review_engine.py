"""Benchmark: the nightly level-review run over 2,000 active enrollments.

Builds one site in a throwaway database: 2,000 patients in an IOP program admitted eight weeks
ago, six weeks of evening groups (most patients attend their 9 hours, one in eight misses the
floor), three screens each over the last month (one patient in ten with three unexpected),
two PHQ-9 and two craving ratings each (some rising), a few safety flags, and signed treatment
plans with their goals met for a quarter of the patients. Then times ``run_reviews`` cold (it
raises the reviews and alerts) and again (idempotent: it raises nothing), with the SQL
statements of each run (issue 6, Speed: under 10 s; the query count must not grow with the
number of enrollments, see ``tests/test_reviews_engine.py``).

    .venv/bin/python bench/review_engine.py                # SQLite (a temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/openiop_bench \\
      .venv/bin/python bench/review_engine.py              # PostgreSQL (a throwaway database)

Options: --patients N (default 2000), --runs N (idempotent re-runs, default 3). Asserts
nothing (DESIGN.md §7).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from iop_pages import configure, percentile, progress, throwaway_database

WEEKS = 6
PER_SESSION = 100
BATCH = 5_000
PHQ9 = {
    "mild": ([1, 1, 1, 1, 1, 1, 1, 0, 0], 7),
    "severe": ([3, 3, 3, 3, 3, 3, 3, 3, 0], 24),
}


def _bulk(model: Any, rows: list[Any], label: str) -> list[Any]:
    made = []
    for start in range(0, len(rows), BATCH):
        made.extend(model.objects.bulk_create(rows[start : start + BATCH]))
        progress(label, min(start + BATCH, len(rows)), len(rows))
    return made


def build(patients: int, today: date) -> Any:
    from django.utils import timezone

    from openiop.accounts.models import Membership, Site, User
    from openiop.clinical.models import (
        PlanGoal,
        PlanKind,
        PlanObjective,
        PlanProblem,
        PlanStatus,
        TreatmentPlan,
    )
    from openiop.lib.dates import IsoWeek, at_local
    from openiop.measures.models import MeasureResponse
    from openiop.patients.models import Patient
    from openiop.programs.models import Enrollment, Episode, LevelOfCare, Program
    from openiop.scheduling.models import Booking, BookingKind, Session, SessionKind
    from openiop.screening.models import DrugScreen, ScreenReason, ScreenStatus

    site = Site.objects.create(name="Benchmark Clinic", time_zone="America/Chicago")
    therapist = User.objects.create_user("bench-therapist", first_name="Thera")
    Membership.objects.create(user=therapist, site=site, role="therapist")
    director = User.objects.create_user("bench-director", first_name="Dora")
    Membership.objects.create(user=director, site=site, role="director")
    iop = Program.objects.create(
        site=site,
        level_of_care=LevelOfCare.objects.get(code="2.1", edition=3),
        name="Adult IOP",
        weekly_hours_min=9,
        weekly_hours_max=12,
    )
    Program.objects.create(
        site=site,
        level_of_care=LevelOfCare.objects.get(code="2.5", edition=3),
        name="Adult PHP",
        weekly_hours_min=20,
        weekly_hours_max=30,
    )
    people = _bulk(
        Patient,
        [
            Patient(
                site=site, mrn=f"RB{n:07d}", first_name="Pat", last_name=f"Review{n}",
                first_name_key="pat", last_name_key=f"review{n}", date_of_birth=date(1980, 1, 1),
            )
            for n in range(patients)
        ],
        "patients",
    )  # fmt: skip
    people = list(Patient.objects.filter(site=site).order_by("pk"))
    admitted = today - timedelta(weeks=8)
    episodes = _bulk(Episode, [Episode(patient=p, opened_on=admitted) for p in people], "episodes")
    _bulk(
        Enrollment,
        [
            Enrollment(
                episode=episodes[i], patient=p, program=iop, admitted_on=admitted,
                weekly_hours_min=9, weekly_hours_max=12,
                # One in twenty has no primary therapist: the directors are alerted.
                primary_therapist=None if i % 20 == 0 else therapist,
            )
            for i, p in enumerate(people)
        ],
        "enrollments",
    )  # fmt: skip
    enrollments = list(Enrollment.objects.filter(program=iop).order_by("patient_id"))
    # Groups Monday, Wednesday and Friday evening, 3 h each, for the last WEEKS closed weeks.
    this_week = IsoWeek.of(today)
    groups = (len(people) + PER_SESSION - 1) // PER_SESSION
    sessions: dict[tuple[date, int], Session] = {}
    for k in range(WEEKS, 0, -1):
        monday = this_week.shift(-k).monday
        for offset in (0, 2, 4):
            day = monday + timedelta(days=offset)
            for g in range(groups):
                starts = at_local(day, clock(18, 0), site.time_zone) + timedelta(minutes=g)
                sessions[(day, g)] = Session(
                    site=site, kind=SessionKind.GROUP, title=f"Evening group {g}",
                    starts_at=starts, ends_at=starts + timedelta(hours=3),
                    duration_minutes=180, facilitator=therapist, capacity=PER_SESSION,
                )  # fmt: skip
    _bulk(Session, list(sessions.values()), "sessions")
    bookings = []
    for i, patient in enumerate(people):
        misses = i % 8 == 0  # attends one group a week: the floor of 9 h is missed
        for (day, g), session in sessions.items():
            if g != i // PER_SESSION:
                continue
            present = not misses or day.weekday() == 0
            bookings.append(
                Booking(
                    session=session, patient=patient, enrollment=enrollments[i],
                    kind=BookingKind.TRACK, status="present" if present else "no_show",
                    minutes_attended=180 if present else None,
                )
            )  # fmt: skip
    _bulk(Booking, bookings, "bookings")
    screens = []
    for i, patient in enumerate(people):
        for days in (25, 14, 3):
            day = today - timedelta(days=days)
            screens.append(
                DrugScreen(
                    site=site, patient=patient, enrollment=enrollments[i],
                    reason=ScreenReason.RANDOM, status=ScreenStatus.COLLECTED, selected_on=day,
                    specimen="urine", collected_at=at_local(day, clock(18, 30), site.time_zone),
                    verdict="unexpected" if i % 10 == 1 else "expected", created_by_label="bench",
                )
            )  # fmt: skip
    _bulk(DrugScreen, screens, "screens")
    now = timezone.now()
    responses = []
    for i, patient in enumerate(people):
        rows = [
            ("PHQ-9", today - timedelta(days=20), "mild"),
            ("PHQ-9", today - timedelta(days=2), "severe" if i % 15 == 2 else "mild"),
        ]
        for instrument, day, band in rows:
            answers, total = PHQ9[band]
            flagged = i % 50 == 3 and day == today - timedelta(days=2)
            if flagged:
                answers = [*answers[:8], 1]
            responses.append(
                MeasureResponse(
                    patient=patient, site=site, enrollment=enrollments[i], instrument=instrument,
                    instrument_version="bench",
                    answers={str(n + 1): a for n, a in enumerate(answers)},
                    score=total + (1 if flagged else 0), band=band,
                    flags=[{"code": "safety", "severity": "high",
                            "detail": "item 9 answered above 0", "item": 9}] if flagged else [],
                    has_safety_flag=flagged, taken_on=day, recorded_by=therapist, recorded_at=now,
                )
            )  # fmt: skip
        for days, rating in ((18, 2), (9, 3 if i % 12 != 5 else 6), (1, 3 if i % 12 != 5 else 7)):
            responses.append(
                MeasureResponse(
                    patient=patient, site=site, enrollment=enrollments[i], instrument="CRAVING",
                    instrument_version="bench", answers={"1": rating}, score=rating,
                    taken_on=today - timedelta(days=days), recorded_by=therapist, recorded_at=now,
                )
            )  # fmt: skip
    _bulk(MeasureResponse, responses, "questionnaires")
    # Signed plans with every goal met for a quarter of the patients (step-down candidates).
    planned = [(i, p) for i, p in enumerate(people) if i % 4 == 0]
    plans = _bulk(
        TreatmentPlan,
        [
            TreatmentPlan(
                patient=p, enrollment=enrollments[i], number=1, kind=PlanKind.INITIAL,
                status=PlanStatus.DRAFT, author=therapist,
            )
            for i, p in planned
        ],
        "plans",
    )  # fmt: skip
    plans = list(TreatmentPlan.objects.filter(patient__site=site).order_by("pk"))
    problems = _bulk(
        PlanProblem, [PlanProblem(plan=plan, statement="Cravings") for plan in plans], "problems"
    )
    problems = list(PlanProblem.objects.filter(plan__in=plans).order_by("plan_id"))
    goals = _bulk(
        PlanGoal,
        [PlanGoal(plan=pr.plan, problem=pr, statement="Stay sober") for pr in problems],
        "goals",
    )
    goals = list(PlanGoal.objects.filter(plan__in=plans).order_by("plan_id"))
    _bulk(
        PlanObjective,
        [
            PlanObjective(
                plan_id=g.plan_id, goal=g, statement="Attend every group",
                target_date=today, status="met",
            )
            for g in goals
        ],
        "objectives",
    )  # fmt: skip
    TreatmentPlan.objects.filter(pk__in=[p.pk for p in plans]).update(
        status=PlanStatus.SIGNED,
        signed_at=now,
        signed_by=therapist,
        signer_name="Thera Bench",
        content_sha256="0" * 64,
    )
    # A live database has planner statistics (autovacuum on PostgreSQL); a freshly bulk-loaded
    # one has none, and the planner would guess one row per table (as in iop_pages.py).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"Built: {len(people)} active enrollments at one site, {len(sessions)} sessions,"
        f" {len(bookings)} bookings, {len(screens)} screens, {len(responses)} questionnaires,"
        f" {len(plans)} signed plans."
    )
    return site


def run(where: str, args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from openiop.lib.dates import local_today
    from openiop.measures.engine import run_reviews
    from openiop.measures.models import LevelReview

    today = local_today("America/Chicago")
    site = build(args.patients, today)
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        cold = run_reviews(today=today, sites=[site])
        cold_ms = (time.perf_counter() - start) * 1000
    cold_queries = len(captured)
    samples, queries = [], []
    for _ in range(args.runs):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            again = run_reviews(today=today, sites=[site])
            samples.append((time.perf_counter() - start) * 1000)
        queries.append(len(captured))
    directions = {
        d: LevelReview.objects.filter(site=site, direction=d).count()
        for d in ("step_up", "step_down")
    }
    print(f"\nDatabase: {where}")
    print(
        f"Cold run: {cold.enrollments} enrollments reviewed in {cold_ms:,.0f} ms,"
        f" {cold_queries} queries; {cold.reviews} reviews raised"
        f" ({directions['step_up']} step-up, {directions['step_down']} step-down),"
        f" {cold.alerts} alerts."
    )
    print(
        f"Re-run x{len(samples)} (idempotent): p50 {percentile(samples, 50):,.0f} ms,"
        f" max {max(samples):,.0f} ms, {max(queries)} queries, {again.reviews} reviews raised"
        " (issue 6: under 10,000 ms for 2,000 active enrollments)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openiop-bench-") as tmp:
        configure(Path(tmp))
        with throwaway_database() as where:
            run(where, args)


if __name__ == "__main__":
    main()
