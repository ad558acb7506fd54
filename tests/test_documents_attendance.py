"""The attendance verification letter: weekly dates and hours in the site's time zone, across
a daylight-saving change and week boundaries, and no clinical content."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from openiop.clinical.disclosures import issue_document
from openiop.clinical.documents.attendance import (
    AttendedSession,
    weekly_attendance,
)
from openiop.clinical.models import DisclosureBasis, DocumentKind
from openiop.lib.dates import IsoWeek, at_local
from openiop.scheduling.models import AttendanceStatus, SessionStatus
from tests.factories_clinical import make_plan
from tests.factories_documents import pdf_pages, pdf_text
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program
from tests.factories_scheduling import make_booking, make_session

TZ = "America/Chicago"
# US clocks went back on Sunday Nov 1, 2026, 02:00 CDT → 01:00 CST.


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return at_local(day, time(hour, minute), TZ)


def test_it_buckets_by_local_date_not_utc():
    # Sunday 8 PM in Chicago is Monday 01:00/02:00 UTC: it belongs to Sunday's week.
    sessions = [
        AttendedSession(_at(date(2026, 11, 1), 20), 60),  # Sunday after the change (CST)
        AttendedSession(_at(date(2026, 10, 25), 20), 90),  # Sunday before it (CDT)
        AttendedSession(_at(date(2026, 11, 2), 0, 30), 30),  # Monday 00:30 local
    ]
    weeks = weekly_attendance(
        sessions, time_zone=TZ, start_on=date(2026, 10, 19), end_on=date(2026, 11, 8)
    )
    assert [str(w.week) for w in weeks] == ["2026-W43", "2026-W44", "2026-W45"]
    assert [w.minutes for w in weeks] == [90, 60, 30]
    assert weeks[0].days == (date(2026, 10, 25),)
    assert weeks[1].days == (date(2026, 11, 1),)
    assert weeks[2].days == (date(2026, 11, 2),)
    # In UTC the first two would have landed on Mondays, in the following weeks.
    assert sessions[0].starts_at.astimezone(UTC).date() == date(2026, 11, 2)


def test_it_cuts_the_first_and_last_weeks_to_the_range_and_keeps_empty_weeks():
    sessions = [
        AttendedSession(_at(date(2026, 10, 20), 18), 180),  # Tue, before the range
        AttendedSession(_at(date(2026, 10, 22), 18), 180),  # Thu, in range
        AttendedSession(_at(date(2026, 10, 22), 9), 50),  # same day, individual
        AttendedSession(_at(date(2026, 11, 10), 18), 150),  # after the range
    ]
    weeks = weekly_attendance(
        sessions, time_zone=TZ, start_on=date(2026, 10, 21), end_on=date(2026, 11, 3)
    )
    assert [(w.first_day, w.last_day) for w in weeks] == [
        (date(2026, 10, 21), date(2026, 10, 25)),
        (date(2026, 10, 26), date(2026, 11, 1)),
        (date(2026, 11, 2), date(2026, 11, 3)),
    ]
    assert [(w.sessions, w.minutes) for w in weeks] == [(2, 230), (0, 0), (0, 0)]
    assert weeks[0].days == (date(2026, 10, 22),)
    assert weeks[0].hours == "3.83"


def test_it_spans_a_year_boundary_in_iso_weeks():
    weeks = weekly_attendance(
        [], time_zone=TZ, start_on=date(2026, 12, 28), end_on=date(2027, 1, 5)
    )
    assert [w.week for w in weeks] == [IsoWeek(2026, 53), IsoWeek(2027, 1)]


@pytest.fixture
def letter_case(site, tom):
    patient = make_patient(site, first_name="Jordan", last_name="Samplewright")
    program = make_program(site, name="Adult Evening IOP")
    enrollment = make_enrollment(patient, program, admitted_on=date(2026, 10, 1))
    plan = make_plan(patient, enrollment, tom, goals=("Abstain from opioids",))

    def attend(day, hour, status=AttendanceStatus.PRESENT, minutes=None, length=180, **kw):
        session = make_session(site, tom, _at(day, hour), length, **kw)
        return make_booking(
            session, patient, status=status, minutes_attended=minutes, enrollment=enrollment
        )

    # Week 44 (Oct 26 – Nov 1), clocks change on Sunday Nov 1.
    attend(date(2026, 10, 26), 18, minutes=180)
    attend(date(2026, 10, 28), 18, AttendanceStatus.LATE, minutes=150)
    attend(date(2026, 11, 1), 19, minutes=None, length=60)  # no minutes recorded: session length
    attend(date(2026, 10, 30), 18, AttendanceStatus.NO_SHOW)
    attend(date(2026, 10, 29), 18, AttendanceStatus.EXCUSED)
    cancelled = make_session(
        site, tom, _at(date(2026, 10, 27), 18), 180, status=SessionStatus.CANCELLED
    )
    make_booking(cancelled, patient, status=AttendanceStatus.PRESENT, minutes_attended=180)
    # Week 45 (Nov 2 – Nov 8).
    attend(date(2026, 11, 2), 18, AttendanceStatus.LEFT_EARLY, minutes=95)
    attend(date(2026, 11, 4), 18, minutes=180)
    # Another patient in the same group: never in this letter.
    other = make_patient(site, first_name="Quinn", last_name="Otherpatient")
    return patient, plan, other


@time_machine.travel(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), tick=False)
def test_the_letter_states_weekly_dates_and_hours(site, tom, letter_case):
    patient, _, _ = letter_case
    issued = issue_document(
        patient=patient, kind=DocumentKind.ATTENDANCE_LETTER, recipient="County Drug Court",
        purpose="Verify program attendance for the court", basis=DisclosureBasis.PATIENT_CONSENT,
        by=tom, start_on=date(2026, 10, 26), end_on=date(2026, 11, 8),
    )  # fmt: skip
    text = pdf_text(issued.pdf)
    # Week 44: 180 + 150 + 60 minutes = 6.5 h over three days; week 45: 95 + 180 = 4.58 h.
    assert "Oct 26, 2026 – Nov 1, 2026 Mon Oct 26, Wed Oct 28, Sun Nov 1 3 6.5" in text
    assert "Nov 2, 2026 – Nov 8, 2026 Mon Nov 2, Wed Nov 4 2 4.58" in text
    assert "Total 5 days 5 11.08" in text
    assert "Hours attended 11.08" in text
    assert "Adult Evening IOP" in text
    assert "Intensive Outpatient" in text or "ASAM level 2.1" in text
    assert "County Drug Court" in text
    assert "Verify program attendance for the court" in text
    assert "Jordan Samplewright" in text
    assert issued.filename.startswith(f"attendance-letter-{patient.mrn}-")


@time_machine.travel(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), tick=False)
def test_the_letter_holds_no_clinical_content(site, tom, letter_case):
    patient, _, other = letter_case
    issued = issue_document(
        patient=patient, kind=DocumentKind.ATTENDANCE_LETTER, recipient="Acme Widgets HR",
        purpose="Medical leave", basis=DisclosureBasis.PATIENT_CONSENT,
        by=tom, start_on=date(2026, 10, 1), end_on=date(2026, 11, 20),
    )  # fmt: skip
    text = pdf_text(issued.pdf)
    for clinical in [
        "Relapse prevention group",  # the session's title names its clinical topic
        "Abstain from opioids",
        "Synthetic plan",
        "No-show",
        "Excused",
        "diagnos",  # only in the sentence saying there is none
        other.last_name,
        other.mrn,
    ]:
        if clinical == "diagnos":
            assert text.count("diagnos") == 1
            continue
        assert clinical not in text, clinical
    assert len(pdf_pages(issued.pdf)) >= 1
