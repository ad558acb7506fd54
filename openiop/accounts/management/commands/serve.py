"""``openiop serve``: the production server (gunicorn), after collecting static files."""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def default_workers() -> int:
    # Gunicorn's rule of thumb (2 x CPUs + 1), capped: each worker holds its own database
    # connection, and one clinic's traffic does not need more.
    return min(2 * (os.cpu_count() or 1) + 1, 8)


def gunicorn_argv(*, host: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "openiop.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
    ]


class Command(BaseCommand):
    help = (
        "Run the production server: collect static files, then hand over to gunicorn."
        " Configuration comes from the environment (see .env.example)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port to bind (8000)")
        parser.add_argument(
            "--workers", type=int, default=None, help="worker processes (2 x CPUs + 1, max 8)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"--port {port} is not a TCP port (1-65535).")
        workers = default_workers() if options["workers"] is None else options["workers"]
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        if settings.DEBUG:
            self.stderr.write(
                "DEBUG is on: never serve real patient data like this.", self.style.WARNING
            )
        try:
            call_command("collectstatic", interactive=False, verbosity=0)
        except ValueError as exc:
            # The manifest storage raises ValueError for a file that a CSS or JS file refers
            # to but that is missing; without the manifest every page would fail, so stop here.
            raise CommandError(f"collectstatic failed: {exc}") from exc
        argv = gunicorn_argv(host=options["host"], port=port, workers=workers)
        self.stdout.write(
            f"Serving OpenIOP on http://{options['host']}:{port} with {workers} gunicorn workers."
        )
        # exec, not a child process: gunicorn takes over this process id, so a service
        # manager's signals (TERM for shutdown, HUP for reload) reach it directly.
        self.stdout.flush()
        self.stderr.flush()
        os.execvp(argv[0], argv)  # noqa: S606 - fixed argv, no shell
