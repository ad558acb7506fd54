"""Admissions, discharges, transfers and bookings over the API.

Errors: an id that does not exist or that the token may not see → 404; a value that breaks a
rule (dates, target hours outside the level of care's range, a track of another program …)
→ 422 ``{"detail": [{"field", "message", "type"}]}`` naming the field; a second active
enrollment ("already has an active enrollment"), a stale ``version``, a full session or a
double-booking → 409 ``{"detail": "…"}`` naming the conflict. Nothing is partly written.
"""

# No ``from __future__ import annotations``: django-ninja reads the annotations at import.

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import AwareDatetime

from openiop.accounts.models import User
from openiop.api.auth import api_guard
from openiop.api.routes_scheduling import router as scheduling_router
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action
from openiop.patients.access import get_patient_for_user, sites_for
from openiop.programs.enrollment import ActiveEnrollmentExists, StaleEnrollment
from openiop.programs.models import (
    Cadence,
    DischargeReason,
    Enrollment,
    Program,
    Track,
    TransferKind,
)
from openiop.scheduling import enrollment as services
from openiop.scheduling.access import get_session_for_user
from openiop.scheduling.booking import BookingConflict
from openiop.scheduling.models import Room

router = Router(tags=["enrollments"])

Hours = Decimal


class AdmissionIn(Schema):
    patient_id: int = Field(ge=1, le=2**63 - 1)
    program_id: int = Field(ge=1, le=2**63 - 1)
    track_id: int | None = Field(None, ge=1, le=2**63 - 1)
    admitted_on: date
    weekly_hours_min: Hours | None = Field(None, ge=0, le=168, decimal_places=1)
    weekly_hours_max: Hours | None = Field(None, ge=0, le=168, decimal_places=1)
    primary_therapist_id: int | None = Field(None, ge=1, le=2**63 - 1)
    prescriber_id: int | None = Field(None, ge=1, le=2**63 - 1)
    individual_cadence: Cadence = Cadence.WEEKLY


class DischargeIn(Schema):
    discharged_on: date
    reason: DischargeReason
    note: str = Field("", max_length=500)
    version: int | None = Field(None, ge=1, description="The version read; stale → 409.")


class TransferIn(Schema):
    program_id: int = Field(ge=1, le=2**63 - 1)
    track_id: int | None = Field(None, ge=1, le=2**63 - 1)
    on: date
    reason: str = Field(min_length=1, max_length=500)
    kind: TransferKind | None = Field(
        None, description="Inferred from the levels of care when omitted."
    )
    weekly_hours_min: Hours | None = Field(None, ge=0, le=168, decimal_places=1)
    weekly_hours_max: Hours | None = Field(None, ge=0, le=168, decimal_places=1)
    primary_therapist_id: int | None = Field(None, ge=1, le=2**63 - 1)
    prescriber_id: int | None = Field(None, ge=1, le=2**63 - 1)
    individual_cadence: Cadence | None = None
    version: int | None = Field(None, ge=1, description="The version read; stale → 409.")


class IndividualSessionIn(Schema):
    patient_id: int = Field(ge=1, le=2**63 - 1)
    therapist_id: int = Field(ge=1, le=2**63 - 1)
    starts_at: AwareDatetime = Field(description="ISO 8601 with its UTC offset.")
    duration_minutes: int = Field(50, ge=15, le=180)
    room_id: int | None = Field(None, ge=1, le=2**63 - 1)


class DropInIn(Schema):
    patient_id: int = Field(ge=1, le=2**63 - 1)


class EnrollmentOut(Schema):
    id: int
    patient_id: int
    episode_id: int
    program_id: int
    program_name: str
    level_of_care: str
    track_id: int | None
    track_name: str | None
    admitted_on: date
    discharged_on: date | None
    status: str
    discharge_reason: str
    discharge_note: str
    weekly_hours_min: float
    weekly_hours_max: float
    primary_therapist_id: int | None
    prescriber_id: int | None
    individual_cadence: str
    previous_id: int | None
    transfer_kind: str
    transfer_reason: str
    version: int


