"""Documents and the disclosure log over the API.

A patient's disclosure log, and issuing an attendance verification letter, which answers the
PDF itself (``application/pdf``) and logs the disclosure like the screen does. Patients of
sites where the token's role lacks the permission answer 404, like ids that do not exist.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the annotations at
# import time.

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Router, Schema, Status

from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action
from openiop.clinical.disclosures import DOCUMENT_LABELS, issue_document, patient_disclosures
from openiop.clinical.models import DisclosureBasis, DocumentKind
from openiop.patients.access import get_patient_for_user

router = Router(tags=["documents"])

MAX_ID = 2**63 - 1


class DisclosureOut(Schema):
    id: int
    patient_id: int
    document: str = Field(description="attendance_letter, treatment_plan, discharge_summary, …")
    document_label: str
    description: str
    recipient: str
    purpose: str
    basis: str = Field(description=", ".join(DisclosureBasis.values))
    disclosed_by_id: int
    disclosed_by_name: str
    disclosed_at: datetime
    content_sha256: str = Field(description="SHA-256 of the PDF that was given out.")


class AttendanceLetterIn(Schema):
    recipient: str = Field(max_length=200, description="To whom: an employer, a court …")
    purpose: str = Field(max_length=300)
    basis: str = Field(
        max_length=20,
        description="Basis of the disclosure: " + ", ".join(DisclosureBasis.values),
    )
    start_on: date = Field(description="First day, in the site's time zone.")
    end_on: date = Field(
        description="Last day, inclusive; at most a year after start_on and not in the future."
    )


def _unprocessable(exc: ValidationError) -> dict[str, Any]:
    pairs = [(f, m) for f, messages in exc.message_dict.items() for m in messages]
    return {
        "detail": [
            {"field": f"payload.{field}", "message": message, "type": "value_error"}
            for field, message in pairs
        ]
    }


@router.get(
    "/patients/{patient_id}/disclosures",
    response={200: list[DisclosureOut], 401: Detail, 403: Detail, 404: Detail},
    summary="A patient's disclosure log, newest first (42 CFR Part 2)",
    auth=api_guard("disclosures.view"),
)
def list_disclosures(
    request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> list[dict[str, Any]]:
    patient = get_patient_for_user(
        request, patient_id, permission="disclosures.view", object_type="disclosure_log"
    )
    return [
        {
            "id": d.pk,
            "patient_id": d.patient_id,
            "document": d.document,
            "document_label": DOCUMENT_LABELS.get(d.document, d.document),
            "description": d.description,
            "recipient": d.recipient,
            "purpose": d.purpose,
            "basis": d.basis,
            "disclosed_by_id": d.disclosed_by_id,
            "disclosed_by_name": d.disclosed_by.signature_name,
            "disclosed_at": d.disclosed_at,
            "content_sha256": d.content_sha256,
        }
        for d in patient_disclosures(patient)
    ]


@router.post(
    "/patients/{patient_id}/documents/attendance-letter",
    response={401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="Issue an attendance verification letter (answers application/pdf; logged)",
    auth=api_guard("documents.attendance"),
    openapi_extra={
        "responses": {
            "200": {
                "description": "The PDF; the disclosure is in the patient's log.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def issue_attendance_letter(
    request: HttpRequest, payload: AttendanceLetterIn, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="documents.attendance",
        action=Action.VIEW,
        object_type="document",
        detail="issue attendance verification letter",
    )
    try:
        issued = issue_document(
            patient=patient,
            kind=DocumentKind.ATTENDANCE_LETTER,
            recipient=payload.recipient,
            purpose=payload.purpose,
            basis=payload.basis,
            start_on=payload.start_on,
            end_on=payload.end_on,
            by=request.auth,  # type: ignore[attr-defined]
            request=request,
        )
    except ValidationError as exc:
        return Status(422, _unprocessable(exc))
    response = HttpResponse(issued.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{issued.filename}"'
    response["Cache-Control"] = "no-store"
    return response
