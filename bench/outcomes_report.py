"""Benchmark: the outcomes report over a year of a 2,000-patient organization.

Builds, in a throwaway database, one site with 2,000 patients in treatment at any time over
the last 52 weeks (IOP, PHP and outpatient cohorts of ten; each slot holds successive stays of
6–16 weeks, so about 9,500 admissions in the year), with their group attendance, a PHQ-9 and a
GAD-7 every 14 days and a drug screen every week with its reading. Then times the report for
the whole site and for one program over the default range (the last 12 months) as a page, as
the CSV and over the API, through the whole Django stack, beside ``build_report`` alone.

    .venv/bin/python bench/outcomes_report.py              # SQLite (a temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/openiop_bench \\
      .venv/bin/python bench/outcomes_report.py            # PostgreSQL (a throwaway database)

Options: --patients N (in treatment at a time, default 2000), --weeks N (default 52), --runs N.
Prints p50/p95 and the SQL queries of one request; asserts nothing. Target: under 1 s.
Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from iop_pages import bulk, configure, percentile, throwaway_database

COHORT = 10
# Weekly group slots per level: (weekday, start, minutes). IOP 3 × 3 h = 9 h (the floor);
# PHP 5 × 4 h 15 = 21 h 15; outpatient one 90-minute group.
SLOTS = {
    "2.1": [(d, clock(18), 180) for d in (0, 2, 4)],
    "2.5": [(d, clock(9), 255) for d in range(5)],
    "1": [(1, clock(17), 90)],
}
SHARE = {"2.1": 0.6, "2.5": 0.25, "1": 0.15}
REASONS = (
    ["completed"] * 11
    + ["left_against_advice"] * 5
    + ["administrative"] * 2
    + [
        "stepped_up",
        "stepped_down",
    ]
)


def _answers(total: int, items: int) -> dict[str, int]:
    answers = {}
    for number in range(1, items + 1):
        take = min(3, total) if number < 9 else 0
        answers[str(number)] = take
        total -= take
    return answers


def build(*, active: int, weeks: int, seed: int) -> dict[str, Any]:
    from django.utils import timezone

    from openiop.accounts.models import Membership, Site, User
    from openiop.lib.dates import IsoWeek, at_local
    from openiop.measures.instruments import score
    from openiop.measures.models import MeasureResponse
    from openiop.patients.models import MrnSequence, Patient
    from openiop.programs.models import Enrollment, Episode, LevelOfCare, Program
    from openiop.scheduling.models import Booking, Session
    from openiop.screening.models import DrugScreen

    rnd = random.Random(seed)
    site = Site.objects.create(name="Benchmark Outcomes Clinic", time_zone="America/Chicago")
    today = timezone.localdate()
    first_monday = IsoWeek.of(today).monday - timedelta(weeks=weeks)
    password = "bench-password-2026"  # noqa: S105 - throwaway database
    director = User.objects.create_user("bench-director", password=password, first_name="Bea")
    Membership.objects.create(user=director, site=site, role="director")
    levels = {lvl.code: lvl for lvl in LevelOfCare.objects.filter(edition=3)}
    now = timezone.now()
    band_of = {}
    for code, items in (("PHQ-9", 9), ("GAD-7", 7)):
        for total in range(22):
            scored = score(code, {int(k): v for k, v in _answers(total, items).items()})
            band_of[(code, total)] = (scored.version, scored.band or "")

    patients: list[Any] = []
    stays: list[tuple[int, Program, date, date | None, str]] = []  # patient index, …
    sessions: list[Any] = []
    seats: list[tuple[int, int, int]] = []  # (session index, stay index, minutes)
    programs: dict[str, Program] = {}
    for code, share in SHARE.items():
        level = levels[code]
        program = Program.objects.create(
            site=site,
            level_of_care=level,
            name=f"Adult {level.name}",
            weekly_hours_min=level.weekly_hours_min,
            weekly_hours_max=level.weekly_hours_max or Decimal(40),
        )
        programs[code] = program
        for _cohort in range(max(1, int(active * share) // COHORT)):
            week_sessions: dict[date, list[int]] = {}
            for week in range(weeks + 1):
                monday = first_monday + timedelta(weeks=week)
                for weekday, start, minutes in SLOTS[code]:
                    day = monday + timedelta(days=weekday)
                    if day >= today:
                        continue
                    starts_at = at_local(day, start, site.time_zone)
                    week_sessions.setdefault(monday, []).append(len(sessions))
                    sessions.append(
                        Session(
                            site=site,
                            kind="group",
                            title="Benchmark group",
                            starts_at=starts_at,
                            ends_at=starts_at + timedelta(minutes=minutes),
                            duration_minutes=minutes,
                            facilitator=director,
                        )
                    )
            for _slot in range(COHORT):
                day = first_monday - timedelta(days=rnd.randint(0, 60))
                while day < today:
                    length = timedelta(weeks=rnd.randint(6, 16))
                    ended = day + length
                    discharged = ended if ended < today else None
                    patients.append(len(patients))
                    stays.append((len(patients) - 1, program, day, discharged, rnd.choice(REASONS)))
                    stay_index = len(stays) - 1
                    for monday, indexes in week_sessions.items():
                        if monday + timedelta(days=6) < day or (discharged and monday > discharged):
                            continue
                        for index in indexes:
                            roll = rnd.random()
                            status = (
                                "present"
                                if roll < 0.85
                                else "no_show"
                                if roll < 0.93
                                else "excused"
                            )
                            seats.append((index, stay_index, 1 if status == "present" else 0))
                    day = ended + timedelta(days=rnd.randint(1, 7))

    patient_rows = [
        Patient(
            site=site,
            mrn=f"OB{n + 1:07d}",
            first_name="Bench",
            last_name=f"Sample{n}",
            first_name_key="bench",
            last_name_key=f"sample{n}",
            date_of_birth=date(1980, 1, 1),
        )
        for n in range(len(patients))
    ]
    bulk(Patient, patient_rows, "patients")
    MrnSequence.objects.update_or_create(pk=1, defaults={"last_value": len(patient_rows)})
    episodes = [
        Episode(patient=patient_rows[p], opened_on=admitted, closed_on=discharged)
        for p, _program, admitted, discharged, _reason in stays
    ]
    bulk(Episode, episodes, "episodes")
    enrollments = [
        Enrollment(
            episode=episodes[i],
            patient=patient_rows[p],
            program=program,
            admitted_on=admitted,
            discharged_on=discharged,
            status="discharged" if discharged else "active",
            discharge_reason=reason if discharged else "",
            weekly_hours_min=program.weekly_hours_min,
            weekly_hours_max=program.weekly_hours_max,
        )
        for i, (p, program, admitted, discharged, reason) in enumerate(stays)
    ]
    bulk(Enrollment, enrollments, "enrollments")
    bulk(Session, sessions, "sessions")
    bookings = [
        Booking(
            session=sessions[s],
            patient=patient_rows[stays[stay][0]],
            kind="track",
            status=("present" if present else rnd.choice(["no_show", "excused"])),
            minutes_attended=sessions[s].duration_minutes if present else None,
        )
        for s, stay, present in seats
    ]
    bulk(Booking, bookings, "bookings")
    del bookings, seats

    measures: list[Any] = []
    screens: list[Any] = []
    for i, (p, _program, admitted, discharged, _reason) in enumerate(stays):
        last = min(discharged or today, today - timedelta(days=1))
        start = {"PHQ-9": rnd.randint(8, 21), "GAD-7": rnd.randint(6, 18)}
        slope = rnd.choice([-2.5, -2, -1.5, -1, 0, 1])
        day, n = admitted, 0
        while day <= last:
            for code, items in (("PHQ-9", 9), ("GAD-7", 7)):
                total = max(0, min(21, round(start[code] + slope * n + rnd.gauss(0, 1))))
                version, band = band_of[(code, total)]
                measures.append(
                    MeasureResponse(
                        patient=patient_rows[p],
                        site=site,
                        enrollment=enrollments[i],
                        instrument=code,
                        instrument_version=version,
                        answers=_answers(total, items),
                        score=total,
                        band=band,
                        taken_on=day,
                        recorded_by=director,
                        recorded_at=now,
                    )
                )
            day += timedelta(days=14)
            n += 1
        day = admitted + timedelta(days=rnd.randint(0, 4))
        while day <= last:
            screens.append(
                DrugScreen(
                    site=site,
                    patient=patient_rows[p],
                    enrollment=enrollments[i],
                    reason="random",
                    status="collected",
                    selected_on=day,
                    specimen="urine",
                    collected_at=now,
                    verdict="expected" if rnd.random() < 0.9 else "unexpected",
                    created_by_label="bench",
                )
            )
            day += timedelta(days=7)
    bulk(MeasureResponse, measures, "questionnaires")
    bulk(DrugScreen, screens, "drug screens")
    # A live database has planner statistics; a freshly bulk-loaded one has none, and
    # PostgreSQL then guesses one row per table and picks nested loops (see iop_pages.py).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "director": director,
        "site": site,
        "iop": programs["2.1"],
        "counts": {
            "admissions (stays)": len(stays),
            "sessions": len(sessions),
            "bookings": Booking.objects.count(),
            "questionnaires": len(measures),
            "screens": len(screens),
        },
    }


class QueryCounter:
    """Counts SQL statements: a request resets the connection's query log when it starts, so
    ``CaptureQueriesContext`` around a test-client request sees none."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def timed(runs: int, work: Callable[[], Any]) -> tuple[float, float]:
    work()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 50), percentile(samples, 95)


