"""``openiop adduser``."""

from __future__ import annotations

import sys
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from openiop.accounts.models import Membership, User
from openiop.audit.models import Action, AuditEvent
from tests.factories import PASSWORD

NEW_PASSWORD = "a-long-enough-passphrase-9"


class Terminal:
    def isatty(self) -> bool:
        return True


@pytest.fixture
def password(monkeypatch):
    monkeypatch.setenv("OPENIOP_PASSWORD", NEW_PASSWORD)


@pytest.fixture
def no_password(monkeypatch):
    monkeypatch.delenv("OPENIOP_PASSWORD", raising=False)


def run(*args: str) -> str:
    out = StringIO()
    call_command("adduser", *args, stdout=out)
    return out.getvalue()


def test_it_adds_a_staff_member_with_the_password_from_the_environment(password, site):
    output = run(
        "nina",
        "--site",
        "Testville Clinic",
        "--role",
        "nurse",
        "--first-name",
        "Nina",
        "--last-name",
        "Nursington",
        "--email",
        "nina@example.org",
        "--credentials",
        "RN",
    )
    assert output == "Added nina as Nurse at Testville Clinic.\n"
    nina = User.objects.get(username="nina")
    assert nina.check_password(NEW_PASSWORD)
    assert (nina.first_name, nina.last_name, nina.email, nina.credentials) == (
        "Nina",
        "Nursington",
        "nina@example.org",
        "RN",
    )
    assert [(m.site, m.role) for m in nina.memberships.all()] == [(site, "nurse")]
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="user")
    assert event.object_id == str(nina.pk)
    assert event.site == site


def test_it_asks_for_the_password_twice_on_a_terminal(no_password, site, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal())
    with mock.patch("getpass.getpass", side_effect=[NEW_PASSWORD, NEW_PASSWORD]) as asked:
        run("nina", "--site", "Testville Clinic", "--role", "nurse")
    assert asked.call_count == 2
    assert User.objects.get(username="nina").check_password(NEW_PASSWORD)


def test_it_refuses_two_different_passwords(no_password, site, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal())
    with (
        mock.patch("getpass.getpass", side_effect=[NEW_PASSWORD, NEW_PASSWORD + "x"]),
        pytest.raises(CommandError, match="The two passwords differ"),
    ):
        run("nina", "--site", "Testville Clinic", "--role", "nurse")
    assert not User.objects.filter(username="nina").exists()


def test_it_asks_for_the_environment_variable_without_a_terminal(no_password, site):
    with (
        mock.patch("sys.stdin.isatty", return_value=False),
        pytest.raises(CommandError, match="set OPENIOP_PASSWORD"),
    ):
        run("nina", "--site", "Testville Clinic", "--role", "nurse")
    assert not User.objects.filter(username="nina").exists()


def test_it_lists_what_is_wrong_with_a_weak_password(site, monkeypatch):
    monkeypatch.setenv("OPENIOP_PASSWORD", "password123")
    with pytest.raises(CommandError) as raised:
        run("nina", "--site", "Testville Clinic", "--role", "nurse")
    message = str(raised.value)
    assert message.startswith("Password not accepted: ")
    assert "too short" in message
    assert "too common" in message
    assert not User.objects.filter(username="nina").exists()
    assert not AuditEvent.objects.exists()


def test_it_names_the_option_of_an_invalid_field(password, site):
    with pytest.raises(CommandError) as raised:
        run("nina", "--site", "Testville Clinic", "--role", "nurse", "--email", "not-an-address")
    assert str(raised.value) == "--email: Enter a valid email address."
    assert not User.objects.filter(username="nina").exists()


def test_it_lists_the_known_sites_for_an_unknown_one(password, site, other_site):
    with pytest.raises(CommandError) as raised:
        run("nina", "--site", "Nowhere", "--role", "nurse")
    assert str(raised.value) == (
        "Unknown site 'Nowhere'. Known sites: Elsewhere Recovery Center, Testville Clinic."
    )
    assert not User.objects.filter(username="nina").exists()


def test_it_lists_the_valid_roles_for_an_unknown_one(password, site):
    with pytest.raises(CommandError) as raised:
        run("nina", "--site", "Testville Clinic", "--role", "wizard")
    assert str(raised.value) == (
        "Unknown role 'wizard'. Valid roles: director, therapist, prescriber, nurse,"
        " front_desk, billing, auditor."
    )
    assert not User.objects.filter(username="nina").exists()


@pytest.mark.parametrize("spelling", ["front_desk", "front-desk", "Front desk", "FRONT-DESK"])
def test_it_accepts_a_role_as_value_or_label(password, site, spelling):
    run("fran", "--site", "testville clinic", "--role", spelling)
    assert Membership.objects.get(user__username="fran").role == "front_desk"


def test_it_gives_an_existing_user_a_role_at_another_site(password, dana, site, other_site):
    output = run("DANA", "--site", "Elsewhere Recovery Center", "--role", "therapist")
    assert "dana already exists: added the role Therapist at Elsewhere Recovery Center" in output
    assert User.objects.filter(username__iexact="dana").count() == 1
    assert sorted((m.site.name, m.role) for m in dana.memberships.all()) == [
        ("Elsewhere Recovery Center", "therapist"),
        ("Testville Clinic", "director"),
    ]
    dana.refresh_from_db()
    assert dana.check_password(PASSWORD)
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="membership")
    assert event.site == other_site
    assert event.detail == "dana as Therapist"


def test_it_refuses_a_second_role_at_the_same_site(password, dana, site):
    with pytest.raises(CommandError, match=r"dana already has a role at Testville Clinic \(Dir"):
        run("dana", "--site", "Testville Clinic", "--role", "therapist")
    assert [(m.site, m.role) for m in dana.memberships.all()] == [(site, "director")]
    assert not AuditEvent.objects.exists()


def test_it_attributes_command_line_changes_to_the_operator(db):
    import getpass

    from openiop.accounts.services import add_site
    from openiop.audit.models import AuditEvent

    add_site(name="Cmdline Clinic", time_zone="America/Chicago")
    event = AuditEvent.objects.get(object_type="site")
    assert event.actor is None
    assert event.actor_username == f"command line ({getpass.getuser()})"
    assert event.detail == "Cmdline Clinic (America/Chicago)"