class AdmissionOut(EnrollmentOut):
    sessions_booked: int
    skipped: list[str] = Field(description="Sessions not booked (full, or a double-booking).")


class SessionOut(Schema):
    id: int
    site_id: int
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    facilitator_id: int
    room_id: int | None
    patient_id: int


class BookingOut(Schema):
    id: int
    session_id: int
    patient_id: int
    enrollment_id: int | None
    kind: str
    status: str


# Service field names → API field names.
_FIELDS = {
    "program": "program_id",
    "track": "track_id",
    "primary_therapist": "primary_therapist_id",
    "prescriber": "prescriber_id",
    "patient": "patient_id",
    "session": "path.session_id",
    "enrollment": "path.enrollment_id",
    "__all__": "",
}


def _unprocessable(exc: ValidationError, renames: dict[str, str] | None = None) -> dict[str, Any]:
    names = {**_FIELDS, **(renames or {})}
    if hasattr(exc, "error_dict"):
        pairs = [(f, m) for f, messages in exc.message_dict.items() for m in messages]
    else:
        pairs = [("", m) for m in exc.messages]

    def where(field: str) -> str:
        # Body fields are named like the request validator names them ("payload.on").
        name = names.get(field, field)
        if name.startswith("path."):
            return name.removeprefix("path.")
        return f"payload.{name}" if name else "payload"

    return {
        "detail": [
            {"field": where(field), "message": message, "type": "value_error"}
            for field, message in pairs
        ]
    }


def _run(call: Any, renames: dict[str, str] | None = None, **kwargs: Any) -> Status[Any]:
    """Call one service; map its refusals to 409 (conflicts) or 422 (bad values)."""
    try:
        return 0, call(**kwargs)
    except ValidationError as exc:
        return 422, _unprocessable(exc, renames)
    except (ActiveEnrollmentExists, StaleEnrollment, BookingConflict) as exc:
        raise HttpError(409, str(exc)) from None


def _one(queryset: Any, pk: int | None, what: str) -> Any:
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise HttpError(404, f"No such {what}.")
    return found


def _staff(request: HttpRequest, pk: int | None, what: str, permission: str) -> User | None:
    sites = sites_for(request, permission)
    return _one(User.objects.filter(memberships__site__in=sites).distinct(), pk, what)


def _enrollment_for(request: HttpRequest, enrollment_id: int, permission: str) -> Enrollment:
    enrollment = (
        Enrollment.objects.filter(
            pk=enrollment_id, patient__site__in=sites_for(request, permission)
        )
        .select_related("patient__site")
        .first()
    )
    if enrollment is None:
        raise Http404("No such enrollment.")
    # Through the door to patient data, so the access is audited like any other.
    get_patient_for_user(
        request,
        enrollment.patient_id,
        permission=permission,
        action=Action.UPDATE,
        object_type="enrollment",
        detail=f"Enrollment {enrollment.pk}",
    )
    return enrollment


def enrollment_out(enrollment: Enrollment) -> dict[str, Any]:
    return {
        "id": enrollment.pk,
        "patient_id": enrollment.patient_id,
        "episode_id": enrollment.episode_id,
        "program_id": enrollment.program_id,
        "program_name": enrollment.program.name,
        "level_of_care": enrollment.program.level_of_care.code,
        "track_id": enrollment.track_id,
        "track_name": enrollment.track.name if enrollment.track else None,
        "admitted_on": enrollment.admitted_on,
        "discharged_on": enrollment.discharged_on,
        "status": enrollment.status,
        "discharge_reason": enrollment.discharge_reason,
        "discharge_note": enrollment.discharge_note,
        "weekly_hours_min": float(enrollment.weekly_hours_min),
        "weekly_hours_max": float(enrollment.weekly_hours_max),
        "primary_therapist_id": enrollment.primary_therapist_id,
        "prescriber_id": enrollment.prescriber_id,
        "individual_cadence": enrollment.individual_cadence,
        "previous_id": enrollment.previous_id,
        "transfer_kind": enrollment.transfer_kind,
        "transfer_reason": enrollment.transfer_reason,
        "version": enrollment.version,
    }


