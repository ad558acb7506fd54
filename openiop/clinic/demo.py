"""The demo clinic behind ``openiop demo``: programs, tracks, the group schedule and about 60
patients with ten weeks of history, so that every screen has something true to show.

Every person here is fictional (obviously fake names, 555-01xx phone numbers, example.org).
History is written the way a data import would write it — straight into the tables, in bulk,
from one seeded random generator — because services refuse, rightly, to record attendance for
sessions that happened before the software existed. What happens from today on (sessions still
ahead, this week's bookings) follows the same rules the services enforce.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from openiop.accounts.demo import DOWNTOWN, NORTHSIDE
from openiop.accounts.models import Site, User
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.demo import build_demo_documentation
from openiop.lib.dates import IsoWeek, at_local
from openiop.measures.demo import build_demo_measures
from openiop.patients.models import MrnSequence, Patient
from openiop.patients.services import format_mrn
from openiop.programs.models import (
    Cadence,
    DischargeReason,
    Enrollment,
    EnrollmentStatus,
    Episode,
    LevelOfCare,
    Program,
    TransferKind,
)
from openiop.programs.models import Track as TrackModel
from openiop.scheduling.models import (
    AttendanceStatus,
    Booking,
    BookingKind,
    CurriculumModule,
    GroupSeries,
    GroupType,
    IndividualSeries,
    Room,
    Session,
    SessionKind,
    SessionStatus,
)
from openiop.screening.demo import build_demo_screening

HISTORY_WEEKS = 10
AHEAD_WEEKS = 8

FIRST_NAMES = [
    "Alex",
    "Bailey",
    "Cameron",
    "Dakota",
    "Elliot",
    "Frankie",
    "Glenn",
    "Harley",
    "Iris",
    "Jordan",
    "Kai",
    "Logan",
    "Marley",
    "Noel",
    "Oakley",
    "Parker",
    "Quinn",
    "Reese",
    "Sage",
    "Taylor",
    "Val",
    "Wren",
    "Yael",
    "Zion",
]
LAST_NAMES = [
    "Fakename",
    "Testperson",
    "Sampleton",
    "Notreal",
    "Demoson",
    "Exampleton",
    "Mockley",
    "Dummyford",
    "Placeholder",
    "Pretendski",
    "Fictionelli",
    "Madeupson",
]
PRONOUNS = ["she/her", "he/him", "they/them", "she/her", "he/him"]


@dataclass(frozen=True)
class SeriesSpec:
    track: str
    weekday: int
    start: time
    minutes: int
    group_type: str
    title: str
    facilitator: str
    room: str


@dataclass(frozen=True)
class TrackSpec:
    key: str
    program: str
    name: str
    description: str


@dataclass(frozen=True)
class ProgramSpec:
    key: str
    site: str
    level_code: str
    name: str
    hours: tuple[str, str]
    weeks: int


PROGRAMS = [
    ProgramSpec("iop", DOWNTOWN, "2.1", "Adult IOP", ("9", "12"), 12),
    ProgramSpec("php", DOWNTOWN, "2.5", "Adult PHP", ("20", "30"), 4),
    ProgramSpec("op", DOWNTOWN, "1", "Continuing care (outpatient)", ("1.5", "3"), 12),
    ProgramSpec("iop-n", NORTHSIDE, "2.1", "Adult IOP — Northside", ("9", "12"), 12),
]
TRACKS = [
    TrackSpec("morning", "iop", "Morning", "Mon/Wed/Fri 09:00–12:00"),
    TrackSpec("evening", "iop", "Evening", "Tue/Wed/Thu 18:00–21:00"),
    TrackSpec("php-day", "php", "Day", "Mon–Fri 09:00–14:00"),
    TrackSpec("op-thu", "op", "Thursday", "Thu 17:00–18:30"),
    TrackSpec("north-eve", "iop-n", "Evening", "Mon/Tue/Thu 18:00–21:00"),
]
ROOMS = {
    DOWNTOWN: ["Group Room A", "Group Room B", "Group Room C", "Office 1", "Office 2", "Office 3"],
    NORTHSIDE: ["Community Room", "Office N1"],
}
# (weekday, start, type, title) pairs per track; two 90-minute groups make a 3-hour IOP day.
_MORNING = [
    (0, "cbt", "Morning CBT"),
    (0, "relapse_prevention", "Relapse prevention"),
    (2, "process", "Process group"),
    (2, "life_skills", "Life skills: stress and conflict"),
    (4, "dbt", "DBT skills"),
    (4, "psychoeducation", "Psychoeducation"),
]
_EVENING = [
    (1, "dbt", "Evening DBT"),
    (1, "process", "Evening process group"),
    (2, "cbt", "Evening CBT"),
    (2, "relapse_prevention", "Managing cravings"),
    (3, "skills", "Building a sober support system"),
    (3, "family", "Family group"),
]
_NORTH = [
    (0, "cbt", "Northside CBT"),
    (0, "process", "Northside process group"),
    (1, "relapse_prevention", "Northside relapse prevention"),
    (1, "skills", "Northside skills"),
    (3, "dbt", "Northside DBT"),
    (3, "family", "Northside family group"),
]


def _pairs(
    rows: list[tuple[int, str, str]], track: str, first: time, second: time, who: str, room: str
) -> list[SeriesSpec]:
    specs = []
    for index, (weekday, kind, title) in enumerate(rows):
        start = first if index % 2 == 0 else second
        specs.append(SeriesSpec(track, weekday, start, 90, kind, title, who, room))
    return specs


SERIES = [
    *_pairs(_MORNING, "morning", time(9), time(10, 30), "theo", "Group Room A"),
    *_pairs(_EVENING, "evening", time(18), time(19, 30), "morgan", "Group Room B"),
    *[
        SeriesSpec("php-day", day, start, 90, kind, title, "riley", "Group Room C")
        for day in range(5)
        for start, kind, title in (
            (time(9), "skills", "PHP skills"),
            (time(10, 30), "psychoeducation", "PHP psychoeducation"),
            (time(12, 30), "process", "PHP process group"),
        )
    ],
    SeriesSpec(
        "op-thu",
        3,
        time(17),
        90,
        "relapse_prevention",
        "Continuing care group",
        "theo",
        "Group Room A",
    ),
    *_pairs(_NORTH, "north-eve", time(18), time(19, 30), "tara", "Community Room"),
]
# Individual therapy: each therapist's weekly slots (weekday, start) outside their groups.
INDIVIDUAL_SLOTS = {
    "theo": [(d, time(h)) for d in (1, 3) for h in (9, 10, 11, 13, 14, 15, 16)],
    "morgan": [(d, time(h)) for d in (0, 1, 4) for h in (13, 14, 15, 16)],
    "riley": [(d, time(h)) for d in range(5) for h in (14, 15)],
    "tara": [(d, time(h)) for d in (2, 4) for h in (13, 14, 15, 16)],
}
INDIVIDUAL_ROOM = {
    "theo": "Office 1",
    "morgan": "Office 2",
    "riley": "Office 3",
    "tara": "Office N1",
}
TRACK_THERAPIST = {
    "morning": "theo",
    "evening": "morgan",
    "php-day": "riley",
    "op-thu": "theo",
    "north-eve": "tara",
}


@dataclass
class Stay:
    track: str
    admitted: date
    ended: date | None = None
    end_reason: str = ""
    transfer_kind: str = ""
    transfer_reason: str = ""


@dataclass
class Story:
    """One patient's treatment story: consecutive stays in one episode."""

    site: str
    stays: list[Stay]
    reliability: float  # share of groups attended
    cadence: str = Cadence.WEEKLY
    slipping_this_week: bool = False
    patient: Patient | None = None
    enrollments: list[Enrollment] = field(default_factory=list)


