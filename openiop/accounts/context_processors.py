"""Navigation for the signed-in user's role, built from the policy table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.policy import role_may


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str
    icon: str  # a short glyph; screen readers read the label


NAVIGATION: list[NavItem] = [
    NavItem("Home", "home", "home.view", "⌂"),
    NavItem("Staff", "staff-list", "staff.view", "👥"),
    NavItem("Audit trail", "audit-list", "audit.view", "🛡"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None else None
    items = []
    for item in NAVIGATION:
        if role_may(role, item.permission):
            url = reverse(item.url_name)
            active = (
                request.path == url if item.url_name == "home" else request.path.startswith(url)
            )
            items.append({"label": item.label, "url": url, "icon": item.icon, "active": active})
    return {
        "nav_items": items,
        "current_site": getattr(request, "site", None),
        "current_membership": membership,
        "memberships": getattr(request, "memberships", []),
    }
