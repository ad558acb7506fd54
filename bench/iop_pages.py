"""Benchmark: the pages an IOP lives on, at the size of a large organization.

Builds, in a throwaway database, two sites with 2,000 active patients in all, a year of group
history (about a million attendance rows) and the upcoming weeks; then times each page through
the whole Django stack (middleware, access checks, audit writes, template) beside a minimal
signed-in Django view measured in the same run. The ratio to that view is the figure to watch:
it does not depend on how fast this machine happens to be.

    make bench                       # SQLite (a temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/openiop make bench
                                     # PostgreSQL (a throwaway test_openiop database)

Options: --patients N (active, default 2000), --weeks N (history, default 52), --runs N.
Prints p50/p95 per page; asserts nothing (DESIGN.md §7). Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BATCH = 5_000
COHORT_SIZE = 10  # patients per group cohort; capacity stays the default 12
FIRST = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Indy", "Jules"]
LAST = ["Sample", "Testwell", "Placeholder", "Fakely", "Notreal", "Mockton", "Dummy", "Stubbs"]


def configure(tmp: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("OPENIOP_VAR_DIR", str(tmp))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()


@contextmanager
def throwaway_database() -> Iterator[str]:
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0)
        yield f"SQLite file {connection.settings_dict['NAME']}"
        return
    real_name = connection.settings_dict["NAME"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield f"PostgreSQL database {name} (dropped afterwards)"
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0)


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stdout.write(f"\r  {label:<22} [{'#' * filled}{'.' * (width - filled)}] {done:>9,}")
    if done >= total:
        sys.stdout.write("\n")
    sys.stdout.flush()


def bulk(model: Any, rows: list[Any], label: str) -> None:
    for start in range(0, len(rows), BATCH):
        model.objects.bulk_create(rows[start : start + BATCH])
        progress(label, min(start + BATCH, len(rows)), len(rows))


@dataclass
class Built:
    director: Any
    therapist: Any
    site: Any
    chart_patient_id: int
    roster_session_id: int
    search_terms: list[str]


# One cohort's weekly slots per level: (weekday, start, minutes). IOP: 6 groups of 90 min (9 h);
# PHP: four 75-minute groups a day, five days (25 h); outpatient: one 90-minute group.
SLOTS = {
    "2.1": [(d, clock(h, m), 90) for d in (0, 2, 4) for h, m in ((9, 0), (10, 45))],
    "2.5": [
        (d, clock(h, m), 75) for d in range(5) for h, m in ((9, 0), (10, 30), (12, 45), (14, 15))
    ],
    "1": [(1, clock(17), 90)],
}
SHARE = {"2.1": 0.6, "2.5": 0.25, "1": 0.15}


def build(*, active: int, weeks: int, seed: int) -> Built:
    from django.utils import timezone

    from openiop.accounts.models import Membership, Site, User
    from openiop.lib.dates import IsoWeek, at_local
    from openiop.patients.models import MrnSequence, Patient
    from openiop.programs.models import Enrollment, Episode, LevelOfCare, Program, Track
    from openiop.scheduling.models import Booking, GroupSeries, GroupType, Session

    rnd = random.Random(seed)
    today = timezone.localdate()
    this_monday = IsoWeek.of(today).monday
    first_monday = this_monday - timedelta(weeks=weeks)
    horizon_monday = this_monday + timedelta(weeks=2)
    group_types = list(GroupType.objects.all())
    levels = {lvl.code: lvl for lvl in LevelOfCare.objects.filter(edition=3)}

    sites = [
        Site.objects.create(name=f"Benchmark {n} Clinic", time_zone="America/Chicago")
        for n in ("North", "South")
    ]
    password = "bench-password-2026"  # noqa: S105 - throwaway database
    director = User.objects.create_user("bench-director", password=password, first_name="Bea")
    Membership.objects.create(user=director, site=sites[0], role="director")
    staff: dict[int, list[Any]] = {}
    for site in sites:
        staff[site.pk] = []
        for n in range(60):
            user = User.objects.create_user(
                f"bench-t{site.pk}-{n}", password=password, first_name="Thera", last_name=f"P{n}"
            )
            Membership.objects.create(user=user, site=site, role="therapist")
            staff[site.pk].append(user)

    patients: list[Any] = []
    enrollments: list[Any] = []
    sessions: list[Any] = []
    bookings_plan: list[tuple[int, int, int]] = []  # (session index, patient index, enr index)
    mrn = 0
    per_site = active // len(sites)
    for site in sites:
        for code, share in SHARE.items():
            level = levels[code]
            program = Program.objects.create(
                site=site,
                level_of_care=level,
                name=f"Adult {level.name}",
                weekly_hours_min=level.weekly_hours_min,
                weekly_hours_max=level.weekly_hours_max or Decimal(40),
            )
            track = Track.objects.create(program=program, name="Day")
            n_active = int(per_site * share)
            cohorts = max(1, n_active // COHORT_SIZE)
            for cohort in range(cohorts):
                facilitator = staff[site.pk][cohort % len(staff[site.pk])]
                series_list = [
                    GroupSeries.objects.create(
                        site=site,
                        track=track,
                        group_type=rnd.choice(group_types),
                        title=f"Cohort {cohort + 1} group",
                        weekday=weekday,
                        start_time=start,
                        duration_minutes=minutes,
                        facilitator=facilitator,
                        starts_on=first_monday,
                    )
                    for weekday, start, minutes in SLOTS[code]
                ]
                # A cohort slot is occupied by successive patients: one now active, and
                # before them others admitted and discharged over the year.
                members: list[tuple[int, int, date, date | None]] = []
                for _slot in range(COHORT_SIZE):
                    stay_end: date | None = None
                    start_day = today - timedelta(days=rnd.randint(7, 70))
                    spans = [(start_day, None)]
                    while start_day > first_monday:
                        stay_end = start_day - timedelta(days=rnd.randint(1, 7))
                        if stay_end <= first_monday + timedelta(weeks=1):
                            break
                        start_day = stay_end - timedelta(weeks=rnd.randint(6, 16))
                        spans.append((max(start_day, first_monday), stay_end))
                    for admitted, discharged in spans:
                        mrn += 1
                        first = rnd.choice(FIRST)
                        last = f"{rnd.choice(LAST)}{mrn}"
                        patients.append(
                            Patient(
                                site=site,
                                mrn=f"OI{mrn:07d}",
                                first_name=first,
                                last_name=last,
                                first_name_key=first.lower(),
                                last_name_key=last.lower(),
                                date_of_birth=date(1960, 1, 1)
                                + timedelta(days=rnd.randint(0, 15000)),
                                is_active=discharged is None,
                            )
                        )
                        enrollments.append(
                            {
                                "patient": len(patients) - 1,
                                "program": program,
                                "track": track,
                                "admitted_on": admitted,
                                "discharged_on": discharged,
                                "therapist": facilitator,
                            }
                        )
                        members.append(
                            (len(patients) - 1, len(enrollments) - 1, admitted, discharged)
                        )
                monday = first_monday
                while monday < horizon_monday:
                    for series in series_list:
                        day = monday + timedelta(days=series.weekday)
                        starts_at = at_local(day, series.start_time, site.time_zone)
                        sessions.append(
                            Session(
                                site=site,
                                kind="group",
                                group_series=series,
                                group_type_id=series.group_type_id,
                                title=series.title,
                                starts_at=starts_at,
                                ends_at=starts_at + timedelta(minutes=series.duration_minutes),
                                duration_minutes=series.duration_minutes,
                                facilitator=facilitator,
                                capacity=12,
                            )
                        )
                        for patient_idx, enr_idx, admitted, discharged in members:
                            if admitted <= day and (discharged is None or day <= discharged):
                                bookings_plan.append((len(sessions) - 1, patient_idx, enr_idx))
                    monday += timedelta(weeks=1)

    print(
        f"  planned: {len(patients):,} patients, {len(sessions):,} sessions, "
        f"{len(bookings_plan):,} bookings"
    )
    bulk(Patient, patients, "patients")
    MrnSequence.objects.create(last_value=mrn)
    episodes = [
        Episode(
            patient=patients[e["patient"]], opened_on=e["admitted_on"], closed_on=e["discharged_on"]
        )
        for e in enrollments
    ]
    bulk(Episode, episodes, "episodes")
    enrollment_rows = [
        Enrollment(
            episode=episodes[i],
            patient=patients[e["patient"]],
            program=e["program"],
            track=e["track"],
            admitted_on=e["admitted_on"],
            discharged_on=e["discharged_on"],
            status="active" if e["discharged_on"] is None else "discharged",
            discharge_reason="" if e["discharged_on"] is None else "completed",
            weekly_hours_min=e["program"].weekly_hours_min,
            weekly_hours_max=e["program"].weekly_hours_max,
            primary_therapist=e["therapist"],
        )
        for i, e in enumerate(enrollments)
    ]
    bulk(Enrollment, enrollment_rows, "enrollments")
    bulk(Session, sessions, "sessions")
    now = timezone.now()
    statuses = (
        ["present"] * 80
        + ["late"] * 6
        + ["left_early"] * 4
        + ["excused"] * 4
        + ["unexcused"] * 3
        + ["no_show"] * 3
    )
    rows = []
    for session_idx, patient_idx, enr_idx in bookings_plan:
        session = sessions[session_idx]
        held = session.starts_at < now
        status = rnd.choice(statuses) if held else "booked"
        minutes = None
        if status == "present":
            minutes = session.duration_minutes
        elif status in ("late", "left_early"):
            minutes = session.duration_minutes - rnd.randint(10, 40)
        elif held:
            minutes = 0
        rows.append(
            Booking(
                session=session,
                patient=patients[patient_idx],
                enrollment=enrollment_rows[enr_idx],
                kind="track",
                status=status,
                minutes_attended=minutes,
                recorded_at=session.ends_at if held else None,
            )
        )
    bulk(Booking, rows, "bookings (attendance)")
    # A live database has planner statistics (PostgreSQL's autovacuum keeps them; SQLite
    # gets them from ANALYZE / PRAGMA optimize). A freshly bulk-loaded one has none, and
    # PostgreSQL then guesses one row per table and picks nested loops over a million rows.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    site = sites[0]
    active_enr = next(
        e
        for e in enrollment_rows
        if e.discharged_on is None
        and e.program.site_id == site.pk
        and e.program.level_of_care.code == "2.1"
    )
    roster = Session.objects.filter(site=site, starts_at__lt=now).order_by("-starts_at").first()
    therapist = staff[site.pk][0]
    return Built(
        director=director,
        therapist=therapist,
        site=site,
        chart_patient_id=active_enr.patient.pk,
        roster_session_id=roster.pk,
        search_terms=["sample", active_enr.patient.mrn, f"{active_enr.patient.date_of_birth}"],
    )


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


def timed(runs: int, work: Callable[[], Any]) -> tuple[float, float]:
    work()  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    return percentile(samples, 50), percentile(samples, 95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openiop-bench-") as tmp:
        configure(Path(tmp))
        with throwaway_database() as where:
            run(where, args)


def bench_urlconf() -> Any:
    """The project's URLs plus ``/bench-minimal/``: a guarded view that returns "ok", the
    baseline every page is compared with."""
    from django.http import HttpRequest, HttpResponse
    from django.urls import path

    import openiop.urls
    from openiop.accounts.access import requires

    @requires("home.view")
    def minimal(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    urlconf = type("BenchUrls", (), {})()
    urlconf.urlpatterns = [path("bench-minimal/", minimal), *openiop.urls.urlpatterns]
    handlers = {f"handler{c}": getattr(openiop.urls, f"handler{c}") for c in (400, 403, 404, 500)}
    for key, value in handlers.items():
        setattr(urlconf, key, value)
    return urlconf


def time_pages(pages: list[tuple[str, Callable[[], Any]]], runs: int) -> None:
    """Print p50/p95, the ratio to the first page (the minimal view), the SQL queries of one
    request and its status, for each page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    width = max(16, *(len(label) for label, _ in pages))
    columns = f"{'p50 ms':>8} {'p95 ms':>8} {'p95 / minimal':>14} {'queries':>8}"
    print(f"\n{'page':<{width}} {columns}  status")
    baseline = None
    for label, work in pages:
        with CaptureQueriesContext(connection) as captured:
            status = work().status_code
        queries = len(captured)  # before the timed requests reset the connection's log
        p50, p95 = timed(runs, work)
        if baseline is None:
            baseline = p95
        print(
            f"{label:<{width}} {p50:8.1f} {p95:8.1f} {p95 / baseline:14.1f} {queries:8d}  {status}"
        )


