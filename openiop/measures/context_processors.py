"""The attention badge in the navigation: my open and acknowledged alerts at this site."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.measures.attention import nav_counts


def attention_counts(request: HttpRequest) -> dict[str, Any]:
    """``attention_badge``: {"total", "high"} for users with ``alerts.view``, one query, run
    only when a template shows it (JSON error pages and redirects never pay for it)."""
    user = getattr(request, "user", None)
    site = getattr(request, "site", None)
    if user is None or not user.is_authenticated or site is None:
        return {}
    if not role_may(current_role(request), "alerts.view"):
        return {}
    return {"attention_badge": SimpleLazyObject(lambda: nav_counts(user, site))}
