"""The demo organization behind ``openiop demo``: two sites and a staff of every role.

Every person and place here is fictional. Building is idempotent: a second run finds what the
first created, creates nothing twice, and restores the shared password so the printed logins
work.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction

from openiop.accounts.models import Membership, Site, User
from openiop.accounts.roles import Role
from openiop.accounts.services import add_membership, add_site, add_staff_member

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed on purpose; demo databases only

DOWNTOWN = "Riverbend Recovery — Downtown"
NORTHSIDE = "Riverbend Recovery — Northside"


@dataclass(frozen=True)
class DemoSite:
    name: str
    time_zone: str
    address: str


@dataclass(frozen=True)
class DemoStaff:
    username: str
    first_name: str
    last_name: str
    credentials: str
    # (site name, role) pairs; the first is where the account is created.
    roles: tuple[tuple[str, str], ...]


SITES = (
    DemoSite(DOWNTOWN, "America/Chicago", "100 Example Avenue, Demo City"),
    DemoSite(NORTHSIDE, "America/Chicago", "2 Placeholder Road, Demo City"),
)

STAFF = (
    # Dana holds a different role at each site, which shows the site switcher.
    DemoStaff(
        "dana", "Dana", "Demo", "LCSW", ((DOWNTOWN, Role.DIRECTOR), (NORTHSIDE, Role.THERAPIST))
    ),
    DemoStaff("theo", "Theo", "Testwell", "LPC, CADC", ((DOWNTOWN, Role.THERAPIST),)),
    DemoStaff("tara", "Tara", "Trialson", "LMFT", ((NORTHSIDE, Role.THERAPIST),)),
    DemoStaff("morgan", "Morgan", "Mockwell", "LCSW", ((DOWNTOWN, Role.THERAPIST),)),
    DemoStaff("riley", "Riley", "Roleplay", "LADC", ((DOWNTOWN, Role.THERAPIST),)),
    DemoStaff("priya", "Priya", "Placeholder", "MD", ((DOWNTOWN, Role.PRESCRIBER),)),
    DemoStaff("nick", "Nick", "Notreal", "RN", ((DOWNTOWN, Role.NURSE),)),
    DemoStaff("fiona", "Fiona", "Fakely", "", ((DOWNTOWN, Role.FRONT_DESK),)),
    DemoStaff("bianca", "Bianca", "Bogus", "", ((DOWNTOWN, Role.BILLING),)),
    DemoStaff("avery", "Avery", "Auditsworth", "", ((DOWNTOWN, Role.AUDITOR),)),
)


class NotADemoDatabase(Exception):
    """The database holds sites or staff of its own; demo logins must never be added to it."""


@dataclass(frozen=True)
class Login:
    username: str
    name: str
    role: str
    site: str


@dataclass(frozen=True)
class DemoOutcome:
    sites_created: int
    users_created: int
    logins: list[Login]


def check_demo_database() -> None:
    """Refuse a real clinic's database: the demo password is printed for all to see.

    A demo database is an empty one or one that already holds the demo sites (staff added
    while trying the demo out do not make it a real one).
    """
    if Site.objects.filter(name__in=[s.name for s in SITES]).exists():
        return
    if Site.objects.exists() or User.objects.exists():
        raise NotADemoDatabase(
            "This database already has sites or staff of its own, so the demo will not add"
            " accounts with a published password to it. Run the demo on a fresh database"
            " (another OPENIOP_VAR_DIR or DATABASE_URL)."
        )


@transaction.atomic
def build_demo(*, rng: random.Random) -> DemoOutcome:
    """Create (or find) the demo organization and return its logins.

    ``rng`` is the only source of random choices in demo data, so ``--seed`` reproduces it.
    """
    check_demo_database()
    sites: dict[str, Site] = {}
    sites_created = 0
    for spec in SITES:
        site = Site.objects.filter(name=spec.name).first()
        if site is None:
            site = add_site(name=spec.name, time_zone=spec.time_zone, address=spec.address)
            sites_created += 1
        sites[spec.name] = site

    users_created = 0
    for person in STAFF:
        user = User.objects.filter(username=person.username).first()
        if user is None:
            first_site, first_role = person.roles[0]
            user = add_staff_member(
                username=person.username,
                password=DEMO_PASSWORD,
                site=sites[first_site],
                role=first_role,
                first_name=person.first_name,
                last_name=person.last_name,
                email=f"{person.username}@example.org",
                credentials=person.credentials,
            )
            users_created += 1
        else:
            restore_login(user)
        for site_name, role in person.roles:
            if not user.memberships.filter(site=sites[site_name]).exists():
                add_membership(user=user, site=sites[site_name], role=role)
    return DemoOutcome(sites_created=sites_created, users_created=users_created, logins=logins())


def restore_login(user: User) -> None:
    """Undo what a visitor may have changed, so that the printed login signs in again."""
    if user.is_active and user.check_password(DEMO_PASSWORD):
        return
    user.is_active = True
    user.disabled_at = None
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["is_active", "disabled_at", "password"])


def logins() -> list[Login]:
    """Every demo login as the database has it, in the cast's order."""
    order = {person.username: index for index, person in enumerate(STAFF)}
    memberships = Membership.objects.filter(user__username__in=order).select_related("user", "site")
    rows = sorted(memberships, key=lambda m: (order[m.user.username], m.site.name))
    return [
        Login(
            username=m.user.username,
            name=m.user.display_name,
            role=m.get_role_display(),
            site=m.site.name,
        )
        for m in rows
    ]
