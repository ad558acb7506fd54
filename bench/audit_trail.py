"""Benchmark: the audit trail with 100,000 events.

Times what an auditor waits for: the list screen's query (one site, a date range, the first
page of 50 with its total count) and a CSV export of 10,000 rows, first at the query level and
then through the whole Django stack (middleware, view, template). Prints minimum and median of
several runs; it asserts nothing and is not part of the test suite (DESIGN.md §7).

    make bench                                   # a throwaway SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1/openiop make bench
                                                 # a throwaway test_openiop database beside it

Options: --events N (default 100000), --runs N (default 7).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from openiop.accounts.models import Site, User
    from openiop.audit.models import AuditEvent

ROOT = Path(__file__).resolve().parent.parent
SITES = ("Benchmark North Clinic", "Benchmark South Clinic")
USERS = 20
PAGE_SIZE = 50
EXPORT_ROWS = 10_000
DAYS = 365


def configure(tmp: Path) -> None:
    """The test suite's settings: production-like (DEBUG off, so no query log grows in memory),
    over plain HTTP, static files served without collectstatic."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("OPENIOP_VAR_DIR", str(tmp))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ.setdefault("LOG_LEVEL", "ERROR")

    import django

    django.setup()


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A database that exists only for this run: a temp SQLite file, or test_<name> on PostgreSQL.

    The audit table is append-only, so the benchmark never writes into a real database.
    """
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


def populate(total: int, *, seed: int = 7) -> tuple[list[Site], list[tuple[User, Site, str]]]:
    """Two sites, 20 staff, and ``total`` events spread over the past year."""
    from django.db import transaction
    from django.utils import timezone

    from openiop.accounts.models import Membership, Site, User
    from openiop.accounts.roles import Role
    from openiop.audit.models import Action, AuditEvent, Outcome

    rng = random.Random(seed)
    sites = [Site.objects.create(name=name, time_zone="America/Chicago") for name in SITES]
    roles = [role for role in Role.values if role != Role.AUDITOR]
    users = []
    for i in range(USERS):
        site = sites[i % len(sites)]
        # The first user of each site is its auditor; the benchmark signs in as them.
        role = Role.AUDITOR if i < len(sites) else rng.choice(roles)
        user = User.objects.create(username=f"bench{i:02d}", first_name="Bench", last_name=f"{i}")
        Membership.objects.create(user=user, site=site, role=role)
        users.append((user, site, role))

    actions = [Action.VIEW] * 12 + [Action.UPDATE] * 3 + [Action.CREATE] * 2 + [Action.LOGIN] * 2
    now = timezone.now()
    batch: list[AuditEvent] = []
    with transaction.atomic():
        for i in range(total):
            user, site, role = rng.choice(users)
            failed = rng.random() < 0.03
            batch.append(
                AuditEvent(
                    occurred_at=now - timedelta(seconds=rng.randrange(DAYS * 86_400)),
                    actor=user,
                    actor_username=user.username,
                    role="" if failed else role,
                    # Failed sign-ins are recorded at no site, like the app does.
                    site=None if failed else site,
                    action=Action.LOGIN_FAILED if failed else rng.choice(actions),
                    object_type="" if failed else "patient",
                    object_id="" if failed else str(rng.randrange(1, 5000)),
                    patient_id=None if failed else rng.randrange(1, 5000),
                    outcome=Outcome.FAILURE if failed else Outcome.SUCCESS,
                    detail="wrong password" if failed else "chart opened",
                    ip=f"10.0.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                    user_agent="Mozilla/5.0 (benchmark)",
                    request_id=f"{i:032x}",
                )
            )
            if len(batch) == 5000:
                AuditEvent.objects.bulk_create(batch)
                batch.clear()
        AuditEvent.objects.bulk_create(batch)
    return sites, users


def site_events(site: Site, start: datetime, end: datetime) -> QuerySet[AuditEvent]:
    """The auditor's query: the shared helper when the app has it, else the plain ORM filter."""
    try:
        from openiop.audit.queries import search_audit_events
    except ImportError:
        from openiop.audit.models import AuditEvent

        return AuditEvent.objects.filter(
            site=site, occurred_at__gte=start, occurred_at__lt=end
        ).order_by("-occurred_at", "-id")
    return search_audit_events(sites=[site], occurred_from=start, occurred_before=end)


