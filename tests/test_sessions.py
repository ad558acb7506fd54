"""Automatic logoff (15 idle minutes, 12 hours in all) and disabling a user."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from openiop.accounts.models import UserSession
from openiop.accounts.services import create_api_token
from openiop.audit.models import Action, AuditEvent
from tests.factories import sign_in


def test_it_keeps_an_active_session_alive(client, tom):
    start = timezone.now()
    sign_in(client, tom)
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(6):
            traveller.shift(dt.timedelta(minutes=14))
            assert client.get("/").status_code == 200


def test_it_ends_a_session_after_fifteen_idle_minutes(client, tom):
    start = timezone.now()
    sign_in(client, tom)
    with time_machine.travel(start + dt.timedelta(minutes=16)):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    # The session is gone server-side too, not only the cookie.
    assert not Session.objects.filter(expire_date__gt=start + dt.timedelta(minutes=16)).exists()


def test_it_ends_an_idle_session_even_when_the_cookie_is_replayed(client, tom):
    start = timezone.now()
    sign_in(client, tom)
    key = client.cookies["sessionid"].value
    with time_machine.travel(start + dt.timedelta(minutes=16)):
        replay = Client()
        replay.cookies["sessionid"] = key
        assert replay.get("/").status_code == 302


def test_it_ends_a_session_after_twelve_hours_however_active(client, tom):
    start = timezone.now()
    sign_in(client, tom)
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(71):  # every 10 minutes for 11 h 50 min
            traveller.shift(dt.timedelta(minutes=10))
            assert client.get("/").status_code == 200
        traveller.shift(dt.timedelta(minutes=11))
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    event = AuditEvent.objects.filter(action=Action.LOGOUT, actor=tom).get()
    assert event.detail == "absolute session lifetime reached"


def test_it_ends_every_session_of_a_disabled_user_at_once(client, dana, tom, site):
    laptop, tablet = Client(), Client()
    sign_in(laptop, tom, site=site)
    sign_in(tablet, tom, site=site)
    token = create_api_token(user=tom, name="Lab import").secret
    assert laptop.get("/").status_code == 200
    assert tablet.get("/").status_code == 200
    assert UserSession.objects.filter(user=tom).count() == 2

    sign_in(client, dana, site=site)
    response = client.post(f"/staff/{tom.pk}/disable/")
    assert response.status_code == 302

    assert laptop.get("/").status_code == 302
    assert tablet.get("/").status_code == 302
    assert not UserSession.objects.filter(user=tom).exists()
    assert client.get("/").status_code == 200  # the director's own session is untouched
    api = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 401
    tom.refresh_from_db()
    assert not tom.is_active
    assert tom.disabled_at is not None
    event = AuditEvent.objects.get(action=Action.USER_DISABLED)
    assert event.actor == dana
    assert event.object_id == str(tom.pk)
    assert "2 session(s) ended" in event.detail


def test_it_lets_a_director_re_enable_a_user(client, dana, tom, site):
    sign_in(client, dana, site=site)
    client.post(f"/staff/{tom.pk}/disable/")
    client.post(f"/staff/{tom.pk}/enable/")
    tom.refresh_from_db()
    assert tom.is_active
    assert tom.disabled_at is None
    assert AuditEvent.objects.filter(action=Action.USER_ENABLED, object_id=str(tom.pk)).exists()
