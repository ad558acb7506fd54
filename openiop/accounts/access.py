"""Guards that apply the policy table to views and API operations.

Views use ``@requires("permission")``; API operations use ``auth=api_guard("permission")``
(``openiop.api.auth``), which calls ``check_api_permission``.

A denied request gets 403 (a clear page or JSON ``{"detail": …}``) and an ``access_denied``
audit event. Patient-data helpers in later apps build on ``current_role``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from openiop.accounts.policy import POLICY, role_may
from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event

if TYPE_CHECKING:
    from openiop.accounts.models import Site, User

F = TypeVar("F", bound=Callable[..., Any])


class ApiPermissionDenied(Exception):
    """Raised by API guards; the API turns it into 403 JSON."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def current_role(request: HttpRequest) -> str | None:
    membership = getattr(request, "membership", None)
    return membership.role if membership is not None else None


def sites_with_permission(user: User, permission: str) -> list[Site]:
    """Every site where ``user``'s role holds ``permission`` (API calls span all sites)."""
    return [
        m.site
        for m in user.memberships.select_related("site").order_by("site__name")
        if role_may(m.role, permission)
    ]


def _deny(request: HttpRequest, permission: str, role: str | None) -> None:
    record_event(
        request=request,
        action=Action.ACCESS_DENIED,
        outcome=Outcome.DENIED,
        role=role or "",
        object_type="permission",
        object_id=permission,
        detail=f"{request.method} {request.path}"[:500],
    )


def requires(permission: str) -> Callable[[F], F]:
    """Guard a web view: sign-in required, and the role at the current site must hold it."""
    if permission not in POLICY:
        raise KeyError(f"{permission!r} is not in the policy table")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            role = current_role(request)
            if not role_may(role, permission):
                _deny(request, permission, role)
                return render(
                    request,
                    "403.html",
                    {"reason": "Your role at this site does not allow this."},
                    status=403,
                )
            return view(request, *args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def check_api_permission(request: HttpRequest, user: User, permission: str) -> None:
    """Refuse an API call unless ``user`` holds ``permission`` at one site at least.

    Runs during authentication, before the request's parameters are parsed, so a caller
    without the permission learns nothing from validation errors.
    """
    if permission not in POLICY:
        raise KeyError(f"{permission!r} is not in the policy table")
    if sites_with_permission(user, permission):
        return
    roles = ",".join(sorted({m.role for m in user.memberships.all()}))
    record_event(
        request=request,
        actor=user,
        action=Action.ACCESS_DENIED,
        outcome=Outcome.DENIED,
        role=roles,
        object_type="permission",
        object_id=permission,
        detail=f"{request.method} {request.path}"[:500],
    )
    raise ApiPermissionDenied("Your role does not allow this operation.")
