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
    icon: str  # an SVG path (24x24 viewBox); screen readers read the label instead


_HOME = "M3 11 12 3l9 8v10h-6v-6H9v6H3z"
_PEOPLE = (
    "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm7 0a3 3 0 1 0 0-6M1 21v-1a6 6 0 0 1 6-6h4"
    "a6 6 0 0 1 6 6v1zm17-7a5 5 0 0 1 5 5v2h-4"
)
_SHIELD = "M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5zm-1 14-4-4 1.4-1.4 2.6 2.6 5.6-5.6L18 9z"

NAVIGATION: list[NavItem] = [
    NavItem("Home", "home", "home.view", _HOME),
    NavItem("Staff", "staff-list", "staff.view", _PEOPLE),
    NavItem("Audit trail", "audit-list", "audit.view", _SHIELD),
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
