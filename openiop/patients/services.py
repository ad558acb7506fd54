"""Patient actions: register, edit with optimistic locking, deactivate and reactivate.

Every write of a patient goes through here. Each function is atomic, validates the whole
record (``full_clean`` plus the rules below) before anything is written, and appends an audit
event naming the patient. Values of changed fields never go into the audit trail (they are
protected health information); only the names of the fields do.

MRN format: ``OI`` followed by the sequence number zero-padded to seven digits ("OI0000123").
The number comes from the single ``MrnSequence`` row, locked with ``SELECT … FOR UPDATE``
while it is incremented, so concurrent registrations on any app server queue on that row
and every MRN is unique across the organization (the ``mrn`` column is also UNIQUE). Past
9,999,999 the number simply grows an eighth digit. A number is issued when the registration
commits: a registration that rolls back rolls its increment back too, so MRNs have no gaps
and no MRN ever names two people.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from openiop.accounts.models import Membership, Site, User
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import zone
from openiop.patients.models import MrnSequence, Patient

MRN_PREFIX = "OI"
MRN_DIGITS = 7
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# The demographic and contact fields a person may register or edit, in form order.
EDITABLE_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "pronouns",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
    "primary_language",
)

STALE_EDIT_MESSAGE = (
    "Someone else changed this patient since you opened it; reload to see their change."
)

# Loose on purpose: clinics type numbers in many ways ("(555) 010-0199", "+1 555 010 0199",
# "555.010.0199 x12"). What matters is that a person can dial it: 7 to 15 digits
# (E.164 allows at most 15), only the usual separators, and an optional extension.
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-/]+((x|ext\.?)\s*[0-9]{1,6})?$", re.IGNORECASE)
_EXTENSION = re.compile(r"(x|ext\.?)\s*[0-9]{1,6}$", re.IGNORECASE)


class StaleEdit(Exception):
    """The patient changed since the editor read it; nothing was written (HTTP 409)."""

    def __init__(self, message: str = STALE_EDIT_MESSAGE) -> None:
        super().__init__(message)
        self.message = message


def format_mrn(number: int) -> str:
    """``OI`` and the number, zero-padded to seven digits: 123 → "OI0000123"."""
    return f"{MRN_PREFIX}{number:0{MRN_DIGITS}d}"


def allocate_mrn() -> str:
    """Take the next MRN. Call inside a transaction: the sequence row stays locked until commit."""
    sequence, _ = MrnSequence.objects.select_for_update().get_or_create(pk=1)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return format_mrn(sequence.last_value)


def phone_error(value: str) -> str | None:
    """Why ``value`` is not a usable phone number, or None (blank is allowed)."""
    if not value:
        return None
    if not _PHONE_CHARS.match(value):
        return (
            "Enter a phone number with digits, spaces, ( ) - . + and an optional “x123” extension."
        )
    digits = re.sub(r"\D", "", _EXTENSION.sub("", value))
    if not 7 <= len(digits) <= 15:
        return "A phone number has 7 to 15 digits (not counting an extension)."
    return None


def _normalise(fields: dict[str, Any]) -> dict[str, Any]:
    """Trim text (collapsing inner runs of spaces in names) and read ISO dates."""
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, str):
            value = " ".join(value.split()) if name != "email" else value.strip()
        if name == "date_of_birth" and isinstance(value, str):
            with contextlib.suppress(ValueError):  # else full_clean names the field
                value = date.fromisoformat(value)
        cleaned[name] = value
    return cleaned


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({NON_FIELD_ERRORS: [f"Unknown field(s): {', '.join(unknown)}."]})


def _validate(patient: Patient) -> None:
    """Model validation plus the clinic's rules, all errors at once, keyed by field name.

    The clinic's messages come first; the model's generic ones fill in the other fields.
    """
    errors: dict[str, list[str]] = {}
    for name, label in (("first_name", "legal first name"), ("last_name", "legal last name")):
        if not (getattr(patient, name) or "").strip():
            errors[name] = [f"Enter the patient's {label}."]
    if not (patient.primary_language or "").strip():
        errors["primary_language"] = ["Enter the patient's primary language."]
    born = patient.date_of_birth
    if born in (None, ""):
        errors["date_of_birth"] = ["Enter the date of birth."]
    elif isinstance(born, date):
        problem = birth_date_error(born, patient.site if patient.site_id else None)
        if problem:
            errors["date_of_birth"] = [problem]
    for name in ("phone", "emergency_contact_phone"):
        problem = phone_error(getattr(patient, name) or "")
        if problem:
            errors[name] = [problem]
    try:
        patient.full_clean(exclude=["site", "version", *errors], validate_unique=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, list(messages))
    if errors:
        raise ValidationError(errors)


def birth_date_error(born: date, site: Site | None) -> str | None:
    """Why ``born`` cannot be a date of birth, or None. "Today" is the site's today."""
    today = timezone.localdate(timezone=zone(site.time_zone) if site is not None else None)
    if born > today:
        return "The date of birth cannot be in the future."
    if born < EARLIEST_BIRTH_DATE:
        return "The date of birth cannot be before 1900."
    return None


