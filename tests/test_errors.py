"""Error pages say what happened and leak nothing."""

from __future__ import annotations

from django.test import Client, RequestFactory

from openiop import errors
from tests.factories import sign_in


def test_it_shows_a_plain_404_page(client, tom, site):
    sign_in(client, tom, site=site)
    response = client.get("/no/such/page/SECRET-PATH-123/")
    assert response.status_code == 404
    assert b"Page not found" in response.content
    assert b"SECRET-PATH-123" not in response.content
    assert b"Traceback" not in response.content
    assert b"urlpatterns" not in response.content


def test_it_shows_a_500_page_with_only_the_request_id():
    request = RequestFactory().get("/somewhere/")
    request.request_id = "abc123def456"
    response = errors.server_error(request)
    assert response.status_code == 500
    assert b"abc123def456" in response.content
    assert b"somewhere" not in response.content


def test_it_answers_json_for_api_errors():
    request = RequestFactory().get("/api/v1/anything")
    request.request_id = "abc123def456"
    response = errors.server_error(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b'"request_id": "abc123def456"' in response.content


def test_it_explains_an_expired_form(tom, site):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, tom, site=site)
    response = client.post("/account/tokens/", {"name": "no csrf token"})
    assert response.status_code == 403
    assert b"This form has expired" in response.content


def test_it_tags_every_response_with_a_request_id(client, db):
    first = client.get("/login/")["X-Request-ID"]
    second = client.get("/login/")["X-Request-ID"]
    assert len(first) == 32
    assert first != second
    given = client.get("/login/", HTTP_X_REQUEST_ID="lb-req-00001234")["X-Request-ID"]
    assert given == "lb-req-00001234"
    forged = client.get("/login/", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    assert forged != "<script>"


def test_it_sends_security_headers(client, db):
    response = client.get("/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_it_forbids_caching_pages_of_a_signed_in_user(client, tom, site):
    sign_in(client, tom, site=site)
    cache_control = client.get("/")["Cache-Control"]
    assert "no-store" in cache_control
    assert "private" in cache_control


def test_it_allows_only_own_scripts(client, db):
    policy = client.get("/login/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_it_has_no_inline_script_in_templates():
    import pathlib
    import re

    templates = pathlib.Path(__file__).resolve().parents[1] / "openiop" / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"\son[a-z]+=", text), f"inline event handler in {path.name}"
        for match in re.finditer(r"<script(?![^>]*\bsrc=)([^>]*)>", text):
            assert "application/json" in match.group(1), f"inline script in {path.name}"
