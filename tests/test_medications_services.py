"""Medication orders, stops and doses given in clinic: the services, with their bad inputs."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from openiop.lib.dates import at_local, local_today
from openiop.medications import services
from openiop.medications.models import Administration, MedicationOrder
from openiop.medications.schedule import DueStatus
from openiop.medications.services import (
    OrderConflict,
    WarningsNotAcknowledged,
    active_medications,
    injections_due_for_site,
    order_medication,
    record_administration,
    stop_medication,
    warnings_digest,
)
from tests.factories import make_user
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


def _site_today() -> date:
    return local_today("America/Chicago")  # the test site's zone


def _order_data(**overrides):
    data = {
        "medication": "bup_nx_sl",
        "dose": "16",
        "route": "sublingual",
        "frequency": "daily",
        "started_on": _site_today().isoformat(),
        "dispensing": "pharmacy",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- Orders ----------------------------------------------------------------------------------


def test_an_order_is_written_with_the_ordering_prescriber_and_audited(patient, priya):
    order = order_medication(patient, by=priya, data=_order_data())
    assert order.prescriber == priya
    assert order.site == patient.site
    assert order.dose == Decimal("16")
    assert order.dose_unit == "mg"
    event = AuditEvent.objects.get(object_type="medication_order", object_id=str(order.pk))
    assert event.action == Action.CREATE
    assert event.patient_id == patient.pk


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"medication": "suboxone"}, "medication"),
        ({"medication": None}, "medication"),
        ({"medication": 12}, "medication"),
        ({"dose": "0"}, "dose"),
        ({"dose": "-4"}, "dose"),
        ({"dose": "abc"}, "dose"),
        ({"dose": "NaN"}, "dose"),
        ({"dose": "1.234"}, "dose"),
        ({"dose": None}, "dose"),
        ({"dose_unit": "bottles"}, "dose_unit"),
        ({"route": "intravenous"}, "route"),
        ({"frequency": ""}, "frequency"),
        ({"frequency": "x" * 81}, "frequency"),
        ({"started_on": "yesterday"}, "started_on"),
        ({"started_on": None}, "started_on"),
        ({"started_on": "1980-01-01"}, "started_on"),
        ({"dispensing": "mail"}, "dispensing"),
        ({"medication": "sertraline", "route": "oral", "dispensing": "clinic"}, "dispensing"),
        ({"medication": "vivitrol", "route": None, "dispensing": "pharmacy"}, "dispensing"),
        ({"prescriber_id": "abc"}, "prescriber_id"),
        ({"prescriber_id": 999999}, "prescriber_id"),
    ],
)
def test_a_bad_order_names_the_field_and_writes_nothing(patient, priya, overrides, field):
    with pytest.raises(ValidationError) as excinfo:
        order_medication(patient, by=priya, data=_order_data(**overrides))
    assert field in _errors(excinfo)
    assert not MedicationOrder.objects.exists()
    assert not AuditEvent.objects.filter(object_type="medication_order").exists()


def test_the_start_may_not_be_more_than_a_year_ahead(patient, priya):
    far = _site_today() + timedelta(days=400)
    with pytest.raises(ValidationError) as excinfo:
        order_medication(patient, by=priya, data=_order_data(started_on=far.isoformat()))
    assert "year ahead" in _errors(excinfo)["started_on"][0]
    soon = _site_today() + timedelta(days=30)
    assert order_medication(patient, by=priya, data=_order_data(started_on=soon)).pk


def test_the_end_may_not_come_before_the_start(patient, priya):
    start = _site_today()
    with pytest.raises(ValidationError) as excinfo:
        order_medication(
            patient,
            by=priya,
            data=_order_data(started_on=start, ended_on=start - timedelta(days=1)),
        )
    assert "ended_on" in _errors(excinfo)


def test_methadone_must_be_external_with_the_otp_named(patient, priya):
    data = _order_data(medication="methadone_otp", route="oral", dose="80")
    with pytest.raises(ValidationError) as excinfo:
        order_medication(patient, by=priya, data={**data, "dispensing": "clinic"})
    assert "opioid treatment program" in _errors(excinfo)["dispensing"][0]
    with pytest.raises(ValidationError) as excinfo:
        order_medication(patient, by=priya, data={**data, "dispensing": "external_otp"})
    assert "external_prescriber" in _errors(excinfo)
    order = order_medication(
        patient,
        by=priya,
        data={
            **data,
            "dispensing": "external_otp",
            "external_prescriber": "Lakeside Opioid Treatment Program (fictional)",
        },
    )
    assert order.prescriber is None
    assert order.dispensing == "external_otp"


def test_an_external_order_names_no_prescriber_here(patient, priya):
    with pytest.raises(ValidationError) as excinfo:
        order_medication(
            patient,
            by=priya,
            data=_order_data(
                medication="methadone_otp",
                route="oral",
                dispensing="external_otp",
                external_prescriber="Lakeside OTP",
                prescriber_id=priya.pk,
            ),
        )
    assert "prescriber_id" in _errors(excinfo)


def test_the_prescriber_must_prescribe_at_this_site(patient, dana, tom, oscar, priya):
    # A therapist of the site is not a prescriber; a director elsewhere is not staff here.
    for someone in (tom, oscar):
        with pytest.raises(ValidationError) as excinfo:
            order_medication(patient, by=dana, data=_order_data(prescriber_id=someone.pk))
        assert "prescriber_id" in _errors(excinfo)
    # A director entering an order names the prescriber; a director may be the prescriber.
    assert order_medication(patient, by=dana, data=_order_data(prescriber_id=priya.pk)).prescriber
    order = order_medication(
        patient, by=dana, data=_order_data(medication="sertraline", route="oral", dose="50")
    )
    assert order.prescriber == dana


def test_a_disabled_prescriber_cannot_be_named(patient, dana, priya):
    priya.is_active = False
    priya.save(update_fields=["is_active"])
    with pytest.raises(ValidationError) as excinfo:
        order_medication(patient, by=dana, data=_order_data(prescriber_id=priya.pk))
    assert "prescriber_id" in _errors(excinfo)


def test_an_outside_prescriber_may_be_recorded_for_a_pharmacy_medicine(patient, tom):
    order = order_medication(
        patient,
        by=tom,
        data=_order_data(
            medication="sertraline",
            route="oral",
            dose="50",
            external_prescriber="Dr. Example Outside (fictional psychiatrist)",
        ),
    )
    assert order.prescriber is None
    # Without a prescriber of the site and without an outside one, it is refused.
    with pytest.raises(ValidationError) as excinfo:
        order_medication(
            patient, by=tom, data=_order_data(medication="escitalopram", dose="10", route="oral")
        )
    assert "prescriber_id" in _errors(excinfo)


def test_a_second_order_of_the_same_medicine_over_the_same_days_is_refused(patient, priya):
    order_medication(patient, by=priya, data=_order_data())
    with pytest.raises(ValidationError) as excinfo:
        order_medication(patient, by=priya, data=_order_data(dose="24"))
    assert "Stop that order first" in _errors(excinfo)["medication"][0]
    assert MedicationOrder.objects.count() == 1


def test_an_unknown_code_lists_where_the_codes_are(patient, priya):
    with pytest.raises(ValidationError) as excinfo:
        order_medication(patient, by=priya, data=_order_data(medication="sublocadee"))
    assert "catalog" in _errors(excinfo)["medication"][0]


# --- Stopping --------------------------------------------------------------------------------


def test_stopping_ends_the_order_and_bumps_its_version(patient, priya):
    order = order_medication(patient, by=priya, data=_order_data())
    today = today_at(patient)
    stopped = stop_medication(order, by=priya, ended_on=today, version=order.version)
    assert stopped.ended_on == today
    assert stopped.version == 2
    assert AuditEvent.objects.filter(
        object_type="medication_order", action=Action.UPDATE, patient_id=patient.pk
    ).exists()
    # A second stop from the same (stale) page is a conflict.
    with pytest.raises(OrderConflict):
        stop_medication(order, by=priya, ended_on=today, version=1)


def test_stopping_before_the_start_or_a_given_dose_is_refused(patient, priya, nina):
    today = today_at(patient)
    order = make_order(
        patient, "vivitrol", by=priya, started_on=today - timedelta(days=40), dose="380"
    )
    give_dose(order, on=today - timedelta(days=10), by=nina, site="gluteal_left")
    for day, words in (
        (today - timedelta(days=41), "starts"),
        (today - timedelta(days=20), "dose was given"),
        (today + timedelta(days=400), "year ahead"),
        ("not a day", "not a date"),
    ):
        with pytest.raises(ValidationError) as excinfo:
            stop_medication(order, by=priya, ended_on=day, version=order.version)
        assert words in _errors(excinfo)["ended_on"][0]
    with pytest.raises(ValidationError) as excinfo:
        stop_medication(order, by=priya, ended_on=today, version=None)
    assert "version" in _errors(excinfo)
    order.refresh_from_db()
    assert order.ended_on is None and order.version == 1


def test_an_order_that_already_ended_cannot_be_stopped_again(patient, priya):
    today = today_at(patient)
    order = make_order(
        patient,
        "sertraline",
        by=priya,
        started_on=today - timedelta(days=30),
        ended_on=today - timedelta(days=2),
    )
    with pytest.raises(OrderConflict):
        stop_medication(order, by=priya, ended_on=today, version=order.version)


# --- Active medications ----------------------------------------------------------------------


def test_active_medications_are_those_started_and_not_ended_that_day(
    patient, priya, django_assert_num_queries
):
    day = date(2026, 3, 2)
    current = make_order(patient, "bup_nx_sl", by=priya, started_on=day - timedelta(days=9))
    make_order(
        patient,
        "sertraline",
        by=priya,
        started_on=day - timedelta(days=60),
        ended_on=day - timedelta(days=1),
    )
    ends_today = make_order(
        patient, "clonazepam", by=priya, started_on=day - timedelta(days=3), ended_on=day
    )
    make_order(patient, "naloxone_kit", by=priya, started_on=day + timedelta(days=1))
    make_order(make_patient(patient.site), "vivitrol", by=priya, started_on=day)
    with django_assert_num_queries(1):
        active = active_medications(patient, day)
    assert {o.pk for o in active} == {current.pk, ends_today.pk}
    assert {o.pk for o in active_medications(patient.pk, day)} == {current.pk, ends_today.pk}


# --- Administrations -------------------------------------------------------------------------


def _now_local(patient):
    return at_local(today_at(patient), time(0, 30), patient.site.time_zone)


def test_a_dose_is_recorded_against_the_active_in_clinic_order(patient, priya, nina):
    today = today_at(patient)
    order = make_order(
        patient, "brixadi_weekly", by=priya, started_on=today - timedelta(days=20), dose="24"
    )
    give_dose(order, on=today - timedelta(days=7), by=nina, site="abdomen_upper_left")
    administration, warnings = record_administration(
        patient,
        by=nina,
        data={
            "medication": "brixadi_weekly",
            "given_at": _now_local(patient),
            "injection_site": "abdomen_upper_right",
            "lot": "LOT-TEST-1",
        },
    )
    assert warnings == []
    assert administration.order == order
    assert administration.dose == Decimal("24")  # the order's, when none is given
    assert administration.given_by == nina
    event = AuditEvent.objects.get(object_type="administration")
    assert event.patient_id == patient.pk and event.action == Action.CREATE


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"medication": "sublocade"}, "medication"),  # not ordered
        ({"medication": "sublocadee"}, "medication"),  # unknown
        ({}, "medication"),
        ({"order_id": 999999}, "order_id"),
        ({"order_id": "x"}, "order_id"),
        ({"medication": "vivitrol", "dose": "0"}, "dose"),
        ({"medication": "vivitrol", "dose": "-380"}, "dose"),
        ({"medication": "vivitrol", "injection_site": ""}, "injection_site"),
        ({"medication": "vivitrol", "injection_site": "abdomen_upper_left"}, "injection_site"),
        ({"medication": "vivitrol", "injection_site": "nose"}, "injection_site"),
        ({"medication": "vivitrol", "given_at": "soon"}, "given_at"),
        ({"medication": "vivitrol", "given_at": "2999-01-01T10:00"}, "given_at"),
        ({"medication": "vivitrol", "lot": "L" * 61}, "lot"),
    ],
)
def test_a_bad_dose_names_the_field_and_writes_nothing(patient, priya, nina, data, field):
    today = today_at(patient)
    make_order(patient, "vivitrol", by=priya, started_on=today - timedelta(days=3), dose="380")
    payload = {"injection_site": "gluteal_left", "given_at": _now_local(patient), **data}
    with pytest.raises(ValidationError) as excinfo:
        record_administration(patient, by=nina, data=payload)
    assert field in _errors(excinfo), _errors(excinfo)
    assert not Administration.objects.exists()


def test_another_patients_order_is_refused(patient, priya, nina, site):
    other = make_patient(site, first_name="Other", last_name="Personne")
    today = today_at(patient)
    theirs = make_order(other, "vivitrol", by=priya, started_on=today - timedelta(days=3))
    with pytest.raises(ValidationError) as excinfo:
        record_administration(
            patient,
            by=nina,
            data={"order_id": theirs.pk, "injection_site": "gluteal_left"},
        )
    assert "order_id" in _errors(excinfo)
    assert not Administration.objects.exists()


def test_an_order_not_active_that_day_or_not_given_in_clinic_is_refused(patient, priya, nina):
    today = today_at(patient)
    ended = make_order(
        patient,
        "vivitrol",
        by=priya,
        started_on=today - timedelta(days=90),
        ended_on=today - timedelta(days=30),
    )
    with pytest.raises(ValidationError) as excinfo:
        record_administration(
            patient, by=nina, data={"order_id": ended.pk, "injection_site": "gluteal_left"}
        )
    assert "not active" in _errors(excinfo)["order_id"][0]
    with pytest.raises(ValidationError) as excinfo:
        record_administration(
            patient, by=nina, data={"medication": "vivitrol", "injection_site": "gluteal_left"}
        )
    assert "No order of" in _errors(excinfo)["medication"][0]
    pharmacy = make_order(
        patient, "bup_nx_sl", by=priya, started_on=today - timedelta(days=3), dispensing="pharmacy"
    )
    with pytest.raises(ValidationError) as excinfo:
        record_administration(patient, by=nina, data={"order_id": pharmacy.pk})
    assert "not given in clinic" in _errors(excinfo)["order_id"][0]
    assert not Administration.objects.exists()


def test_a_too_early_dose_on_the_same_site_is_warned_not_refused(patient, priya, nina):
    today = today_at(patient)
    order = make_order(patient, "sublocade", by=priya, started_on=today - timedelta(days=60))
    give_dose(order, on=today - timedelta(days=20), by=nina, site="abdomen_upper_left")
    _, warnings = record_administration(
        patient,
        by=nina,
        data={"medication": "sublocade", "injection_site": "abdomen_upper_left"},
    )
    assert [w.code for w in warnings] == ["too_early", "site"]
    assert "at least 26 days" in warnings[0].message
    assert Administration.objects.count() == 2


def test_a_late_dose_is_warned(patient, priya, nina):
    today = today_at(patient)
    order = make_order(patient, "vivitrol", by=priya, started_on=today - timedelta(days=90))
    give_dose(order, on=today - timedelta(days=35), by=nina, site="gluteal_left")
    _, warnings = record_administration(
        patient, by=nina, data={"medication": "vivitrol", "injection_site": "gluteal_right"}
    )
    assert [w.code for w in warnings] == ["late"]


def test_a_first_vivitrol_dose_reads_the_last_opioid_screens(patient, priya, nina):
    today = today_at(patient)
    make_order(patient, "vivitrol", by=priya, started_on=today)
    make_screen(patient, on=today - timedelta(days=4), results={"fentanyl": "positive"})
    make_screen(patient, on=today - timedelta(days=1), results={"fentanyl": "negative"})
    data = {"medication": "vivitrol", "injection_site": "gluteal_left"}
    warnings = services.warnings_for(
        patient, MedicationOrder.objects.get(), _now_local(patient), "gluteal_left"
    )
    assert [w.code for w in warnings] == ["opioid_free_too_short"]
    assert "Only 4 opioid-free days" in warnings[0].message
    # The screen asks for acknowledgement: nothing is written until the very warnings are.
    with pytest.raises(WarningsNotAcknowledged) as excinfo:
        record_administration(patient, by=nina, data=data, require_acknowledgement=True)
    assert not Administration.objects.exists()
    with pytest.raises(WarningsNotAcknowledged):
        record_administration(
            patient,
            by=nina,
            data={**data, "acknowledged": "something else"},
            require_acknowledgement=True,
        )
    _, warnings = record_administration(
        patient,
        by=nina,
        data={**data, "acknowledged": excinfo.value.digest},
        require_acknowledgement=True,
    )
    assert warnings_digest(warnings) == excinfo.value.digest
    assert (
        "1 warning(s) acknowledged" in AuditEvent.objects.get(object_type="administration").detail
    )


def test_a_documented_opioid_free_interval_gives_no_warning(patient, priya, nina):
    today = today_at(patient)
    make_order(patient, "vivitrol", by=priya, started_on=today)
    make_screen(patient, on=today - timedelta(days=12), results={"opiates": "positive"})
    # A confirmatory negative overrides the presumptive positive of the same screen.
    screen = make_screen(patient, on=today - timedelta(days=2), results={"opiates": "positive"})
    from openiop.screening.models import ScreenResult

    ScreenResult.objects.create(
        screen=screen,
        analyte="opiates",
        method="confirmatory",
        result="negative",
        entered_at=screen.collected_at,
    )
    warnings = services.warnings_for(
        patient, MedicationOrder.objects.get(), _now_local(patient), "gluteal_left"
    )
    assert warnings == []


def test_a_dilute_negative_does_not_document_the_interval(patient, priya):
    today = today_at(patient)
    make_order(patient, "vivitrol", by=priya, started_on=today)
    make_screen(patient, on=today - timedelta(days=12), results={"opiates": "positive"})
    make_screen(
        patient, on=today - timedelta(days=2), results={"opiates": "negative"}, validity="dilute"
    )
    warnings = services.warnings_for(
        patient, MedicationOrder.objects.get(), _now_local(patient), "gluteal_left"
    )
    assert [w.code for w in warnings] == ["no_negative_screen"]


def test_buprenorphine_makes_the_interval_ten_days(patient, priya):
    today = today_at(patient)
    make_order(patient, "vivitrol", by=priya, started_on=today)
    make_screen(
        patient,
        on=today - timedelta(days=8),
        results={"buprenorphine": "positive", "norbuprenorphine": "positive"},
    )
    make_screen(patient, on=today - timedelta(days=1), results={"buprenorphine": "negative"})
    warnings = services.warnings_for(
        patient, MedicationOrder.objects.get(), _now_local(patient), "gluteal_left"
    )
    assert [w.code for w in warnings] == ["opioid_free_too_short"]
    assert "at least 10" in warnings[0].message


def test_a_first_sublocade_dose_reads_the_sublingual_orders(patient, priya):
    today = today_at(patient)
    order = make_order(patient, "sublocade", by=priya, started_on=today)
    # A dose change (stop and a new order the next day) is one run of sublingual treatment.
    make_order(
        patient,
        "bup_nx_sl",
        by=priya,
        started_on=today - timedelta(days=10),
        ended_on=today - timedelta(days=5),
        dose="8",
    )
    make_order(patient, "bup_nx_sl", by=priya, started_on=today - timedelta(days=4), dose="16")
    assert services.warnings_for(patient, order, _now_local(patient), "abdomen_upper_left") == []
    MedicationOrder.objects.filter(medication="bup_nx_sl").delete()
    make_order(patient, "bup_nx_sl", by=priya, started_on=today - timedelta(days=3))
    warnings = services.warnings_for(patient, order, _now_local(patient), "abdomen_upper_left")
    assert [w.code for w in warnings] == ["sublingual_too_short"]
    MedicationOrder.objects.filter(medication="bup_nx_sl").delete()
    warnings = services.warnings_for(patient, order, _now_local(patient), "abdomen_upper_left")
    assert [w.code for w in warnings] == ["no_sublingual"]


def test_a_second_dose_the_same_day_is_warned(patient, priya, nina):
    today = today_at(patient)
    order = make_order(patient, "brixadi_monthly", by=priya, started_on=today - timedelta(days=3))
    give_dose(order, on=today, by=nina, site="abdomen_upper_left", at=time(0, 5))
    _, warnings = record_administration(
        patient,
        by=nina,
        data={
            "order_id": order.pk,
            "injection_site": "thigh_left",
            "given_at": _now_local(patient),
        },
    )
    assert [w.code for w in warnings] == ["duplicate"]


def test_recording_a_dose_runs_a_constant_number_of_queries(
    patient, priya, nina, django_assert_max_num_queries
):
    today = today_at(patient)
    order = make_order(patient, "brixadi_weekly", by=priya, started_on=today - timedelta(days=400))
    for week in range(1, 50):
        give_dose(order, on=today - timedelta(weeks=week), by=nina, site="thigh_left")
    with django_assert_max_num_queries(12):
        record_administration(
            patient, by=nina, data={"medication": "brixadi_weekly", "injection_site": "thigh_right"}
        )


# --- The week's list -------------------------------------------------------------------------


def test_injections_due_for_the_site_come_from_the_rows(
    site, other_site, priya, nina, django_assert_num_queries
):
    today = date(2026, 3, 4)  # a Wednesday: the week runs to Sunday the 8th
    overdue = make_patient(site, first_name="Olive", last_name="Overdue")
    due = make_patient(site, first_name="Dewey", last_name="Duenow")
    first = make_patient(site, first_name="Fern", last_name="Firstdose")
    later = make_patient(site, first_name="Len", last_name="Laterthan")
    stopped = make_patient(site, first_name="Stan", last_name="Stopped")
    elsewhere = make_patient(other_site, first_name="Elsa", last_name="Where")
    o1 = make_order(overdue, "vivitrol", by=priya, started_on=today - timedelta(days=90))
    give_dose(o1, on=today - timedelta(days=31), by=nina, site="gluteal_left")
    o2 = make_order(due, "brixadi_weekly", by=priya, started_on=today - timedelta(days=30))
    give_dose(o2, on=today - timedelta(days=6), by=nina, site="thigh_left")
    make_order(first, "sublocade", by=priya, started_on=today - timedelta(days=1))
    o4 = make_order(later, "sublocade", by=priya, started_on=today - timedelta(days=60))
    give_dose(o4, on=today - timedelta(days=5), by=nina, site="abdomen_upper_left")
    o5 = make_order(
        stopped,
        "vivitrol",
        by=priya,
        started_on=today - timedelta(days=90),
        ended_on=today - timedelta(days=1),
    )
    give_dose(o5, on=today - timedelta(days=40), by=nina, site="gluteal_left")
    make_order(elsewhere, "vivitrol", by=priya, started_on=today - timedelta(days=3))
    make_order(due, "bup_nx_sl", by=priya, started_on=today - timedelta(days=30))
    with django_assert_num_queries(2):
        items = injections_due_for_site(site, today)
    assert [(i.patient.pk, i.status, i.first_dose) for i in items] == [
        (overdue.pk, DueStatus.OVERDUE, False),
        (first.pk, DueStatus.DUE, True),
        (due.pk, DueStatus.DUE, False),
    ]
    assert items[0].order == o1 and items[0].due.last_site == "gluteal_left"
    assert injections_due_for_site(make_patient(site).site, date(2020, 1, 1)) == []
