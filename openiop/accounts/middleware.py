"""Session lifetime, the current site, and the second-factor requirement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.cache import patch_cache_control

from openiop.audit.models import Action
from openiop.audit.services import record_event

LOGIN_AT_KEY = "openiop_login_at"
LAST_SEEN_KEY = "openiop_last_seen"
SITE_KEY = "openiop_site_id"


def _exempt(path: str) -> bool:
    return path.startswith(("/static/", "/api/", "/healthz"))


class SessionLifetimeMiddleware:
    """Ends a session after 15 idle minutes or 12 hours in all (HIPAA automatic logoff).

    The cookie expiry already ends idle sessions in the browser; checking here too means a
    stolen cookie replayed later, or a clock-skewed client, gets nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not _exempt(request.path):
            now = timezone.now()
            login_at = request.session.get(LOGIN_AT_KEY)
            last_seen = request.session.get(LAST_SEEN_KEY)
            reason = None
            if login_at is None or last_seen is None:
                reason = "session has no sign-in time"
            elif now - datetime.fromisoformat(login_at) > settings.SESSION_ABSOLUTE_LIFETIME:
                reason = "absolute session lifetime reached"
            elif now - datetime.fromisoformat(last_seen) > settings.SESSION_IDLE_TIMEOUT:
                reason = "idle timeout"
            if reason is not None:
                user = request.user
                auth.logout(request)
                record_event(request=request, actor=user, action=Action.LOGOUT, detail=reason)
                messages.info(request, "Your session ended. Please sign in again.")
                return redirect_to_login(request.get_full_path())
            request.session[LAST_SEEN_KEY] = now.isoformat()
        return self.get_response(request)


class CurrentSiteMiddleware:
    """Sets ``request.site`` and ``request.membership`` from the site chosen in the session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.site = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.memberships = []  # type: ignore[attr-defined]
        if request.user.is_authenticated and not _exempt(request.path):
            memberships = list(request.user.memberships.select_related("site"))
            request.memberships = memberships  # type: ignore[attr-defined]
            chosen = request.session.get(SITE_KEY)
            current = next((m for m in memberships if m.site_id == chosen), None)
            if current is None and memberships:
                current = memberships[0]
            if current is not None:
                request.site = current.site  # type: ignore[attr-defined]
                request.membership = current  # type: ignore[attr-defined]
        return self.get_response(request)


class RequireMFAMiddleware:
    """With REQUIRE_MFA on, a signed-in user reaches nothing until the second factor is done."""

    ALLOWED_NAMES = ("/login/verify/", "/account/mfa/setup/", "/logout/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not _exempt(request.path)
            and not request.path.startswith(self.ALLOWED_NAMES)
            and not user.is_verified()  # type: ignore[union-attr]
        ):
            from openiop.accounts.mfa import has_confirmed_totp

            if has_confirmed_totp(user):
                return redirect("login-verify")
            if settings.REQUIRE_MFA:
                return redirect("mfa-setup")
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages shown to a signed-in user may hold PHI: no browser or proxy may keep a copy,
    so the back button after sign-out on a shared workstation shows nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated and not request.path.startswith("/static/"):
            patch_cache_control(response, no_store=True, private=True)
        return response