def write_csv(events: QuerySet[AuditEvent]) -> int:
    """Bytes of CSV for ``events``, through the export view's own writer when it exists."""
    try:
        from openiop.audit.views import csv_lines
    except ImportError:
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out)
        for row in events.values_list().iterator(chunk_size=2000):
            writer.writerow(row)
        return len(out.getvalue().encode())
    return sum(len(line.encode()) for line in csv_lines(events))


def measure(label: str, runs: int, work: Callable[[], object]) -> object:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = work()  # warm-up run; also counts the SQL statements one run issues
    # Count now: each later request clears the connection's query log.
    statements = len(queries)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"  {label:<46} min {min(timings):8.1f} ms   median {statistics.median(timings):8.1f} ms"
        f"   {statements:3d} queries"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="openiop-bench-") as tmp:
        configure(Path(tmp))
        with throwaway_database() as where:
            run(where, args.events, args.runs)


def run(where: str, total: int, runs: int) -> None:
    from django.test import Client

    from tests.factories import sign_in

    print(f"Audit trail benchmark on {where}")
    started = time.perf_counter()
    sites, users = populate(total)
    print(
        f"  inserted {total:,} events across {len(sites)} sites and {len(users)} users"
        f" in {time.perf_counter() - started:.1f} s"
    )

    site = sites[0]
    tz = ZoneInfo(site.time_zone)
    today = datetime.now(tz).date()

    def bounds(days: int) -> tuple[datetime, datetime]:
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        return start, end

    print("Query level (one site):")
    for days in (30, DAYS):
        start, end = bounds(days)

        def first_page(start: datetime = start, end: datetime = end) -> int:
            events = site_events(site, start, end)
            total = events.count()
            list(events.select_related("actor")[:PAGE_SIZE])
            return total

        matched = measure(f"list, {days} days: count + first {PAGE_SIZE}", runs, first_page)
        print(f"  {'':<46} ({matched:,} matching events)")

    start, end = bounds(DAYS)
    size = measure(
        f"CSV of {EXPORT_ROWS:,} rows",
        runs,
        lambda: write_csv(site_events(site, start, end)[:EXPORT_ROWS]),
    )
    print(f"  {'':<46} ({size / 1024:,.0f} KiB)")

    print("Through Django (middleware, view, template), signed in as the site's auditor:")
    auditor = next(
        user for user, user_site, role in users if user_site == site and role == "auditor"
    )
    client = Client()
    sign_in(client, auditor, site=site)
    for days in (30, DAYS):
        query = f"?date_from={today - timedelta(days=days - 1):%Y-%m-%d}&date_to={today:%Y-%m-%d}"

        def page(query: str = query) -> int:
            response = client.get(f"/audit/{query}")
            if response.status_code != 200:
                raise SystemExit(f"GET /audit/{query} answered {response.status_code}")
            return len(response.content)

        measure(f"GET /audit/ {days} days", runs, page)

    # An export of roughly EXPORT_ROWS rows: the most recent days that hold that many events.
    events = site_events(site, *bounds(DAYS))
    last = events[EXPORT_ROWS - 1].occurred_at.astimezone(tz).date()
    days = (today - last).days
    query = f"?date_from={last:%Y-%m-%d}&date_to={today:%Y-%m-%d}"
    rows = site_events(site, *bounds(days + 1)).count()

    def export() -> int:
        response = client.get(f"/audit/export.csv{query}")
        if response.status_code != 200:
            raise SystemExit(f"GET /audit/export.csv answered {response.status_code}")
        if not response.streaming:
            return len(response.content)
        return sum(len(chunk) for chunk in response.streaming_content)

    measure(f"GET /audit/export.csv {rows:,} rows", runs, export)


if __name__ == "__main__":
    main()
