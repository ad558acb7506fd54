"""Weekly hours in SQL: the same answers as the pure reference, in a constant number of queries."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from openiop.lib.dates import IsoWeek, at_local
from openiop.scheduling.hours import BookingFact, summarize_week
from openiop.scheduling.hours_query import patient_weeks, site_active_weeks, span_of
from openiop.scheduling.models import Booking
from tests.factories_hours import make_attended_session, make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db

W10 = IsoWeek(2026, 10)  # Mon March 2 – Sun March 8 2026; US clocks spring forward on the 8th


@pytest.fixture
def program(site):
    return make_program(site)


def test_it_sums_attended_and_ahead_minutes_of_one_week(site, tom, program):
    patient = make_patient(site)
    make_enrollment(patient, program, admitted_on=date(2026, 1, 5))
    make_attended_session(site, tom, patient, day=date(2026, 3, 2), minutes=180)
    make_attended_session(
        site, tom, patient, day=date(2026, 3, 3), status="late", minutes_attended=150
    )
    make_attended_session(site, tom, patient, day=date(2026, 3, 4), status="excused")
    make_attended_session(site, tom, patient, day=date(2026, 3, 5), status="booked")
    make_attended_session(site, tom, patient, day=date(2026, 3, 6), status="booked")
    now = at_local(date(2026, 3, 5), time(12, 0), site.time_zone)
    (week,) = patient_weeks(patient_id=patient.pk, time_zone=site.time_zone, weeks=[W10], now=now)
    assert (week.attended_minutes, week.ahead_minutes) == (330, 360)
    assert (week.attended_hours, week.scheduled_hours) == (Decimal("5.50"), Decimal("11.50"))
    assert (week.status, week.excused, week.violations) == ("on_track", 1, 0)
    assert (week.target_min, week.target_max) == (Decimal(9), Decimal(12))


def test_it_ignores_cancelled_sessions_and_cancelled_bookings(site, tom, program):
    patient = make_patient(site)
    make_enrollment(patient, program, admitted_on=date(2026, 1, 5))
    make_attended_session(site, tom, patient, day=date(2026, 3, 2), session_status="cancelled")
    make_attended_session(site, tom, patient, day=date(2026, 3, 3), status="cancelled_by_clinic")
    make_attended_session(site, tom, patient, day=date(2026, 3, 4), status="cancelled")
    now = datetime(2026, 3, 20, tzinfo=UTC)
    (week,) = patient_weeks(patient_id=patient.pk, time_zone=site.time_zone, weeks=[W10], now=now)
    assert (week.attended_minutes, week.ahead_minutes, week.status) == (0, 0, "missed")


def test_it_places_sessions_in_the_sites_week_across_the_clock_change(site, tom, program):
    """Sunday 23:00 in Chicago is Monday in UTC; it still belongs to the Sunday's week."""
    patient = make_patient(site)
    make_enrollment(patient, program, admitted_on=date(2026, 1, 5))
    make_attended_session(site, tom, patient, day=date(2026, 3, 8), clock=time(23, 0), minutes=60)
    make_attended_session(site, tom, patient, day=date(2026, 3, 2), clock=time(0, 0), minutes=30)
    make_attended_session(site, tom, patient, day=date(2026, 3, 9), clock=time(0, 0), minutes=15)
    weeks = [W10.shift(-1), W10, W10.shift(1)]
    now = datetime(2026, 4, 1, tzinfo=UTC)
    found = patient_weeks(patient_id=patient.pk, time_zone=site.time_zone, weeks=weeks, now=now)
    assert [w.attended_minutes for w in found] == [0, 90, 15]


def test_it_takes_the_target_from_the_enrollment_of_that_week(site, tom, program):
    php = make_program(site, "2.5", name="Adult PHP", weekly_hours_min=20, weekly_hours_max=30)
    patient = make_patient(site)
    first = make_enrollment(
        patient,
        program,
        admitted_on=date(2026, 2, 16),
        discharged_on=date(2026, 3, 4),
        status="transferred",
    )
    make_enrollment(
        patient, php, admitted_on=date(2026, 3, 4), episode=first.episode, previous=first
    )
    weeks = [W10.shift(-3), W10.shift(-2), W10.shift(-1), W10]
    now = datetime(2026, 4, 1, tzinfo=UTC)
    found = patient_weeks(patient_id=patient.pk, time_zone=site.time_zone, weeks=weeks, now=now)
    assert [w.status for w in found] == ["not_enrolled", "missed", "missed", "missed"]
    assert [w.target_min for w in found] == [None, Decimal(9), Decimal(9), Decimal(20)]
    assert [w.partial for w in found] == [False, False, False, True]


