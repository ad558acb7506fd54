"""Bearer tokens on /api/v1 and the JSON error contract."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from openiop.accounts.models import ApiToken, Membership
from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token, revoke_api_token


@pytest.fixture
def api_client():
    return Client()


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_it_returns_the_user_their_sites_and_roles(api_client, tom, other_site):
    Membership.objects.create(user=tom, site=other_site, role=Role.NURSE)
    secret = create_api_token(user=tom, name="Scripts").secret
    response = api_client.get("/api/v1/me", **bearer(secret))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "username",
        "first_name",
        "last_name",
        "email",
        "credentials",
        "sites",
    }
    assert body["username"] == "tom"
    assert body["credentials"] == "LCSW"
    assert body["sites"] == [
        {
            "site_id": other_site.pk,
            "site_name": "Elsewhere Recovery Center",
            "time_zone": "America/Denver",
            "role": "nurse",
        },
        {
            "site_id": tom.memberships.get(role="therapist").site_id,
            "site_name": "Testville Clinic",
            "time_zone": "America/Chicago",
            "role": "therapist",
        },
    ]


def test_it_stores_only_a_hash_and_stamps_the_last_use(api_client, tom):
    issued = create_api_token(user=tom, name="Scripts")
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in {token.token_hash, token.prefix, token.name}
    assert token.last_used_at is None
    api_client.get("/api/v1/me", **bearer(issued.secret))
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dG9tOnBhc3N3b3Jk",
        "Bearer oiop_not-a-real-token",
        "Bearer " + "x" * 5000,
        "Token oiop_abc",
    ],
)
def test_it_answers_401_json_for_a_missing_or_bad_token(api_client, tom, header):
    create_api_token(user=tom, name="Scripts")
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = api_client.get("/api/v1/me", **extra)
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing, malformed or revoked bearer token."}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_a_revoked_token(api_client, tom):
    issued = create_api_token(user=tom, name="Scripts")
    assert api_client.get("/api/v1/me", **bearer(issued.secret)).status_code == 200
    revoke_api_token(token=issued.token, by=tom)
    assert api_client.get("/api/v1/me", **bearer(issued.secret)).status_code == 401


def test_it_does_not_accept_a_session_cookie_for_the_api(client, tom):
    from tests.factories import sign_in

    sign_in(client, tom)
    assert client.get("/api/v1/me").status_code == 401


def test_it_stamps_last_use_at_most_once_a_minute(api_client, tom):
    issued = create_api_token(user=tom, name="Scripts")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        api_client.get("/api/v1/me", **bearer(issued.secret))
        first = ApiToken.objects.get().last_used_at
        traveller.shift(dt.timedelta(seconds=30))
        api_client.get("/api/v1/me", **bearer(issued.secret))
        assert ApiToken.objects.get().last_used_at == first
        traveller.shift(dt.timedelta(seconds=31))
        api_client.get("/api/v1/me", **bearer(issued.secret))
        assert ApiToken.objects.get().last_used_at > first


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/me", "/api/", "/api/v1/me/x"])
def test_it_answers_json_404_for_unknown_api_paths(api_client, db, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_it_answers_json_for_a_wrong_method(api_client, tom):
    secret = create_api_token(user=tom, name="Scripts").secret
    response = api_client.post("/api/v1/me", **bearer(secret))
    assert response.status_code == 405
    assert response.json() == {"detail": "Method not allowed."}


def test_it_publishes_openapi_and_docs(api_client, db):
    schema = api_client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["info"]["title"] == "OpenIOP API"
    assert "/api/v1/me" in body["paths"]
    assert "BearerToken" in body["components"]["securitySchemes"]
    docs = api_client.get("/api/v1/docs")
    assert docs.status_code == 200
    # Swagger UI is served from our own static files, never from a CDN.
    assert b"cdn.jsdelivr" not in docs.content
    assert b"unpkg.com" not in docs.content
