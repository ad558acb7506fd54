"""``openiop addsite NAME --timezone TZ``: add a clinic location."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from openiop.accounts.management import describe
from openiop.accounts.models import Site
from openiop.accounts.services import add_site


class Command(BaseCommand):
    help = "Add a site (a clinic location) with its IANA time zone."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help='the site\'s name, e.g. "Riverbend Recovery — Downtown"')
        parser.add_argument(
            "--timezone", required=True, help="IANA time zone, e.g. America/Chicago"
        )
        parser.add_argument("--address", default="", help="street address (optional)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if Site.objects.filter(name__iexact=name).exists():
            raise CommandError(f"A site named {name!r} already exists.")
        try:
            site = add_site(name=name, time_zone=options["timezone"], address=options["address"])
        except ValidationError as exc:
            labels = {"name": "NAME", "time_zone": "--timezone", "address": "--address"}
            raise CommandError(describe(exc, labels=labels)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Added site {site.name!r} (time zone {site.time_zone}).")
        )
