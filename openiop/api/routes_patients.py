"""Patients over the API: search, register, read, edit with optimistic locking, deactivate.

A token spans every site where its user's role holds the permission; patients of other sites
answer 404 exactly like ids that do not exist. Every read and write is audited with the
patient id (a search is audited once, by the kind of query, never by the names asked for).
"""

# No ``from __future__ import annotations`` here: django-ninja builds its query model from the
# operation's annotations at import time and cannot resolve ``Query[...]`` given as a string.

from datetime import date, datetime
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict

from openiop.accounts.access import sites_with_permission
from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.patients.access import get_patient_for_user, visible_patients
from openiop.patients.models import Patient
from openiop.patients.queries import INVALID, search_patients
from openiop.patients.services import (
    StaleEdit,
    StillEnrolled,
    register_patient,
    set_patient_active,
    update_patient,
)

router = Router(tags=["patients"])

MAX_ID = 2**63 - 1


class PatientOut(Schema):
    id: int
    mrn: str = Field(description='Medical record number, unique in the organization ("OI0000123").')
    site_id: int
    first_name: str = Field(description="Legal first name.")
    last_name: str = Field(description="Legal last name.")
    preferred_name: str
    date_of_birth: date
    pronouns: str
    phone: str
    email: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    emergency_contact_name: str
    emergency_contact_phone: str
    emergency_contact_relationship: str
    primary_language: str
    is_active: bool
    version: int = Field(description="Send this back with PATCH; a stale one is refused (409).")
    created_at: datetime
    updated_at: datetime


class PatientPage(Schema):
    count: int = Field(description="How many patients match, over all pages.")
    results: list[PatientOut]
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")


class PatientFilters(Schema):
    q: str = Field(
        "",
        max_length=100,
        description=(
            "Name prefix (“Last, First” or “First Last”), MRN or its start, or date of birth"
            " (YYYY-MM-DD or MM/DD/YYYY). Empty lists everyone."
        ),
    )
    include_inactive: bool = False
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000_000)


def _text(max_length: int, description: str = "") -> Any:
    return Field("", max_length=max_length, description=description)


class PatientIn(Schema):
    """A new patient. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=100, description="Legal first name.")
    last_name: str = Field(min_length=1, max_length=100, description="Legal last name.")
    preferred_name: str = _text(100)
    date_of_birth: date = Field(description="YYYY-MM-DD; not in the future, not before 1900.")
    pronouns: str = _text(40)
    phone: str = _text(30)
    email: str = _text(254)
    address_line1: str = _text(200)
    address_line2: str = _text(200)
    city: str = _text(100)
    state: str = _text(40)
    postal_code: str = _text(20)
    emergency_contact_name: str = _text(200)
    emergency_contact_phone: str = _text(30)
    emergency_contact_relationship: str = _text(60)
    primary_language: str = Field("English", min_length=1, max_length=60)
    site_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description=(
            "Where the patient is registered. Required when you may register patients at"
            " several sites; defaults to your one site otherwise."
        ),
    )


# PATCH: every field optional (absent = unchanged); an explicit null is refused because the
# defaults below are not validated but a given null is.
def _optional(max_length: int, *, min_length: int = 0) -> Any:
    return Field(None, min_length=min_length, max_length=max_length)


class PatientPatch(Schema):
    """Changes to a patient: only the fields given change. ``version`` is the one you read."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_ID, description="The version you read (GET).")
    first_name: str = _optional(100, min_length=1)
    last_name: str = _optional(100, min_length=1)
    preferred_name: str = _optional(100)
    date_of_birth: date = Field(None)
    pronouns: str = _optional(40)
    phone: str = _optional(30)
    email: str = _optional(254)
    address_line1: str = _optional(200)
    address_line2: str = _optional(200)
    city: str = _optional(100)
    state: str = _optional(40)
    postal_code: str = _optional(20)
    emergency_contact_name: str = _optional(200)
    emergency_contact_phone: str = _optional(30)
    emergency_contact_relationship: str = _optional(60)
    primary_language: str = _optional(60, min_length=1)


def _unprocessable(
    fields: dict[str, list[str]], *, where: str = "payload"
) -> Status[dict[str, Any]]:
    """A 422 in the same shape as the API's request-validation errors ("payload.email")."""
    body = {
        "detail": [
            {
                "field": where if name == NON_FIELD_ERRORS else f"{where}.{name}",
                "message": message,
                "type": "value_error",
            }
            for name, messages in fields.items()
            for message in messages
        ]
    }
    return Status(422, body)


