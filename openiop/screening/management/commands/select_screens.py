"""``openiop select-screens [--date D] [--site NAME]``: run the day's random drug-screen selection.

Run it every morning before the first group (cron or a systemd timer), on one server or on
several: it is idempotent per site and day and safe to run concurrently (see
``openiop.screening.services_selection``). Without ``--date`` each site uses its own local
today. ``--date`` may name a past day an earlier run missed; a future day is refused. One
line per site; the exit status is 1 when any site was refused.
"""

from __future__ import annotations

import re
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from openiop.accounts.models import Site
from openiop.lib.dates import local_today, zone
from openiop.screening.services_selection import SelectionRefused, run_selection

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(text: str) -> date:
    try:
        if not _ISO_DATE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date must be a date like 2026-03-02, not {text!r}.") from None


class Command(BaseCommand):
    help = (
        "Select today's random drug screens at every site (idempotent: a site and day already"
        " selected keeps its selection)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--date", help="a past day a run missed (YYYY-MM-DD); default: each site's today"
        )
        parser.add_argument("--site", help="only this site (its exact name)")

    def handle(self, *args: Any, **options: Any) -> None:
        day = _day(options["date"]) if options["date"] else None
        if options["site"]:
            site = Site.objects.filter(name=options["site"]).first()
            if site is None:
                known = ", ".join(Site.objects.order_by("name").values_list("name", flat=True))
                raise CommandError(f"No site named {options['site']!r}. Sites: {known or 'none'}.")
            sites = [site]
        else:
            sites = list(Site.objects.order_by("name"))
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
