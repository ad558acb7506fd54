"""``openiop token``: prints a bearer token and nothing else on stdout."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from openiop.accounts.models import ApiToken
from tests.factories import make_user


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_one_line_that_authenticates_against_the_api(client, dana):
    out, err = run("dana")
    assert out.count("\n") == 1
    assert out.endswith("\n")
    assert err == ""
    token = out.strip()
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["username"] == "dana"
    stored = ApiToken.objects.get(user=dana)
    assert stored.name == "Command line"
    assert token.startswith(stored.prefix)
    assert token not in stored.token_hash


def test_it_names_the_token_and_finds_the_user_in_any_case(dana):
    run("DANA", "--name", "Nightly export")
    assert ApiToken.objects.get(user=dana).name == "Nightly export"


def test_it_refuses_an_unknown_user(db):
    with pytest.raises(CommandError) as raised:
        run("nobody")
    assert str(raised.value) == "Unknown user 'nobody'."
    assert not ApiToken.objects.exists()


def test_it_refuses_a_disabled_user(dana):
    dana.is_active = False
    dana.save()
    with pytest.raises(CommandError, match="dana is disabled"):
        run("dana")
    assert not ApiToken.objects.exists()


def test_it_warns_on_stderr_when_the_user_has_no_role(client, db):
    make_user("rolf", first_name="Rolf", last_name="Roleless")
    out, err = run("rolf")
    assert "rolf has no role at any site" in err
    assert out.count("\n") == 1
    assert ApiToken.objects.filter(user__username="rolf").count() == 1
