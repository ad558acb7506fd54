"""``openiop token USERNAME``: issue an API token and print only the token.

Only the token goes to stdout, so that ``TOKEN=$(openiop token dana)`` works.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from openiop.accounts.models import User
from openiop.accounts.services import create_api_token


class Command(BaseCommand):
    help = "Create an API token for a user and print it (shown once; only its hash is kept)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="Command line", help="a label to recognise the token by later"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"].strip()
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"Unknown user {username!r}.")
        if not user.is_active:
            raise CommandError(f"{user.username} is disabled; a token for them would not work.")
        if not user.memberships.exists():
            self.stderr.write(
                f"Note: {user.username} has no role at any site, so the API will refuse"
                " their calls until they get one (openiop adduser).",
                self.style.WARNING,
            )
        issued = create_api_token(user=user, name=options["name"])
        self.stdout.write(issued.secret)
