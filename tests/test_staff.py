"""Directors manage the staff of their site."""

from __future__ import annotations

from openiop.accounts.models import Membership, User
from openiop.audit.models import Action, AuditEvent
from tests.factories import make_user, sign_in

GOOD = {
    "username": "nina",
    "first_name": "Nina",
    "last_name": "Nursington",
    "email": "nina@example.org",
    "credentials": "RN",
    "role": "nurse",
    "password": "a-long-enough-passphrase-9",
}


def test_it_lists_the_staff_of_the_current_site_only(
    client, dana, tom, oscar, site, django_assert_num_queries
):
    sign_in(client, dana, site=site)
    response = client.get("/staff/")
    assert response.status_code == 200
    assert b"Tom Fakename" in response.content
    assert b"Dana Testperson" in response.content
    assert b"Oscar" not in response.content


def test_it_lists_staff_in_a_constant_number_of_queries(
    client, dana, site, django_assert_num_queries
):
    sign_in(client, dana, site=site)
    client.get("/staff/")  # warm up the session
    with django_assert_num_queries(10) as few:
        client.get("/staff/")
    for i in range(15):
        make_user(f"extra{i}", site=site, role="therapist")
    with django_assert_num_queries(len(few.captured_queries)):
        client.get("/staff/")


def test_it_adds_a_staff_member(client, dana, site):
    sign_in(client, dana, site=site)
    response = client.post("/staff/add/", GOOD)
    assert response.status_code == 302
    nina = User.objects.get(username="nina")
    assert nina.check_password(GOOD["password"])
    assert nina.credentials == "RN"
    assert Membership.objects.get(user=nina).site == site
    assert Membership.objects.get(user=nina).role == "nurse"
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="user")
    assert event.actor == dana
    assert event.object_id == str(nina.pk)


def test_it_refuses_a_weak_password_and_saves_nothing(client, dana, site):
    sign_in(client, dana, site=site)
    response = client.post("/staff/add/", {**GOOD, "password": "12345678"})
    assert response.status_code == 422
    assert b"This password is too short" in response.content
    assert b"entirely numeric" in response.content
    assert not User.objects.filter(username="nina").exists()


def test_it_refuses_a_duplicate_username_whatever_the_case(client, dana, tom, site):
    sign_in(client, dana, site=site)
    response = client.post("/staff/add/", {**GOOD, "username": "TOM"})
    assert response.status_code == 422
    assert b"already exists" in response.content
    assert User.objects.filter(username__iexact="tom").count() == 1


def test_it_refuses_bad_fields_with_messages(client, dana, site):
    sign_in(client, dana, site=site)
    response = client.post("/staff/add/", {**GOOD, "email": "not-an-email", "role": "wizard"})
    assert response.status_code == 422
    assert b"Enter a valid email address." in response.content
    assert b"Select a valid choice." in response.content
    assert not User.objects.filter(username="nina").exists()


def test_it_does_not_let_a_director_disable_themselves(client, dana, site):
    sign_in(client, dana, site=site)
    response = client.post(f"/staff/{dana.pk}/disable/", follow=True)
    assert b"You cannot disable your own account." in response.content
    dana.refresh_from_db()
    assert dana.is_active


def test_it_hides_staff_of_other_sites(client, dana, oscar, site):
    sign_in(client, dana, site=site)
    assert client.post(f"/staff/{oscar.pk}/disable/").status_code == 404
    oscar.refresh_from_db()
    assert oscar.is_active


def test_it_refuses_get_on_actions(client, dana, tom, site):
    sign_in(client, dana, site=site)
    assert client.get(f"/staff/{tom.pk}/disable/").status_code == 405
    tom.refresh_from_db()
    assert tom.is_active
