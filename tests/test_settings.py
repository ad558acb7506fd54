"""Settings come from the environment only, strictly parsed, and refuse insecure production."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from openiop.lib.env import env_bool, env_int, env_list

GOOD_KEY = "prod-" + "k3Y9x!Qw7Lm2Zp8Rt5Vb1Nc4Hj6Gf0Ds" * 2


def run_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DATABASE_URL",
            "REQUIRE_MFA",
            "TIME_ZONE",
            "SECURE_SSL_REDIRECT",
            "DJANGO_SETTINGS_MODULE",
            "EMAIL_USE_TLS",
            "EMAIL_USE_SSL",
        }
    }
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import openiop.settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.REQUIRE_MFA)",
        ],
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "raw,expected", [("true", True), ("FALSE", False), ("1", True), ("off", False)]
)
def test_it_parses_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", default=not expected) is expected


@pytest.mark.parametrize("raw", ["False!", "yes please", "2", "tru"])
def test_it_rejects_a_bad_boolean(monkeypatch, raw):
    monkeypatch.setenv("SOME_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", default=False)


def test_it_uses_the_default_for_an_unset_boolean(monkeypatch):
    monkeypatch.delenv("SOME_FLAG", raising=False)
    assert env_bool("SOME_FLAG", default=True) is True


def test_it_rejects_bad_numbers(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "fifteen")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("SOME_NUMBER", default=1)
    monkeypatch.setenv("SOME_NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("SOME_NUMBER", default=1, minimum=1)


def test_it_splits_lists(monkeypatch):
    monkeypatch.setenv("SOME_LIST", " a.example.org, ,b.example.org ")
    assert env_list("SOME_LIST") == ["a.example.org", "b.example.org"]


def test_it_refuses_to_start_without_a_secret_key_in_production():
    result = run_settings(DEBUG="false", ALLOWED_HOSTS="openiop.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_refuses_the_development_secret_key_in_production():
    result = run_settings(
        DEBUG="false",
        ALLOWED_HOSTS="openiop.example.org",
        SECRET_KEY="openiop-development-key-not-for-production",
    )
    assert result.returncode != 0
    assert "development key" in result.stderr


def test_it_refuses_a_short_secret_key_in_production():
    result = run_settings(DEBUG="false", ALLOWED_HOSTS="x.example.org", SECRET_KEY="short")
    assert result.returncode != 0
    assert "at least 50" in result.stderr


def test_it_refuses_empty_allowed_hosts_in_production():
    result = run_settings(DEBUG="false", SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_it_refuses_a_bad_debug_value():
    result = run_settings(DEBUG="False!", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="x.example.org")
    assert result.returncode != 0
    assert "DEBUG='False!' is not a boolean" in result.stderr


def test_it_refuses_an_unknown_time_zone_and_a_bad_database_url():
    base = {"DEBUG": "false", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "x.example.org"}
    result = run_settings(**base, TIME_ZONE="Mars/Olympus_Mons")
    assert result.returncode != 0
    assert "IANA time zone" in result.stderr
    result = run_settings(**base, DATABASE_URL="mysql://root@localhost/openiop")
    assert result.returncode != 0
    assert "SQLite or PostgreSQL" in result.stderr


def test_it_defaults_to_secure_choices_in_production():
    result = run_settings(DEBUG="false", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="x.example.org")
    assert result.returncode == 0, result.stderr
    # DEBUG off, SSL redirect on, second factor required.
    assert result.stdout.split() == ["False", "True", "True"]


def test_it_defaults_to_sqlite_with_wal_and_full_sync(settings):
    options = settings.DATABASES["default"]["OPTIONS"]
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the SQLite defaults apply only when DATABASE_URL is SQLite")
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert "synchronous=FULL" in options["init_command"]


def test_it_passes_the_deployment_checklist(tmp_path):
    env = {
        # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never has it.
        **{
            k: v
            for k, v in os.environ.items()
            if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        },
        "DEBUG": "false",
        "SECRET_KEY": GOOD_KEY,
        "ALLOWED_HOSTS": "openiop.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
        "SECURE_SSL_REDIRECT": "true",
        "SESSION_COOKIE_SECURE": "true",
    }
    result = subprocess.run(
        [sys.executable, "-m", "openiop.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_cli_reports_a_configuration_error_in_one_line():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS"}
    }
    result = subprocess.run(
        [sys.executable, "-m", "openiop.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "openiop: configuration error: SECRET_KEY must be set when DEBUG is off."
        " (for local development, set DEBUG=true)"
    ]


def test_makemigrations_needs_no_production_secret():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS"}
    }
    result = subprocess.run(
        [sys.executable, "-m", "openiop.cli", "makemigrations", "--check", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