_ERRORS = {401: Detail, 403: Detail, 404: Detail, 409: Detail, 422: ValidationErrors}


@router.post(
    "/enrollments",
    response={201: AdmissionOut, **_ERRORS},
    summary="Admit a patient to a program and track (books the track's group sessions)",
    auth=api_guard("enrollments.admit"),
)
def create_enrollment(request: HttpRequest, payload: AdmissionIn) -> Status[Any]:
    permission = "enrollments.admit"
    patient = get_patient_for_user(
        request,
        payload.patient_id,
        permission=permission,
        action=Action.CREATE,
        object_type="enrollment",
        detail="Admission",
    )
    program = _one(Program.objects.select_related("level_of_care"), payload.program_id, "program")
    if program.site_id not in {s.pk for s in sites_for(request, permission)}:
        raise HttpError(404, "No such program.")
    track = _one(Track.objects.filter(program__site_id=program.site_id), payload.track_id, "track")
    status, result = _run(
        services.admit_patient,
        patient=patient,
        program=program,
        track=track,
        admitted_on=payload.admitted_on,
        weekly_hours_min=payload.weekly_hours_min,
        weekly_hours_max=payload.weekly_hours_max,
        primary_therapist=_staff(request, payload.primary_therapist_id, "therapist", permission),
        prescriber=_staff(request, payload.prescriber_id, "prescriber", permission),
        individual_cadence=payload.individual_cadence,
        by=request.auth,  # type: ignore[attr-defined]
        request=request,
    )
    if status:
        return Status(status, result)
    body = enrollment_out(result.enrollment)
    body.update(sessions_booked=result.bookings.booked, skipped=list(result.bookings.skipped))
    return Status(201, body)


@router.get(
    "/patients/{patient_id}/enrollments",
    response={200: list[EnrollmentOut], 401: Detail, 403: Detail, 404: Detail},
    summary="A patient's enrollments, newest first (the episode timeline)",
    auth=api_guard("patients.view"),
)
def list_enrollments(request: HttpRequest, patient_id: int) -> list[dict[str, Any]]:
    patient = get_patient_for_user(
        request, patient_id, permission="patients.view", object_type="enrollment"
    )
    enrollments = (
        Enrollment.objects.filter(patient=patient)
        .select_related("program__level_of_care", "track")
        .order_by("-admitted_on", "-pk")
    )
    return [enrollment_out(e) for e in enrollments]


@router.post(
    "/enrollments/{enrollment_id}/discharge",
    response={200: EnrollmentOut, **_ERRORS},
    summary="Discharge with a reason; cancels the patient's bookings after that day",
    auth=api_guard("enrollments.change"),
)
def discharge_enrollment(
    request: HttpRequest, enrollment_id: int, payload: DischargeIn
) -> Status[Any]:
    enrollment = _enrollment_for(request, enrollment_id, "enrollments.change")
    status, result = _run(
        services.discharge_patient,
        enrollment=enrollment,
        discharged_on=payload.discharged_on,
        reason=payload.reason,
        note=payload.note,
        expected_version=payload.version,
        by=request.auth,  # type: ignore[attr-defined]
        request=request,
    )
    if status:
        return Status(status, result)
    closed = Enrollment.objects.select_related("program__level_of_care", "track").get(pk=result.pk)
    return Status(200, enrollment_out(closed))


