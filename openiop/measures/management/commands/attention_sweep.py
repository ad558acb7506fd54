"""``openiop attention-sweep [--site NAME]``: raise and clear the attention list's
time-based alerts (hours at risk, notes unsigned, plans and placements due).

Run it every morning and, if you like, every hour (cron or a systemd timer), on one server or
several: each alert exists once per evidence and person whatever the number of runs, and an
alert whose condition has cleared is resolved as the system (see
``openiop.measures.attention``). One line per site; a site that fails goes to stderr, the
others still run, and the command exits 1.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from openiop.accounts.site_commands import (
    add_site_option,
    chosen_sites,
)
from openiop.alerts.models import AlertKind
from openiop.measures.attention import SWEEP_KINDS, SweepResult, sweep_site

LABELS = {
    AlertKind.HOURS_AT_RISK: "hours at risk",
    AlertKind.NOTE_UNSIGNED: "notes unsigned",
    AlertKind.PLAN_DUE: "plans due",
    AlertKind.PLACEMENT_DUE: "placements due",
}


def _by_kind(counts: dict[str, int]) -> str:
    parts = [f"{LABELS[kind]} {counts[kind]}" for kind in SWEEP_KINDS if counts.get(kind)]
    return f" ({', '.join(parts)})" if parts else ""


def summary(result: SweepResult) -> str:
    return (
        f"{result.site}: {result.total_raised} new alert(s){_by_kind(result.raised)},"
        f" {result.escalated} escalated,"
        f" {result.total_resolved} cleared{_by_kind(result.resolved)}."
    )


class Command(BaseCommand):
    help = (
        "Raise the attention list's time-based alerts (hours at risk, notes unsigned, plans and"
        " placements due) at every site and resolve those that cleared (idempotent)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_site_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        sites = chosen_sites(options["site"])
        failed = 0
        for number, site in enumerate(sites, start=1):
            try:
                result = sweep_site(site)
            except Exception as exc:  # one site's failure must not stop the others
                failed += 1
                self.stderr.write(f"[{number}/{len(sites)}] {site.name}: failed: {exc}")
                continue
            self.stdout.write(f"[{number}/{len(sites)}] {summary(result)}")
        if failed:
            raise CommandError(f"{failed} of {len(sites)} site(s) failed; see above.")
        self.stdout.write(self.style.SUCCESS(f"Done: {len(sites)} site(s)."))
