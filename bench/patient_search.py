"""Benchmark: patient search over 100,000 patients.

Builds an organization of two sites with N synthetic patients (obviously fake generated
names) in a throwaway database, then times what the front desk waits for: one search (the
total count plus the first page of 25, exactly as the patient list runs it) by name prefix,
"Last, First", MRN and date of birth. Prints p50/p95 per kind and the database's query plan
for each, so you can see the indexes at work. Asserts nothing; not part of the test suite.

    .venv/bin/python bench/patient_search.py                 # a throwaway SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/openiop .venv/bin/python bench/patient_search.py
                                                # a throwaway database beside it, dropped after

Options: --patients N (default 100000), --runs N searches per kind (default 200).
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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SITES = ("Benchmark North Clinic", "Benchmark South Clinic")
BATCH = 5_000

# Generated, obviously fictional names: no real person is named "Placeholdberg".
FIRST = [
    "Pat", "Casey", "Robin", "Sam", "Alex", "Jordan", "Taylor", "Morgan", "Riley", "Jamie",
    "Quinn", "Avery", "Drew", "Rowan", "Sky", "Jules", "Kit", "Lane", "Noel", "Remy",
]  # fmt: skip
LAST_STEMS = ["Sample", "Placehold", "Testa", "Fakel", "Mockw", "Dumm", "Stubb", "Fixt"]
LAST_ENDS = ["ton", "berg", "ski", "son", "ley", "field", "more", "worth", "ford", "by"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def configure(tmp: Path) -> None:
    """The test suite's settings (DEBUG off, so no query log grows in memory)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("OPENIOP_VAR_DIR", str(tmp))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ.setdefault("LOG_LEVEL", "ERROR")

    import django

    django.setup()


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A temp SQLite file, or a uniquely named PostgreSQL database dropped afterwards."""
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0)
        yield f"SQLite file {connection.settings_dict['NAME']}"
        return
    real_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"openiop_bench_search_{os.getpid()}"
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield f"PostgreSQL database {name} (dropped afterwards)"
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0)


def last_name(rng: random.Random) -> str:
    return (
        rng.choice(LAST_STEMS) + rng.choice(LETTERS) + rng.choice(LETTERS) + rng.choice(LAST_ENDS)
    )


def populate(total: int, *, seed: int = 11) -> list[Any]:
    from django.db import connection, transaction

    from openiop.accounts.models import Site
    from openiop.patients.models import MrnSequence, Patient
    from openiop.patients.services import format_mrn

    rng = random.Random(seed)
    sites = [Site.objects.create(name=name, time_zone="America/Chicago") for name in SITES]
    start = date(1940, 1, 1)
    span = (date(2008, 1, 1) - start).days
    made = 0
    started = time.perf_counter()
    while made < total:
        batch = []
        for _ in range(min(BATCH, total - made)):
            made += 1
            patient = Patient(
                site=sites[made % len(sites)],
                mrn=format_mrn(made),
                first_name=rng.choice(FIRST),
                last_name=last_name(rng),
                preferred_name=rng.choice(FIRST) if rng.random() < 0.15 else "",
                date_of_birth=start + timedelta(days=rng.randrange(span)),
                phone=f"555-01{rng.randrange(100):02d}",
                is_active=rng.random() < 0.8,
            )
            patient.refresh_search_keys()
            batch.append(patient)
        with transaction.atomic():
            Patient.objects.bulk_create(batch)
        print(f"\r  {made:,} patients", end="", flush=True)
    MrnSequence.objects.update_or_create(pk=1, defaults={"last_value": total})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f" in {time.perf_counter() - started:.1f} s")
    return sites


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="openiop-bench-") as tmp:
        configure(Path(tmp))
        from django.db import connection

        with throwaway_database() as where:
            print(f"Patient search benchmark on {where}")
            sites = populate(args.patients)
            run(sites, args.patients, args.runs, connection.vendor)


def run(sites: list[Any], total: int, runs: int, vendor: str) -> None:
    from openiop.patients.models import Patient
    from openiop.patients.queries import PAGE_SIZE, search_patients
    from openiop.patients.services import format_mrn

    rng = random.Random(5)
    site = sites[0]
    sample = list(
        Patient.objects.filter(site=site, is_active=True).values_list(
            "first_name", "last_name", "mrn", "date_of_birth"
        )[:2000]
    )
    kinds: dict[str, Callable[[], str]] = {
        "name prefix (4 letters)": lambda: rng.choice(sample)[1][: 4 + rng.randrange(4)],
        "Last, First": lambda: (lambda p: f"{p[1]}, {p[0][:2]}")(rng.choice(sample)),
        "First Last": lambda: (lambda p: f"{p[0]} {p[1][:6]}")(rng.choice(sample)),
        "MRN exact": lambda: rng.choice(sample)[2],
        "MRN prefix": lambda: format_mrn(rng.randrange(1, total))[:-2].lower(),
        "date of birth": lambda: rng.choice(sample)[3].strftime("%m/%d/%Y"),
    }

    def one_search(q: str) -> int:
        result = search_patients(Patient.objects.filter(site=site), q)
        count = result.patients.count()
        page = list(result.patients[:PAGE_SIZE])
        return count + len(page)

    print(f"\n{'search':<26}{'p50 ms':>9}{'p95 ms':>9}{'avg hits':>10}   ({runs} runs each)")
    plans: dict[str, str] = {}
    for label, make_query in kinds.items():
        timings = []
        hits = []
        for _ in range(runs):
            q = make_query()
            began = time.perf_counter()
            hits.append(one_search(q))
            timings.append((time.perf_counter() - began) * 1000)
        p50, p95 = percentiles(timings)
        print(f"{label:<26}{p50:>9.2f}{p95:>9.2f}{statistics.mean(hits):>10.1f}")
        q = make_query()
        plans[f"{label} — q={q!r}"] = (
            search_patients(Patient.objects.filter(site=site), q).patients[:PAGE_SIZE].explain()
        )

    print(f"\nQuery plans ({vendor}) of the first page:")
    for label, plan in plans.items():
        print(f"\n-- {label}\n{plan}")


if __name__ == "__main__":
    main()