@router.get(
    "/patients",
    response={200: PatientPage, 401: Detail, 403: Detail, 422: ValidationErrors},
    summary="Search the patients of your sites by name, MRN or date of birth",
    auth=api_guard("patients.view"),
)
def list_patients(request: HttpRequest, filters: Query[PatientFilters]) -> Any:
    search = search_patients(
        visible_patients(request), filters.q, include_inactive=filters.include_inactive
    )
    record_event(
        request=request,
        actor=request.auth,  # type: ignore[attr-defined]
        action=Action.VIEW,
        object_type="patient_search",
        detail=f"{search.kind} search via API, offset {filters.offset}"
        + (", inactive included" if filters.include_inactive else ""),
    )
    if search.kind == INVALID:
        return _unprocessable({"q": [search.error]}, where="query")
    count = search.patients.count()
    end = filters.offset + filters.limit
    return {
        "count": count,
        "results": list(search.patients[filters.offset : end]),
        "next_offset": end if end < count else None,
    }


@router.post(
    "/patients",
    response={201: PatientOut, 401: Detail, 403: Detail, 422: ValidationErrors},
    summary="Register a patient; the MRN is assigned",
    auth=api_guard("patients.register"),
)
def create_patient(request: HttpRequest, payload: PatientIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    sites = sites_with_permission(user, "patients.register")
    if payload.site_id is None:
        if len(sites) != 1:
            return _unprocessable(
                {"site_id": ["You may register patients at several sites; name one with site_id."]}
            )
        site = sites[0]
    else:
        site = next((s for s in sites if s.pk == payload.site_id), None)
        if site is None:
            return _unprocessable(
                {"site_id": ["No such site, or you may not register patients there."]}
            )
    fields = payload.model_dump(exclude={"site_id"})
    try:
        patient = register_patient(site=site, by=user, request=request, **fields)
    except ValidationError as exc:
        return _unprocessable(exc.message_dict)
    return Status(201, patient)


@router.get(
    "/patients/{patient_id}",
    response={200: PatientOut, 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="One patient",
    auth=api_guard("patients.view"),
)
def get_patient(request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)) -> Patient:
    return get_patient_for_user(request, patient_id, detail="via API")


@router.patch(
    "/patients/{patient_id}",
    response={
        200: PatientOut,
        401: Detail,
        403: Detail,
        404: Detail,
        409: Detail,
        422: ValidationErrors,
    },
    summary="Change some of a patient's details; refused (409) if it changed since you read it",
    auth=api_guard("patients.edit"),
)
def patch_patient(
    request: HttpRequest,
    payload: PatientPatch,
    patient_id: int = Path(..., ge=1, le=MAX_ID),
) -> Any:
    patient = get_patient_for_user(
        request, patient_id, permission="patients.edit", detail="edit via API"
    )
    changes = payload.model_dump(exclude_unset=True, exclude={"version"})
    try:
        return update_patient(
            patient=patient,
            expected_version=payload.version,
            changes=changes,
            by=request.auth,  # type: ignore[attr-defined]
            request=request,
        )
    except StaleEdit as exc:
        raise HttpError(409, exc.message) from None
    except ValidationError as exc:
        return _unprocessable(exc.message_dict)


def _set_active(request: HttpRequest, patient_id: int, *, active: bool) -> Patient:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="patients.deactivate",
        detail=("reactivate" if active else "deactivate") + " via API",
    )
    try:
        return set_patient_active(
            patient=patient,
            active=active,
            by=request.auth,  # type: ignore[attr-defined]
            request=request,
        )
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    except StillEnrolled as exc:
        raise HttpError(409, str(exc)) from None


@router.post(
    "/patients/{patient_id}/deactivate",
    response={200: PatientOut, 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="Mark a patient inactive (never deleted); directors only",
    auth=api_guard("patients.deactivate"),
)
def deactivate_patient(
    request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> Patient:
    return _set_active(request, patient_id, active=False)


@router.post(
    "/patients/{patient_id}/reactivate",
    response={200: PatientOut, 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="Mark an inactive patient active again; directors only",
    auth=api_guard("patients.deactivate"),
)
def reactivate_patient(
    request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> Patient:
    return _set_active(request, patient_id, active=True)
