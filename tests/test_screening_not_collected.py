"""Marking a selected screen "not collected" (absent, refused, left before collection): the
service's rules, the form on the screen page, and the chart's "not collected (reason)"."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from openiop.screening.models import DrugScreen, ScreenStatus
from openiop.screening.services_screens import (
    ScreenConflict,
    mark_not_collected,
    record_collection,
)
from tests.factories import make_user, sign_in
from tests.factories_screens import collection, screen_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def nina(site):
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Notreal")


@pytest.fixture
def case(site, tom):
    return screen_case(site, tom)


def test_a_selected_screen_is_marked_not_collected_with_its_reason(case, nina):
    screen = mark_not_collected(case.screen, by=nina, reason="  Patient   refused ", version=1)
    stored = DrugScreen.objects.get(pk=case.screen.pk)
    assert stored.status == ScreenStatus.NOT_COLLECTED
    assert stored.not_collected_reason == "Patient refused"
    assert stored.version == 2 == screen.version
    event = AuditEvent.objects.get(object_type="drug_screen", action=Action.UPDATE)
    assert event.patient_id == case.patient.pk and event.actor == nina
    assert "not collected: Patient refused" in event.detail


@pytest.mark.parametrize(
    ("reason", "words"),
    [("", "Say why"), ("   ", "Say why"), ("x" * 301, "At most 300"), ("Ref\x00used", "NUL")],
)
def test_the_reason_is_required_and_clean(case, nina, reason, words):
    with pytest.raises(ValidationError) as caught:
        mark_not_collected(case.screen, by=nina, reason=reason, version=1)
    assert words in caught.value.message_dict["reason"][0]
    assert DrugScreen.objects.get().status == ScreenStatus.SELECTED


def test_a_stale_version_is_a_conflict(case, nina):
    with pytest.raises(ScreenConflict, match="changed since"):
        mark_not_collected(case.screen, by=nina, reason="Absent", version=7)
    assert DrugScreen.objects.get().status == ScreenStatus.SELECTED


def test_only_a_selected_screen_can_be_marked(case, nina):
    collected = record_collection(case.screen, by=nina, data=collection(), version=1)
    with pytest.raises(ScreenConflict, match="was collected"):
        mark_not_collected(collected, by=nina, reason="Absent", version=collected.version)
    assert DrugScreen.objects.get().status == ScreenStatus.COLLECTED


def test_twice_is_a_conflict(case, nina):
    screen = mark_not_collected(case.screen, by=nina, reason="Absent", version=1)
    with pytest.raises(ScreenConflict, match="already recorded"):
        mark_not_collected(screen, by=nina, reason="Absent", version=screen.version)


def test_the_screen_page_form_marks_it(client, site, case, nina, tom):
    sign_in(client, nina, site=site)
    url = f"/screens/{case.screen.pk}/"
    body = client.get(url).content.decode()
    assert 'data-testid="not-collected-form"' in body
    response = client.post(f"{url}not-collected/", {"version": 1, "reason": ""})
    assert response.status_code == 422
    assert 'data-testid="not-collected-error"' in response.content.decode()
    response = client.post(f"{url}not-collected/", {"version": 1, "reason": "Patient refused"})
    assert response.status_code == 302
    body = client.get(url).content.decode()
    assert "Not collected: Patient refused." in body
    assert 'data-testid="not-collected-form"' not in body
    assert 'data-testid="screen-record-link"' not in body
    # The same page posted again (a stale version) is a conflict, nothing changes.
    response = client.post(f"{url}not-collected/", {"version": 1, "reason": "Absent"})
    assert response.status_code == 409
    assert DrugScreen.objects.get().not_collected_reason == "Patient refused"
    # The therapist sees it on the chart with its reason, but no form on the screen page.
    sign_in(client, tom, site=site)
    chart = client.get(f"/patients/{case.patient.pk}/").content.decode()
    assert 'data-testid="chart-screen-not-collected"' in chart
    assert "Not collected (Patient refused)" in chart
    assert 'data-testid="not-collected-form"' not in client.get(url).content.decode()


def test_a_therapist_may_not_mark_a_screen(client, site, case, tom):
    sign_in(client, tom, site=site)
    url = f"/screens/{case.screen.pk}/not-collected/"
    assert client.post(url, {"version": 1, "reason": "Absent"}).status_code == 403
    assert DrugScreen.objects.get().status == ScreenStatus.SELECTED


def test_another_sites_screen_is_404(client, case, oscar, other_site):
    sign_in(client, oscar, site=other_site)
    url = f"/screens/{case.screen.pk}/not-collected/"
    assert client.post(url, {"version": 1, "reason": "Absent"}).status_code == 404
    assert DrugScreen.objects.get().status == ScreenStatus.SELECTED
