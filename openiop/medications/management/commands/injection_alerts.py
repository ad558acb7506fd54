"""``openiop injection-alerts [--date D] [--site NAME]``: alert about overdue injections.

Run it every morning (cron or a systemd timer), on one server or on several: each overdue due
window alerts the patient's primary therapist and prescriber once, whatever the number of
runs (see ``openiop.medications.services.raise_overdue_injection_alerts``). Without ``--date``
each site uses its own local today; a future date is refused. One line per site.
"""

from __future__ import annotations

import re
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from openiop.accounts.models import Site
from openiop.lib.dates import local_today
from openiop.medications import schedule
from openiop.medications.services import (
    injections_due_for_site,
    raise_overdue_injection_alerts,
)

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
        "Alert the primary therapist and prescriber about overdue in-clinic injections at"
        " every site (idempotent: one alert per due window and person)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--date", help="the day to check (YYYY-MM-DD); default: each site's today"
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
        days = {site.pk: day or local_today(site.time_zone) for site in sites}
        for site in sites:
            if days[site.pk] > local_today(site.time_zone):
                raise CommandError(
                    f"{site.name}: {days[site.pk].isoformat()} is after the site's today;"
                    " nothing can be overdue yet."
                )
        for site in sites:
            site_day = days[site.pk]
            created = raise_overdue_injection_alerts(site, site_day)
            overdue = sum(
                1
                for item in injections_due_for_site(site, site_day)
                if item.status is schedule.DueStatus.OVERDUE and not item.first_dose
            )
            self.stdout.write(
                f"{site.name}: {site_day.isoformat()}: {overdue} injection(s) overdue,"
                f" {created} new alert(s)."
            )
        self.stdout.write(self.style.SUCCESS(f"Done: {len(sites)} site(s)."))