@dataclass(frozen=True)
class ClinicOutcome:
    created: bool
    patients: int
    sessions: int
    bookings: int


ProgressFn = Callable[[str, int, int], None]


def _quiet(label: str, done: int, total: int) -> None:
    return None


def demo_clinic_exists() -> bool:
    return Program.objects.filter(site__name=DOWNTOWN, name="Adult IOP").exists()


@transaction.atomic
def build_demo_clinic(*, rng: random.Random, progress: ProgressFn = _quiet) -> ClinicOutcome:
    """Load the demo clinic once; a second call finds it and changes nothing."""
    if demo_clinic_exists():
        return ClinicOutcome(
            False, Patient.objects.count(), Session.objects.count(), Booking.objects.count()
        )
    sites = {site.name: site for site in Site.objects.filter(name__in=[DOWNTOWN, NORTHSIDE])}
    staff = {
        user.username: user
        for user in User.objects.filter(
            username__in=["theo", "morgan", "riley", "tara", "priya", "dana"]
        )
    }
    steps = 8
    progress("programs and schedule", 0, steps)
    rooms = {
        (site_name, name): Room.objects.create(site=sites[site_name], name=name)
        for site_name, names in ROOMS.items()
        for name in names
    }
    levels = {lvl.code: lvl for lvl in LevelOfCare.objects.filter(edition=3)}
    programs = {
        spec.key: Program.objects.create(
            site=sites[spec.site],
            level_of_care=levels[spec.level_code],
            name=spec.name,
            weekly_hours_min=Decimal(spec.hours[0]),
            weekly_hours_max=Decimal(spec.hours[1]),
            typical_length_weeks=spec.weeks,
        )
        for spec in PROGRAMS
    }
    tracks = {
        spec.key: TrackModel.objects.create(
            program=programs[spec.program], name=spec.name, description=spec.description
        )
        for spec in TRACKS
    }
    site_of_track = {key: track.program.site for key, track in tracks.items()}
    group_types = {gt.code: gt for gt in GroupType.objects.all()}

    today = timezone.localdate(timezone=_tz(sites[DOWNTOWN]))
    first_monday = IsoWeek.of(today).monday - timedelta(weeks=HISTORY_WEEKS)
    last_day = IsoWeek.of(today).sunday + timedelta(weeks=AHEAD_WEEKS)
    now = timezone.now()

    sessions_by_track: dict[str, list[Session]] = {key: [] for key in tracks}
    group_sessions: list[Session] = []
    for spec in SERIES:
        site = site_of_track[spec.track]
        series = GroupSeries.objects.create(
            site=site,
            track=tracks[spec.track],
            group_type=group_types[spec.group_type],
            title=spec.title,
            weekday=spec.weekday,
            start_time=spec.start,
            duration_minutes=spec.minutes,
            facilitator=staff[spec.facilitator],
            room=rooms[(site.name, spec.room)],
            starts_on=first_monday,
        )
        day = first_monday + timedelta(days=spec.weekday)
        while day <= last_day:
            starts_at = at_local(day, spec.start, site.time_zone)
            session = Session(
                site=site,
                kind=SessionKind.GROUP,
                group_series=series,
                group_type=series.group_type,
                title=spec.title,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=spec.minutes),
                duration_minutes=spec.minutes,
                facilitator=series.facilitator,
                room=series.room,
                capacity=series.capacity,
            )
            group_sessions.append(session)
            sessions_by_track[spec.track].append(session)
            day += timedelta(weeks=1)
    # A staff training day three weeks ago closed the morning track's Monday groups.
    closed_day = first_monday + timedelta(weeks=HISTORY_WEEKS - 3)
    for session in sessions_by_track["morning"]:
        if session.starts_at.astimezone(_tz(sites[DOWNTOWN])).date() == closed_day:
            session.status = SessionStatus.CANCELLED
            session.cancel_reason = "Clinic closed for staff training"
            session.cancelled_at = session.starts_at - timedelta(days=10)
    _tag_curriculum(group_sessions)
    Session.objects.bulk_create(group_sessions)
    progress("programs and schedule", 1, steps)

    stories = _stories(rng, today, first_monday)
    _create_patients(stories, sites, rng)
    progress("patients", 2, steps)
    _create_enrollments(stories, programs, tracks, staff, rng)
    progress("episodes and enrollments", 3, steps)

    bookings: list[Booking] = []
    individual: list[Session] = []
    slots = SlotAllocator()
    seats: Counter[int] = Counter()
    for story in stories:
        for stay, enrollment in zip(story.stays, story.enrollments, strict=True):
            for session in sessions_by_track[stay.track]:
                local_day = session.starts_at.astimezone(_tz(session.site)).date()
                if local_day < stay.admitted or (stay.ended and local_day > stay.ended):
                    continue
                # On a transfer day the new track's sessions replace the old one's.
                if stay.transfer_kind and local_day == stay.ended:
                    continue
                # Capacity holds in the demo as it does in the booking service.
                if seats[id(session)] >= session.capacity:
                    continue
                seats[id(session)] += 1
                bookings.append(
                    _booking(session, story, enrollment, BookingKind.TRACK, now, rng, today)
                )
        individual.extend(
            _individual_sessions(story, rooms, staff, slots, now, today, last_day, bookings, rng)
        )
    progress("group attendance", 4, steps)
    Session.objects.bulk_create(individual)
    for booking in bookings:
        booking.session_id = booking.session.pk
    Booking.objects.bulk_create(bookings)
    progress("individual therapy", 5, steps)
    documentation = build_demo_documentation(rng=rng, now=now)
    progress("treatment plans and notes", 6, steps)
    build_demo_screening(rng=rng, now=now)
    build_demo_measures(rng=rng, now=now)
    progress("drug screens and medications", 7, steps)
    MrnSequence.objects.update_or_create(pk=1, defaults={"last_value": Patient.objects.count()})
    record_event(
        action=Action.CREATE,
        object_type="demo_clinic",
        detail=f"{len(stories)} fictional patients, {len(group_sessions) + len(individual)}"
        f" sessions, {len(bookings)} bookings, {documentation.plans} treatment plans,"
        f" {documentation.notes} notes",
    )
    progress("done", steps, steps)
    return ClinicOutcome(True, len(stories), len(group_sessions) + len(individual), len(bookings))


