"""Benchmark: the day's random drug-screen selection at a site with 2,000 active patients.

Builds one site in a throwaway database: 2,000 patients in treatment (admitted over the last
six months, so every screening phase is present), groups every weekday evening with each
patient booked Monday/Wednesday/Friday or Tuesday/Thursday for the next ten weeks, and a
little screen history. Then runs ``run_selection`` on fresh days — the clock moves a weekday
on for each run, since a day is selected once — and the screens of each run count for the
next, as in a live clinic (issue 5, Speed: under one second).

    .venv/bin/python bench/screen_selection.py             # SQLite (a temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/openiop_bench \\
      .venv/bin/python bench/screen_selection.py           # PostgreSQL (a throwaway database)

Options: --patients N (default 2000), --runs N (default 10), --every-weekday (everyone on
site every weekday: the pool is the whole site, the worst case). Prints the pool, how many were
called, p50/p95 and the SQL queries per run; asserts nothing (DESIGN.md §7).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from iop_pages import configure, percentile, progress, throwaway_database

WEEKS = 10
PER_SESSION = 100  # patients booked into one evening group (one big room for the bench)
BATCH = 5_000


def build(patients: int, first_day: date, *, every_weekday: bool = False) -> object:
    from openiop.accounts.models import Membership, Site, User
    from openiop.lib.dates import at_local
    from openiop.patients.models import Patient
    from openiop.programs.models import Enrollment, Episode, LevelOfCare, Program
    from openiop.scheduling.models import Booking, BookingKind, Session, SessionKind
    from openiop.screening.models import DrugScreen, ScreenReason, ScreenStatus

    site = Site.objects.create(name="Benchmark Clinic", time_zone="America/Chicago")
    therapist = User.objects.create_user("bench-therapist", first_name="Thera")
    Membership.objects.create(user=therapist, site=site, role="therapist")
    level = LevelOfCare.objects.filter(code="2.1").first()
    program = Program.objects.create(
        site=site, level_of_care=level, name="Adult IOP", weekly_hours_min=9, weekly_hours_max=12
    )
    rows = []
    for n in range(patients):
        rows.append(
            Patient(
                site=site, mrn=f"SB{n:07d}", first_name="Pat", last_name=f"Bench{n}",
                first_name_key="pat", last_name_key=f"bench{n}", date_of_birth=date(1980, 1, 1),
            )
        )  # fmt: skip
    Patient.objects.bulk_create(rows, batch_size=BATCH)
    people = list(Patient.objects.filter(site=site).order_by("pk"))
    admitted = [first_day - timedelta(days=(i * 7) % 180) for i in range(len(people))]
    episodes = Episode.objects.bulk_create(
        [Episode(patient=p, opened_on=admitted[i]) for i, p in enumerate(people)], batch_size=BATCH
    )
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                episode=episodes[i], patient=p, program=program, admitted_on=admitted[i],
                weekly_hours_min=9, weekly_hours_max=12,
            )
            for i, p in enumerate(people)
        ],
        batch_size=BATCH,
    )  # fmt: skip
    monday = first_day - timedelta(days=first_day.weekday())
    groups = (len(people) + PER_SESSION - 1) // PER_SESSION
    sessions: dict[tuple[date, int], Session] = {}
    for day_index in range(WEEKS * 7):
        day = monday + timedelta(days=day_index)
        if day.weekday() >= 5:
            continue
        for g in range(groups):
            starts = at_local(day, clock(17, 0), site.time_zone) + timedelta(minutes=g)
            sessions[(day, g)] = Session(
                site=site, kind=SessionKind.GROUP, title=f"Evening group {g}", starts_at=starts,
                ends_at=starts + timedelta(hours=3), duration_minutes=180, facilitator=therapist,
                capacity=PER_SESSION,
            )  # fmt: skip
    Session.objects.bulk_create(list(sessions.values()), batch_size=BATCH)
    bookings = []
    for i, patient in enumerate(people):
        weekdays = range(5) if every_weekday else (0, 2, 4) if i % 2 == 0 else (1, 3)
        for (day, g), session in sessions.items():
            if g == i // PER_SESSION and day.weekday() in weekdays:
                bookings.append(Booking(session=session, patient=patient, kind=BookingKind.TRACK))
    for start in range(0, len(bookings), BATCH):
        Booking.objects.bulk_create(bookings[start : start + BATCH])
        progress("bookings", min(start + BATCH, len(bookings)), len(bookings))
    # Last week's screens: one each for a third of the patients.
    DrugScreen.objects.bulk_create(
        [
            DrugScreen(
                site=site, patient=p, reason=ScreenReason.RANDOM, status=ScreenStatus.COLLECTED,
                selected_on=monday - timedelta(days=3), specimen="urine",
                collected_at=datetime.combine(monday - timedelta(days=3), clock(23), tzinfo=UTC),
                created_by_label="bench",
            )
            for p in people[::3]
        ],
        batch_size=BATCH,
    )  # fmt: skip
    print(
        f"Built: {len(people)} active patients at one site, {len(sessions)} sessions,"
        f" {len(bookings)} bookings over {WEEKS} weeks."
    )
    return site


def run(where: str, args: argparse.Namespace) -> None:
    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from openiop.screening.services_selection import run_selection

    first_day = date(2030, 3, 4)  # a Monday; the runs take the weekdays after it
    site = build(args.patients, first_day, every_weekday=args.every_weekday)
    days = []
    day = first_day
    while len(days) < args.runs:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    samples, queries, pools, called = [], [], [], []
    for day in days:
        noon = datetime.combine(day, clock(18, 0), tzinfo=UTC)  # 12:00 or 13:00 in Chicago
        with time_machine.travel(noon, tick=False), CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            selection = run_selection(site, day)
            samples.append((time.perf_counter() - start) * 1000)
        queries.append(len(captured))
        pools.append(selection.record["pool_size"])
        called.append(len(selection.record["selected"]))
    print(f"\nDatabase: {where}")
    print(f"{'day':<12} {'pool':>6} {'called':>7} {'ms':>9} {'queries':>8}")
    for day, pool, n, ms, q in zip(days, pools, called, samples, queries, strict=True):
        print(f"{day.isoformat():<12} {pool:>6} {n:>7} {ms:>9.1f} {q:>8}")
    print(
        f"\nrun_selection over {len(samples)} fresh days: p50 {percentile(samples, 50):.1f} ms,"
        f" p95 {percentile(samples, 95):.1f} ms, {max(queries)} queries at most"
        " (issue 5: under 1,000 ms for 2,000 active patients)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--every-weekday",
        action="store_true",
        help="book every patient every weekday: the whole site is in each day's pool",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        configure(Path(tmp))
        with throwaway_database() as where:
            run(where, args)


if __name__ == "__main__":
    main()
