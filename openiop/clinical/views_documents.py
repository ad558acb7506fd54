"""Issuing documents from the chart, and the site's disclosure log.

The issue screen reaches the patient through the access helper (404 for anyone else's
patient), parses the form, calls ``issue_document`` and hands the PDF over as a download
that no cache keeps. The log lists what left the record, for auditors and directors.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from openiop.accounts.access import current_role, requires
from openiop.accounts.models import Site
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.audit.views import FORMULA_START
from openiop.clinical.disclosures import (
    CLINICAL_KINDS,
    DOCUMENT_LABELS,
    DOCUMENT_PERMISSIONS,
    issue_document,
    site_disclosures,
)
from openiop.clinical.documents.layout import PART2_NOTICE, PART2_NOTICE_TITLE
from openiop.clinical.forms_documents import DisclosureFilterForm, IssueDocumentForm
from openiop.clinical.models import Disclosure, DisclosureBasis, DocumentKind
from openiop.lib.dates import local_today
from openiop.patients.access import get_patient_for_user

PAGE_SIZE = 50

# What each document holds, shown beside the form so the clinician knows what leaves.
CONTENTS = {
    DocumentKind.ATTENDANCE_LETTER: (
        "Dates attended and hours attended, week by week (Monday–Sunday), with totals, the "
        "program and level of care. No diagnoses, notes, screens or session topics."
    ),
    DocumentKind.TREATMENT_PLAN: (
        "One signed plan version: problems, goals, objectives with target dates and status, "
        "interventions, the signature, the patient's acknowledgement and the fingerprint."
    ),
    DocumentKind.DISCHARGE_SUMMARY: (
        "Admission and discharge dates and reason, levels of care and transfers, attendance "
        "totals, curriculum modules completed, the last plan's goals and objective statuses, "
        "and your recommendations and aftercare."
    ),
    "clinical_note": (
        "One signed note of this patient with its addenda and co-signature. A group note "
        "holds the shared part and this patient's own part only."
    ),
    DocumentKind.RELAPSE_PREVENTION_PLAN: (
        "The latest version of the relapse-prevention plan: triggers, warning signs, "
        "high-risk situations, coping strategies, craving plan, supports and emergency steps."
    ),
}


def _issue(request: HttpRequest, patient_id: int, kind: str) -> HttpResponse:
    permission = DOCUMENT_PERMISSIONS[kind]
    label = DOCUMENT_LABELS[kind]
    what = f"issue {label.lower()}" + (": form" if request.method == "GET" else "")
    patient = get_patient_for_user(
        request, patient_id, permission=permission, object_type="document", detail=what
    )
    today = local_today(patient.site.time_zone)
    data = request.POST if request.method == "POST" else None
    form = IssueDocumentForm(data, kind=kind, patient=patient, today=today)
    status = 200
    if form.is_bound:
        if form.is_valid():
            try:
                issued = issue_document(
                    patient=patient,
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                response = HttpResponse(issued.pdf, content_type="application/pdf")
                response["Content-Disposition"] = f'attachment; filename="{issued.filename}"'
                response["Cache-Control"] = "no-store"
                return response
        status = 400
    role = current_role(request)
    kinds = [
        {
            "kind": k,
            "label": DOCUMENT_LABELS[k],
            "url": issue_url(patient.pk, k),
            "active": k == kind,
        }
        for k in [DocumentKind.ATTENDANCE_LETTER, *CLINICAL_KINDS]
        if role_may(role, DOCUMENT_PERMISSIONS[k])
    ]
    return render(
        request,
        "clinical/document_issue.html",
        {
            "patient": patient,
            "form": form,
            "kind": kind,
            "label": label,
            "kinds": kinds,
            "contents": CONTENTS[kind],
            "notice_title": PART2_NOTICE_TITLE,
            "notice": PART2_NOTICE,
            "time_zone": patient.site.time_zone,
        },
        status=status,
    )


def issue_url(patient_id: int, kind: str) -> str:
    if kind == DocumentKind.ATTENDANCE_LETTER:
        return reverse("document-attendance-letter", args=[patient_id])
    return f"{reverse('document-issue', args=[patient_id])}?kind={kind}"


@never_cache
@require_http_methods(["GET", "POST"])
@requires("documents.clinical")
def issue_clinical_document(request: HttpRequest, patient_id: int) -> HttpResponse:
    kind = request.GET.get("kind") or DocumentKind.TREATMENT_PLAN
    if kind == DocumentKind.ATTENDANCE_LETTER:
        return HttpResponseRedirect(reverse("document-attendance-letter", args=[patient_id]))
    if kind not in CLINICAL_KINDS:
        kind = DocumentKind.TREATMENT_PLAN
    return _issue(request, patient_id, kind)


@never_cache
@require_http_methods(["GET", "POST"])
@requires("documents.attendance")
def issue_attendance_letter(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _issue(request, patient_id, DocumentKind.ATTENDANCE_LETTER)


# --- The site's disclosure log ------------------------------------------------------------


def _matching(form: DisclosureFilterForm, site: Site) -> QuerySet[Disclosure]:
    data = form.cleaned_data
    return site_disclosures(
        site,
        date_from=data["date_from"],
        date_to=data["date_to"],
        kind=data["kind"],
        mrn=data["mrn"],
    )


def _describe(form: DisclosureFilterForm) -> str:
    return "; ".join(f"{k}={v}" for k, v in form.applied().items()) or "none"


@never_cache
@require_GET
@requires("disclosures.view")
def disclosure_log(request: HttpRequest) -> HttpResponse:
    site: Site = request.site  # type: ignore[attr-defined]
    form = DisclosureFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "time_zone": site.time_zone, "total": None}
    if not form.is_valid():
        return render(request, "clinical/disclosure_log.html", context, status=400)
    page = Paginator(_matching(form, site), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for row in rows:
        row.document_label = DOCUMENT_LABELS.get(row.document, row.document)  # type: ignore[attr-defined]
    # The log names patients: reading it is audited, with the filters and what was shown.
    record_event(
        request=request,
        site=site,
        action=Action.VIEW,
        object_type="disclosure_log",
        detail=f"page {page.number}, {len(rows)} of {page.paginator.count}; "
        f"filters: {_describe(form)}",
    )
    context.update(
        page=page,
        rows=rows,
        total=page.paginator.count,
        filtered=bool(form.applied()),
        may_open_charts=role_may(current_role(request), "patients.view"),
    )
    return render(request, "clinical/disclosure_log.html", context)


class _Echo:
    """csv.writer wants a file; this one hands each line back for streaming."""

    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


EXPORT_HEADER = [
    "id",
    "disclosed_at_utc",
    "patient_id",
    "patient_mrn",
    "patient_name",
    "document",
    "description",
    "recipient",
    "purpose",
    "basis",
    "disclosed_by",
    "content_sha256",
]
BASIS_LABELS = dict(DisclosureBasis.choices)


def _csv_lines(disclosures: QuerySet[Disclosure]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_HEADER)
    for d in disclosures.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(value)
                for value in (
                    d.pk,
                    d.disclosed_at,
                    d.patient_id,
                    d.patient.mrn,
                    d.patient.legal_name,
                    DOCUMENT_LABELS.get(d.document, d.document),
                    d.description,
                    d.recipient,
                    d.purpose,
                    BASIS_LABELS.get(d.basis, d.basis),
                    d.disclosed_by.signature_name,
                    d.content_sha256,
                )
            ]
        )


@never_cache
@require_GET
@requires("disclosures.view")
def disclosure_log_export(request: HttpRequest) -> HttpResponse:
    site: Site = request.site  # type: ignore[attr-defined]
    form = DisclosureFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "time_zone": site.time_zone, "total": None}
        return render(request, "clinical/disclosure_log.html", context, status=400)
    as_of = timezone.now()
    disclosures = _matching(form, site).filter(disclosed_at__lte=as_of)
    count = disclosures.count()
    record_event(
        request=request,
        site=site,
        action=Action.EXPORT,
        object_type="disclosure_log",
        detail=f"CSV, {count} row(s); filters: {_describe(form)}",
    )
    response = StreamingHttpResponse(
        _csv_lines(disclosures), content_type="text/csv; charset=utf-8"
    )
    filename = f"disclosures-site{site.pk}-{as_of.astimezone(UTC):%Y%m%dT%H%M%SZ}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
