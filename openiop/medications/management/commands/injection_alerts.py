"""``openiop injection-alerts [--date D] [--site NAME]``: alert about overdue injections.

Run it every morning (cron or a systemd timer), on one server or on several: each overdue due
window alerts the patient's primary therapist and prescriber once, whatever the number of
runs (see ``openiop.medications.services.raise_overdue_injection_alerts``). Without ``--date``
each site uses its own local today; a future date is refused. One line per site.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from openiop.accounts.site_commands import (
    add_date_option,
    add_site_option,
    chosen_sites,
    days_for,
    parse_day,
)
from openiop.medications import schedule
from openiop.medications.services import (
    injections_due_for_site,
    raise_overdue_injection_alerts,
)


class Command(BaseCommand):
    help = (
        "Alert the primary therapist and prescriber about overdue in-clinic injections at"
        " every site (idempotent: one alert per due window and person)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_date_option(parser, "the day to check (YYYY-MM-DD); default: each site's today")
        add_site_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        day = parse_day(options["date"]) if options["date"] else None
        sites = chosen_sites(options["site"])
        days = days_for(sites, day, future_note="; nothing can be overdue yet")
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