# Which life-skills module each demo group teaches; the stress/conflict group alternates.
CURRICULUM_BY_TITLE = {
    "Relapse prevention": ["relapse_prevention"],
    "Northside relapse prevention": ["relapse_prevention"],
    "Continuing care group": ["relapse_prevention", "managing_cravings"],
    "Managing cravings": ["managing_cravings"],
    "Life skills: stress and conflict": ["stress_management", "conflict_resolution"],
    "Building a sober support system": ["sober_support_system"],
}


def _tag_curriculum(sessions: list[Session]) -> None:
    modules = {m.code: m for m in CurriculumModule.objects.filter(is_active=True)}
    for session in sessions:
        codes = CURRICULUM_BY_TITLE.get(session.title)
        if not codes:
            continue
        week = session.starts_at.isocalendar()[1]
        session.curriculum_module = modules.get(codes[week % len(codes)])


def _tz(site: Site) -> ZoneInfo:
    return ZoneInfo(site.time_zone)


def _stories(rng: random.Random, today: date, first_monday: date) -> list[Story]:
    """About 60 patients: current ones at every stage, and those who left in every way."""

    def weeks_ago(low: int, high: int) -> date:
        return today - timedelta(days=rng.randint(low * 7, high * 7))

    stories: list[Story] = []

    def add(site: str, stays: list[Stay], **extra: object) -> None:
        reliability = rng.choice([0.99, 0.98, 0.96, 0.93, 0.85])
        stories.append(Story(site=site, stays=stays, reliability=reliability, **extra))

    # Current patients per track, leaving room below the cap of 12 for transfers and new
    # admissions tried out in the demo.
    for track, count in (("morning", 9), ("evening", 7), ("php-day", 6), ("op-thu", 6)):
        for _ in range(count):
            add(DOWNTOWN, [Stay(track, max(first_monday, weeks_ago(0, 9)))])
    for _ in range(11):
        add(NORTHSIDE, [Stay("north-eve", max(first_monday, weeks_ago(0, 9)))])
    # Step-ups: IOP, then PHP after repeated positive screens and missed hours.
    for _ in range(2):
        admitted = weeks_ago(7, 9)
        moved = admitted + timedelta(weeks=rng.randint(3, 4))
        add(
            DOWNTOWN,
            [
                Stay(
                    "morning",
                    admitted,
                    moved,
                    DischargeReason.STEPPED_UP,
                    TransferKind.STEP_UP,
                    "Missed the weekly hours floor three weeks running; needs more structure.",
                ),
                Stay("php-day", moved),
            ],
        )
    # Step-downs: PHP, then IOP; and IOP, then continuing care.
    for _ in range(3):
        admitted = weeks_ago(6, 9)
        moved = admitted + timedelta(weeks=rng.randint(3, 4))
        add(
            DOWNTOWN,
            [
                Stay(
                    "php-day",
                    admitted,
                    moved,
                    DischargeReason.STEPPED_DOWN,
                    TransferKind.STEP_DOWN,
                    "Stable for three weeks; ready for fewer hours.",
                ),
                Stay(rng.choice(["morning", "evening"]), moved),
            ],
        )
    for _ in range(2):
        admitted = first_monday
        moved = admitted + timedelta(weeks=8)
        add(
            DOWNTOWN,
            [
                Stay(
                    "evening",
                    admitted,
                    moved,
                    DischargeReason.STEPPED_DOWN,
                    TransferKind.STEP_DOWN,
                    "Treatment-plan goals met; negative screens.",
                ),
                Stay("op-thu", moved),
            ],
        )
    # A change of track for a new day-shift job.
    admitted = weeks_ago(5, 7)
    moved = admitted + timedelta(weeks=2)
    add(
        DOWNTOWN,
        [
            Stay(
                "morning",
                admitted,
                moved,
                DischargeReason.TRANSFERRED,
                TransferKind.CHANGE_TRACK,
                "Started a day-shift job; moving to the evening track.",
            ),
            Stay("evening", moved),
        ],
    )
    # Those who left, in every way a stay ends.
    for reason, count, weeks in (
        (DischargeReason.COMPLETED, 6, (9, 10)),
        (DischargeReason.LEFT_AGAINST_ADVICE, 2, (3, 6)),
        (DischargeReason.ADMINISTRATIVE, 1, (4, 6)),
        (DischargeReason.TRANSFERRED, 1, (3, 5)),
    ):
        for _ in range(count):
            admitted = max(first_monday, weeks_ago(*weeks))
            ended = min(today - timedelta(days=3), admitted + timedelta(weeks=rng.randint(2, 9)))
            add(DOWNTOWN, [Stay(rng.choice(["morning", "evening"]), admitted, ended, reason)])
    # Some current IOP patients are slipping this week: they will show as at risk.
    current_iop = [
        s
        for s in stories
        if s.stays[-1].ended is None and s.stays[-1].track in ("morning", "evening", "north-eve")
    ]
    for story in rng.sample(current_iop, 5):
        story.slipping_this_week = True
    for story in rng.sample(stories, 8):
        story.cadence = Cadence.BIWEEKLY
    return stories


