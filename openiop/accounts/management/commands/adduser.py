"""``openiop adduser USERNAME --site NAME --role ROLE``: add a staff member, or a site to one."""

from __future__ import annotations

import getpass
import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from openiop.accounts.management import describe
from openiop.accounts.models import Site, User
from openiop.accounts.roles import Role
from openiop.accounts.services import add_membership, add_staff_member

PASSWORD_ENV = "OPENIOP_PASSWORD"  # noqa: S105 - the variable's name, not a password

LABELS = {
    "username": "USERNAME",
    "first_name": "--first-name",
    "last_name": "--last-name",
    "email": "--email",
    "credentials": "--credentials",
    "role": "--role",
    "password": "Password not accepted",
}


def find_site(name: str) -> Site:
    name = name.strip()
    site = Site.objects.filter(name=name).first() or Site.objects.filter(name__iexact=name).first()
    if site is None:
        known = ", ".join(Site.objects.values_list("name", flat=True))
        hint = (
            f"Known sites: {known}."
            if known
            else "There are no sites yet; add one with `openiop addsite`."
        )
        raise CommandError(f"Unknown site {name!r}. {hint}")
    return site


def parse_role(value: str) -> str:
    wanted = value.strip().lower().replace("-", "_").replace(" ", "_")
    for role in Role:
        if wanted in (role.value, role.label.lower().replace(" ", "_")):
            return role.value
    raise CommandError(f"Unknown role {value!r}. Valid roles: {', '.join(Role.values)}.")


class Command(BaseCommand):
    help = (
        f"Add a staff member with a role at a site. The password comes from {PASSWORD_ENV} or"
        " is asked for twice. For an existing user, adds the role at another site instead."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--site", required=True, help="the site's name")
        parser.add_argument("--role", required=True, help=", ".join(Role.values))
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--email", default="")
        parser.add_argument("--credentials", default="", help='shown on notes, e.g. "LCSW"')

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"].strip()
        site = find_site(options["site"])
        role = parse_role(options["role"])
        label = Role(role).label

        existing = User.objects.filter(username__iexact=username).first()
        if existing is not None:
            self.add_site_to(existing, site=site, role=role)
            return

        password = self.read_password(username)
        try:
            user = add_staff_member(
                username=username,
                password=password,
                site=site,
                role=role,
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["email"],
                credentials=options["credentials"],
            )
        except ValidationError as exc:
            raise CommandError(describe(exc, labels=LABELS)) from exc
        self.stdout.write(self.style.SUCCESS(f"Added {user.username} as {label} at {site.name}."))

    def add_site_to(self, user: User, *, site: Site, role: str) -> None:
        current = user.memberships.filter(site=site).first()
        if current is not None:
            raise CommandError(
                f"{user.username} already has a role at {site.name} "
                f"({current.get_role_display()}); nothing was changed."
            )
        add_membership(user=user, site=site, role=role)
        note = "" if user.is_active else " The account is disabled, so they cannot sign in."
        self.stdout.write(
            self.style.SUCCESS(
                f"{user.username} already exists: added the role {Role(role).label} at "
                f"{site.name}; their password and profile are unchanged.{note}"
            )
        )

    def read_password(self, username: str) -> str:
        password = os.environ.get(PASSWORD_ENV, "")
        if password:
            return password
        if not sys.stdin.isatty():
            raise CommandError(f"No terminal to ask for a password; set {PASSWORD_ENV}.")
        first = getpass.getpass(f"Password for {username}: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            raise CommandError("The two passwords differ; nothing was changed.")
        return first
