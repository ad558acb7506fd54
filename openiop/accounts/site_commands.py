"""What the per-site operator commands share: ``--site NAME`` and ``--date YYYY-MM-DD``, read
strictly, and each site's own today (``generate-sessions``, ``select-screens``,
``injection-alerts``, ``review-levels``, ``attention-sweep``)."""

from __future__ import annotations

import re
from argparse import ArgumentParser
from collections.abc import Sequence
from datetime import date

from django.core.management.base import CommandError

from openiop.accounts.models import Site
from openiop.lib.dates import local_today

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def add_site_option(parser: ArgumentParser) -> None:
    parser.add_argument("--site", help="only this site (its exact name)")


def add_date_option(parser: ArgumentParser, help_text: str) -> None:
    parser.add_argument("--date", help=help_text)


def parse_day(text: str) -> date:
    """``--date``: an ISO day, or a CommandError saying what was expected."""
    try:
        if not _ISO_DATE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date must be a date like 2026-03-02, not {text!r}.") from None


def chosen_sites(name: str | None) -> list[Site]:
    """The site named by ``--site`` (a CommandError listing the sites when there is none by
    that name), or every site, by name."""
    if not name:
        return list(Site.objects.order_by("name"))
    site = Site.objects.filter(name=name).first()
    if site is None:
        known = ", ".join(Site.objects.order_by("name").values_list("name", flat=True))
        raise CommandError(f"No site named {name!r}. Sites: {known or 'none'}.")
    return [site]


def days_for(sites: Sequence[Site], day: date | None, *, future_note: str = "") -> dict[int, date]:
    """Each site's day: ``day``, or the site's own today. A day after a site's today is refused
    before any site is touched (``future_note`` says why it matters for the command)."""
    days = {site.pk: day or local_today(site.time_zone) for site in sites}
    for site in sites:
        if days[site.pk] > local_today(site.time_zone):
            raise CommandError(
                f"{site.name}: {days[site.pk].isoformat()} is after the site's today{future_note}."
            )
    return days
