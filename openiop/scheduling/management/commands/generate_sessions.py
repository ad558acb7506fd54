"""``openiop generate-sessions [--weeks N] [--site NAME]``: keep the group schedule ahead.

Run it nightly (cron or a systemd timer) on any one server, or on several: it is idempotent
and safe to run concurrently (see ``openiop.scheduling.series``).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from openiop.accounts.site_commands import (
    add_site_option,
    chosen_sites,
)
from openiop.scheduling.series import (
    DEFAULT_HORIZON_WEEKS,
    MAX_HORIZON_WEEKS,
    SiteSummary,
    check_weeks,
    generate_sessions,
)


def _weeks(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"--weeks must be a whole number of weeks, not {text!r}.") from None


class Command(BaseCommand):
    help = (
        "Create the group sessions of every active group series for the coming weeks"
        " (idempotent: sessions already there are left alone)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--weeks",
            default=str(DEFAULT_HORIZON_WEEKS),
            help=f"how many weeks ahead, 1–{MAX_HORIZON_WEEKS} (default {DEFAULT_HORIZON_WEEKS})",
        )
        add_site_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        weeks = _weeks(options["weeks"])
        try:
            check_weeks(weeks)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        sites = chosen_sites(options["site"]) if options["site"] else None

        def progress(summary: SiteSummary) -> None:
            self.stdout.write(
                f"{summary.site.name}: {summary.series} group series, {summary.created} session(s)"
                f" created, {summary.already_there} already there,"
                f" {len(summary.conflicts)} skipped for conflicts;"
                f" {summary.individual_series} individual schedule(s),"
                f" {summary.individual_booked} individual session(s) booked"
            )

        summary = generate_sessions(weeks=weeks, sites=sites, on_site=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Done for the next {weeks} week(s): {summary.created} session(s) created,"
                f" {summary.already_there} already there,"
                f" {len(summary.conflicts)} skipped for conflicts."
            )
        )
        if summary.conflicts:
            self.stdout.write("Skipped (the facilitator, the room or the patient is busy):")
            for conflict in summary.conflicts:
                self.stdout.write(f"  - {conflict}")
