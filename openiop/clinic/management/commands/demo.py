"""``openiop demo``: a local clinic with fictional staff, served on http://127.0.0.1:8000.

``openiop`` turns DEBUG on and the second factor off for this command before settings load
(see openiop/cli.py); the banner says so.
"""

from __future__ import annotations

import os
import random
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from openiop.accounts.demo import DEMO_PASSWORD, Login, NotADemoDatabase, build_demo
from openiop.clinic.demo import build_demo_clinic


def parse_port(value: int | str, *, source: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise CommandError(f"{source}={value!r} is not a port number.") from None
    if not 0 < port < 65536:
        raise CommandError(f"{source}={port} is not a TCP port (1-65535).")
    return port


def database_description() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite file {db['NAME']}"
    return f"PostgreSQL database {db['NAME']!r} on {db.get('HOST') or 'localhost'}"


def login_table(logins: list[Login]) -> list[str]:
    header = ("USERNAME", "NAME", "ROLE", "SITE", "PASSWORD")
    rows = [header] + [(x.username, x.name, x.role, x.site, DEMO_PASSWORD) for x in logins]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


class Command(BaseCommand):
    help = (
        "Run a demo clinic: migrate the local database, load fictional sites and staff of every"
        " role, print their logins and serve on 127.0.0.1 (PORT, default 8000)."
    )

    def progress(self, label: str, done: int, total: int) -> None:
        """A one-line progress bar on a terminal; plain lines in a log."""
        width = 24
        filled = width * done // max(total, 1)
        bar = f"  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}"
        if self.stdout.isatty():
            end = "\n" if done >= total else ""
            self.stdout.write(f"\r{bar:<70}", ending=end)
            self.stdout.flush()
        else:
            self.stdout.write(bar)

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", default=None, help="port to serve on (env PORT, or 8000)")
        parser.add_argument(
            "--no-serve", action="store_true", help="load the demo and print logins, then exit"
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="make the demo's random choices repeatable"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Check the port first, so a typo fails before any work is done.
        if options["port"] is not None:
            port = parse_port(options["port"], source="--port")
        else:
            port = parse_port(os.environ.get("PORT") or 8000, source="PORT")

        self.stdout.write(f"Preparing the database ({database_description()})…")
        call_command("migrate", interactive=False, verbosity=0)
        # One generator for everything, so --seed reproduces the whole demo.
        rng = random.Random(options["seed"])  # noqa: S311 - demo data, not a secret
        try:
            outcome = build_demo(rng=rng)
        except NotADemoDatabase as exc:
            raise CommandError(str(exc)) from exc

        if outcome.sites_created or outcome.users_created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo organization created: {outcome.sites_created} sites,"
                    f" {outcome.users_created} staff."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS("Demo organization already loaded."))
        clinic = build_demo_clinic(rng=rng, progress=self.progress)
        if clinic.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo clinic loaded: {clinic.patients} fictional patients,"
                    f" {clinic.sessions} sessions, {clinic.bookings} bookings with attendance."
                )
            )
        self.stdout.write("")
        lines = login_table(outcome.logins)
        self.stdout.write(self.style.MIGRATE_HEADING(lines[0]))
        for line in lines[1:]:
            self.stdout.write(line)
        self.stdout.write("")
        if settings.REQUIRE_MFA:
            self.stdout.write(
                self.style.WARNING(
                    "Two-step sign-in is ON (REQUIRE_MFA=true): each login first sets up an"
                    " authenticator app."
                )
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    "Two-step sign-in is OFF in the demo (REQUIRE_MFA=false);"
                    " production requires it."
                )
            )
        self.stdout.write(
            self.style.WARNING(
                "Everyone here is fictional. Never enter real patient information in the demo."
            )
        )
        if options["no_serve"]:
            return

        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"Open http://127.0.0.1:{port}/ and sign in. Ctrl-C stops.")
        )
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