@router.post(
    "/enrollments/{enrollment_id}/transfer",
    response={201: AdmissionOut, **_ERRORS},
    summary="Step up, step down or change track inside the same episode",
    auth=api_guard("enrollments.change"),
)
def transfer_enrollment(
    request: HttpRequest, enrollment_id: int, payload: TransferIn
) -> Status[Any]:
    permission = "enrollments.change"
    enrollment = _enrollment_for(request, enrollment_id, permission)
    site_id = enrollment.patient.site_id
    program = _one(
        Program.objects.filter(site_id=site_id).select_related("level_of_care"),
        payload.program_id,
        "program",
    )
    track = _one(Track.objects.filter(program__site_id=site_id), payload.track_id, "track")
    status, result = _run(
        services.transfer_patient,
        renames={"admitted_on": "on"},
        enrollment=enrollment,
        program=program,
        track=track,
        on=payload.on,
        reason=payload.reason,
        kind=payload.kind,
        weekly_hours_min=payload.weekly_hours_min,
        weekly_hours_max=payload.weekly_hours_max,
        primary_therapist=_staff(request, payload.primary_therapist_id, "therapist", permission),
        prescriber=_staff(request, payload.prescriber_id, "prescriber", permission),
        individual_cadence=payload.individual_cadence,
        expected_version=payload.version,
        by=request.auth,  # type: ignore[attr-defined]
        request=request,
    )
    if status:
        return Status(status, result)
    body = enrollment_out(result.enrollment)
    body.update(sessions_booked=result.bookings.booked, skipped=list(result.bookings.skipped))
    return Status(201, body)


# POST /sessions sits on the scheduling router beside GET /sessions: django-ninja serves one
# path from one router (a second router's pattern for the same path is never reached).
@scheduling_router.post(
    "/sessions",
    response={201: SessionOut, **_ERRORS},
    summary="Book one individual session (refused with 409 when anyone is double-booked)",
    auth=api_guard("schedule.manage"),
)
def create_individual_session(request: HttpRequest, payload: IndividualSessionIn) -> Status[Any]:
    permission = "schedule.manage"
    patient = get_patient_for_user(
        request,
        payload.patient_id,
        permission=permission,
        action=Action.CREATE,
        object_type="session",
        detail="Individual session",
    )
    therapist = _staff(request, payload.therapist_id, "therapist", permission)
    room = _one(Room.objects.filter(site_id=patient.site_id), payload.room_id, "room")
    if not 1900 <= payload.starts_at.year <= 2999:
        message = "Give a year between 1900 and 2999."
        return Status(
            422,
            {"detail": [{"field": "payload.starts_at", "message": message, "type": "value_error"}]},
        )
    status, session = _run(
        services.book_individual_session,
        patient=patient,
        therapist=therapist,
        starts_at=payload.starts_at,
        duration_minutes=payload.duration_minutes,
        room=room,
        by=request.auth,  # type: ignore[attr-defined]
        request=request,
    )
    if status:
        return Status(status, session)
    return Status(
        201,
        {
            "id": session.pk,
            "site_id": session.site_id,
            "kind": session.kind,
            "title": session.title,
            "starts_at": session.starts_at,
            "ends_at": session.ends_at,
            "duration_minutes": session.duration_minutes,
            "facilitator_id": session.facilitator_id,
            "room_id": session.room_id,
            "patient_id": patient.pk,
        },
    )


@router.post(
    "/sessions/{session_id}/bookings",
    response={201: BookingOut, **_ERRORS},
    summary="Book a patient into a group as a drop-in (refused with 409 when it is full)",
    auth=api_guard("schedule.manage"),
)
def create_drop_in(request: HttpRequest, session_id: int, payload: DropInIn) -> Status[Any]:
    permission = "schedule.manage"
    session = get_session_for_user(request, session_id, permission=permission)
    patient = get_patient_for_user(
        request,
        payload.patient_id,
        permission=permission,
        action=Action.CREATE,
        object_type="booking",
        detail=f"Drop-in to session {session.pk}",
    )
    status, booking = _run(
        services.book_drop_in,
        session=session,
        patient=patient,
        by=request.auth,  # type: ignore[attr-defined]
        request=request,
    )
    if status:
        return Status(status, booking)
    return Status(
        201,
        {
            "id": booking.pk,
            "session_id": booking.session_id,
            "patient_id": booking.patient_id,
            "enrollment_id": booking.enrollment_id,
            "kind": booking.kind,
            "status": booking.status,
        },
    )