def _create_patients(stories: list[Story], sites: dict[str, Site], rng: random.Random) -> None:
    patients = []
    for number, story in enumerate(stories, start=1):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        preferred = rng.choice(["", "", "", first[:3]])
        current = story.stays[-1].ended is None
        patient = Patient(
            site=sites[story.site],
            mrn=format_mrn(number),
            first_name=first,
            last_name=last,
            preferred_name=preferred,
            date_of_birth=date(1962, 1, 1) + timedelta(days=rng.randint(0, 15000)),
            pronouns=rng.choice(PRONOUNS),
            phone=f"312-555-01{number % 100:02d}",
            email=f"{first.lower()}.{last.lower()}{number}@example.org",
            address_line1=f"{rng.randint(10, 999)} Example Street",
            city="Demo City",
            state="IL",
            postal_code="60000",
            emergency_contact_name=f"{rng.choice(FIRST_NAMES)} {last}",
            emergency_contact_phone=f"312-555-02{number % 100:02d}",
            emergency_contact_relationship=rng.choice(["Partner", "Parent", "Sibling", "Friend"]),
            primary_language=rng.choice(["English"] * 6 + ["Spanish"]),
            is_active=current,
        )
        patient.refresh_search_keys()
        patients.append(patient)
        story.patient = patient
    Patient.objects.bulk_create(patients)


