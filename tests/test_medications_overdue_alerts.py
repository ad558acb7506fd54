"""Overdue injection alerts: the service and the ``injection-alerts`` command."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.alerts.services import resolve_alert
from openiop.medications.services import raise_overdue_injection_alerts
from tests.factories import make_user
from tests.factories_enrollment import make_enrollment, make_prescriber
from tests.factories_medications import give_dose, make_order
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 4)


@pytest.fixture
def priya(site):
    return make_prescriber(site)


@pytest.fixture
def nina(site):
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Nursely")


@pytest.fixture
def olive(site, tom, priya):
    patient = make_patient(site, first_name="Olive", last_name="Overdue")
    make_enrollment(patient, make_program(site), primary_therapist=tom, prescriber=priya)
    return patient


def _overdue_sublocade(patient, priya, nina):
    order = make_order(patient, "sublocade", by=priya, started_on=TODAY - timedelta(days=90))
    dose = give_dose(order, on=TODAY - timedelta(days=31), by=nina, site="abdomen_upper_left")
    return order, dose


def test_an_overdue_injection_alerts_the_therapist_and_the_prescriber_once(
    site, olive, tom, priya, nina
):
    _, dose = _overdue_sublocade(olive, priya, nina)
    assert raise_overdue_injection_alerts(site, TODAY) == 2
    alerts = Alert.objects.filter(kind=AlertKind.INJECTION_OVERDUE)
    assert {a.assignee_id for a in alerts} == {tom.pk, priya.pk}
    alert = alerts.first()
    assert (alert.evidence_type, alert.evidence_id) == ("administration", dose.pk)
    assert alert.patient == olive and alert.site == site and alert.severity == "high"
    assert alert.title == "Sublocade injection overdue: due by Mar 1"
    assert "Last given Feb 1 (" in alert.detail and "Overdue 3 days on Mar 4" in alert.detail
    # Idempotent: again, or the next day, nothing new for the same window.
    assert raise_overdue_injection_alerts(site, TODAY) == 0
    assert raise_overdue_injection_alerts(site, TODAY + timedelta(days=1)) == 0
    # Resolved, it stays resolved: the same window does not raise it again.
    resolve_alert(alert, by=alert.assignee, version=alert.version, resolution="Called her.")
    assert raise_overdue_injection_alerts(site, TODAY) == 0
    assert alerts.count() == 2


def test_a_window_missed_after_a_later_dose_raises_a_new_alert(site, olive, priya, nina):
    order, first = _overdue_sublocade(olive, priya, nina)
    assert raise_overdue_injection_alerts(site, TODAY) == 2
    later = give_dose(order, on=TODAY, by=nina, site="abdomen_upper_right")
    assert raise_overdue_injection_alerts(site, TODAY) == 0  # given: nothing overdue
    assert raise_overdue_injection_alerts(site, TODAY + timedelta(days=28)) == 0  # target day
    assert raise_overdue_injection_alerts(site, TODAY + timedelta(days=29)) == 2
    evidence = Alert.objects.order_by("evidence_id").values_list("evidence_id", flat=True)
    assert sorted(set(evidence)) == [first.pk, later.pk]


def test_nothing_overdue_raises_nothing(site, olive, priya, nina):
    order = make_order(olive, "vivitrol", by=priya, started_on=TODAY - timedelta(days=60))
    give_dose(order, on=TODAY - timedelta(days=28), by=nina, site="gluteal_left")  # due now
    fern = make_patient(site, first_name="Fern", last_name="Firstdose")
    make_order(fern, "sublocade", by=priya, started_on=TODAY - timedelta(days=20))  # first dose
    assert raise_overdue_injection_alerts(site, TODAY) == 0
    assert not Alert.objects.exists()


def test_without_an_active_enrollment_or_a_therapist_fewer_people_are_alerted(site, priya, nina):
    lone = make_patient(site, first_name="Lona", last_name="Noenroll")
    _overdue_sublocade(lone, priya, nina)
    half = make_patient(site, first_name="Hal", last_name="Notherapist")
    make_enrollment(half, make_program(site, name="Evening IOP"), prescriber=priya)
    _overdue_sublocade(half, priya, nina)
    assert raise_overdue_injection_alerts(site, TODAY) == 1
    alert = Alert.objects.get()
    assert (alert.patient, alert.assignee, alert.state) == (half, priya, AlertState.OPEN)


def test_an_other_sites_overdue_injection_is_not_this_sites(site, other_site, olive, priya, nina):
    _overdue_sublocade(olive, priya, nina)
    assert raise_overdue_injection_alerts(other_site, TODAY) == 0


def _command(*args: str) -> str:
    out = StringIO()
    call_command("injection_alerts", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_a_line_per_site_and_is_idempotent(site, other_site, olive, priya, nina):
    _overdue_sublocade(olive, priya, nina)
    first = _command("--date", TODAY.isoformat())
    assert (
        f"Testville Clinic: {TODAY.isoformat()}: 1 injection(s) overdue, 2 new alert(s)." in first
    )
    assert "Elsewhere Recovery Center: 2026-03-04: 0 injection(s) overdue, 0 new alert(s)." in first
    again = _command("--date", TODAY.isoformat(), "--site", "Testville Clinic")
    assert "1 injection(s) overdue, 0 new alert(s)." in again
    assert "Elsewhere" not in again
    assert Alert.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--date", "2026-3-4"), "--date must be a date like"),
        (("--date", "2999-01-01"), "after the site's today"),
        (("--site", "Nowhere"), "No site named 'Nowhere'. Sites: Testville Clinic."),
    ],
)
def test_the_command_refuses_bad_arguments(site, args, message):
    with pytest.raises(CommandError, match=message):
        _command(*args)
    assert not Alert.objects.exists()
