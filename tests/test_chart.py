"""The patient chart at /patients/<id>/."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
import time_machine

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.lib.dates import at_local
from openiop.programs.models import Cadence
from tests.factories import make_user, sign_in
from tests.factories_hours import make_attended_session, make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program, make_track

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 4)  # a Wednesday; week 2026-W10


@pytest.fixture
def now(site):
    moment = at_local(TODAY, time(12, 0), site.time_zone)
    with time_machine.travel(moment, tick=False):
        yield moment


@pytest.fixture
def patient(site):
    return make_patient(
        site,
        first_name="Patricia",
        last_name="Placeholder",
        preferred_name="Pat",
        date_of_birth=date(1990, 5, 17),
        pronouns="she/her",
        phone="555-0100",
        primary_language="Spanish",
    )


@pytest.fixture
def iop(site):
    return make_program(site, name="Adult IOP")


@pytest.fixture
def evening(iop):
    return make_track(iop, "Evening — Tue/Wed/Thu 18:00–21:00")


def _bars(body):
    return dict(re.findall(r'data-week="([0-9]{4}-W[0-9]{2})" data-hours="([0-9.]+)"', body))


def test_it_shows_the_header_and_audits_the_read(client, site, tom, patient, now):
    sign_in(client, tom, site=site)
    response = client.get(f"/patients/{patient.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    for text in ("Pat Placeholder", "Patricia Placeholder", patient.mrn, "she/her", "Spanish"):
        assert text in body
    assert "May 17, 1990 (age 35)" in body
    assert f'href="/patients/{patient.pk}/edit/"' in body
    event = AuditEvent.objects.get(object_type="chart", patient_id=patient.pk)
    assert (event.actor, event.action, event.site) == (tom, "view", site)


def test_it_answers_404_for_a_patient_of_another_site(client, other_site, oscar, patient):
    sign_in(client, oscar, site=other_site)
    assert client.get(f"/patients/{patient.pk}/").status_code == 404
    # Nothing was shown; the refused attempt is audited without the patient's id attached.
    assert not AuditEvent.objects.filter(object_type="chart", action="view").exists()
    refused = AuditEvent.objects.get(object_type="chart", action="access_denied")
    assert refused.patient_id is None


def test_it_answers_404_for_an_unknown_patient(client, site, tom):
    sign_in(client, tom, site=site)
    assert client.get("/patients/999999/").status_code == 404


def test_it_is_denied_to_the_auditor(client, site, audrey, patient):
    sign_in(client, audrey, site=site)
    assert client.get(f"/patients/{patient.pk}/").status_code == 403


def test_it_summarizes_the_active_enrollment(client, site, tom, patient, iop, evening, now):
    prescriber = make_user(
        "priya", site=site, role=Role.PRESCRIBER, first_name="Priya", last_name="Exampledoc"
    )
    enrollment = make_enrollment(
        patient,
        iop,
        track=evening,
        admitted_on=date(2026, 2, 2),
        primary_therapist=tom,
        prescriber=prescriber,
        individual_cadence=Cadence.BIWEEKLY,
        weekly_hours_min=10,
        weekly_hours_max=12,
    )
    sign_in(client, tom, site=site)
    body = client.get(f"/patients/{patient.pk}/").content.decode()
    for text in (
        "Adult IOP — Evening — Tue/Wed/Thu 18:00–21:00",
        "Intensive outpatient",
        "ASAM 2.1, 3rd edition (2013)",
        "Feb 2, 2026",
        "Tom Fakename",
        "Priya Exampledoc",
        "Every two weeks",
        "target 10–12 h",
    ):
        assert text in body, text
    base = f"/patients/{patient.pk}/enrollments/{enrollment.pk}"
    assert f'href="{base}/discharge/"' in body
    assert f'href="{base}/transfer/"' in body
    assert 'data-testid="chart-admit"' not in body


def test_it_offers_admission_only_to_roles_that_admit(client, site, patient, now):
    front = make_user("fran", site=site, role=Role.FRONT_DESK)
    nurse = make_user("nia", site=site, role=Role.NURSE)
    sign_in(client, front, site=site)
    assert 'data-testid="chart-admit"' in client.get(f"/patients/{patient.pk}/").content.decode()
    sign_in(client, nurse, site=site)
    body = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="chart-admit"' not in body
    assert "Not enrolled in a program" in body


def test_front_desk_cannot_discharge_or_transfer(client, site, patient, iop, now):
    make_enrollment(patient, iop, admitted_on=date(2026, 2, 2))
    front = make_user("fran", site=site, role=Role.FRONT_DESK)
    billie = make_user("billie", site=site, role=Role.BILLING)
    sign_in(client, front, site=site)
    body = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "chart-discharge" not in body
    assert "chart-transfer" not in body
    sign_in(client, billie, site=site)
    assert "chart-edit" not in client.get(f"/patients/{patient.pk}/").content.decode()


def test_it_tells_the_episode_as_one_story(client, site, tom, patient, iop, evening, now):
    php = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    old = make_enrollment(
        patient,
        make_program(site, "1", name="Outpatient", weekly_hours_min=1, weekly_hours_max=8),
        admitted_on=date(2025, 6, 2),
        discharged_on=date(2025, 8, 1),
        discharge_reason="completed",
        discharge_note="All goals met",
    )
    first = make_enrollment(
        patient,
        iop,
        track=evening,
        admitted_on=date(2026, 1, 5),
        discharged_on=date(2026, 2, 9),
        status="transferred",
        discharge_reason="stepped_up",
    )
    make_enrollment(
        patient,
        php,
        admitted_on=date(2026, 2, 9),
        episode=first.episode,
        previous=first,
        transfer_kind="step_up",
        transfer_reason="Three unexpected positive screens",
    )
    old.episode.closed_on = date(2025, 8, 1)
    old.episode.save()
    sign_in(client, tom, site=site)
    body = client.get(f"/patients/{patient.pk}/").content.decode()
    timeline = body[body.index('data-testid="chart-timeline"') :]
    # Newest episode first, its enrollments forward in time, then the older episode.
    order = [
        timeline.index(text)
        for text in (
            "Episode from Jan 5, 2026",
            "Adult IOP",
            "Step up",
            "Three unexpected positive screens",
            "Adult PHP",
            "Episode from Jun 2, 2025 to Aug 1, 2025",
            "Completed treatment: All goals met",
        )
    ]
    assert order == sorted(order)
    assert "Ongoing" in timeline and "Closed" in timeline


def test_it_draws_twelve_weeks_against_the_target(client, site, tom, patient, iop, now):
    make_enrollment(patient, iop, admitted_on=date(2026, 1, 12))
    # Last week (W09): 9.5 h = met; W08: 3 h = missed; this week: 3 h attended + 3 h booked.
    for day, minutes in ((date(2026, 2, 23), 300), (date(2026, 2, 25), 270)):
        make_attended_session(site, tom, patient, day=day, minutes=minutes)
    make_attended_session(site, tom, patient, day=date(2026, 2, 17), minutes=180)
    make_attended_session(site, tom, patient, day=date(2026, 3, 2), minutes=180)
    make_attended_session(site, tom, patient, day=date(2026, 3, 5), status="booked")
    sign_in(client, tom, site=site)
    body = client.get(f"/patients/{patient.pk}/").content.decode()
    bars = _bars(body)
    assert list(bars) == [f"2025-W{w:02d}" for w in (51, 52)] + [
        f"2026-W{w:02d}" for w in range(1, 11)
    ]
    assert bars["2026-W09"] == "9.50"
    assert bars["2026-W08"] == "3.00"
    assert bars["2026-W10"] == "3.00"
    assert bars["2026-W01"] == "0.00"
    assert 'data-week="2026-W09" data-hours="9.50" data-status="met"' in body
    assert 'data-week="2026-W08" data-hours="3.00" data-status="missed"' in body
    assert 'data-week="2026-W10" data-hours="3.00" data-status="on_track"' not in body
    assert 'data-week="2026-W10" data-hours="3.00" data-status="at_risk"' in body
    assert 'data-week="2026-W01" data-hours="0.00" data-status="not_enrolled"' in body
    assert 'data-week-ahead="2026-W10" data-hours="3.00"' in body
    assert body.count('class="hours-band"') == 8  # W03 to W10: admitted on January 12
    assert '<title id="hours-chart-title">' in body
    table = body[body.index('data-testid="hours-table"') :]
    assert '<th scope="row">2026-W09</th><td>9.50</td>' in table
    assert " style=" not in body and "<script>" not in body


def test_it_lists_upcoming_sessions_and_attendance_history(client, site, tom, patient, iop, now):
    make_enrollment(patient, iop, admitted_on=date(2026, 1, 12))
    make_attended_session(
        site, tom, patient, day=date(2026, 3, 2), status="late", minutes_attended=150
    )
    make_attended_session(site, tom, patient, day=date(2026, 3, 3), status="excused")
    make_attended_session(site, tom, patient, day=date(2026, 1, 5), minutes=60)  # 9 weeks ago
    soon = make_attended_session(site, tom, patient, day=date(2026, 3, 17), status="booked")
    far = make_attended_session(site, tom, patient, day=date(2026, 3, 19), status="booked")
    soon.session.title = "DBT skills"
    soon.session.save()
    far.session.title = "Family group"
    far.session.save()
    sign_in(client, tom, site=site)
    body = client.get(f"/patients/{patient.pk}/").content.decode()
    upcoming = body[
        body.index('data-testid="chart-upcoming"') : body.index('data-testid="chart-history"')
    ]
    assert "DBT skills" in upcoming and "Family group" not in upcoming
    history = body[body.index('data-testid="chart-history"') :]
    assert "att-late" in history and "150 <span" in history
    assert "Excused absence" in history
    assert "Jan 5" not in history
    assert "2 sessions" in history


def test_it_paginates_the_attendance_history(client, site, tom, patient, iop, now):
    make_enrollment(patient, iop, admitted_on=date(2026, 1, 12))
    for n in range(25):
        make_attended_session(site, tom, patient, day=TODAY - timedelta(days=n + 1), minutes=60)
    sign_in(client, tom, site=site)
    first = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Page 1 of 2" in first and "?page=2#attendance" in first
    second = client.get(f"/patients/{patient.pk}/?page=2").content.decode()
    assert "Page 2 of 2" in second
    assert client.get(f"/patients/{patient.pk}/?page=zzz").status_code == 200
    assert client.get(f"/patients/{patient.pk}/?page=99").status_code == 200


def _grow_history(site, tom, patient, weeks):
    """Two past sessions a week (one attended, one missed) and as many booked ahead."""
    start = TODAY - timedelta(weeks=weeks)
    for w in range(weeks):
        day = start + timedelta(weeks=w)
        make_attended_session(site, tom, patient, day=day, minutes=180)
        make_attended_session(site, tom, patient, day=day + timedelta(days=1), status="no_show")
        make_attended_session(
            site, tom, patient, day=TODAY + timedelta(days=w % 13 + 1), status="booked"
        )


@pytest.mark.parametrize("weeks", [2, 30])
def test_it_runs_a_constant_number_of_queries(
    client, site, tom, patient, iop, evening, now, weeks, django_assert_num_queries
):
    first = make_enrollment(
        patient,
        iop,
        track=evening,
        admitted_on=TODAY - timedelta(weeks=weeks),
        discharged_on=TODAY - timedelta(weeks=1),
        status="transferred",
        primary_therapist=tom,
    )
    make_enrollment(
        patient,
        iop,
        admitted_on=TODAY - timedelta(weeks=1),
        episode=first.episode,
        previous=first,
        transfer_kind="change_track",
    )
    _grow_history(site, tom, patient, weeks)
    sign_in(client, tom, site=site)
    # user, second factor and membership lookups; the patient and its audit event;
    # enrollments; hours; upcoming; history count and page; the session's last-seen update
    # (savepoint, update, release); the curriculum card's modules and attended-module aggregate;
    # the clinical sections: notes (1), treatment plan and relapse-prevention plan (3),
    # disclosures (1); medications: active orders and injections (2); drug screens (1);
    # the navigation's open-alert count (1); measurement-based care: the safety banner (1),
    # the trends (1), questionnaires due and recent results (3), the latest placement (2) and
    # level reviews (1).
    with django_assert_num_queries(33):
        assert client.get(f"/patients/{patient.pk}/").status_code == 200


def test_the_chart_geometry_never_has_negative_sizes():
    from decimal import Decimal

    from openiop.clinic.charts import hours_chart
    from openiop.lib.dates import IsoWeek
    from openiop.scheduling.hours import WeekHours, WeekStatus

    current = IsoWeek(2026, 10)
    weeks = [
        WeekHours(current.shift(-2), 0, 0, None, None, WeekStatus.NOT_ENROLLED),
        WeekHours(current.shift(-1), 0, 0, Decimal(9), Decimal(12), WeekStatus.MISSED),
        WeekHours(current, 0, 180, Decimal(9), Decimal(12), WeekStatus.AT_RISK),
    ]
    chart = hours_chart(weeks, current=current)
    for bar in chart.bars:
        assert bar.attended_h >= 0 and bar.ahead_h >= 0 and bar.band_h >= 0
    # A missed week with nothing attended still shows a sliver; no enrollment shows none.
    assert [bar.attended_h > 0 for bar in chart.bars] == [False, True, True]
    assert chart.bars[2].ahead_h > 0
    assert chart.bars[0].data_hours == "0.00"
