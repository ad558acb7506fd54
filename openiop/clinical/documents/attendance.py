"""The attendance verification letter: dates and hours attended, week by week.

For an employer, a court or a probation officer. It says that the patient attended, when and
for how long, in which program and level of care, and nothing clinical: no diagnoses, notes,
screens or session topics (42 CFR §2.13: disclose no more than the purpose needs).

Weeks are ISO weeks (Monday–Sunday) in the site's time zone, cut to the requested range; a
week in which the clocks change holds exactly its own sessions because sessions are placed
by their local date. A session counts when the patient was present, late or left early
(``ATTENDED_STATUSES``) and the session was not cancelled; its minutes are those recorded
at check-out, or the session's length when none were recorded (as ``hours_query`` counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q
from reportlab.platypus import Flowable, Spacer

from openiop.clinical.documents.layout import (
    DocumentContext,
    fields,
    fmt_date,
    fmt_hours,
    grid,
    heading,
    local,
    para,
    render,
)
from openiop.lib.dates import IsoWeek, day_bounds
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment
from openiop.scheduling.models import ATTENDED_STATUSES, Booking, SessionStatus


@dataclass(frozen=True)
class AttendedSession:
    starts_at: datetime
    minutes: int


@dataclass(frozen=True)
class AttendanceWeek:
    week: IsoWeek
    first_day: date  # Monday, or the range's first day when the range starts mid-week
    last_day: date  # Sunday, or the range's last day
    days: tuple[date, ...]  # local dates attended, in order, once each
    sessions: int
    minutes: int

    @property
    def hours(self) -> str:
        return fmt_hours(self.minutes)


def weekly_attendance(
    sessions: Iterable[AttendedSession], *, time_zone: str, start_on: date, end_on: date
) -> list[AttendanceWeek]:
    """Every ISO week that overlaps [start_on, end_on], with what was attended in it.

    Pure: sessions outside the range (by their local date) are ignored; weeks with nothing
    attended are kept, since a letter for a court must show the gaps as well.
    """
    by_day: dict[date, list[int]] = {}
    for session in sessions:
        day = local(session.starts_at, time_zone).date()
        if start_on <= day <= end_on:
            by_day.setdefault(day, []).append(session.minutes)
    weeks = []
    week = IsoWeek.of(start_on)
    while week.monday <= end_on:
        first, last = max(week.monday, start_on), min(week.sunday, end_on)
        days = tuple(sorted(d for d in by_day if first <= d <= last))
        weeks.append(
            AttendanceWeek(
                week=week,
                first_day=first,
                last_day=last,
                days=days,
                sessions=sum(len(by_day[d]) for d in days),
                minutes=sum(sum(by_day[d]) for d in days),
            )
        )
        week = week.shift(1)
    return weeks


def attended_sessions(patient: Patient, *, start_on: date, end_on: date) -> list[AttendedSession]:
    """The patient's attended sessions whose local date is in the range. One query."""
    time_zone = patient.site.time_zone
    start, _ = day_bounds(start_on, time_zone)
    _, end = day_bounds(end_on, time_zone)
    rows = Booking.objects.filter(
        patient=patient,
        status__in=ATTENDED_STATUSES,
        session__status=SessionStatus.SCHEDULED,
        session__starts_at__gte=start,
        session__starts_at__lt=end,
    ).values_list("session__starts_at", "minutes_attended", "session__duration_minutes")
    return [
        AttendedSession(starts_at=starts_at, minutes=recorded if recorded is not None else length)
        for starts_at, recorded, length in rows.order_by("session__starts_at")
    ]


def enrollments_in_range(patient: Patient, *, start_on: date, end_on: date) -> list[Enrollment]:
    """The enrollments (program, level of care) that overlap the range, oldest first."""
    return list(
        Enrollment.objects.filter(
            Q(discharged_on__isnull=True) | Q(discharged_on__gte=start_on),
            patient=patient,
            admitted_on__lte=end_on,
        )
        .select_related("program__level_of_care")
        .order_by("admitted_on", "pk")
    )


def _days(days: Sequence[date]) -> str:
    return ", ".join(f"{d:%a} {d:%b} {d.day}" for d in days) if days else "None"


def build_attendance_letter(
    ctx: DocumentContext,
    *,
    start_on: date,
    end_on: date,
    weeks: Sequence[AttendanceWeek],
    enrollments: Sequence[Enrollment],
) -> bytes:
    total_minutes = sum(w.minutes for w in weeks)
    total_sessions = sum(w.sessions for w in weeks)
    total_days = sum(len(w.days) for w in weeks)
    story: list[Flowable] = [
        para(f"To: {ctx.recipient}"),
        Spacer(1, 6),
        para(
            f"This letter verifies the attendance of {ctx.patient_legal_name}, born "
            f"{fmt_date(ctx.patient_born_on)}, at {ctx.site_name} from {fmt_date(start_on)} "
            f"to {fmt_date(end_on)}, as recorded when each session took place. "
            f"It is issued for this purpose only: {ctx.purpose}."
        ),
        heading("Program"),
    ]
    if enrollments:
        rows = []
        for e in enrollments:
            level = e.program.level_of_care
            until = fmt_date(e.discharged_on) if e.discharged_on else "present"
            rows.append(
                [
                    e.program.name,
                    f"{level.name} (ASAM level {level.code})",
                    f"{fmt_date(e.admitted_on)} – {until}",
                ]
            )
        story.append(grid(["Program", "Level of care", "Enrolled"], rows, [3, 3, 2.4]))
    else:
        story.append(para("The patient was not enrolled in a program during this period.", "muted"))
    story += [
        heading("Attendance by week"),
        para(
            f"Weeks run Monday to Sunday in the clinic's time zone ({ctx.time_zone}). "
            "Hours are the time the patient was present, as recorded at each session.",
            "muted",
        ),
        Spacer(1, 4),
        grid(
            ["Week", "Dates attended", "Sessions", "Hours"],
            [
                [
                    f"{fmt_date(w.first_day)} – {fmt_date(w.last_day)}",
                    _days(w.days),
                    str(w.sessions),
                    w.hours,
                ]
                for w in weeks
            ],
            [2.3, 3.6, 0.9, 0.8],
            right=(2, 3),
            total=[
                "Total",
                f"{total_days} day{'s' * (total_days != 1)}",
                str(total_sessions),
                fmt_hours(total_minutes),
            ],
        ),
        Spacer(1, 10),
        fields(
            [
                ("Period", f"{fmt_date(start_on)} – {fmt_date(end_on)}"),
                ("Days attended", str(total_days)),
                ("Hours attended", fmt_hours(total_minutes)),
            ]
        ),
        Spacer(1, 14),
        para(
            "This letter verifies attendance only. It contains no diagnosis and no clinical "
            "information, and it may not be used for any purpose other than the one stated."
        ),
        Spacer(1, 18),
        para(ctx.issued_by),
        para(ctx.site_name, "muted"),
    ]
    return render(ctx, story)