def test_it_agrees_with_the_pure_reference_on_a_random_history(site, tom, program):
    rng = random.Random(20260302)
    patient = make_patient(site)
    enrollment = make_enrollment(patient, program, admitted_on=date(2025, 12, 1))
    statuses = ["present", "late", "left_early", "excused", "unexcused", "no_show", "booked"]
    for offset in range(0, 120, 2):
        day = date(2025, 12, 1) + timedelta(days=offset)
        status = rng.choice(statuses)
        minutes = rng.choice([60, 90, 180])
        recorded = rng.randint(0, minutes) if status in ("late", "left_early") else None
        make_attended_session(
            site,
            tom,
            patient,
            day=day,
            clock=time(rng.choice([0, 9, 18, 23]), 30),
            minutes=minutes,
            status=status,
            minutes_attended=recorded,
            session_status=rng.choice(["scheduled"] * 9 + ["cancelled"]),
        )
    now = at_local(date(2026, 3, 4), time(19, 0), site.time_zone)
    weeks = [IsoWeek(2026, 10).shift(-i) for i in range(14)]
    found = patient_weeks(patient_id=patient.pk, time_zone=site.time_zone, weeks=weeks, now=now)
    facts = [
        BookingFact(
            starts_at=b.session.starts_at,
            ends_at=b.session.ends_at,
            duration_minutes=b.session.duration_minutes,
            status=b.status,
            minutes_attended=b.minutes_attended,
            session_cancelled=b.session.status == "cancelled",
        )
        for b in Booking.objects.select_related("session")
    ]
    for week, got in zip(weeks, found, strict=True):
        expected = summarize_week(
            week=week,
            time_zone=site.time_zone,
            now=now,
            bookings=facts,
            spans=[span_of(enrollment)],
        )
        assert got == expected, week


def _history(site, tom, program, patients, weeks):
    for n in range(patients):
        patient = make_patient(site, first_name=f"Casey{n}", last_name="Sample")
        make_enrollment(patient, program, admitted_on=date(2025, 10, 6))
        for w in range(weeks):
            monday = W10.shift(-w).monday
            make_attended_session(site, tom, patient, day=monday, minutes=180)


def test_it_reads_twelve_weeks_in_one_query_whatever_the_history(
    site, tom, program, django_assert_num_queries
):
    now = datetime(2026, 3, 5, tzinfo=UTC)
    weeks = [W10.shift(-i) for i in range(12)]
    for size in (1, 6):
        _history(site, tom, program, 1, size)
        patient_id = make_patient(site).pk
        with django_assert_num_queries(2):
            patient_weeks(patient_id=patient_id, time_zone=site.time_zone, weeks=weeks, now=now)


def test_it_reads_a_whole_site_in_three_queries(
    site, other_site, tom, program, django_assert_num_queries
):
    now = at_local(date(2026, 3, 4), time(12, 0), site.time_zone)
    weeks = [W10, W10.shift(-1)]
    _history(site, tom, program, 2, 2)
    with django_assert_num_queries(3):
        small = site_active_weeks(site=site, weeks=weeks, now=now)
    _history(site, tom, program, 8, 3)
    with django_assert_num_queries(3):
        large = site_active_weeks(site=site, weeks=weeks, now=now)
    assert (len(small), len(large)) == (2, 10)
    assert {row.weeks[1].status for row in large} == {"missed"}
    assert {row.weeks[0].status for row in large} == {"at_risk"}


def test_it_lists_only_active_enrollments_of_the_site(site, other_site, tom, program):
    active = make_patient(site, first_name="Active")
    make_enrollment(active, program, admitted_on=date(2026, 1, 5))
    gone = make_patient(site, first_name="Gone")
    make_enrollment(gone, program, admitted_on=date(2026, 1, 5), discharged_on=date(2026, 2, 1))
    elsewhere = make_patient(other_site, first_name="Elsewhere")
    make_enrollment(elsewhere, make_program(other_site), admitted_on=date(2026, 1, 5))
    rows = site_active_weeks(site=site, weeks=[W10], now=datetime(2026, 3, 4, tzinfo=UTC))
    assert [row.enrollment.patient.first_name for row in rows] == ["Active"]
