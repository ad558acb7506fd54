"""Sign-in: password, second factor, enrolment, recovery codes, lockout, audit events."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts.models import UserSession
from openiop.audit.models import Action, AuditEvent
from tests.factories import PASSWORD, make_totp


def code_for(device: TOTPDevice) -> str:
    """The code an authenticator app shows right now for ``device``."""
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:0{device.digits}d}"


def post_password(client, username: str, password: str = PASSWORD):
    return client.post("/login/", {"username": username, "password": password})


def test_it_shows_the_sign_in_page(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'autocomplete="current-password"' in response.content


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/account/")


def test_it_asks_for_the_second_factor_after_the_password(client, tom):
    device = make_totp(tom)
    response = post_password(client, "tom")
    assert response.status_code == 302
    assert response["Location"] == "/login/verify/"
    # Until the code is given, nothing else is reachable.
    assert client.get("/")["Location"] == "/login/verify/"
    response = client.post("/login/verify/", {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    login = AuditEvent.objects.get(action=Action.LOGIN)
    assert login.actor == tom
    assert login.role == "therapist"
    assert UserSession.objects.filter(user=tom).count() == 1


def test_it_refuses_a_wrong_second_factor_code_and_records_it(client, tom):
    device = make_totp(tom)
    post_password(client, "tom")
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post("/login/verify/", {"code": wrong})
    assert response.status_code == 200
    assert b"not correct" in response.content
    assert client.get("/")["Location"] == "/login/verify/"
    failed = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert failed.actor == tom
    assert failed.detail == "wrong second-factor code"
    assert not AuditEvent.objects.filter(action=Action.LOGIN).exists()


def test_it_accepts_a_recovery_code_once(client, tom):
    from openiop.accounts.mfa import generate_recovery_codes

    make_totp(tom)
    codes = generate_recovery_codes(tom)
    assert len(codes) == 10
    post_password(client, "tom")
    response = client.post("/login/verify/", {"code": codes[0].upper()})
    assert response["Location"] == "/"
    assert StaticToken.objects.filter(device__user=tom).count() == 9

    client.post("/logout/")
    post_password(client, "tom")
    response = client.post("/login/verify/", {"code": codes[0]})
    assert response.status_code == 200
    assert b"not correct" in response.content


def test_it_makes_staff_enrol_a_second_factor_when_required(client, tom):
    response = post_password(client, "tom")
    assert response["Location"] == "/account/mfa/setup/"
    assert client.get("/")["Location"] == "/account/mfa/setup/"
    page = client.get("/account/mfa/setup/")
    assert b"<svg" in page.content
    assert b'data-testid="totp-secret"' in page.content
    device = TOTPDevice.objects.get(user=tom, confirmed=False)

    response = client.post(
        "/account/mfa/setup/", {"code": f"{(int(code_for(device)) + 1) % 1_000_000:06d}"}
    )
    assert b"does not match" in response.content
    device.refresh_from_db()
    assert not device.confirmed

    # django-otp throttles a device for a moment after a failure, as it should.
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=5)):
        response = client.post("/account/mfa/setup/", {"code": code_for(device)})
    assert response.status_code == 200
    assert response.content.count(b"<li><code>") == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action=Action.MFA_ENROLLED, actor=tom).exists()


def test_it_rejects_a_non_numeric_enrolment_code(client, tom):
    post_password(client, "tom")
    client.get("/account/mfa/setup/")
    response = client.post("/account/mfa/setup/", {"code": "abcdef"})
    assert response.status_code == 200
    assert b"Enter the 6 digits" in response.content


def test_it_signs_in_with_the_password_alone_when_mfa_is_optional(client, tom, settings):
    settings.REQUIRE_MFA = False
    response = post_password(client, "tom")
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.get(action=Action.LOGIN).detail.startswith("password")


def test_it_gives_one_message_for_a_wrong_password_and_an_unknown_user(client, tom):
    wrong_password = post_password(client, "tom", "not-the-password-123")
    unknown_user = post_password(client, "nobody-here", "not-the-password-123")
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert b"The username or password is not correct." in wrong_password.content
    assert b"The username or password is not correct." in unknown_user.content
    failures = AuditEvent.objects.filter(action=Action.LOGIN_FAILED).order_by("id")
    assert [(e.actor_username, e.outcome) for e in failures] == [
        ("tom", "failure"),
        ("nobody-here", "failure"),
    ]


@pytest.mark.parametrize("username", ["tom", "nobody-here"])
def test_it_locks_sign_in_after_five_failures_for_fifteen_minutes(client, tom, username):
    for _ in range(5):
        post_password(client, username, "not-the-password-123")
    # The right password no longer works while locked, and the page says the same thing
    # whether or not the account exists.
    response = post_password(client, username, PASSWORD)
    assert response.status_code == 429
    assert b"Sign-in paused" in response.content
    assert b"15 minutes" in response.content
    assert b"not correct" not in response.content
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED, detail="locked out").exists()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        response = post_password(client, "tom", PASSWORD)
        assert response.status_code == 302


def test_it_keeps_the_lock_for_the_whole_fifteen_minutes(client, tom):
    for _ in range(5):
        post_password(client, "tom", "not-the-password-123")
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=14)):
        assert post_password(client, "tom", PASSWORD).status_code == 429


def test_it_does_not_lock_after_four_failures(client, tom):
    for _ in range(4):
        post_password(client, "tom", "not-the-password-123")
    response = post_password(client, "tom")
    assert response.status_code == 302


def test_it_refuses_a_disabled_user_with_the_same_message(client, tom):
    tom.is_active = False
    tom.save()
    response = post_password(client, "tom")
    assert response.status_code == 200
    assert b"The username or password is not correct." in response.content


def test_it_signs_out_only_by_post_and_records_it(client, tom):
    from tests.factories import sign_in

    sign_in(client, tom)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response["Location"] == "/login/"
    assert client.get("/")["Location"].startswith("/login/")
    assert AuditEvent.objects.filter(action=Action.LOGOUT, actor=tom).count() == 1
    assert not UserSession.objects.filter(user=tom).exists()


def test_it_ignores_an_offsite_next_url(client, tom, settings):
    settings.REQUIRE_MFA = False
    response = client.post(
        "/login/", {"username": "tom", "password": PASSWORD, "next": "https://evil.example.com/"}
    )
    assert response["Location"] == "/"
    client.post("/logout/")
    response = client.post(
        "/login/", {"username": "tom", "password": PASSWORD, "next": "/account/"}
    )
    assert response["Location"] == "/account/"
