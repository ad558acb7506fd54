"""Medication history for the demo clinic: buprenorphine/naloxone for several patients,
Sublocade and Vivitrol injections given in clinic (one overdue, one due this week, one first
dose still to give), methadone from a named (fictional) Opioid Treatment Program, psychiatric
medicines and naloxone rescue kits.

Written straight into the tables the way an import would, in bulk; injection dates follow the
pure schedule (``schedule.RULES``) and rotate sites with ``schedule.suggest_site``. Every
name here is fictional.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal

from openiop.accounts.demo import DOWNTOWN
from openiop.accounts.models import User
from openiop.lib.dates import at_local
from openiop.medications import schedule
from openiop.medications.catalog import Dispensing, get_medication
from openiop.medications.models import Administration, MedicationOrder
from openiop.programs.models import Enrollment, EnrollmentStatus

OTP_NAME = "Lakeside Opioid Treatment Program (fictional), Dr. Robin Exampleton"
OUTSIDE_PRESCRIBER = "Dr. Casey Outsideview, Example Primary Care (fictional)"
NALOXONE_FREQUENCY = "as needed for a suspected opioid overdose"
# (code, dose, unit, frequency) of the psychiatric medicines some patients take.
PSYCHIATRIC = [
    ("sertraline", "50", "mg", "once daily"),
    ("sertraline", "100", "mg", "once daily"),
    ("escitalopram", "10", "mg", "once daily"),
    ("trazodone", "50", "mg", "at bedtime as needed for sleep"),
    ("hydroxyzine", "25", "mg", "every 6 hours as needed for anxiety"),
    ("gabapentin", "300", "mg", "three times daily"),
    ("prazosin", "2", "mg", "at bedtime"),
    ("sertraline", "50", "mg", "once daily"),
    ("escitalopram", "20", "mg", "once daily"),
]


@dataclass
class Course:
    """One patient's story as the demo tells it: their episode, latest stay, and orders."""

    patient_id: int
    site_id: int
    site_name: str
    time_zone: str
    first_admitted: date
    latest: Enrollment
    orders: list[MedicationOrder] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.latest.status == EnrollmentStatus.ACTIVE

    @property
    def therapist(self) -> str:
        therapist = self.latest.primary_therapist
        return therapist.username if therapist is not None else ""


@dataclass
class MedicationHistory:
    courses: dict[int, Course]
    orders: list[MedicationOrder]
    administrations: list[Administration]
    bup_patients: list[int]  # ongoing sublingual buprenorphine/naloxone
    mat_patients: set[int]  # every patient with a medication for opioid use disorder


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def courses_by_patient(today_of: dict[int, date]) -> dict[int, Course]:
    """Each patient's episode start and latest enrollment (one query)."""
    courses: dict[int, Course] = {}
    rows = Enrollment.objects.select_related(
        "program__site", "primary_therapist", "prescriber"
    ).order_by("patient_id", "admitted_on", "pk")
    for enrollment in rows:
        site = enrollment.program.site
        course = courses.get(enrollment.patient_id)
        if course is None:
            courses[enrollment.patient_id] = Course(
                enrollment.patient_id,
                site.pk,
                site.name,
                site.time_zone,
                enrollment.admitted_on,
                enrollment,
            )
        else:
            course.latest = enrollment
    return courses


