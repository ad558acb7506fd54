"""Small make_* helpers and a sign-in helper. Every person here is obviously fictional."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts.middleware import LAST_SEEN_KEY, LOGIN_AT_KEY, SITE_KEY
from openiop.accounts.models import Membership, Site, User, UserSession

PASSWORD = "correct-horse-battery-staple-42"


def make_site(name: str = "Testville Clinic", time_zone: str = "America/Chicago") -> Site:
    return Site.objects.create(name=name, time_zone=time_zone)


def make_user(
    username: str, *, site: Site | None = None, role: str | None = None, **fields: Any
) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, **fields)
    if site is not None and role is not None:
        Membership.objects.create(user=user, site=site, role=role)
    return user


def make_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def sign_in(client: Client, user: User, *, site: Site | None = None) -> None:
    """Sign in as if password and second factor were done (the MFA flow has its own tests)."""
    from django.utils import timezone

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or make_totp(user)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    now = timezone.now().isoformat()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[LOGIN_AT_KEY] = now
    session[LAST_SEEN_KEY] = now
    if site is not None:
        session[SITE_KEY] = site.pk
    session.save()
    UserSession.objects.get_or_create(user=user, session_key=session.session_key)
