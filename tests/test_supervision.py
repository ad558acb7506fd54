"""Clinical supervision set by a director: who co-signs whose notes (issue 4 §7)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.accounts.services import set_supervision
from openiop.audit.models import AuditEvent
from tests.factories import make_user, sign_in


@pytest.fixture
def sam(site):
    """Sam Supervisorly, a clinical supervisor."""
    return make_user(
        "sam",
        site=site,
        role=Role.THERAPIST,
        first_name="Sam",
        last_name="Supervisorly",
        credentials="LCSW-S",
        is_clinical_supervisor=True,
    )


def test_a_director_names_a_supervisor_and_it_is_audited(client, site, dana, tom, sam):
    sign_in(client, dana, site=site)
    page = client.get(f"/staff/{tom.pk}/supervision/")
    assert page.status_code == 200
    assert "Sam Supervisorly, LCSW-S" in page.content.decode()
    response = client.post(f"/staff/{tom.pk}/supervision/", {"supervisor": sam.pk})
    assert response.status_code == 302
    tom.refresh_from_db()
    assert tom.supervisor == sam and tom.is_supervised
    event = AuditEvent.objects.get(object_type="user", object_id=str(tom.pk), action="update")
    assert "supervised by sam" in event.detail
    listing = client.get("/staff/").content.decode()
    assert "Supervised by Sam Supervisorly" in listing


def test_only_a_clinical_supervisor_of_the_site_may_supervise(client, site, other_site, dana, tom):
    plain = make_user("paula", site=site, role=Role.THERAPIST, first_name="Paula")
    sign_in(client, dana, site=site)
    response = client.post(f"/staff/{tom.pk}/supervision/", {"supervisor": plain.pk})
    # Not offered in the list: the form refuses the choice.
    assert response.status_code == 422
    tom.refresh_from_db()
    assert tom.supervisor is None
    elsewhere = make_user("eli", site=other_site, role=Role.THERAPIST, is_clinical_supervisor=True)
    with pytest.raises(ValidationError) as caught:
        set_supervision(
            user=tom, site=site, is_clinical_supervisor=False, supervisor=elsewhere, by=dana
        )
    assert "not on the staff" in str(caught.value)


def test_nobody_supervises_themselves_or_in_a_loop(site, dana, tom, sam):
    with pytest.raises(ValidationError, match="themselves"):
        set_supervision(user=sam, site=site, is_clinical_supervisor=True, supervisor=sam, by=dana)
    tom.is_clinical_supervisor = True
    tom.save()
    set_supervision(user=tom, site=site, is_clinical_supervisor=True, supervisor=sam, by=dana)
    with pytest.raises(ValidationError, match="both ways"):
        set_supervision(user=sam, site=site, is_clinical_supervisor=True, supervisor=tom, by=dana)
    assert User.objects.get(pk=sam.pk).supervisor is None


def test_a_supervisor_with_supervisees_keeps_the_flag(client, site, dana, tom, sam):
    set_supervision(user=tom, site=site, is_clinical_supervisor=False, supervisor=sam, by=dana)
    sign_in(client, dana, site=site)
    response = client.post(f"/staff/{sam.pk}/supervision/", {})
    assert response.status_code == 422
    assert "still supervises Tom Fakename" in response.content.decode()
    sam.refresh_from_db()
    assert sam.is_clinical_supervisor


def test_a_therapist_cannot_change_supervision(client, site, tom, sam):
    sign_in(client, tom, site=site)
    response = client.post(f"/staff/{tom.pk}/supervision/", {"supervisor": ""})
    assert response.status_code == 403


def test_staff_of_another_site_are_not_found(client, site, dana, oscar):
    sign_in(client, dana, site=site)
    assert client.get(f"/staff/{oscar.pk}/supervision/").status_code == 404
