"""Who is on the other end of a request."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for the audit trail.

    Without proxies (``TRUSTED_PROXY_COUNT=0``) this is the socket's peer. Behind N trusted
    proxies, each appends the address it saw to X-Forwarded-For, so the client is the Nth
    entry from the right; entries further left were written by the client and can be forged.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            candidate = hops[-count]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                return None
    return request.META.get("REMOTE_ADDR") or None


def parse_pk(value: object, what: str) -> int:
    """``value`` as a database id, or Http404 "No such <what>." — for ids from a URL or a
    payload, before any query: not a number, zero, negative or beyond a 64-bit key."""
    try:
        pk = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise Http404(f"No such {what}.") from None
    if not 0 < pk < 2**63:
        raise Http404(f"No such {what}.")
    return pk
