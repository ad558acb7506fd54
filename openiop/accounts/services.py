"""Account actions: sign-in bookkeeping, staff administration, API tokens, sites."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib import auth
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.models import Device

from openiop.accounts.middleware import LAST_SEEN_KEY, LOGIN_AT_KEY, SITE_KEY
from openiop.accounts.models import ApiToken, Membership, Site, User, UserSession
from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.lib.http import client_ip

TOKEN_PREFIX = "oiop_"  # noqa: S105 - a public marker, not a secret


def start_session(request: HttpRequest, user: User) -> None:
    """Sign ``user`` in after the password step: a new session with its clock started."""
    auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    now = timezone.now().isoformat()
    request.session[LOGIN_AT_KEY] = now
    request.session[LAST_SEEN_KEY] = now
    request.session.save()
    # Forget sessions that ended without a sign-out (expired cookies, closed browsers).
    UserSession.objects.filter(user=user).exclude(
        session_key__in=Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    ).delete()
    UserSession.objects.create(
        user=user,
        session_key=request.session.session_key,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:300],
    )


def live_sessions(user: User) -> QuerySet[UserSession]:
    """The user's sessions that have not ended (signed out, expired or ended by a director)."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return UserSession.objects.filter(user=user, session_key__in=live).order_by("-created_at")


def record_login(request: HttpRequest, user: User, *, detail: str) -> None:
    membership = user.memberships.select_related("site").first()
    record_event(
        request=request,
        actor=user,
        action=Action.LOGIN,
        site=membership.site if membership else None,
        role=membership.role if membership else "",
        detail=detail,
    )


def complete_second_factor(request: HttpRequest, user: User, device: Device) -> None:
    otp_login(request, device)
    record_login(request, user, detail=f"second factor: {device.__class__.__name__}")


def record_failed_login(request: HttpRequest, *, username: str, detail: str) -> None:
    user = User.objects.filter(username__iexact=username).first()
    record_event(
        request=request,
        actor=user,
        actor_username=username,
        action=Action.LOGIN_FAILED,
        outcome=Outcome.FAILURE,
        detail=detail,
    )


def end_session(request: HttpRequest) -> None:
    user = request.user
    if user.is_authenticated:
        record_event(request=request, actor=user, action=Action.LOGOUT, detail="signed out")
        UserSession.objects.filter(session_key=request.session.session_key).delete()
    auth.logout(request)


def switch_site(request: HttpRequest, site_id: int) -> Site | None:
    membership = next((m for m in request.memberships if m.site_id == site_id), None)  # type: ignore[attr-defined]
    if membership is None:
        return None
    request.session[SITE_KEY] = site_id
    return membership.site


@transaction.atomic
def disable_user(*, user: User, by: User, request: HttpRequest | None = None) -> int:
    """Disable ``user`` and end every session they have, on every server, at once.

    Returns how many sessions were ended. Their API tokens stop working too, because token
    authentication checks ``is_active``.
    """
    user.is_active = False
    user.disabled_at = timezone.now()
    user.save(update_fields=["is_active", "disabled_at"])
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    record_event(
        request=request,
        actor=by,
        action=Action.USER_DISABLED,
        object_type="user",
        object_id=user.pk,
        detail=f"{user.username}; {len(keys)} session(s) ended",
    )
    return len(keys)


@transaction.atomic
def enable_user(*, user: User, by: User, request: HttpRequest | None = None) -> None:
    user.is_active = True
    user.disabled_at = None
    user.save(update_fields=["is_active", "disabled_at"])
    record_event(
        request=request,
        actor=by,
        action=Action.USER_ENABLED,
        object_type="user",
        object_id=user.pk,
        detail=user.username,
    )


