"""Weekly hours computed in SQL: one aggregate query for any number of patients and weeks.

Bookings are bucketed by ISO week with a CASE over the week boundaries, which come from
``IsoWeek.bounds`` in the site's time zone, so a week that contains a daylight-saving change
is 167 or 169 hours long and still holds exactly its own sessions. Minutes are summed by the
database grouped by (patient, week); the status rule is applied by ``openiop.scheduling.hours``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from openiop.accounts.models import Site
from openiop.lib.dates import IsoWeek
from openiop.programs.models import Enrollment, EnrollmentStatus
from openiop.scheduling.hours import (
    ATTENDED,
    BOOKED,
    EXCUSED,
    VIOLATIONS,
    EnrollmentSpan,
    WeekHours,
    make_week_hours,
    target_for_week,
)
from openiop.scheduling.models import Booking, SessionStatus


@dataclass(frozen=True)
class _Minutes:
    attended: int = 0
    ahead: int = 0
    violations: int = 0
    excused: int = 0


def span_of(enrollment: Enrollment) -> EnrollmentSpan:
    return EnrollmentSpan(
        enrollment_id=enrollment.pk,
        admitted_on=enrollment.admitted_on,
        discharged_on=enrollment.discharged_on,
        floor_hours=enrollment.weekly_hours_min,
        ceiling_hours=enrollment.weekly_hours_max,
    )


def _week_bucket(weeks: Sequence[IsoWeek], time_zone: str) -> Case:
    whens = []
    for index, week in enumerate(weeks):
        start, end = week.bounds(time_zone)
        whens.append(
            When(session__starts_at__gte=start, session__starts_at__lt=end, then=Value(index))
        )
    return Case(*whens, default=Value(-1), output_field=IntegerField())


def _sum_when(condition: Q, then: object) -> Coalesce:
    return Coalesce(
        Sum(Case(When(condition, then=then), default=Value(0), output_field=IntegerField())),
        Value(0),
    )


def _minutes_by_week(
    *, patient_ids: Iterable[int] | object, weeks: Sequence[IsoWeek], time_zone: str, now: datetime
) -> dict[tuple[int, int], _Minutes]:
    """{(patient_id, week index): minutes} in one GROUP BY query.

    ``patient_ids`` is a list or a subquery (a values_list queryset).
    """
    bounds = [week.bounds(time_zone) for week in weeks]
    rows = (
        Booking.objects.filter(
            patient_id__in=patient_ids,
            session__status=SessionStatus.SCHEDULED,
            session__starts_at__gte=min(start for start, _ in bounds),
            session__starts_at__lt=max(end for _, end in bounds),
        )
        .annotate(bucket=_week_bucket(weeks, time_zone))
        .values("patient_id", "bucket")
        .annotate(
            attended=_sum_when(
                Q(status__in=ATTENDED),
                Coalesce(F("minutes_attended"), F("session__duration_minutes")),
            ),
            # A session still in progress can yet be attended; once ended, unrecorded seats
            # are neither attended nor ahead.
            ahead=_sum_when(
                Q(status=BOOKED, session__ends_at__gt=now), F("session__duration_minutes")
            ),
            violations=_sum_when(Q(status__in=VIOLATIONS), Value(1)),
            excused=_sum_when(Q(status__in=EXCUSED), Value(1)),
        )
        .order_by()
    )
    return {
        (row["patient_id"], row["bucket"]): _Minutes(
            attended=row["attended"],
            ahead=row["ahead"],
            violations=row["violations"],
            excused=row["excused"],
        )
        for row in rows
        if row["bucket"] >= 0
    }


def _assemble(
    *,
    patient_ids: Iterable[int],
    weeks: Sequence[IsoWeek],
    time_zone: str,
    now: datetime,
    minutes: dict[tuple[int, int], _Minutes],
    spans: dict[int, list[EnrollmentSpan]],
) -> dict[int, list[WeekHours]]:
    ends = [week.bounds(time_zone)[1] for week in weeks]
    result: dict[int, list[WeekHours]] = {}
    for patient_id in patient_ids:
        row = []
        for index, week in enumerate(weeks):
            found = minutes.get((patient_id, index), _Minutes())
            row.append(
                make_week_hours(
                    week=week,
                    attended_minutes=found.attended,
                    ahead_minutes=found.ahead,
                    span=target_for_week(spans.get(patient_id, []), week),
                    week_over=now >= ends[index],
                    violations=found.violations,
                    excused=found.excused,
                )
            )
        result[patient_id] = row
    return result


def patient_weeks(
    *,
    patient_id: int,
    time_zone: str,
    weeks: Sequence[IsoWeek],
    now: datetime,
    enrollments: Sequence[Enrollment] | None = None,
) -> list[WeekHours]:
    """One patient's hours for ``weeks`` (in that order): one query, two without enrollments.

    Pass the patient's ``enrollments`` when the caller has them already (the chart does).
    """
    if not weeks:
        return []
    if enrollments is None:
        enrollments = list(Enrollment.objects.filter(patient_id=patient_id))
    minutes = _minutes_by_week(patient_ids=[patient_id], weeks=weeks, time_zone=time_zone, now=now)
    spans = {patient_id: [span_of(e) for e in enrollments]}
    return _assemble(
        patient_ids=[patient_id],
        weeks=weeks,
        time_zone=time_zone,
        now=now,
        minutes=minutes,
        spans=spans,
    )[patient_id]


@dataclass(frozen=True)
class ActivePatientWeeks:
    """An actively enrolled patient of a site with their hours for the requested weeks."""

    enrollment: Enrollment
    weeks: list[WeekHours]


def site_active_weeks(
    *, site: Site, weeks: Sequence[IsoWeek], now: datetime
) -> list[ActivePatientWeeks]:
    """Hours for ``weeks`` of every patient of ``site`` actively enrolled there. Three queries.

    The enrollments carry the patient's names and MRN; program, track and therapist are left
    for the caller to load for the rows it displays (``prefetch_related_objects``).

    The active enrollments (with patient, program and track), the patients' other
    enrollments that overlap the weeks (a transfer inside the window), and the minutes.
    """
    if not weeks:
        return []
    # Only what the statuses and the list's sort need: a large site has a thousand rows here,
    # and the caller fetches program, track and therapist for the rows it shows.
    active = list(
        Enrollment.objects.filter(
            program__site=site, patient__site=site, status=EnrollmentStatus.ACTIVE
        )
        .select_related("patient")
        .only(
            "id",
            "patient_id",
            "program_id",
            "track_id",
            "primary_therapist_id",
            "admitted_on",
            "discharged_on",
            "weekly_hours_min",
            "weekly_hours_max",
            "patient__first_name",
            "patient__last_name",
            "patient__preferred_name",
            "patient__mrn",
        )
        .order_by("patient__last_name", "patient__first_name", "patient_id")
    )
    if not active:
        return []
    first, last = min(weeks, key=lambda w: w.monday), max(weeks, key=lambda w: w.monday)
    active_patients = Enrollment.objects.filter(
        program__site=site, patient__site=site, status=EnrollmentStatus.ACTIVE
    ).values("patient_id")
    spans: dict[int, list[EnrollmentSpan]] = {}
    overlapping = Enrollment.objects.filter(
        Q(discharged_on__isnull=True) | Q(discharged_on__gte=first.monday),
        patient_id__in=active_patients,
        admitted_on__lte=last.sunday,
    ).only(
        "id", "patient_id", "admitted_on", "discharged_on", "weekly_hours_min", "weekly_hours_max"
    )
    for enrollment in overlapping:
        spans.setdefault(enrollment.patient_id, []).append(span_of(enrollment))
    minutes = _minutes_by_week(
        patient_ids=active_patients, weeks=weeks, time_zone=site.time_zone, now=now
    )
    by_patient = _assemble(
        patient_ids=[e.patient_id for e in active],
        weeks=weeks,
        time_zone=site.time_zone,
        now=now,
        minutes=minutes,
        spans=spans,
    )
    return [ActivePatientWeeks(enrollment=e, weeks=by_patient[e.patient_id]) for e in active]
