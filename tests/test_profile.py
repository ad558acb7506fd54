"""The profile page: password, second factor, API tokens, sessions; and the site switcher."""

from __future__ import annotations

from django_otp.plugins.otp_static.models import StaticToken

from openiop.accounts.mfa import generate_recovery_codes
from openiop.accounts.models import ApiToken, Membership
from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from tests.factories import PASSWORD, sign_in


def test_it_shows_the_profile(client, tom, site):
    sign_in(client, tom, site=site)
    response = client.get("/account/")
    assert response.status_code == 200
    assert b"Change password" in response.content
    assert b"this browser" in response.content
    assert b"No tokens yet" in response.content


def test_it_changes_the_password(client, tom, site):
    sign_in(client, tom, site=site)
    response = client.post(
        "/account/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase-77",
            "new_password2": "another-long-passphrase-77",
        },
    )
    assert response.status_code == 302
    tom.refresh_from_db()
    assert tom.check_password("another-long-passphrase-77")
    assert client.get("/account/").status_code == 200  # still signed in here
    assert AuditEvent.objects.filter(actor=tom, detail="password changed").exists()


def test_it_refuses_a_wrong_old_password(client, tom, site):
    sign_in(client, tom, site=site)
    response = client.post(
        "/account/",
        {
            "old_password": "nope-not-it-123",
            "new_password1": "another-long-passphrase-77",
            "new_password2": "another-long-passphrase-77",
        },
    )
    assert response.status_code == 200
    assert b"Your old password was entered incorrectly" in response.content
    tom.refresh_from_db()
    assert tom.check_password(PASSWORD)


def test_it_creates_a_token_shown_once(client, tom, site):
    sign_in(client, tom, site=site)
    response = client.post("/account/tokens/", {"name": "Lab results import"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=tom)
    secret = response.context["issued"].secret
    assert secret.encode() in response.content
    assert token.prefix == secret[:10]
    profile = client.get("/account/")
    assert secret.encode() not in profile.content
    assert b"Lab results import" in profile.content
    assert AuditEvent.objects.filter(action=Action.TOKEN_CREATED, actor=tom).exists()


def test_it_refuses_a_token_without_a_name(client, tom, site):
    sign_in(client, tom, site=site)
    response = client.post("/account/tokens/", {"name": "  "}, follow=True)
    assert b"Give the token a name" in response.content
    assert not ApiToken.objects.exists()


def test_it_revokes_only_own_tokens(client, tom, dana, site):
    from openiop.accounts.services import create_api_token

    mine = create_api_token(user=tom, name="Mine").token
    theirs = create_api_token(user=dana, name="Theirs").token
    sign_in(client, tom, site=site)
    assert client.post(f"/account/tokens/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert client.post(f"/account/tokens/{mine.pk}/revoke/").status_code == 302
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    assert AuditEvent.objects.filter(action=Action.TOKEN_REVOKED, object_id=str(mine.pk)).exists()


def test_it_replaces_recovery_codes(client, tom, site):
    old = generate_recovery_codes(tom)
    sign_in(client, tom, site=site)
    response = client.post("/account/mfa/recovery-codes/")
    assert response.status_code == 200
    new = list(StaticToken.objects.filter(device__user=tom).values_list("token", flat=True))
    assert len(new) == 10
    assert not set(old) & set(new)
    for code in new:
        assert code.encode() in response.content


def test_it_switches_between_the_sites_of_a_user(client, tom, site, other_site):
    Membership.objects.create(user=tom, site=other_site, role=Role.DIRECTOR)
    sign_in(client, tom, site=site)
    home = client.get("/")
    assert b'id="site-switcher"' in home.content
    assert b'href="/staff/"' not in home.content  # a therapist here
    response = client.post("/site/switch/", {"site": other_site.pk}, follow=True)
    assert b"You are now working at Elsewhere Recovery Center" in response.content
    assert b'href="/staff/"' in response.content  # a director there


def test_it_refuses_to_switch_to_a_site_of_which_the_user_is_not_a_member(
    client, tom, site, other_site
):
    sign_in(client, tom, site=site)
    for value in [other_site.pk, "abc", ""]:
        response = client.post("/site/switch/", {"site": value}, follow=True)
        assert b"You are not a member of that site." in response.content
    assert b"Testville Clinic" in client.get("/").content
