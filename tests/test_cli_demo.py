"""``openiop demo``: a fictional organization, its logins, and a local server."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from openiop.accounts.demo import DEMO_PASSWORD, STAFF
from openiop.accounts.models import Membership, Site, User
from openiop.accounts.roles import Role
from openiop.clinic.management.commands import demo


def run(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int]:
    return Site.objects.count(), User.objects.count(), Membership.objects.count()


@pytest.fixture
def no_clinic(monkeypatch):
    """Leaves out the demo clinic's patients and history (several seconds a build): these
    tests are about the organization, its logins and serving. ``test_demo_clinic.py`` tests
    the clinic; the first test here builds it through the command once."""
    built: list[dict[str, Any]] = []

    def skip(**options: Any) -> SimpleNamespace:
        built.append(options)
        return SimpleNamespace(created=False)

    monkeypatch.setattr(demo, "build_demo_clinic", skip)
    return built


@pytest.fixture
def served(monkeypatch, no_clinic):
    """Records runserver instead of serving; migrate still runs for real."""
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    real = demo.call_command

    def fake(name: str, *args: Any, **options: Any) -> None:
        calls.append((name, args, options))
        if name != "runserver":
            real(name, *args, **options)

    monkeypatch.setattr(demo, "call_command", fake)
    monkeypatch.delenv("PORT", raising=False)
    return calls


def test_it_builds_two_sites_and_a_staff_of_every_role(db, settings):
    settings.REQUIRE_MFA = False
    output = run("--no-serve")
    assert sorted(Site.objects.values_list("name", flat=True)) == [
        "Riverbend Recovery — Downtown",
        "Riverbend Recovery — Northside",
    ]
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    assert Membership.objects.filter(role=Role.THERAPIST).count() >= 2
    dana = User.objects.get(username="dana")
    assert sorted((m.site.name, m.role) for m in dana.memberships.all()) == [
        ("Riverbend Recovery — Downtown", "director"),
        ("Riverbend Recovery — Northside", "therapist"),
    ]
    for user in User.objects.all():
        assert user.check_password(DEMO_PASSWORD)
    for person in STAFF:
        assert f"{person.username} " in output
    assert output.count(DEMO_PASSWORD) == Membership.objects.count()
    assert "Two-step sign-in is OFF in the demo (REQUIRE_MFA=false); production requires it." in (
        output
    )
    assert "Demo clinic loaded: " in output


def test_it_says_so_when_two_step_sign_in_is_on(db, no_clinic, settings):
    settings.REQUIRE_MFA = True
    output = run("--no-serve")
    assert "Two-step sign-in is ON (REQUIRE_MFA=true)" in output
    assert "is OFF" not in output


def test_it_is_idempotent_and_prints_the_logins_again(db, no_clinic):
    first = run("--no-serve", "--seed", "7")
    before = counts()
    second = run("--no-serve", "--seed", "7")
    assert counts() == before == (2, len(STAFF), len(STAFF) + 1)
    assert "Demo organization created: 2 sites, 10 staff." in first
    assert "Demo organization already loaded." in second
    table = [line for line in second.splitlines() if DEMO_PASSWORD in line]
    assert table == [line for line in first.splitlines() if DEMO_PASSWORD in line]


def test_it_restores_a_login_a_visitor_changed(db, no_clinic):
    run("--no-serve")
    theo = User.objects.get(username="theo")
    theo.set_password("something-else-entirely-1")
    theo.is_active = False
    theo.save()
    run("--no-serve")
    theo.refresh_from_db()
    assert theo.is_active
    assert theo.check_password(DEMO_PASSWORD)


def test_it_keeps_staff_added_during_the_demo(db, no_clinic):
    run("--no-serve")
    downtown = Site.objects.get(name="Riverbend Recovery — Downtown")
    User.objects.create_user("newbie").memberships.create(site=downtown, role=Role.NURSE)
    run("--no-serve")
    assert User.objects.filter(username="newbie").exists()


def test_it_refuses_a_database_with_a_clinic_of_its_own(dana):
    before = counts()
    with pytest.raises(CommandError, match="already has sites or staff of its own"):
        run("--no-serve")
    assert counts() == before
    assert not Site.objects.filter(name__startswith="Riverbend").exists()


def test_it_serves_on_localhost_with_runserver(db, served):
    output = run("--port", "8123")
    assert served[-1] == ("runserver", ("127.0.0.1:8123",), {"use_reloader": False})
    assert served[0][0] == "migrate"
    assert "Open http://127.0.0.1:8123/" in output


def test_it_serves_on_port_8000_by_default(db, served):
    run()
    assert served[-1][1] == ("127.0.0.1:8000",)


def test_it_takes_the_port_from_the_environment_unless_given(db, served, monkeypatch):
    monkeypatch.setenv("PORT", "9001")
    run()
    run("--port", "9002")
    assert [args for name, args, _ in served if name == "runserver"] == [
        ("127.0.0.1:9001",),
        ("127.0.0.1:9002",),
    ]


def test_it_refuses_a_bad_port_before_doing_anything(db, served, monkeypatch):
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(CommandError) as raised:
        run()
    assert str(raised.value) == "PORT='eighty' is not a port number."
    assert served == []
    assert not Site.objects.exists()


def test_it_runs_from_the_console_script_with_shell_friendly_exit_codes(tmp_path: Path):
    # A fresh SQLite database under tmp_path, whatever database the suite itself uses.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "OPENIOP_VAR_DIR": str(tmp_path / "var"),
    }
    openiop = str(Path(sys.executable).parent / "openiop")

    def openiop_run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
            [openiop, *args],
            env={**env, **extra_env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )

    demo_run = openiop_run("demo", "--no-serve")
    assert demo_run.returncode == 0, demo_run.stderr
    assert "REQUIRE_MFA=false" in demo_run.stdout

    token_run = openiop_run("token", "dana", DEBUG="true")
    assert token_run.returncode == 0, token_run.stderr
    assert token_run.stdout.startswith("oiop_")
    assert token_run.stdout.count("\n") == 1

    duplicate = openiop_run(
        "addsite", "Riverbend Recovery — Downtown", "--timezone", "America/Chicago", DEBUG="true"
    )
    assert duplicate.returncode == 1
    assert duplicate.stdout == ""
    assert duplicate.stderr == (
        "CommandError: A site named 'Riverbend Recovery — Downtown' already exists.\n"
    )