@transaction.atomic
def set_supervision(
    *,
    user: User,
    site: Site,
    is_clinical_supervisor: bool,
    supervisor: User | None,
    by: User,
    request: HttpRequest | None = None,
) -> None:
    """Mark ``user`` a clinical supervisor or not, and name who co-signs their notes.

    A supervisor must be a clinical supervisor on the staff of ``site`` and not the user; a
    supervisor may not themselves be supervised by ``user`` (no loops). Someone who still
    supervises colleagues keeps the flag until those colleagues have another supervisor.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if supervisor is not None:
        supervisor = User.objects.get(pk=supervisor.pk)  # what is stored, not a stale copy
    errors: dict[str, str] = {}
    if supervisor is not None:
        if supervisor.pk == user.pk:
            errors["supervisor"] = "Nobody can supervise themselves."
        elif not supervisor.is_clinical_supervisor or not supervisor.is_active:
            errors["supervisor"] = (
                f"{supervisor.display_name} is not an active clinical supervisor."
            )
        elif not Membership.objects.filter(user=supervisor, site=site).exists():
            errors["supervisor"] = f"{supervisor.display_name} is not on the staff of {site.name}."
        elif supervisor.supervisor_id == user.pk:
            errors["supervisor"] = (
                f"{supervisor.display_name} is supervised by {user.display_name}; "
                "a supervision cannot go both ways."
            )
    supervisees = list(User.objects.filter(supervisor=user).order_by("last_name", "first_name"))
    if not is_clinical_supervisor and supervisees:
        names = ", ".join(person.display_name for person in supervisees)
        errors["is_clinical_supervisor"] = (
            f"{user.display_name} still supervises {names}; give them another supervisor first."
        )
    if errors:
        raise ValidationError(errors)
    user.is_clinical_supervisor = is_clinical_supervisor
    user.supervisor = supervisor
    user.save(update_fields=["is_clinical_supervisor", "supervisor"])
    record_event(
        request=request,
        actor=by,
        site=site,
        action=Action.UPDATE,
        object_type="user",
        object_id=user.pk,
        detail=(
            f"{user.username}: clinical supervisor {'yes' if is_clinical_supervisor else 'no'}; "
            f"supervised by {supervisor.username if supervisor else 'nobody'}"
        ),
    )


@transaction.atomic
def add_site(*, name: str, time_zone: str, address: str = "", by: User | None = None) -> Site:
    site = Site(name=name.strip(), time_zone=time_zone, address=address)
    site.full_clean()
    site.save()
    record_event(
        actor=by,
        site=site,
        action=Action.CREATE,
        object_type="site",
        object_id=site.pk,
        detail=f"{site.name} ({site.time_zone})",
    )
    return site


@transaction.atomic
def add_staff_member(
    *,
    username: str,
    password: str,
    site: Site,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    credentials: str = "",
    by: User | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Create a user with a role at ``site``. Raises ValidationError on any bad field."""
    user = User(
        username=username.strip(),
        first_name=first_name,
        last_name=last_name,
        email=email,
        credentials=credentials,
    )
    user.full_clean(exclude=["password"])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    membership = Membership(user=user, site=site, role=role)
    membership.full_clean()
    membership.save()
    record_event(
        request=request,
        actor=by,
        site=site,
        action=Action.CREATE,
        object_type="user",
        object_id=user.pk,
        detail=f"{user.username} as {membership.get_role_display()}",
    )
    return user


@transaction.atomic
def add_membership(
    *, user: User, site: Site, role: str, by: User | None = None, request: HttpRequest | None = None
) -> Membership:
    """Give an existing user a role at one more site, and record it in the audit trail."""
    membership = Membership(user=user, site=site, role=role)
    membership.full_clean()
    membership.save()
    record_event(
        request=request,
        actor=by,
        site=site,
        action=Action.CREATE,
        object_type="membership",
        object_id=membership.pk,
        detail=f"{user.username} as {membership.get_role_display()}",
    )
    return membership


def hash_token(raw: str) -> str:
    # Tokens carry 256 random bits, so one fast hash is enough (no password stretching needed).
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


@transaction.atomic
def create_api_token(*, user: User, name: str, request: HttpRequest | None = None) -> IssuedToken:
    """Issue a token; the secret is returned once and only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip() or "API token",
        prefix=secret[:10],
        token_hash=hash_token(secret),
    )
    token.full_clean()
    token.save()
    record_event(
        request=request,
        actor=user,
        action=Action.TOKEN_CREATED,
        object_type="api_token",
        object_id=token.pk,
        detail=token.name,
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def revoke_api_token(*, token: ApiToken, by: User, request: HttpRequest | None = None) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_event(
        request=request,
        actor=by,
        action=Action.TOKEN_REVOKED,
        object_type="api_token",
        object_id=token.pk,
        detail=token.name,
    )


def authenticate_token(raw: str) -> User | None:
    """The active user owning the unrevoked token ``raw``; stamps its last use."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Stamp at most once a minute so a busy integration does not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def record_event_mfa_enrolled(request: HttpRequest, user: User) -> None:
    record_event(
        request=request,
        actor=user,
        action=Action.MFA_ENROLLED,
        object_type="user",
        object_id=user.pk,
        detail="authenticator app; recovery codes issued",
    )


def record_password_change(request: HttpRequest, user: User) -> None:
    record_event(
        request=request,
        actor=user,
        action=Action.UPDATE,
        object_type="user",
        object_id=user.pk,
        detail="password changed",
    )
