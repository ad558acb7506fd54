"""Who is on the other end of a request."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


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