def run(where: str, args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client

    from openiop.accounts.services import create_api_token
    from openiop.lib.dates import local_today
    from openiop.measures.outcomes import build_report, default_range
    from tests.factories import sign_in

    print(f"Building the organization in {where} …")
    started = time.perf_counter()
    built = build(active=args.patients, weeks=args.weeks, seed=args.seed)
    print(f"  built in {time.perf_counter() - started:.0f} s")
    for label, count in built["counts"].items():
        print(f"  {label:<20} {count:>9,}")

    site, iop = built["site"], built["iop"]
    today = local_today(site.time_zone)
    start, end = default_range(today)
    director = Client()
    sign_in(director, built["director"], site=site)
    token = create_api_token(user=built["director"], name="bench").secret
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    report = build_report(site=site, program=None, start=start, end=end, today=today)
    print(
        f"  cohort {report.cohort:,}; PHQ-9 pairs {report.changes[0].n:,};"
        f" patient-weeks {report.hours.total:,}; screens {report.screens.total:,}"
    )
    cases: list[tuple[str, Callable[[], Any]]] = [
        (
            "build_report (all programs)",
            lambda: build_report(site=site, program=None, start=start, end=end, today=today),
        ),
        ("page: all programs", lambda: director.get("/outcomes/")),
        ("page: the IOP", lambda: director.get("/outcomes/", {"program": iop.pk})),
        ("CSV: all programs", lambda: director.get("/outcomes/export.csv")),
        ("API: all programs", lambda: api.get("/api/v1/outcomes")),
    ]
    width = max(len(label) for label, _ in cases)
    print(f"\n{'what':<{width}} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, work in cases:
        # Counted with a wrapper: a request resets the connection's query log on start.
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            work()
        p50, p95 = timed(args.runs, work)
        print(f"{label:<{width}} {p50:8.1f} {p95:8.1f} {counter.count:8d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openiop-bench-") as tmp:
        configure(Path(tmp))
        with throwaway_database() as where:
            run(where, args)


if __name__ == "__main__":
    main()
