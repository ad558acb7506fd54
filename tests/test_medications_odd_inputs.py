"""Odd input through the medication forms and services: NUL characters (PostgreSQL cannot
store them), instants outside 1900–2200, an end date far ahead. A field error each, nothing
written, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from openiop.accounts.roles import Role
from openiop.medications.models import Administration, MedicationOrder
from openiop.medications.services import order_medication, record_administration
from tests.factories import make_user, sign_in
from tests.factories_enrollment import make_prescriber
from tests.factories_medications import make_order, today_at
from tests.factories_patients import make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def priya(site):
    return make_prescriber(site)


@pytest.fixture
def nina(site):
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Nursely")


@pytest.fixture
def patient(site):
    return make_patient(site, first_name="Casey", last_name="Fakerly")


def _order_data(patient, **changes):
    return {
        "medication": "sertraline",
        "dose": "50",
        "dose_unit": "mg",
        "frequency": "daily",
        "started_on": today_at(patient).isoformat(),
        "dispensing": "pharmacy",
        **changes,
    }


ORDER_CHANGES = [
    ({"frequency": "daily\x00"}, "frequency"),
    ({"notes": "Take\x00 with food"}, "notes"),
    ({"external_prescriber": "Dr\x00 Nobody (fictional)"}, "external_prescriber"),
    ({"dose": "50\x00"}, "dose"),
    ({"medication": "sertraline\x00"}, "medication"),
    ({"started_on": "2026-03-02\x00"}, "started_on"),
    ({"ended_on": "9999-12-31"}, "ended_on"),
    ({"ended_on": "0001-01-01"}, "ended_on"),
    ({"started_on": "0001-01-01"}, "started_on"),
    ({"dose": "99999999999999999999"}, "dose"),
    ({"dose": "-5"}, "dose"),
    ({"dose": "1e999999999"}, "dose"),
]


@pytest.mark.parametrize(("changes", "field"), ORDER_CHANGES)
def test_the_order_service_names_the_field(patient, priya, changes, field):
    with pytest.raises(ValidationError) as caught:
        order_medication(patient, by=priya, data=_order_data(patient, **changes))
    assert field in caught.value.message_dict
    assert not MedicationOrder.objects.exists()


@pytest.mark.parametrize(("changes", "field"), ORDER_CHANGES)
def test_the_order_form_comes_back_with_the_error(client, site, patient, priya, changes, field):
    sign_in(client, priya, site=site)
    response = client.post(
        f"/patients/{patient.pk}/medications/order/", _order_data(patient, **changes)
    )
    assert response.status_code == 422
    assert not MedicationOrder.objects.exists()


def test_stop_form_with_odd_days_is_a_422(client, site, patient, priya):
    order = make_order(patient, "sertraline", by=priya, started_on=today_at(patient))
    sign_in(client, priya, site=site)
    url = f"/patients/{patient.pk}/medications/{order.pk}/stop/"
    for day in ("0001-01-01", "9999-12-31", "2026-03-02\x00"):
        assert client.post(url, {"ended_on": day, "version": 1}).status_code == 422
    assert client.post(url, {"ended_on": "x", "version": "1\x00"}).status_code == 422
    order.refresh_from_db()
    assert order.ended_on is None


DOSE_CHANGES = [
    ({"given_at": "0001-01-01T00:00:00Z"}, "given_at"),
    ({"given_at": "0001-01-01T00:00:00+14:00"}, "given_at"),
    ({"given_at": "0001-01-01T00:00"}, "given_at"),
    ({"given_at": "9999-12-31T23:59:59Z"}, "given_at"),
    ({"given_at": "9999-12-31T23:59:59-12:00"}, "given_at"),
    ({"given_at": "2026-03-02T10:00\x00"}, "given_at"),
    ({"lot": "LOT\x001"}, "lot"),
    ({"notes": "Fine\x00"}, "notes"),
    ({"injection_site": "abdomen_upper_right\x00"}, "injection_site"),
    ({"dose": "24\x00"}, "dose"),
]


@pytest.mark.parametrize(("changes", "field"), DOSE_CHANGES)
def test_the_dose_service_names_the_field(patient, priya, nina, changes, field):
    order = make_order(
        patient, "brixadi_weekly", by=priya, started_on=today_at(patient) - timedelta(days=3)
    )
    data = {"order_id": order.pk, "injection_site": "abdomen_upper_right", "dose": "24"}
    with pytest.raises(ValidationError) as caught:
        record_administration(patient, by=nina, data={**data, **changes})
    assert field in caught.value.message_dict
    assert not Administration.objects.exists()


@pytest.mark.parametrize(("changes", "field"), DOSE_CHANGES)
def test_the_dose_form_comes_back_with_the_error(
    client, site, patient, priya, nina, changes, field
):
    order = make_order(
        patient, "brixadi_weekly", by=priya, started_on=today_at(patient) - timedelta(days=3)
    )
    prefix = f"dose-{order.pk}-"
    data = {"injection_site": "abdomen_upper_right", "dose": "24", **changes}
    sign_in(client, nina, site=site)
    response = client.post(
        f"/patients/{patient.pk}/medications/{order.pk}/dose/",
        {f"{prefix}{key}": value for key, value in data.items()},
    )
    assert response.status_code == 422
    assert not Administration.objects.exists()