def run(where: str, args: argparse.Namespace) -> None:
    from django.test import Client, override_settings
    from django.urls import reverse

    from openiop.accounts.services import create_api_token
    from tests.factories import sign_in

    print(f"Building the organization in {where} …")
    started = time.perf_counter()
    built = build(active=args.patients, weeks=args.weeks, seed=args.seed)
    print(f"  built in {time.perf_counter() - started:.0f} s")

    with override_settings(ROOT_URLCONF=bench_urlconf()):
        director, therapist = Client(), Client()
        sign_in(director, built.director, site=built.site)
        sign_in(therapist, built.therapist, site=built.site)
        token = create_api_token(user=built.director, name="bench").secret
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        pages: list[tuple[str, Callable[[], Any]]] = [
            ("minimal view", lambda: director.get("/bench-minimal/")),
            ("today", lambda: therapist.get(reverse("today"))),
            (
                "roster",
                lambda: director.get(reverse("session-roster", args=[built.roster_session_id])),
            ),
            (
                "patient chart",
                lambda: director.get(reverse("patient-chart", args=[built.chart_patient_id])),
            ),
            ("census", lambda: director.get(reverse("census"))),
            ("at risk", lambda: director.get(reverse("at-risk"))),
            (
                "search: name",
                lambda: director.get(reverse("patient-list"), {"q": built.search_terms[0]}),
            ),
            (
                "search: MRN",
                lambda: director.get(reverse("patient-list"), {"q": built.search_terms[1]}),
            ),
            (
                "search: DOB",
                lambda: director.get(reverse("patient-list"), {"q": built.search_terms[2]}),
            ),
            ("API hours", lambda: api.get(f"/api/v1/patients/{built.chart_patient_id}/hours")),
        ]
        time_pages(pages, args.runs)


if __name__ == "__main__":
    main()
