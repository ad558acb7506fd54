"""Screens to admit, discharge and transfer a patient and to book individual therapy and drop-ins.

Each view reaches the patient through the access helper (404 for anyone else's patient, the
read audited), parses a form, calls one service and goes back to the chart. Refusals come
back on the form: a rule on its field, a conflict or a full group at the top.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from openiop.accounts.access import requires
from openiop.audit.models import Action
from openiop.lib.dates import at_local, local_today, zone
from openiop.measures import services_reviews as reviews
from openiop.patients.access import get_patient_for_user
from openiop.patients.models import Patient
from openiop.programs.enrollment import ActiveEnrollmentExists, StaleEnrollment
from openiop.programs.forms import run_service
from openiop.programs.models import Enrollment, EnrollmentStatus
from openiop.scheduling import enrollment as services
from openiop.scheduling.access import get_session_for_user
from openiop.scheduling.booking import BookingConflict, BookingSummary, day_start_after
from openiop.scheduling.forms_enrollment import (
    AdmissionForm,
    DischargeForm,
    IndividualScheduleForm,
    IndividualSessionForm,
    TransferForm,
    add_service_errors,
    mark_invalid,
)
from openiop.scheduling.models import AttendanceStatus, Booking, IndividualSeries, SessionStatus

CONFLICTS = (ActiveEnrollmentExists, StaleEnrollment, BookingConflict)


def _chart(patient: Patient) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("patient-chart", args=[patient.pk]))


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _patient(request: HttpRequest, patient_id: int, permission: str, what: str) -> Patient:
    action = Action.VIEW if request.method == "GET" else Action.UPDATE
    return get_patient_for_user(
        request, patient_id, permission=permission, action=action, object_type="enrollment",
        detail=what,
    )  # fmt: skip


def _enrollment(patient: Patient, enrollment_id: int) -> Enrollment:
    enrollment = (
        Enrollment.objects.filter(pk=enrollment_id, patient=patient)
        .select_related("program__level_of_care", "track", "primary_therapist", "prescriber")
        .first()
    )
    if enrollment is None:
        raise Http404("No such enrollment.")
    return enrollment


def _report(request: HttpRequest, done: str, summary: BookingSummary) -> None:
    messages.success(
        request, f"{done} {summary.booked} session{'s' * (summary.booked != 1)} booked."
    )
    if summary.skipped:
        messages.warning(request, "Not booked: " + " ".join(summary.skipped))


def _track_fragment(request: HttpRequest, form: Any) -> HttpResponse:
    """The track select and target hours for the program just chosen (htmx swap)."""
    return render(request, "scheduling/_enrollment_program_fields.html", {"form": form})


@requires("enrollments.admit")
@require_http_methods(["GET", "POST"])
def admit_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(request, patient_id, "enrollments.admit", "Admission")
    site = patient.site
    if request.method == "POST":
        form = AdmissionForm(request.POST, site=site)
        if form.is_valid():
            data = form.cleaned_data
            result = run_service(
                form,
                lambda: services.admit_patient(
                    patient=patient,
                    program=data["program"],
                    track=data["track"],
                    admitted_on=data["admitted_on"],
                    weekly_hours_min=data["weekly_hours_min"],
                    weekly_hours_max=data["weekly_hours_max"],
                    primary_therapist=data["primary_therapist"],
                    prescriber=data["prescriber"],
                    individual_cadence=data["individual_cadence"],
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                ),
                errors=add_service_errors,
                refusals=CONFLICTS,
            )
            if result is not None:
                _report(request, f"{patient.display_name} admitted.", result.bookings)
                return _chart(patient)
        mark_invalid(form)
        status = 422
    else:
        initial: dict[str, Any] = {"admitted_on": local_today(site.time_zone)}
        if request.GET.get("program"):
            initial["program"] = request.GET["program"]
        form = AdmissionForm(initial=initial, site=site)
        if _is_htmx(request):
            return _track_fragment(request, form)
        status = 200
    active = Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE).first()
    return render(
        request,
        "scheduling/enrollment_admit.html",
        {"patient": patient, "form": form, "active": active},
        status=status,
    )


def _future_seats(enrollment: Enrollment) -> int:
    """Seats a discharge today would give up: booked sessions after today (site time)."""
    tz_name = enrollment.patient.site.time_zone
    after = day_start_after(local_today(tz_name), tz_name)
    return Booking.objects.filter(
        patient_id=enrollment.patient_id,
        status=AttendanceStatus.BOOKED,
        session__starts_at__gte=after,
        session__status=SessionStatus.SCHEDULED,
    ).count()


@requires("enrollments.change")
@require_http_methods(["GET", "POST"])
def discharge_view(request: HttpRequest, patient_id: int, enrollment_id: int) -> HttpResponse:
    patient = _patient(request, patient_id, "enrollments.change", "Discharge")
    enrollment = _enrollment(patient, enrollment_id)
    if request.method == "POST":
        form = DischargeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            discharged = run_service(
                form,
                lambda: services.discharge_patient(
                    enrollment=enrollment,
                    discharged_on=data["discharged_on"],
                    reason=data["reason"],
                    note=data["note"],
                    expected_version=data["version"],
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                ),
                errors=add_service_errors,
                refusals=CONFLICTS,
            )
            if discharged is not None:
                messages.success(request, f"{patient.display_name} discharged.")
                return _chart(patient)
        mark_invalid(form)
        status = 422
    else:
        form = DischargeForm(
            initial={
                "discharged_on": local_today(patient.site.time_zone),
                "version": enrollment.version,
            }
        )
        status = 200
    return render(
        request,
        "scheduling/enrollment_discharge.html",
        {
            "patient": patient,
            "enrollment": enrollment,
            "form": form,
            "future_seats": _future_seats(enrollment),
        },
        status=status,
    )


@requires("enrollments.change")
@require_http_methods(["GET", "POST"])
def transfer_view(request: HttpRequest, patient_id: int, enrollment_id: int) -> HttpResponse:
    patient = _patient(request, patient_id, "enrollments.change", "Transfer")
    enrollment = _enrollment(patient, enrollment_id)
    site = patient.site
    review = None
    if request.method == "POST":
        form = TransferForm(request.POST, site=site)
        if form.is_valid():
            data = form.cleaned_data

            def transfer() -> services.TransferResult:
                return services.transfer_patient(
                    enrollment=enrollment,
                    program=data["program"],
                    track=data["track"],
                    on=data["on"],
                    reason=data["reason"],
                    kind=data["kind"] or None,
                    weekly_hours_min=data["weekly_hours_min"],
                    weekly_hours_max=data["weekly_hours_max"],
                    primary_therapist=data["primary_therapist"],
                    prescriber=data["prescriber"],
                    individual_cadence=data["individual_cadence"],
                    expected_version=data["version"],
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                )

            if data["review"] is not None:
                review = reviews.review_of(enrollment, data["review"])

            def transfer_accepting_review() -> services.TransferResult:
                # A transfer from a level review accepts it in the same transaction.
                if data["review"] is None:
                    return transfer()
                return reviews.transfer_for_review(
                    reviews.open_review_of(enrollment, data["review"]),
                    by=request.user,  # type: ignore[arg-type]
                    version=data["review_version"] or 0,
                    transfer=transfer,
                    request=request,
                ).transfer

            result = run_service(
                form,
                transfer_accepting_review,
                errors=lambda f, exc: add_service_errors(f, exc, {"admitted_on": "on"}),
                refusals=(*CONFLICTS, reviews.ReviewConflict),
            )
            if result is not None:
                label = result.enrollment.get_transfer_kind_display()
                _report(request, f"{label} recorded.", result.bookings)
                return _chart(patient)
        mark_invalid(form)
        status = 422
    else:
        initial: dict[str, Any] = {
            "program": request.GET.get("program") or enrollment.program_id,
            "on": local_today(site.time_zone),
            "version": enrollment.version,
            "primary_therapist": enrollment.primary_therapist_id,
            "prescriber": enrollment.prescriber_id,
            "individual_cadence": enrollment.individual_cadence,
        }
        if request.GET.get("review"):
            try:
                review = reviews.open_review_of(enrollment, request.GET["review"])
            except ValidationError:
                raise Http404("No such review.") from None
            initial.update(reviews.transfer_prefill(review))
            initial["program"] = request.GET.get("program") or initial["program"]
        form = TransferForm(initial=initial, site=site)
        if _is_htmx(request):
            return _track_fragment(request, form)
        status = 200
    return render(
        request,
        "scheduling/enrollment_transfer.html",
        {"patient": patient, "enrollment": enrollment, "form": form, "review": review},
        status=status,
    )


@requires("schedule.manage")
@require_http_methods(["GET", "POST"])
def individual_schedule_view(
    request: HttpRequest, patient_id: int, enrollment_id: int
) -> HttpResponse:
    patient = _patient(request, patient_id, "schedule.manage", "Individual therapy schedule")
    enrollment = _enrollment(patient, enrollment_id)
    current = (
        IndividualSeries.objects.filter(enrollment=enrollment, is_active=True)
        .select_related("therapist", "room")
        .first()
    )
    if request.method == "POST":
        form = IndividualScheduleForm(request.POST, site=patient.site)
        if form.is_valid():
            data = form.cleaned_data
            scheduled = run_service(
                form,
                lambda: services.schedule_individual_series(
                    enrollment=enrollment,
                    weekday=data["weekday"],
                    start_time=data["start_time"],
                    duration_minutes=data["duration_minutes"],
                    room=data["room"],
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                ),
                errors=add_service_errors,
                refusals=CONFLICTS,
            )
            if scheduled is not None:
                _series, summary = scheduled
                _report(request, "Individual therapy scheduled.", summary)
                return _chart(patient)
        mark_invalid(form)
        status = 422
    else:
        initial: dict[str, Any] = {"duration_minutes": 50}
        if current is not None:
            initial.update(
                weekday=current.weekday,
                start_time=current.start_time,
                duration_minutes=current.duration_minutes,
                room=current.room_id,
            )
        form = IndividualScheduleForm(initial=initial, site=patient.site)
        status = 200
    return render(
        request,
        "scheduling/enrollment_individual.html",
        {"patient": patient, "enrollment": enrollment, "form": form, "current": current},
        status=status,
    )


@requires("schedule.manage")
@require_http_methods(["GET", "POST"])
def individual_book_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(request, patient_id, "schedule.manage", "Individual session")
    site = patient.site
    active = (
        Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE)
        .select_related("program", "primary_therapist")
        .first()
    )
    if request.method == "POST":
        form = IndividualSessionForm(request.POST, site=site)
        if form.is_valid():
            data = form.cleaned_data
            session = run_service(
                form,
                lambda: services.book_individual_session(
                    patient=patient,
                    therapist=data["therapist"],
                    starts_at=at_local(data["day"], data["start_time"], site.time_zone),
                    duration_minutes=data["duration_minutes"],
                    room=data["room"],
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                ),
                errors=add_service_errors,
                refusals=CONFLICTS,
            )
            if session is not None:
                when = session.starts_at.astimezone(zone(site.time_zone))
                messages.success(
                    request,
                    f"Individual session booked with {session.facilitator.display_name}"
                    f" on {when:%a %b} {when.day} at {when:%H:%M}.",
                )
                return _chart(patient)
        mark_invalid(form)
        status = 422
    else:
        initial: dict[str, Any] = {"day": local_today(site.time_zone), "duration_minutes": 50}
        if active is not None and active.primary_therapist_id:
            initial["therapist"] = active.primary_therapist_id
        form = IndividualSessionForm(initial=initial, site=site)
        status = 200
    return render(
        request,
        "scheduling/enrollment_individual_book.html",
        {"patient": patient, "form": form, "active": active},
        status=status,
    )


@requires("schedule.manage")
@require_POST
def drop_in_view(request: HttpRequest, session_id: int) -> HttpResponse:
    """Book the patient posted as ``patient_id`` into the group; back to the roster."""
    session = get_session_for_user(request, session_id, permission="schedule.manage")
    roster = reverse("session-roster", args=[session.pk])
    raw = request.POST.get("patient_id", "")
    if not raw.isdigit():
        messages.error(request, "Choose a patient to add.")
        return HttpResponseRedirect(roster)
    patient = get_patient_for_user(
        request, raw, permission="schedule.manage", action=Action.CREATE, object_type="booking",
        detail=f"Drop-in to session {session.pk}",
    )  # fmt: skip
    try:
        services.book_drop_in(
            session=session,
            patient=patient,
            by=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except CONFLICTS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{patient.display_name} added as a drop-in.")
    return HttpResponseRedirect(roster)
