"""``openiop addsite``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from openiop.accounts.models import Site


def run(*args: str) -> str:
    out = StringIO()
    call_command("addsite", *args, stdout=out)
    return out.getvalue()


def test_it_adds_a_site(db):
    output = run(
        "Riverbend Recovery — Eastside", "--timezone", "America/Chicago", "--address", "1 Fake St"
    )
    site = Site.objects.get()
    assert site.name == "Riverbend Recovery — Eastside"
    assert site.time_zone == "America/Chicago"
    assert site.address == "1 Fake St"
    assert output == "Added site 'Riverbend Recovery — Eastside' (time zone America/Chicago).\n"


def test_it_refuses_an_unknown_time_zone(db):
    with pytest.raises(CommandError, match=r"--timezone: 'Mars/Olympus' is not an IANA time zone"):
        run("Red Planet Recovery", "--timezone", "Mars/Olympus")
    assert not Site.objects.exists()


def test_it_refuses_a_duplicate_name_in_any_case(site):
    with pytest.raises(CommandError) as raised:
        run("testville clinic", "--timezone", "America/Denver")
    assert str(raised.value) == "A site named 'testville clinic' already exists."
    assert list(Site.objects.values_list("name", "time_zone")) == [
        ("Testville Clinic", "America/Chicago")
    ]


def test_it_refuses_a_blank_name(db):
    with pytest.raises(CommandError) as raised:
        run("  ", "--timezone", "America/Chicago")
    assert str(raised.value) == "NAME: This field cannot be blank."
    assert not Site.objects.exists()


def test_it_requires_a_time_zone(db):
    with pytest.raises(CommandError, match="--timezone"):
        run("Riverbend Recovery — Eastside")
    assert not Site.objects.exists()
