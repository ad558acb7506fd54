"""Navigation for the signed-in user's role, built from the policy table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.policy import permissions_for, role_may


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

_CALENDAR = (
    "M7 2v2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2h-2V2h-2v2H9V2z"
    "M5 9h14v11H5z"
)
_DOCUMENT = "M6 2h9l5 5v15H6zm8 1v5h5M9 12h8v1.5H9zm0 3.5h8V17H9zm0 3.5h5v1.5H9z"
_LOG = "M4 3h16v18H4zm2 2v14h12V5zm2 2h8v2H8zm0 4h8v2H8zm0 4h5v2H8z"
_FLASK = "M9 2h6v2h-1v5l6 10a2 2 0 0 1-2 3H6a2 2 0 0 1-2-3l6-10V4H9zm3 9-3.5 6h7z"
_SYRINGE = "M18 2l4 4-1.5 1.5-1-1L17 9l2 2-1.5 1.5-1-1L9 19H5v-4l7.5-7.5-1-1L13 5l2 2 2.5-2.5-1-1z"
_BELL = (
    "M12 22a2.5 2.5 0 0 0 2.5-2.5h-5A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5-6.7V3"
    "a2 2 0 0 0-4 0v1.3A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"
)
_PERSON = "M12 12a5 5 0 1 0 0-10 5 5 0 0 0 0 10zm-9 10a9 9 0 0 1 18 0z"
_ALERT = "M12 2 1 21h22zm-1 7h2v6h-2zm0 8h2v2h-2z"
_BARS = "M3 21V10h4v11zm7 0V3h4v18zm7 0v-8h4v8z"
_CLIPBOARD = (
    "M9 2h6v2h3a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1h3zm0 4H7v14h10"
    "V6h-2v1H9zm1 5h6v2h-6zm0 4h6v2h-6zM8 11h1v2H8zm0 4h1v2H8z"
)
_TREND = "M3 3h2v16h16v2H3zm4 12 4-5 3 3 5-7 1.6 1.2-6.4 9-3-3-2.6 3.3z"
_GEAR = (
    "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm9 5.5v-3l-2.4-.6a7 7 0 0 0-.7-1.7l1.3-2.1-2.1-2.1"
    "-2.1 1.3a7 7 0 0 0-1.7-.7L12.5 2h-3l-.6 2.6a7 7 0 0 0-1.7.7L5.1 4 3 6.1l1.3 2.1"
    "a7 7 0 0 0-.7 1.7L1 10.5v3l2.6.6a7 7 0 0 0 .7 1.7L3 17.9 5.1 20l2.1-1.3a7 7 0 0 0 1.7.7"
    "l.6 2.6h3l.6-2.6a7 7 0 0 0 1.7-.7l2.1 1.3 2.1-2.1-1.3-2.1a7 7 0 0 0 .7-1.7z"
)

NAVIGATION: list[NavItem] = [
    NavItem("Home", "home", "home.view", _HOME),
    NavItem("Today", "today", "schedule.view", _CALENDAR),
    NavItem("Documentation", "documentation", "notes.view", _DOCUMENT),
    NavItem("Screens today", "screens-today", "screens.today", _FLASK),
    NavItem("Screens and injections", "screens-week", "screens.view", _SYRINGE),
    NavItem("Attention", "attention", "alerts.view", _BELL),
    NavItem("Questionnaires due", "measures-due", "measures.view", _CLIPBOARD),
    NavItem("Patients", "patient-list", "patients.view", _PERSON),
    NavItem("At risk this week", "at-risk", "hours.view", _ALERT),
    NavItem("Census", "census", "hours.view", _BARS),
    NavItem("Outcomes", "outcomes", "outcomes.view", _TREND),
    NavItem("Program setup", "setup-home", "programs.view", _GEAR),
    NavItem("Staff", "staff-list", "staff.view", _PEOPLE),
    NavItem("Disclosure log", "disclosure-log", "disclosures.view", _LOG),
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
        # What the role may do here, for templates that show an action only to those allowed.
        "role_permissions": permissions_for(role),
    }