def _create_enrollments(
    stories: list[Story],
    programs: dict[str, Program],
    tracks: dict[str, TrackModel],
    staff: dict[str, User],
    rng: random.Random,
) -> None:
    track_program = {spec.key: programs[spec.program] for spec in TRACKS}
    for story in stories:
        first, last = story.stays[0], story.stays[-1]
        episode = Episode.objects.create(
            patient=story.patient, opened_on=first.admitted, closed_on=last.ended
        )
        previous: Enrollment | None = None
        for index, stay in enumerate(story.stays):
            program = track_program[stay.track]
            if stay.ended is None:
                status = EnrollmentStatus.ACTIVE
            elif stay.transfer_kind:
                status = EnrollmentStatus.TRANSFERRED
            else:
                status = EnrollmentStatus.DISCHARGED
            # The transfer that opened this stay is described on the stay before it.
            opened_by = story.stays[index - 1] if index else None
            enrollment = Enrollment.objects.create(
                episode=episode,
                patient=story.patient,
                program=program,
                track=tracks[stay.track],
                admitted_on=stay.admitted,
                discharged_on=stay.ended,
                status=status,
                discharge_reason=stay.end_reason,
                weekly_hours_min=program.weekly_hours_min,
                weekly_hours_max=program.weekly_hours_max,
                primary_therapist=staff[TRACK_THERAPIST[stay.track]],
                prescriber=staff["priya"] if program.site.name == DOWNTOWN else None,
                individual_cadence=story.cadence,
                previous=previous,
                transfer_kind=opened_by.transfer_kind if opened_by else "",
                transfer_reason=opened_by.transfer_reason if opened_by else "",
            )
            story.enrollments.append(enrollment)
            previous = enrollment


