"""Issuing documents from a patient's record, and the disclosure log (42 CFR Part 2).

Every document given out of the record is a disclosure (DOMAIN.md §11): ``issue_document``
builds the PDF, takes its SHA-256, and in the same transaction writes the disclosure (what,
to whom, why, on which basis, by whom, when) and the audit event. Bad input is refused with
a ``ValidationError`` naming each field before anything is built or written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.documents import attendance, discharge, note, relapse_prevention
from openiop.clinical.documents import treatment_plan as plan_document
from openiop.clinical.documents.layout import DocumentContext, fmt_date, local
from openiop.clinical.models import (
    Disclosure,
    DisclosureBasis,
    DocumentKind,
    NoteStatus,
    PlanStatus,
)
from openiop.lib.dates import day_bounds, local_today
from openiop.patients.models import Patient
from openiop.programs.models import EnrollmentStatus

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import Site, User

CLINICAL_NOTE = DocumentKind.CLINICAL_NOTE.value
DOCUMENT_LABELS: dict[str, str] = dict(DocumentKind.choices)
DOCUMENT_TITLES = {
    DocumentKind.ATTENDANCE_LETTER: "Attendance Verification",
    DocumentKind.TREATMENT_PLAN: "Treatment Plan",
    DocumentKind.DISCHARGE_SUMMARY: "Discharge Summary",
    DocumentKind.RELAPSE_PREVENTION_PLAN: "Relapse-Prevention Plan",
    CLINICAL_NOTE: "Clinical Note",
}
# Who may issue what (the policy table): an attendance letter is not clinical content.
DOCUMENT_PERMISSIONS = {
    DocumentKind.ATTENDANCE_LETTER: "documents.attendance",
    DocumentKind.TREATMENT_PLAN: "documents.clinical",
    DocumentKind.DISCHARGE_SUMMARY: "documents.clinical",
    DocumentKind.RELAPSE_PREVENTION_PLAN: "documents.clinical",
    CLINICAL_NOTE: "documents.clinical",
}
CLINICAL_KINDS = [k for k, p in DOCUMENT_PERMISSIONS.items() if p == "documents.clinical"]

MAX_LETTER_DAYS = 366
MAX_AFTERCARE = 5000


@dataclass(frozen=True)
class IssuedDocument:
    pdf: bytes
    filename: str
    disclosure: Disclosure


def document_label(kind: str) -> str:
    return DOCUMENT_LABELS.get(kind, kind)


def _check_letter_range(
    start_on: date | None, end_on: date | None, today: date, errors: dict[str, list[str]]
) -> None:
    if start_on is None:
        errors.setdefault("start_on", []).append("Give the first day of the period.")
    if end_on is None:
        errors.setdefault("end_on", []).append("Give the last day of the period.")
    if start_on is None or end_on is None:
        return
    if end_on < start_on:
        errors.setdefault("end_on", []).append("The last day must be on or after the first day.")
    elif (end_on - start_on).days >= MAX_LETTER_DAYS:
        errors.setdefault("end_on", []).append("A letter covers one year at most.")
    if end_on > today:
        errors.setdefault("end_on", []).append(
            f"The period cannot end in the future (today is {fmt_date(today)} at the clinic)."
        )


def _context(
    patient: Patient,
    kind: str,
    *,
    recipient: str,
    purpose: str,
    basis: str,
    by: User,
    now: datetime,
) -> DocumentContext:
    site = patient.site
    return DocumentContext(
        title=DOCUMENT_TITLES[kind],
        site_name=site.name,
        site_address=site.address,
        time_zone=site.time_zone,
        patient_name=patient.display_name,
        patient_legal_name=patient.legal_name,
        patient_born_on=patient.date_of_birth,
        patient_mrn=patient.mrn,
        recipient=recipient,
        purpose=purpose,
        basis=DisclosureBasis(basis).label,
        issued_by=by.signature_name,
        generated_at=now,
    )


@transaction.atomic
def issue_document(
    *,
    patient: Patient,
    kind: str,
    recipient: str,
    purpose: str,
    basis: str,
    by: User,
    request: HttpRequest | None = None,
    start_on: date | None = None,
    end_on: date | None = None,
    plan_id: int | None = None,
    enrollment_id: int | None = None,
    note_id: int | None = None,
    aftercare: str = "",
) -> IssuedDocument:
    """Build the document, log the disclosure and audit it, all or nothing.

    ``kind`` picks the document and what it needs: an attendance letter ``start_on`` and
    ``end_on`` (at most a year, not ahead of today at the site); a treatment plan a signed
    ``plan_id``; a discharge summary a discharged ``enrollment_id`` and the clinician's
    ``aftercare`` text; a clinical note a signed ``note_id``; a relapse-prevention plan, the
    patient's latest version. Each record must be this patient's.
    """
    errors: dict[str, list[str]] = {}
    recipient, purpose, aftercare = recipient.strip(), purpose.strip(), aftercare.strip()
    if kind not in DOCUMENT_TITLES:
        raise ValidationError({"kind": "Choose a kind of document."})
    if not recipient:
        errors["recipient"] = ["Say to whom the document is given."]
    elif len(recipient) > 200:
        errors["recipient"] = ["At most 200 characters."]
    if not purpose:
        errors["purpose"] = ["Say what the document is for."]
    elif len(purpose) > 300:
        errors["purpose"] = ["At most 300 characters."]
    if basis not in DisclosureBasis.values:
        errors["basis"] = ["Choose the basis of this disclosure."]
    site = patient.site
    description = ""
    source: Any = None
    if kind == DocumentKind.ATTENDANCE_LETTER:
        _check_letter_range(start_on, end_on, local_today(site.time_zone), errors)
        if start_on and end_on:
            description = f"Attendance {start_on:%Y-%m-%d} to {end_on:%Y-%m-%d}"
    elif kind == DocumentKind.TREATMENT_PLAN:
        source = plan_document.load_plan(plan_id, patient_id=patient.pk) if plan_id else None
        if source is None:
            errors["plan"] = ["Choose one of this patient's treatment plans."]
        elif source.status != PlanStatus.SIGNED:
            errors["plan"] = ["Only a signed treatment plan can be issued. Sign it first."]
        else:
            description = f"Treatment plan version {source.number}"
    elif kind == DocumentKind.DISCHARGE_SUMMARY:
        source = (
            discharge.load_enrollment(enrollment_id, patient_id=patient.pk)
            if enrollment_id
            else None
        )
        if source is None:
            errors["enrollment"] = ["Choose one of this patient's enrollments."]
        elif source.status != EnrollmentStatus.DISCHARGED:
            errors["enrollment"] = ["A discharge summary needs a discharged enrollment."]
        else:
            description = (
                f"Discharge summary, {source.program.name},"
                f" discharged {source.discharged_on:%Y-%m-%d}"
            )
        if not aftercare:
            errors["aftercare"] = ["Write the recommendations and aftercare."]
        elif len(aftercare) > MAX_AFTERCARE:
            errors["aftercare"] = [f"At most {MAX_AFTERCARE} characters."]
    elif kind == CLINICAL_NOTE:
        source = note.load_note(note_id, patient_id=patient.pk) if note_id else None
        if source is None:
            errors["note"] = ["Choose one of this patient's notes."]
        elif source.status != NoteStatus.SIGNED:
            errors["note"] = ["Only a signed note can be issued. Sign it first."]
        else:
            description = f"{note.note_label(source, site.time_zone)} (note #{source.pk})"
    else:
        source = relapse_prevention.latest_plan(patient.pk)
        if source is None:
            errors["kind"] = ["This patient has no relapse-prevention plan yet."]
        else:
            description = f"Relapse-prevention plan version {source.number}"
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    ctx = _context(patient, kind, recipient=recipient, purpose=purpose, basis=basis, by=by, now=now)
    if kind == DocumentKind.ATTENDANCE_LETTER:
        assert start_on is not None and end_on is not None  # noqa: S101 - checked above
        pdf = attendance.build_attendance_letter(
            ctx,
            start_on=start_on,
            end_on=end_on,
            weeks=attendance.weekly_attendance(
                attendance.attended_sessions(patient, start_on=start_on, end_on=end_on),
                time_zone=site.time_zone,
                start_on=start_on,
                end_on=end_on,
            ),
            enrollments=attendance.enrollments_in_range(patient, start_on=start_on, end_on=end_on),
        )
    elif kind == DocumentKind.TREATMENT_PLAN:
        pdf = plan_document.build_treatment_plan(ctx, source)
    elif kind == DocumentKind.DISCHARGE_SUMMARY:
        pdf = discharge.build_discharge_summary(
            ctx, discharge.discharge_facts(patient, source), aftercare=aftercare
        )
    elif kind == CLINICAL_NOTE:
        pdf = note.build_note(ctx, source)
    else:
        pdf = relapse_prevention.build_relapse_prevention_plan(ctx, source)

    disclosure = Disclosure(
        site=site,
        patient=patient,
        document=kind,
        description=description[:300],
        recipient=recipient,
        purpose=purpose,
        basis=basis,
        disclosed_by=by,
        disclosed_at=now,
        content_sha256=hashlib.sha256(pdf).hexdigest(),
    )
    disclosure.full_clean()
    disclosure.save()
    record_event(
        request=request,
        actor=by,
        site=site,
        action=Action.EXPORT,
        object_type="disclosure",
        object_id=disclosure.pk,
        patient_id=patient.pk,
        detail=f"{document_label(kind)} PDF: {description}; to {recipient}"[:500],
    )
    filename = (
        f"{kind.replace('_', '-')}-{patient.mrn}-{local(now, site.time_zone).date():%Y%m%d}.pdf"
    )
    return IssuedDocument(pdf=pdf, filename=filename, disclosure=disclosure)


# --- The log -----------------------------------------------------------------------------


def patient_disclosures(patient: Patient) -> QuerySet[Disclosure]:
    return Disclosure.objects.filter(patient=patient).select_related("disclosed_by")


def site_disclosures(
    site: Site,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str = "",
    mrn: str = "",
) -> QuerySet[Disclosure]:
    """The site's disclosures matching the filters, newest first; days are the site's."""
    found = Disclosure.objects.filter(site=site).select_related("patient", "disclosed_by")
    if date_from is not None:
        found = found.filter(disclosed_at__gte=day_bounds(date_from, site.time_zone)[0])
    if date_to is not None:
        found = found.filter(disclosed_at__lt=day_bounds(date_to, site.time_zone)[1])
    if kind:
        found = found.filter(document=kind)
    if mrn:
        found = found.filter(patient__mrn__iexact=mrn.strip())
    return found.order_by("-disclosed_at", "-pk")
