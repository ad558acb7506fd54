"""``openiop review-levels [--date D] [--site NAME]``: recommend step-up / step-down reviews.

Run it every night (cron or a systemd timer), after midnight so last week's hours are closed.
It reviews every active enrollment (``openiop.measures.engine.run_reviews``), raises a review
and its alerts where the evidence calls for one, and closes the open reviews of enrollments
that ended. Idempotent: running it again with the same evidence raises nothing. Without
``--date`` each site uses its own local today; a future date is refused. One line per site.
"""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand

from openiop.accounts.site_commands import (
    add_date_option,
    add_site_option,
    chosen_sites,
    days_for,
    parse_day,
)
from openiop.measures.engine import SiteSummary, review_site


class Command(BaseCommand):
    help = (
        "Recommend step-up / step-down level-of-care reviews for every active enrollment and"
        " alert the primary therapist (idempotent: the same evidence raises nothing twice)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_date_option(parser, "the day to review (YYYY-MM-DD); default: each site's today")
        add_site_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        day = parse_day(options["date"]) if options["date"] else None
        sites = chosen_sites(options["site"])
        days = days_for(sites, day)
        totals = SiteSummary(site="all", today=day or date.min)
        for site in sites:
            summary, _ = review_site(site=site, today=days[site.pk], trigger="nightly")
            self.stdout.write(
                f"{site.name}: {summary.today.isoformat()}: {summary.enrollments} enrollment(s)"
                f" reviewed, {summary.reviews} review(s) raised, {summary.alerts} alert(s),"
                f" {summary.closed} closed, {summary.seconds:.2f} s."
            )
            totals.enrollments += summary.enrollments
            totals.reviews += summary.reviews
            totals.alerts += summary.alerts
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {len(sites)} site(s), {totals.enrollments} enrollment(s),"
                f" {totals.reviews} review(s) raised."
            )
        )