def _attendance(story: Story, this_week: bool, rng: random.Random) -> str:
    if this_week:
        # This week tells a clear story on the at-risk list: the few who are slipping miss
        # groups; everyone else has shown up so far.
        if story.slipping_this_week:
            return rng.choice(
                [AttendanceStatus.NO_SHOW, AttendanceStatus.UNEXCUSED, AttendanceStatus.PRESENT]
            )
        return AttendanceStatus.PRESENT
    if rng.random() < story.reliability:
        return rng.choice(
            [AttendanceStatus.PRESENT] * 14 + [AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY]
        )
    return rng.choice(
        [AttendanceStatus.EXCUSED, AttendanceStatus.UNEXCUSED, AttendanceStatus.NO_SHOW]
    )


def _booking(
    session: Session,
    story: Story,
    enrollment: Enrollment,
    kind: str,
    now: datetime,
    rng: random.Random,
    today: date,
) -> Booking:
    booking = Booking(session=session, patient=story.patient, enrollment=enrollment, kind=kind)
    if session.status == SessionStatus.CANCELLED:
        booking.status = AttendanceStatus.CANCELLED_BY_CLINIC
        return booking
    # Sessions still running or ahead stay "booked": today's rosters are there to be taken.
    if session.ends_at > now:
        return booking
    local_day = session.starts_at.astimezone(_tz(session.site)).date()
    this_week = IsoWeek.of(local_day) == IsoWeek.of(today)
    status = _attendance(story, this_week, rng)
    minutes = 0
    if status == AttendanceStatus.PRESENT:
        minutes = session.duration_minutes
    elif status == AttendanceStatus.LATE:
        minutes = session.duration_minutes - rng.randint(5, 15)
        booking.checked_in_at = session.starts_at + timedelta(
            minutes=session.duration_minutes - minutes
        )
    elif status == AttendanceStatus.LEFT_EARLY:
        minutes = session.duration_minutes - rng.randint(10, 30)
        booking.checked_out_at = session.starts_at + timedelta(minutes=minutes)
    booking.status = status
    booking.minutes_attended = minutes
    booking.recorded_by = session.facilitator
    booking.recorded_at = session.ends_at + timedelta(minutes=5)
    return booking


