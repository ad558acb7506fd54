"""``openiop select-screens [--date D] [--site NAME]``: run the day's random drug-screen selection.

Run it every morning before the first group (cron or a systemd timer), on one server or on
several: it is idempotent per site and day and safe to run concurrently (see
``openiop.screening.services_selection``). Without ``--date`` each site uses its own local
today. ``--date`` may name a past day an earlier run missed; a future day is refused. One
line per site; the exit status is 1 when any site was refused.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from openiop.accounts.site_commands import (
    add_date_option,
    add_site_option,
    chosen_sites,
    parse_day,
)
from openiop.lib.dates import local_today, zone
from openiop.screening.services_selection import SelectionRefused, run_selection


class Command(BaseCommand):
    help = (
        "Select today's random drug screens at every site (idempotent: a site and day already"
        " selected keeps its selection)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_date_option(parser, "a past day a run missed (YYYY-MM-DD); default: each site's today")
        add_site_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        day = parse_day(options["date"]) if options["date"] else None
        sites = chosen_sites(options["site"])
        refused = 0
        for site in sites:
            site_day = day or local_today(site.time_zone)
            try:
                selection = run_selection(site, site_day)
            except SelectionRefused as exc:
                refused += 1
                self.stderr.write(f"{site.name}: refused. {exc.message}")
                continue
            record = selection.record
            selected, pool = len(record.get("selected", [])), record.get("pool_size", 0)
            if getattr(selection, "was_created", False):
                how = "selected now"
            else:
                ran_at = timezone.localtime(selection.ran_at, zone(site.time_zone))
                how = f"already selected at {ran_at:%H:%M} by {selection.ran_by_label}"
            self.stdout.write(
                f"{site.name}: {site_day.isoformat()}: {selected} of {pool} patient(s) on site"
                f" called for a screen ({how})."
            )
        if refused:
            raise CommandError(f"{refused} site(s) refused; see above.")
        self.stdout.write(self.style.SUCCESS(f"Done: {len(sites)} site(s)."))
