"""The patient's medications page and the chart section: what each role sees, the forms, the
warnings a nurse must acknowledge, the audit trail and constant query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from openiop.medications.models import Administration, MedicationOrder
from tests.factories import make_user, sign_in
from tests.factories_enrollment import make_prescriber
from tests.factories_medications import give_dose, make_order, make_screen, today_at
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


def _url(patient, suffix=""):
    return f"/patients/{patient.pk}/medications/{suffix}"


def _grow(patient, priya, nina, doses):
    """A Vivitrol series of ``doses`` injections, the last 29 days ago (overdue by one day),
    a pharmacy order, an external methadone order in the past and a stopped order."""
    today = today_at(patient)
    vivitrol = make_order(
        patient, "vivitrol", by=priya, started_on=today - timedelta(days=28 * doses + 40)
    )
    for n in range(doses):
        give_dose(
            vivitrol,
            on=today - timedelta(days=29 + 28 * n),
            by=nina,
            site="gluteal_left" if n % 2 else "gluteal_right",
        )
    make_order(patient, "sertraline", by=priya, started_on=today - timedelta(days=100), dose="50")
    make_order(
        patient,
        "methadone_otp",
        by=priya,
        started_on=today - timedelta(days=400),
        ended_on=today - timedelta(days=300),
        dose="80",
        external_prescriber="Lakeside OTP (fictional)",
        dispensing="external_otp",
    )
    return vivitrol


# --- The page --------------------------------------------------------------------------------


def test_the_page_shows_orders_doses_and_the_due_status(client, site, patient, priya, nina):
    _grow(patient, priya, nina, 3)
    sign_in(client, nina, site=site)
    response = client.get(_url(patient))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Overdue 1 day" in html
    assert "Suggested site: <strong>left gluteal muscle</strong>" in html
    assert html.count('data-testid="med-history-row"') == 3
    assert html.count('data-testid="med-current-row"') == 2
    assert "Lakeside OTP (fictional)" in html  # the past external order
    assert 'data-testid="dose-form"' in html
    assert 'data-testid="order-form"' not in html  # a nurse does not order
    assert 'data-testid="stop-form"' not in html
    event = AuditEvent.objects.filter(patient_id=patient.pk, object_type="medications").get()
    assert event.action == Action.VIEW and event.actor == nina


def test_a_prescriber_orders_a_therapist_only_reads(client, site, patient, priya, tom):
    _grow(patient, priya, priya, 1)
    sign_in(client, priya, site=site)
    html = client.get(_url(patient)).content.decode()
    assert 'data-testid="order-form"' in html and 'data-testid="stop-form"' in html
    assert 'data-testid="dose-form"' in html  # prescribers may give doses too
    client.logout()
    sign_in(client, tom, site=site)
    html = client.get(_url(patient)).content.decode()
    assert 'data-testid="med-current-row"' in html
    assert 'data-testid="order-form"' not in html and 'data-testid="dose-form"' not in html


def test_the_page_is_empty_gracefully(client, site, patient, priya):
    sign_in(client, priya, site=site)
    html = client.get(_url(patient)).content.decode()
    assert 'data-testid="med-current-empty"' in html
    assert 'data-testid="med-history-empty"' in html


def test_another_sites_patient_is_a_404(client, other_site, oscar, patient):
    sign_in(client, oscar, site=other_site)
    assert client.get(_url(patient)).status_code == 404
    assert AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, actor=oscar, object_id=str(patient.pk)
    ).exists()


@pytest.mark.parametrize("doses", [1, 12])
def test_the_page_runs_a_constant_number_of_queries(
    client, site, patient, priya, nina, doses, django_assert_num_queries
):
    _grow(patient, priya, nina, doses)
    sign_in(client, priya, site=site)
    # session/user/MFA/membership (4), patient + audit (2), orders, doses, prescribers,
    # the session's last-seen update (savepoint, update, release).
    with django_assert_num_queries(13):
        assert client.get(_url(patient)).status_code == 200


# --- Ordering and stopping -------------------------------------------------------------------


def test_an_order_is_saved_from_the_form(client, site, patient, priya):
    sign_in(client, priya, site=site)
    response = client.post(
        _url(patient, "order/"),
        {
            "medication": "bup_nx_sl",
            "dose": "16",
            "dose_unit": "mg",
            "frequency": "daily",
            "started_on": today_at(patient).isoformat(),
            "dispensing": "pharmacy",
        },
    )
    assert response.status_code == 302
    order = MedicationOrder.objects.get()
    assert order.prescriber == priya
    assert AuditEvent.objects.filter(object_type="medication_order", action=Action.CREATE).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"medication": "methadone_otp", "dispensing": "clinic"}, "opioid treatment program"),
        ({"medication": "not-a-code"}, "Select a valid choice"),
        ({"dose": "0"}, "more than zero"),
        ({"started_on": "2099-01-01"}, "more than a year ahead"),
        ({"prescriber_id": "999999"}, "Select a valid choice"),
    ],
)
def test_a_bad_order_comes_back_with_the_error(client, site, patient, priya, data, message):
    sign_in(client, priya, site=site)
    payload = {
        "medication": "sertraline",
        "dose": "50",
        "dose_unit": "mg",
        "frequency": "daily",
        "started_on": today_at(patient).isoformat(),
        "dispensing": "pharmacy",
        **data,
    }
    response = client.post(_url(patient, "order/"), payload)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not MedicationOrder.objects.exists()


def test_stopping_from_the_page_and_from_a_stale_page(client, site, patient, priya):
    order = make_order(patient, "sertraline", by=priya, started_on=today_at(patient))
    sign_in(client, priya, site=site)
    data = {"ended_on": today_at(patient).isoformat(), "version": 1}
    response = client.post(_url(patient, f"{order.pk}/stop/"), data)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.ended_on == today_at(patient) and order.version == 2
    response = client.post(_url(patient, f"{order.pk}/stop/"), data)
    assert response.status_code == 409
    assert "changed since you opened it" in response.content.decode()
    response = client.post(_url(patient, f"{order.pk}/stop/"), {"ended_on": "x", "version": 2})
    assert response.status_code == 422


def test_another_patients_order_cannot_be_stopped_through_this_patient(
    client, site, patient, priya
):
    other = make_patient(site, first_name="Other", last_name="Personne")
    theirs = make_order(other, "sertraline", by=priya, started_on=today_at(patient))
    sign_in(client, priya, site=site)
    response = client.post(
        _url(patient, f"{theirs.pk}/stop/"),
        {"ended_on": today_at(patient).isoformat(), "version": 1},
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.ended_on is None
    assert AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, object_type="medication_order", object_id=str(theirs.pk)
    ).exists()


# --- Recording a dose ------------------------------------------------------------------------


def test_a_dose_in_its_window_is_recorded_at_once(client, site, patient, priya, nina):
    today = today_at(patient)
    order = make_order(patient, "brixadi_weekly", by=priya, started_on=today - timedelta(days=30))
    give_dose(order, on=today - timedelta(days=7), by=nina, site="abdomen_upper_left")
    sign_in(client, nina, site=site)
    html = client.get(_url(patient)).content.decode()
    assert 'data-testid="dose-warnings"' not in html
    prefix = f"dose-{order.pk}-"
    response = client.post(
        _url(patient, f"{order.pk}/dose/"),
        {
            f"{prefix}injection_site": "abdomen_upper_right",
            f"{prefix}lot": "LOT-7",
            f"{prefix}dose": "24",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    given = Administration.objects.latest("pk")
    assert given.injection_site == "abdomen_upper_right" and given.lot == "LOT-7"
    assert given.given_by == nina


def test_first_dose_warnings_must_be_acknowledged_with_the_box(client, site, patient, priya, nina):
    today = today_at(patient)
    order = make_order(patient, "vivitrol", by=priya, started_on=today)
    make_screen(patient, on=today - timedelta(days=3), results={"fentanyl": "positive"})
    sign_in(client, nina, site=site)
    html = client.get(_url(patient)).content.decode()
    assert 'data-testid="dose-warnings"' in html
    assert "Only 3 opioid-free days" in html
    prefix = f"dose-{order.pk}-"
    # Submitted without ticking the box: nothing is saved, the warnings come back.
    response = client.post(
        _url(patient, f"{order.pk}/dose/"), {f"{prefix}injection_site": "gluteal_left"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Tick the box" in html and "Only 3 opioid-free days" in html
    assert not Administration.objects.exists()
    digest = response.context["panels"][0].form["acknowledged"].value()
    assert digest
    # Ticked, with the digest of the warnings shown: saved, the audit names the acknowledgement.
    response = client.post(
        _url(patient, f"{order.pk}/dose/"),
        {
            f"{prefix}injection_site": "gluteal_left",
            f"{prefix}acknowledged": digest,
            f"{prefix}confirm": "on",
        },
    )
    assert response.status_code == 302
    assert Administration.objects.count() == 1
    event = AuditEvent.objects.get(object_type="administration")
    assert "acknowledged" in event.detail and event.actor == nina


def test_a_ticked_box_for_other_warnings_does_not_save(client, site, patient, priya, nina):
    today = today_at(patient)
    order = make_order(patient, "vivitrol", by=priya, started_on=today - timedelta(days=60))
    give_dose(order, on=today - timedelta(days=28), by=nina, site="gluteal_left")
    prefix = f"dose-{order.pk}-"
    sign_in(client, nina, site=site)
    # No warnings for the suggested site; the same site as last time brings one.
    response = client.post(
        _url(patient, f"{order.pk}/dose/"),
        {
            f"{prefix}injection_site": "gluteal_left",
            f"{prefix}acknowledged": "",
            f"{prefix}confirm": "on",
        },
    )
    assert response.status_code == 422
    assert "rotate sites" in response.content.decode()
    assert "warnings changed" in response.content.decode()
    assert not Administration.objects.filter(given_at__date__gte=today - timedelta(days=1)).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"injection_site": "thigh_left"}, "Select a valid choice"),
        ({"injection_site": ""}, "Choose where Vivitrol was injected"),
        ({"injection_site": "gluteal_right", "dose": "-1"}, "more than zero"),
        ({"injection_site": "gluteal_right", "given_at": "2999-01-01T10:00"}, "ahead of time"),
    ],
)
def test_a_bad_dose_comes_back_with_the_error(client, site, patient, priya, nina, data, message):
    today = today_at(patient)
    order = make_order(patient, "vivitrol", by=priya, started_on=today - timedelta(days=60))
    give_dose(order, on=today - timedelta(days=28), by=nina, site="gluteal_left")
    prefix = f"dose-{order.pk}-"
    sign_in(client, nina, site=site)
    response = client.post(
        _url(patient, f"{order.pk}/dose/"), {f"{prefix}{k}": v for k, v in data.items()}
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Administration.objects.count() == 1


def test_a_pharmacy_order_has_no_dose_form_and_refuses_a_dose(client, site, patient, priya, nina):
    order = make_order(patient, "bup_nx_sl", by=priya, started_on=today_at(patient), dose="16")
    sign_in(client, nina, site=site)
    assert 'data-testid="dose-form"' not in client.get(_url(patient)).content.decode()
    response = client.post(_url(patient, f"{order.pk}/dose/"), {})
    assert response.status_code == 422
    assert not Administration.objects.exists()


# --- The chart section -----------------------------------------------------------------------


def test_the_chart_shows_active_medications_and_the_next_injection(
    client, site, patient, priya, nina
):
    _grow(patient, priya, nina, 2)
    sign_in(client, nina, site=site)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="chart-medications"' in html
    assert "Overdue 1 day" in html
    assert html.count('data-testid="chart-injection"') == 1
    assert "Sertraline" in html and "Methadone" not in html  # the past order is not listed


def test_roles_without_medications_see_no_chart_section(client, site, patient, priya):
    _grow(patient, priya, priya, 1)
    desk = make_user("fran", site=site, role=Role.FRONT_DESK)
    sign_in(client, desk, site=site)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="chart-medications"' not in html


@pytest.mark.parametrize("doses", [0, 12])
def test_the_chart_section_runs_two_queries(
    rf, site, patient, priya, nina, doses, django_assert_num_queries
):
    from openiop.accounts.models import Membership
    from openiop.medications import chart_medications

    if doses:
        _grow(patient, priya, nina, doses)
    request = rf.get("/")
    request.membership = Membership.objects.get(user=nina)
    patient = type(patient).objects.select_related("site").get(pk=patient.pk)
    with django_assert_num_queries(2):
        panel = chart_medications.panel(request, patient)
    assert panel is not None
    assert len(panel["injections"]) == (1 if doses else 0)
