"""``openiop review-levels [--date D] [--site NAME]``: recommend step-up / step-down reviews.

Run it every night (cron or a systemd timer), after midnight so last week's hours are closed.
It reviews every active enrollment (``openiop.measures.engine.run_reviews``), raises a review
and its alerts where the evidence calls for one, and closes the open reviews of enrollments
that ended. Idempotent: running it again with the same evidence raises nothing. Without
``--date`` each site uses its own local today; a future date is refused. One line per site.
"""

from __future__ import annotations

import re
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from openiop.accounts.models import Site
from openiop.lib.dates import local_today
from openiop.measures.engine import SiteSummary, review_site

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
        "Recommend step-up / step-down level-of-care reviews for every active enrollment and"
        " alert the primary therapist (idempotent: the same evidence raises nothing twice)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--date", help="the day to review (YYYY-MM-DD); default: each site's today"
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
                    f"{site.name}: {days[site.pk].isoformat()} is after the site's today."
                )
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