def _changed_field_names(patient: Patient, changes: dict[str, Any]) -> list[str]:
    return [
        name
        for name in EDITABLE_FIELDS
        if name in changes and getattr(patient, name) != changes[name]
    ]


@transaction.atomic
def register_patient(
    *, site: Site, by: User | None, request: HttpRequest | None = None, **fields: Any
) -> Patient:
    """Register a patient at ``site`` with a new MRN; raises ValidationError keyed by field.

    ``fields`` are the names in ``EDITABLE_FIELDS``. Audited as CREATE with the patient id.
    """
    _check_fields(fields)
    fields = _normalise(fields)
    patient = Patient(site=site, mrn="pending", **fields)
    patient.refresh_search_keys()
    # Validate before taking a number so bad input never holds the sequence lock.
    _validate(patient)
    patient.mrn = allocate_mrn()
    patient.full_clean(exclude=["site"])
    patient.save()
    record_event(
        request=request,
        actor=by,
        site=site,
        action=Action.CREATE,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        detail=f"registered {patient.mrn}",
    )
    return patient


@transaction.atomic
def update_patient(
    *,
    patient: Patient | None = None,
    patient_id: int | None = None,
    expected_version: int,
    changes: dict[str, Any],
    by: User | None,
    request: HttpRequest | None = None,
) -> Patient:
    """Apply ``changes`` if the patient is still at ``expected_version``; returns it refreshed.

    The check is done by the database: ``UPDATE … WHERE id = … AND version = expected``
    increments the version, and when no row matches (someone saved first) ``StaleEdit`` is
    raised and nothing is written. Invalid values raise ValidationError keyed by field.
    Audited as UPDATE; the detail names the changed fields, never their values.
    """
    if patient is None:
        if patient_id is None:
            raise TypeError("update_patient needs patient or patient_id")
        patient = Patient.objects.select_related("site").get(pk=patient_id)
    _check_fields(changes)
    changes = _normalise(changes)
    current = Patient.objects.select_related("site").get(pk=patient.pk)
    if current.version != expected_version:
        raise StaleEdit()
    changed = _changed_field_names(current, changes)
    if not changed:
        return current
    for name in changed:
        setattr(current, name, changes[name])
    current.refresh_search_keys()
    _validate(current)
    written = Patient.objects.filter(pk=current.pk, version=expected_version).update(
        **{name: getattr(current, name) for name in changed},
        first_name_key=current.first_name_key,
        last_name_key=current.last_name_key,
        preferred_name_key=current.preferred_name_key,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    if written == 0:
        raise StaleEdit()
    record_event(
        request=request,
        actor=by,
        site=current.site,
        action=Action.UPDATE,
        object_type="patient",
        object_id=current.pk,
        patient_id=current.pk,
        detail=f"changed: {', '.join(changed)}",
    )
    current.refresh_from_db()
    return current


def _may_deactivate(user: User | None, site: Site) -> bool:
    if user is None:
        return False
    membership = Membership.objects.filter(user=user, site=site).first()
    return membership is not None and role_may(membership.role, "patients.deactivate")


class StillEnrolled(ValueError):
    """A patient with an active enrollment cannot be made inactive."""


@transaction.atomic
def set_patient_active(
    *,
    patient: Patient,
    active: bool,
    by: User | None,
    request: HttpRequest | None = None,
) -> Patient:
    """Mark a patient inactive (``active=False``) or active again. Patients are never deleted.

    Only a role holding ``patients.deactivate`` at the patient's site (the director) may do
    it; anyone else gets PermissionDenied. Bumps the version so open edit forms notice.
    Setting the state it already has is a no-op (nothing written, nothing audited).
    """
    if not _may_deactivate(by, patient.site):
        raise PermissionDenied("Only a director can deactivate or reactivate a patient.")
    # Someone in treatment keeps an active record: discharge first, so bookings end properly.
    if not active and patient.enrollments.filter(status="active").exists():
        raise StillEnrolled(
            f"{patient.display_name} is still enrolled in a program; discharge them first."
        )
    written = (
        Patient.objects.filter(pk=patient.pk)
        .exclude(is_active=active)
        .update(is_active=active, version=F("version") + 1, updated_at=timezone.now())
    )
    if written:
        record_event(
            request=request,
            actor=by,
            site=patient.site,
            action=Action.UPDATE,
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
            detail="reactivated" if active else "deactivated",
        )
    patient.refresh_from_db()
    return patient
