"""run_selection, order_for_cause and policy_for: the pool, the counts, the record, the audit.

The randomizer's statistics are tested on the pure core (test_screening_selection.py); here
the database side: who is in the pool, what they already had, what is stored and audited.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.audit.models import Action, AuditEvent
from openiop.programs.models import EnrollmentStatus
from openiop.scheduling.models import AttendanceStatus, Booking, SessionStatus
from openiop.screening.models import (
    DrugScreen,
    ScreeningPhase,
    ScreenReason,
    ScreenSelection,
    ScreenStatus,
)
from openiop.screening.services_selection import (
    PhasePolicy,
    SelectionRefused,
    order_for_cause,
    policy_for,
    run_selection,
)
from tests.factories_patients import make_patient
from tests.factories_programs import make_program
from tests.factories_scheduling import make_booking
from tests.factories_screening_select import (
    NOW,
    TODAY,
    enrolled_patient,
    mon_wed_fri,
    session_on,
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def program(site):
    return make_program(site)


def decision(selection: ScreenSelection, patient_id: int) -> dict:
    return next(d for d in selection.record["decisions"] if d["patient_id"] == patient_id)


# --- policy_for ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("admitted_days_ago", "per_week", "per_month", "label"),
    [
        (0, 2, 0, "Early treatment"),
        (29, 2, 0, "Early treatment"),
        (30, 1, 0, "Settling in"),
        (89, 1, 0, "Settling in"),
        (90, 0, 2, "Stable recovery"),
        (400, 0, 2, "Stable recovery"),
    ],
)
def test_it_uses_the_default_phases_when_a_program_has_none(
    site, tom, program, admitted_days_ago, per_week, per_month, label
):
    _, enrollment = enrolled_patient(
        site, program, tom, "Avery", days=[], admitted_on=TODAY - timedelta(admitted_days_ago)
    )
    policy = policy_for(enrollment, TODAY)
    assert isinstance(policy, PhasePolicy)
    assert (policy.per_week, policy.per_month, policy.label) == (per_week, per_month, label)
    assert policy.extra_chance == 0.0


def test_it_uses_the_programs_own_phases_with_their_extra_chance(site, tom, program):
    ScreeningPhase.objects.create(program=program, from_day=0, label="Start", per_week=3)
    ScreeningPhase.objects.create(
        program=program, from_day=14, label="Later", per_week=1, extra_chance=Decimal("0.150")
    )
    _, enrollment = enrolled_patient(
        site, program, tom, "Blake", days=[], admitted_on=TODAY - timedelta(20)
    )
    policy = policy_for(enrollment, TODAY)
    assert (policy.per_week, policy.per_month, policy.label) == (1, 0, "Later")
    assert policy.extra_chance == pytest.approx(0.15)
    assert policy_for(enrollment, TODAY - timedelta(10)).per_week == 3
    # Before admission (a booking made ahead): the first phase.
    assert policy_for(enrollment, TODAY - timedelta(30)).label == "Start"


# --- The pool --------------------------------------------------------------------------------


def test_the_pool_is_the_enrolled_patients_booked_at_the_site_today(
    site, other_site, tom, oscar, program
):
    here, _ = enrolled_patient(site, program, tom, "Here", days=mon_wed_fri(TODAY))
    enrolled_patient(site, program, tom, "Tomorrow", days=[TODAY + timedelta(1)])
    cancelled_booking, _ = enrolled_patient(site, program, tom, "Cancelled", days=[])
    make_booking(session_on(site, tom, TODAY), cancelled_booking, status=AttendanceStatus.CANCELLED)
    discharged, _ = enrolled_patient(site, program, tom, "Discharged", days=[])
    discharged.enrollments.update(
        status=EnrollmentStatus.DISCHARGED, discharged_on=TODAY - timedelta(1)
    )
    make_booking(session_on(site, tom, TODAY), discharged)
    drop_in = make_patient(site, first_name="Unenrolled", last_name="Sample")
    make_booking(session_on(site, tom, TODAY), drop_in)
    elsewhere, _ = enrolled_patient(
        other_site, make_program(other_site), oscar, "Elsewhere", days=[TODAY]
    )
    # A cancelled session holds nobody on site.
    gone, _ = enrolled_patient(site, program, tom, "Gone", days=[])
    cancelled = session_on(site, tom, TODAY, hour=10)
    cancelled.status = SessionStatus.CANCELLED
    cancelled.save()
    make_booking(cancelled, gone, status=AttendanceStatus.CANCELLED_BY_CLINIC)

    selection = run_selection(site, TODAY, rng=random.Random(1))

    assert [d["patient_id"] for d in selection.record["decisions"]] == [here.pk]
    assert selection.record["pool_size"] == 1
    assert ScreenSelection.objects.filter(site=other_site).count() == 0
    assert elsewhere.drug_screens.count() == 0


def test_it_counts_the_remaining_on_site_days_of_the_week_and_month(site, tom, program):
    days = mon_wed_fri(TODAY)  # Wed 4, Fri 6, then Mon/Wed/Fri … into April
    patient, _ = enrolled_patient(site, program, tom, "Counted", days=days)
    # A no-show still held a seat; a cancelled booking does not count as on site.
    Booking.objects.filter(patient=patient, session=session_on(site, tom, date(2026, 3, 6))).update(
        status=AttendanceStatus.CANCELLED
    )
    selection = run_selection(site, TODAY, rng=random.Random(2))
    found = decision(selection, patient.pk)
    march = [d.isoformat() for d in days if d.month == 3 and d != date(2026, 3, 6)]
    assert found["on_site_days"] == march
    assert found["week_days_left"] == 1  # only today this week: Friday's booking is cancelled
    assert found["week_needed"] == 2
    assert found["shortfall"] is True
    assert found["selected"] is True  # a shortfall screens every on-site day


def test_it_counts_screens_already_had_this_week_and_month_for_cause_included(site, tom, program):
    patient, enrollment = enrolled_patient(site, program, tom, "Screened", days=mon_wed_fri(TODAY))

    def screen(day, *, reason=ScreenReason.RANDOM, status=ScreenStatus.COLLECTED):
        DrugScreen.objects.create(
            site=site, patient=patient, enrollment=enrollment, reason=reason,
            cause="At check-in" if reason == ScreenReason.FOR_CAUSE else "",
            status=status, selected_on=day, created_by_label="test",
            specimen="urine" if status == ScreenStatus.COLLECTED else "",
            collected_at=NOW - timedelta(days=(TODAY - day).days)
            if status == ScreenStatus.COLLECTED else None,
        )  # fmt: skip

    screen(date(2026, 3, 2))  # Monday: this week and month
    screen(date(2026, 3, 3), reason=ScreenReason.FOR_CAUSE, status=ScreenStatus.SELECTED)
    screen(date(2026, 3, 1), status=ScreenStatus.NOT_COLLECTED)  # missed: owed still
    screen(date(2026, 2, 27))  # last week, last month: counts for neither

    found = decision(run_selection(site, TODAY, rng=random.Random(3)), patient.pk)
    assert found["screens_this_week"] == 2
    assert found["screens_this_month"] == 2
    assert found["week_needed"] == 0
    assert found["probability"] == 0.0
    assert found["selected"] is False
    assert not DrugScreen.objects.filter(patient=patient, selected_on=TODAY).exists()


def test_a_patient_already_called_for_cause_today_is_not_drawn_again(site, tom, program, dana):
    patient, _ = enrolled_patient(site, program, tom, "Caused", days=[TODAY])
    order_for_cause(patient, day=TODAY, cause="Slurred speech at check-in", by=dana)
    selection = run_selection(site, TODAY, rng=random.Random(4))
    assert selection.record["already_screened_today"] == [patient.pk]
    assert selection.record["decisions"] == []
    assert DrugScreen.objects.filter(patient=patient, selected_on=TODAY).count() == 1


# --- What is stored --------------------------------------------------------------------------


def test_it_stores_the_record_one_screen_per_selected_patient_and_the_audit(site, tom, program):
    patients = [
        enrolled_patient(site, program, tom, f"Pool{n}", days=mon_wed_fri(TODAY))[0]
        for n in range(8)
    ]
    selection = run_selection(site, TODAY, rng=random.Random(5))

    record = selection.record
    assert selection.was_created is True
    assert selection.ran_by is None
    assert selection.ran_by_label.startswith("command line (")
    assert record["generator"] == "Random"
    assert record["pool_size"] == 8
    assert {d["patient_id"] for d in record["decisions"]} == {p.pk for p in patients}
    assert {"probability", "draw", "reason", "phase", "on_site_days"} <= set(record["decisions"][0])
    screens = DrugScreen.objects.filter(selection=selection)
    assert sorted(screens.values_list("patient_id", flat=True)) == sorted(record["selected"])
    assert all(s.reason == "random" and s.status == "selected" for s in screens)
    assert all(s.selected_on == TODAY and s.site_id == site.pk for s in screens)
    assert record["selected"], "with 2 a week over 2 days left, someone is called"

    summary = AuditEvent.objects.get(object_type="screen_selection")
    assert summary.action == Action.CREATE
    assert summary.actor_username.startswith("command line (")
    assert f"{len(record['selected'])} of 8 patients on site selected" in summary.detail
    per_patient = AuditEvent.objects.filter(object_type="drug_screen")
    assert sorted(per_patient.values_list("patient_id", flat=True)) == sorted(record["selected"])


def test_the_button_records_the_user_who_pressed_it(site, tom, dana, program):
    enrolled_patient(site, program, tom, "Pressed", days=[TODAY])
    selection = run_selection(site, TODAY, by=dana, rng=random.Random(6))
    assert selection.ran_by == dana
    assert selection.ran_by_label == "Dana Testperson"
    assert AuditEvent.objects.get(object_type="screen_selection").actor == dana


def test_it_uses_a_cryptographic_generator_by_default(site, tom, program):
    enrolled_patient(site, program, tom, "Secure", days=[TODAY])
    assert run_selection(site, TODAY).record["generator"] == "secrets.SystemRandom"


def test_an_empty_day_is_still_recorded_once(site):
    selection = run_selection(site, TODAY)
    assert selection.record["pool_size"] == 0
    assert selection.record["selected"] == []
    assert run_selection(site, TODAY).pk == selection.pk


# --- Idempotence and refusals ----------------------------------------------------------------


def test_a_second_run_returns_the_first_selection_and_writes_nothing(site, tom, dana, program):
    for n in range(5):
        enrolled_patient(site, program, tom, f"Again{n}", days=[TODAY])
    first = run_selection(site, TODAY, rng=random.Random(7))
    screens = DrugScreen.objects.count()
    events = AuditEvent.objects.count()

    again = run_selection(site, TODAY, by=dana, rng=random.Random(8))

    assert again.pk == first.pk
    assert again.was_created is False
    assert again.ran_by is None  # still the first run's
    assert DrugScreen.objects.count() == screens
    assert AuditEvent.objects.count() == events


def test_it_refuses_a_future_day_from_anyone(site, tom, dana, program):
    enrolled_patient(site, program, tom, "Ahead", days=[TODAY + timedelta(1)])
    for by in (None, dana):
        with pytest.raises(SelectionRefused, match="never ahead"):
            run_selection(site, TODAY + timedelta(1), by=by)
    assert not ScreenSelection.objects.exists()
    assert not DrugScreen.objects.exists()


def test_today_is_the_sites_local_day(site, tom, program):
    # 02:00 UTC on Thursday is still Wednesday evening in Chicago.
    with time_machine.travel(NOW.replace(day=5, hour=2), tick=False):
        with pytest.raises(SelectionRefused):
            run_selection(site, date(2026, 3, 5))
        assert run_selection(site, TODAY).day == TODAY


def test_a_past_day_only_from_the_command_line(site, tom, dana, program):
    yesterday = TODAY - timedelta(1)
    enrolled_patient(site, program, tom, "Missed", days=[yesterday, TODAY])
    with pytest.raises(SelectionRefused, match="command line"):
        run_selection(site, yesterday, by=dana)
    selection = run_selection(site, yesterday, rng=random.Random(9))
    assert selection.day == yesterday
    assert selection.record["pool_size"] == 1


# --- For cause -------------------------------------------------------------------------------


def test_it_orders_a_for_cause_screen_and_audits_it(site, tom, dana, program):
    patient, enrollment = enrolled_patient(site, program, tom, "Cause", days=[])
    screen = order_for_cause(patient, day=TODAY, cause="  Smelled of alcohol  ", by=dana)
    assert (screen.reason, screen.status, screen.cause) == (
        "for_cause",
        "selected",
        "Smelled of alcohol",
    )
    assert screen.enrollment == enrollment and screen.site == site
    assert screen.created_by_label == "Dana Testperson"
    event = AuditEvent.objects.get(object_type="drug_screen")
    assert (event.patient_id, event.actor, event.object_id) == (patient.pk, dana, str(screen.pk))


@pytest.mark.parametrize(
    ("cause", "day", "field"),
    [
        ("", TODAY, "cause"),
        ("   ", TODAY, "cause"),
        ("x" * 301, TODAY, "cause"),
        ("Positive breathalyzer", TODAY + timedelta(1), "day"),
    ],
)
def test_it_refuses_a_for_cause_screen_without_reason_or_ahead(
    site, tom, dana, program, cause, day, field
):
    patient, _ = enrolled_patient(site, program, tom, "Refused", days=[])
    with pytest.raises(ValidationError) as caught:
        order_for_cause(patient, day=day, cause=cause, by=dana)
    assert field in caught.value.message_dict
    assert not DrugScreen.objects.exists()


# --- Cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize("patients", [3, 12])
def test_it_runs_in_a_constant_number_of_queries(site, tom, program, patients):
    for n in range(patients):
        enrolled_patient(site, program, tom, f"Cost{n}", days=mon_wed_fri(TODAY, weeks=2))
    with CaptureQueriesContext(connection) as queries:
        selection = run_selection(site, TODAY, rng=random.Random(10))
    assert selection.record["selected"]
    # savepoint, existing?, enrollments, sessions, bookings, phases, screens, savepoint +
    # insert + release, new screens, audit summary, audit per screen, release: any pool size.
    assert len(queries) == 14, [q["sql"][:80] for q in queries]


def test_a_patient_already_called_today_is_not_called_twice(site, tom, dana, program):
    patient, _ = enrolled_patient(site, program, tom, "Twice", days=[TODAY])
    order_for_cause(patient, day=TODAY, cause="Slurred speech", by=dana)
    with pytest.raises(ValidationError) as caught:
        order_for_cause(patient, day=TODAY, cause="Family report", by=dana)
    assert caught.value.message_dict["patient"] == [
        "Twice Sample is already called for a screen that day (for cause); collect that one."
    ]
    # Once collected, a new reason later the same day is a new specimen.
    DrugScreen.objects.filter(patient=patient).update(
        status=ScreenStatus.COLLECTED, collected_at=NOW, specimen="urine"
    )
    order_for_cause(patient, day=TODAY, cause="Family report", by=dana)
    assert DrugScreen.objects.filter(patient=patient, selected_on=TODAY).count() == 2