def build_demo_medications(
    *, rng: random.Random, today_of: dict[int, date], staff: dict[str, User]
) -> MedicationHistory:
    """Write the demo's medication orders and in-clinic administrations."""
    courses = courses_by_patient(today_of)
    prescriber, nurse = staff["priya"], staff.get("nick") or staff["priya"]
    ordered: list[MedicationOrder] = []
    given: list[tuple[MedicationOrder, date, Decimal, str]] = []

    def order(course: Course, code: str, dose: str, frequency: str, start: date, **extra):
        medication = get_medication(code)
        row = MedicationOrder(
            site_id=course.site_id,
            patient_id=course.patient_id,
            medication=code,
            dose=Decimal(dose),
            dose_unit=extra.pop("dose_unit", "mg"),
            route=medication.route.value,
            frequency=frequency,
            started_on=start,
            dispensing=extra.pop("dispensing", medication.default_dispensing.value),
            created_by=extra.pop("created_by", prescriber),
            **extra,
        )
        if row.dispensing != Dispensing.EXTERNAL_OTP and "external_prescriber" not in extra:
            row.prescriber = prescriber
        ordered.append(row)
        course.orders.append(row)
        return row

    def today(course: Course) -> date:
        return today_of[course.site_id]

    downtown = sorted(
        (c for c in courses.values() if c.active and c.site_name == DOWNTOWN),
        key=lambda c: (c.first_admitted, c.patient_id),
    )
    long_stay = [c for c in downtown if c.first_admitted <= today(c) - timedelta(days=40)]
    chosen: set[int] = set()

    def take(pool: list[Course], count: int) -> list[Course]:
        free = [c for c in pool if c.patient_id not in chosen]
        picked = rng.sample(free, k=min(count, len(free)))
        chosen.update(c.patient_id for c in picked)
        return picked

    mat: set[int] = set()
    # Sublocade: seven days or more of sublingual buprenorphine, then monthly injections. The
    # last one was 31 days ago for the first patient (overdue), 26–28 days ago for the second
    # (due this week) and 9 days ago for the third.
    for course, days_ago in zip(take(long_stay, 3), (31, 27, 9), strict=False):
        last = _weekday_on_or_before(today(course) - timedelta(days=days_ago))
        dates = [last]
        while dates[-1] - timedelta(days=28) >= course.first_admitted + timedelta(days=8):
            dates.append(dates[-1] - timedelta(days=28))
        dates.reverse()
        sl_start = course.first_admitted
        order(
            course,
            "bup_nx_sl",
            "16",
            "once daily (8 mg/2 mg film, two films)",
            sl_start,
            ended_on=dates[0] - timedelta(days=1),
            notes="Bridged to Sublocade.",
        )
        sublocade = order(
            course,
            "sublocade",
            "100",
            "monthly (every 28 days, at least 26 days apart)",
            dates[0],
            notes="300 mg for the first two injections, then 100 mg.",
        )
        sites: list[str] = []
        for index, day in enumerate(dates):
            site = schedule.suggest_site("sublocade", sites).site
            sites.append(site)
            given.append((sublocade, day, Decimal("300" if index < 2 else "100"), site))
        mat.add(course.patient_id)
    # Vivitrol every 28 days for one patient (the last 5–20 days ago).
    for course in take(long_stay, 1):
        last = _weekday_on_or_before(today(course) - timedelta(days=rng.randint(5, 20)))
        dates = [last]
        while dates[-1] - timedelta(days=28) >= course.first_admitted + timedelta(days=10):
            dates.append(dates[-1] - timedelta(days=28))
        dates.reverse()
        vivitrol = order(course, "vivitrol", "380", "every 28 days", dates[0])
        sites = []
        for day in dates:
            site = schedule.suggest_site("vivitrol", sites).site
            sites.append(site)
            given.append((vivitrol, day, Decimal("380"), site))
        mat.add(course.patient_id)
    # Sublingual buprenorphine/naloxone: two of Theo's patients and three others.
    settled = [c for c in downtown if c.first_admitted <= today(c) - timedelta(days=10)]
    bup = take([c for c in settled if c.therapist == "theo"], 2)
    bup += take(settled, 5 - len(bup))
    for course in bup:
        dose = rng.choice(["8", "12", "16"])
        order(course, "bup_nx_sl", dose, "once daily", course.first_admitted)
        mat.add(course.patient_id)
    # Two who left on buprenorphine, their prescription handed to primary care.
    left = sorted(
        (
            c
            for c in courses.values()
            if not c.active and c.site_name == DOWNTOWN and c.latest.discharged_on is not None
        ),
        key=lambda c: c.patient_id,
    )
    for course in take(left, 2):
        order(
            course,
            "bup_nx_sl",
            "12",
            "once daily",
            course.first_admitted,
            ended_on=course.latest.discharged_on,
            notes="Prescription handed over to primary care at discharge.",
        )
        mat.add(course.patient_id)
    # Methadone from an Opioid Treatment Program, for one Northside patient.
    northside = sorted(
        (c for c in courses.values() if c.active and c.site_name != DOWNTOWN),
        key=lambda c: (c.first_admitted, c.patient_id),
    )
    recorder = {c.site_id: c.latest.primary_therapist for c in northside}
    for course in take(northside, 1):
        order(
            course,
            "methadone_otp",
            "85",
            "daily, dispensed by the OTP",
            course.first_admitted - timedelta(days=rng.randint(60, 400)),
            dispensing=Dispensing.EXTERNAL_OTP.value,
            external_prescriber=OTP_NAME,
            created_by=recorder[course.site_id] or prescriber,
        )
        mat.add(course.patient_id)
    # A naloxone rescue kit for everyone on a medication for opioid use disorder.
    for patient_id in sorted(mat):
        course = courses[patient_id]
        start = min(o.started_on for o in course.orders)
        if course.site_name == DOWNTOWN:
            order(
                course,
                "naloxone_kit",
                "4",
                NALOXONE_FREQUENCY,
                start,
                dose_unit="mg",
                dispensing=Dispensing.CLINIC.value,
            )
        else:
            order(
                course,
                "naloxone_kit",
                "4",
                NALOXONE_FREQUENCY,
                start,
                dispensing=Dispensing.PHARMACY.value,
                external_prescriber=OTP_NAME,
                created_by=recorder[course.site_id] or prescriber,
            )
    # Psychiatric medicines: some prescribed here, some brought from an outside prescriber.
    others = sorted(
        (c for c in courses.values() if c.patient_id not in mat),
        key=lambda c: c.patient_id,
    )
    stimulant_and_benzo = [c for c in others if c.active and c.site_name == DOWNTOWN]
    for course, (code, dose, frequency) in zip(
        take(stimulant_and_benzo, 2),
        [
            ("amphetamine_salts", "20", "every morning"),
            ("clonazepam", "0.5", "twice daily as needed for anxiety"),
        ],
        strict=False,
    ):
        order(course, code, dose, frequency, course.first_admitted + timedelta(days=3))
    for index, course in enumerate(take(others, len(PSYCHIATRIC) + 3)):
        code, dose, _unit, frequency = PSYCHIATRIC[index % len(PSYCHIATRIC)]
        if course.site_name == DOWNTOWN and index % 2 == 0:
            order(course, code, dose, frequency, course.first_admitted + timedelta(days=5))
        else:
            order(
                course,
                code,
                dose,
                frequency,
                course.first_admitted - timedelta(days=rng.randint(30, 700)),
                external_prescriber=OUTSIDE_PRESCRIBER,
                dispensing=Dispensing.PHARMACY.value,
                created_by=recorder.get(course.site_id) or prescriber,
            )
    MedicationOrder.objects.bulk_create(ordered)
    administrations = [
        Administration(
            order=row,
            patient_id=row.patient_id,
            given_at=at_local(day, time(10, rng.choice([0, 15, 30, 45])), _zone_of(courses, row)),
            dose=dose,
            injection_site=site,
            lot=f"DEMO-{row.medication[:3].upper()}-{rng.randint(10000, 99999)}",
            given_by=nurse,
        )
        for row, day, dose, site in given
    ]
    Administration.objects.bulk_create(administrations)
    return MedicationHistory(
        courses=courses,
        orders=ordered,
        administrations=administrations,
        bup_patients=[c.patient_id for c in bup],
        mat_patients=mat,
    )


def _zone_of(courses: dict[int, Course], row: MedicationOrder) -> str:
    return courses[row.patient_id].time_zone


def order_first_vivitrol(course: Course, *, today: date, staff: dict[str, User]) -> MedicationOrder:
    """A Vivitrol order starting today whose first dose is still to give (the week's list
    shows it; the dose form warns that the opioid-free interval is too short)."""
    row = MedicationOrder.objects.create(
        site_id=course.site_id,
        patient_id=course.patient_id,
        medication="vivitrol",
        dose=Decimal("380"),
        route="intramuscular",
        frequency="every 28 days",
        started_on=today,
        prescriber=staff["priya"],
        dispensing=Dispensing.CLINIC.value,
        created_by=staff["priya"],
        notes="First dose once seven opioid-free days are documented.",
    )
    course.orders.append(row)
    return row
