"""The client address recorded in the audit trail, with and without trusted proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from openiop.lib.http import client_ip


def request_from(peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_it_uses_the_peer_without_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    # A client cannot choose its address by sending the header itself.
    assert client_ip(request_from("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the forged left entry is ignored
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.2", "198.51.100.1"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "not-an-ip", None),
        (2, "198.51.100.1", "10.0.0.1"),  # fewer hops than proxies: fall back to the peer
        (1, "", "10.0.0.1"),
    ],
)
def test_it_reads_the_forwarded_address_behind_trusted_proxies(
    settings, count, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(request_from("10.0.0.1", forwarded)) == expected


def test_it_records_the_client_address_in_the_audit_trail(client, settings, tom):
    from openiop.audit.models import Action, AuditEvent

    settings.TRUSTED_PROXY_COUNT = 1
    client.post(
        "/login/",
        {"username": "tom", "password": "wrong-password-123"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )
    assert AuditEvent.objects.get(action=Action.LOGIN_FAILED).ip == "198.51.100.23"
