"""Every role by every view and API operation, expected outcome read from the policy table.

A new view or API operation makes ``test_it_knows_every_guarded_route`` fail until it is
added here, so nothing ships unguarded or untested.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from openiop.accounts.policy import POLICY, role_may
from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.api.api import api
from openiop.audit.models import Action, AuditEvent
from tests.factories import make_user, sign_in
from tests.matrix import MatrixContext, all_routes

# Views anyone may reach: the sign-in flow itself and the health check.
PUBLIC = {"login", "login-verify", "logout", "mfa-setup", "healthz"}


ROUTES = all_routes()


def _walk(patterns: list[Any], namespace: str = "") -> list[URLPattern]:
    found: list[URLPattern] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "api-v1" or namespace == "api-v1":
                continue
            found.extend(_walk(pattern.url_patterns, pattern.namespace or namespace))
        elif isinstance(pattern, URLPattern):
            found.append(pattern)
    return found


def web_views() -> dict[str, Any]:
    return {p.name: p.callback for p in _walk(get_resolver().url_patterns) if p.name}


def api_operations() -> list[tuple[str, str, Any]]:
    operations = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                permission = next(
                    (getattr(cb, "permission", None) for cb in operation.auth_callbacks), None
                )
                for method in operation.methods:
                    operations.append((method, f"/api/v1{prefix}{path}", permission))
    return operations


def test_it_knows_every_guarded_route():
    views = web_views()
    guarded = {name for name, view in views.items() if hasattr(view, "required_permission")}
    unguarded = set(views) - guarded - PUBLIC
    assert unguarded == set(), f"views without a policy guard: {unguarded}"
    assert guarded == set(ROUTES), "add new views to ROUTES (or remove stale ones)"
    for name in guarded:
        assert views[name].required_permission in POLICY


def test_it_guards_every_api_operation():
    operations = api_operations()
    assert operations, "the API has operations"
    for method, path, permission in operations:
        assert permission in POLICY, f"{method} {path} is not guarded by the policy table"


def test_it_uses_every_permission_of_the_policy_table():
    used = {view.required_permission for name, view in web_views().items() if name in ROUTES}
    used |= {permission for _, _, permission in api_operations()}
    assert used == set(POLICY), f"unused permissions: {set(POLICY) - used}"


WEB_CASES = [(role, name) for role in Role.values for name in ROUTES]


@pytest.mark.parametrize(("role", "name"), WEB_CASES)
def test_web_matrix(client, site, role, name):
    user = make_user(f"user-{role}", site=site, role=role)
    target = make_user("tina", site=site, role=Role.THERAPIST, first_name="Tina")
    route = ROUTES[name]
    permission = web_views()[name].required_permission
    sign_in(client, user, site=site)
    ctx = MatrixContext(user=user, site=site, target=target)
    url = reverse(name, kwargs=route.kwargs(ctx))
    response = getattr(client, route.method)(url, route.data(ctx))
    # Refusals by the policy table (a made-up id refused with 404 is audited apart).
    denied = AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, actor=user, object_type="permission"
    )
    if role_may(role, permission):
        assert response.status_code != 403, f"{role} should reach {name}"
        assert response.status_code < 500
        assert not denied.exists()
    else:
        assert response.status_code == 403, f"{role} must not reach {name}"
        event = denied.get()
        assert event.object_id == permission
        assert event.role == role
        assert event.site == site
        assert event.outcome == "denied"


API_CASES = [(role, method, path) for role in Role.values for method, path, _ in api_operations()]


@pytest.mark.parametrize(("role", "method", "path"), API_CASES)
def test_api_matrix(site, role, method, path):
    user = make_user(f"user-{role}", site=site, role=role)
    secret = create_api_token(user=user, name="matrix").secret
    permission = next(perm for m, p, perm in api_operations() if (m, p) == (method, path))
    # Path parameters name nothing that exists: the role check comes first, so a denied role
    # gets 403 and an allowed one gets past it (200, or 404/422 for the made-up input).
    url = re.sub(r"\{[^}]+\}", "999999", path)
    response = Client().generic(
        method, url, "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    # Refusals by the policy table (a made-up id refused with 404 is audited apart).
    denied = AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, actor=user, object_type="permission"
    )
    assert response["Content-Type"].startswith("application/json")
    if role_may(role, permission):
        assert response.status_code not in (401, 403), response.content
        assert response.status_code < 500, response.content
        assert not denied.exists()
    else:
        assert response.status_code == 403
        assert response.json() == {"detail": "Your role does not allow this operation."}
        assert denied.get().object_id == permission


def test_it_denies_a_user_without_any_site(client, db):
    loner = make_user("loner")
    sign_in(client, loner)
    assert client.get("/").status_code == 403
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor=loner).exists()


def test_it_applies_the_role_at_the_current_site(client, site, other_site):
    """A director at one site who is an auditor at another has the auditor's rights there."""
    from openiop.accounts.models import Membership

    user = make_user("morgan", site=site, role=Role.DIRECTOR)
    Membership.objects.create(user=user, site=other_site, role=Role.AUDITOR)
    sign_in(client, user, site=site)
    assert client.get("/staff/").status_code == 200
    assert client.get("/audit/").status_code == 403
    client.post("/site/switch/", {"site": other_site.pk})
    assert client.get("/staff/").status_code == 403
    assert client.get("/audit/").status_code == 200


def test_it_checks_the_role_before_reading_api_parameters(tom):
    """A caller without the permission gets 403, never a 422 that describes the parameters."""
    secret = create_api_token(user=tom, name="probe").secret
    response = Client().get(
        "/api/v1/audit-events?limit=0&action=nonsense", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor=tom).count() == 1