class SlotAllocator:
    """Hands out each therapist's individual-therapy slots: a weekly patient takes a slot every
    week, two biweekly patients share one on alternate weeks."""

    def __init__(self) -> None:
        self.taken: set[tuple[str, int, int]] = set()

    def allocate(self, therapist: str, interval: int) -> tuple[int, time, int] | None:
        for index, (weekday, start) in enumerate(INDIVIDUAL_SLOTS[therapist]):
            parities = [p for p in (0, 1) if (therapist, index, p) not in self.taken]
            if interval == 1 and len(parities) == 2:
                self.taken.update({(therapist, index, 0), (therapist, index, 1)})
                return weekday, start, 0
            if interval == 2 and parities:
                self.taken.add((therapist, index, parities[0]))
                return weekday, start, parities[0]
        return None


def _individual_sessions(
    story: Story,
    rooms: dict[tuple[str, str], Room],
    staff: dict[str, User],
    slots: SlotAllocator,
    now: datetime,
    today: date,
    last_day: date,
    bookings: list[Booking],
    rng: random.Random,
) -> list[Session]:
    """Individual therapy with the primary therapist, for patients in treatment now."""
    enrollment = story.enrollments[-1]
    if enrollment.status != EnrollmentStatus.ACTIVE:
        return []
    therapist_name = TRACK_THERAPIST[story.stays[-1].track]
    interval = 2 if enrollment.individual_cadence == Cadence.BIWEEKLY else 1
    slot = slots.allocate(therapist_name, interval)
    if slot is None:
        return []
    weekday, start, parity = slot
    therapist = staff[therapist_name]
    site = enrollment.program.site
    room = rooms[(site.name, INDIVIDUAL_ROOM[therapist_name])]
    # The first meeting: the slot's weekday on or after admission, in a week of the slot's
    # parity (weeks counted on one calendar for everyone, so alternate-week partners on a
    # slot never meet). The series starts there, so generate-sessions continues the same
    # rhythm (it steps ``interval_weeks`` from ``starts_on``).
    first = enrollment.admitted_on + timedelta(
        days=(weekday - enrollment.admitted_on.weekday()) % 7
    )
    while (IsoWeek.of(first).monday.toordinal() // 7) % interval != parity % interval:
        first += timedelta(weeks=1)
    series = IndividualSeries.objects.create(
        enrollment=enrollment,
        therapist=therapist,
        weekday=weekday,
        start_time=start,
        duration_minutes=50,
        interval_weeks=interval,
        room=room,
        starts_on=first,
    )
    sessions = []
    day = first
    while day <= last_day:
        starts_at = at_local(day, start, site.time_zone)
        session = Session(
            site=site,
            kind=SessionKind.INDIVIDUAL,
            individual_series=series,
            title="Individual therapy",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=50),
            duration_minutes=50,
            facilitator=therapist,
            room=room,
            capacity=1,
        )
        sessions.append(session)
        bookings.append(
            _booking(session, story, enrollment, BookingKind.INDIVIDUAL, now, rng, today)
        )
        day += timedelta(weeks=interval)
    return sessions
