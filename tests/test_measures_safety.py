"""Safety alerts end to end (DOMAIN.md §9, issue 6 point 2): answers → alert rows."""

from __future__ import annotations

from datetime import date

import pytest

from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.measures.safety import raise_safety_alerts, safety_recipients
from tests.factories import make_user
from tests.factories_measures import (
    PHQ9_ITEM9,
    PHQ9_SEVERE_NO_ITEM9,
    enrolled,
    measure,
)
from tests.factories_patients import make_patient

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)


def alerts():
    return Alert.objects.filter(kind=AlertKind.SAFETY).order_by("assignee__username")


def test_it_alerts_therapist_and_director_for_phq9_item9(site, tom, dana, oscar):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=DAY)
    rows = list(alerts())
    assert [a.assignee.username for a in rows] == ["dana", "tom"]  # not oscar (other site)
    for alert in rows:
        assert alert.severity == Severity.HIGH
        assert alert.state == AlertState.OPEN
        assert alert.patient == patient
        assert alert.site == site
        assert (alert.evidence_type, alert.evidence_id) == ("measure", response.pk)
        assert alert.due_at is not None
        assert alert.title == "PHQ-9 item 9 answered 1"
        assert "Thoughts that you would be better off dead" in alert.detail
        assert "Several days" in alert.detail
        assert "Total 1 (minimal)" in alert.detail


def test_it_is_idempotent(site, tom, dana):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=DAY)
    assert raise_safety_alerts(response) == []
    assert alerts().count() == 2


def test_it_raises_nothing_for_a_high_total_with_item9_at_zero(site, tom, dana):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, "PHQ-9", PHQ9_SEVERE_NO_ITEM9, by=tom, taken_on=DAY)
    assert response.band == "severe"
    assert response.has_safety_flag is False
    assert raise_safety_alerts(response) == []
    assert not alerts().exists()


@pytest.mark.parametrize(
    ("answers", "band", "alerted"),
    [
        ([0, 0, None, None, None, 0], "none", False),
        ([1, 0, None, None, None, 0], "low", False),
        ([1, 1, 0, 0, 0, 0], "low", False),
        ([0, 1, 1, 0, 0, 0], "moderate", True),
        ([0, 0, None, None, None, 1], "moderate", True),
        ([1, 1, 1, 1, 0, 0], "high", True),
        ([1, 1, 0, 0, 1, 0], "high", True),
        ([0, 0, None, None, None, 2], "high", True),
    ],
)
def test_it_alerts_for_cssrs_moderate_and_high(site, tom, dana, answers, band, alerted):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, "C-SSRS", answers, by=tom, taken_on=DAY)
    assert response.band == band
    assert alerts().count() == (2 if alerted else 0)
    if alerted:
        assert alerts().first().title == f"C-SSRS screener: {band} suicide risk"


def test_a_patient_without_therapist_still_alerts_directors(site, tom, dana):
    second_director = make_user("dora", site=site, role=Role.DIRECTOR)
    gone = make_user("dex", site=site, role=Role.DIRECTOR, is_active=False)
    patient = make_patient(site)  # no enrollment at all
    measure(patient, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=DAY)
    assert [a.assignee for a in alerts()] == [dana, second_director]
    assert gone not in [a.assignee for a in alerts()]


def test_an_enrollment_without_therapist_alerts_directors(site, tom, dana):
    patient, _ = enrolled(site, therapist=None)
    measure(patient, "C-SSRS", [1, 1, 1, 1, 1, 2], by=tom, taken_on=DAY)
    assert [a.assignee for a in alerts()] == [dana]


def test_a_therapist_who_is_director_gets_one_alert(site, dana):
    patient, _ = enrolled(site, therapist=dana)
    response = measure(patient, "PHQ-9", PHQ9_ITEM9, by=dana, taken_on=DAY)
    assert [a.assignee for a in alerts()] == [dana]
    assert safety_recipients(response) == [dana]
