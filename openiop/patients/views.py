"""Patient screens: the list with search, registration, edit, deactivate and reactivate."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.access import requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import local_today
from openiop.patients.access import get_patient_for_user, visible_patients
from openiop.patients.forms import COMMON_LANGUAGES, PatientEditForm, PatientForm, initial_for
from openiop.patients.queries import ALL, PAGE_SIZE, search_patients
from openiop.patients.services import (
    StaleEdit,
    StillEnrolled,
    register_patient,
    set_patient_active,
    update_patient,
)


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _may(request: HttpRequest, permission: str) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and role_may(membership.role, permission)


@require_GET
@requires("patients.view")
def patient_list_view(request: HttpRequest) -> HttpResponse:
    q = " ".join(request.GET.get("q", "").split())[:100]
    include_inactive = request.GET.get("status") == "all"
    search = search_patients(visible_patients(request), q, include_inactive=include_inactive)
    page = Paginator(search.patients, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    today = local_today(request.site.time_zone)  # type: ignore[attr-defined]
    for patient in rows:
        patient.age = _age(patient.date_of_birth, today)  # type: ignore[attr-defined]
    # Audited once per search; the detail is the kind of query, never the names typed.
    record_event(
        request=request,
        action=Action.VIEW,
        object_type="patient_search",
        detail=f"{search.kind} search, page {page.number}"
        + (", inactive included" if include_inactive else ""),
    )
    registered_any = bool(rows) or bool(q) or visible_patients(request).exists()
    return render(
        request,
        "patients/patient_list.html",
        {
            "q": q,
            "include_inactive": include_inactive,
            "search": search,
            "searched": search.kind != ALL,
            "page": page,
            "rows": rows,
            "total": page.paginator.count,
            "registered_any": registered_any,
            "may_register": _may(request, "patients.register"),
        },
    )


@require_http_methods(["GET", "POST"])
@requires("patients.register")
def patient_create_view(request: HttpRequest) -> HttpResponse:
    form = PatientForm(request.POST or None, site=request.site)  # type: ignore[attr-defined]
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                patient = register_patient(
                    site=request.site,  # type: ignore[attr-defined]
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                    **form.patient_fields(),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request, f"{patient.display_name} is registered with MRN {patient.mrn}."
                )
                return redirect("patient-chart", patient_id=patient.pk)
        status = 422
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "patient": None, "languages": COMMON_LANGUAGES},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@requires("patients.edit")
def patient_edit_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="patients.edit",
        detail="edit form" if request.method == "GET" else "edit submitted",
    )
    status = 200
    stale = False
    if request.method == "POST":
        form = PatientEditForm(request.POST, site=patient.site)
        if form.is_valid():
            try:
                update_patient(
                    patient=patient,
                    expected_version=form.cleaned_data["version"],
                    changes=form.patient_fields(),
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                )
            except StaleEdit as exc:
                # Keep what the person typed so they can compare after reloading.
                form.add_error(None, exc.message)
                stale = True
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"{patient.display_name}'s details were saved.")
                return redirect("patient-chart", patient_id=patient.pk)
        status = 409 if stale else 422
    else:
        form = PatientEditForm(initial=initial_for(patient))
    return render(
        request,
        "patients/patient_form.html",
        {
            "form": form,
            "patient": patient,
            "stale": stale,
            "languages": COMMON_LANGUAGES,
            "may_deactivate": _may(request, "patients.deactivate"),
        },
        status=status,
    )


def _set_active(request: HttpRequest, patient_id: int, *, active: bool) -> HttpResponse:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="patients.deactivate",
        detail="reactivate" if active else "deactivate",
    )
    was_active = patient.is_active
    try:
        set_patient_active(patient=patient, active=active, by=request.user, request=request)  # type: ignore[arg-type]
    except StillEnrolled as exc:
        messages.error(request, str(exc))
        return redirect(reverse("patient-edit", kwargs={"patient_id": patient.pk}))
    if was_active == active:
        messages.info(
            request, f"{patient.display_name} was already {'active' if active else 'inactive'}."
        )
    elif active:
        messages.success(request, f"{patient.display_name} is active again.")
    else:
        messages.success(
            request,
            f"{patient.display_name} is now inactive and hidden from the patient list;"
            " the record is kept.",
        )
    return redirect(reverse("patient-edit", kwargs={"patient_id": patient.pk}))


@require_POST
@requires("patients.deactivate")
def patient_deactivate_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _set_active(request, patient_id, active=False)


@require_POST
@requires("patients.deactivate")
def patient_reactivate_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _set_active(request, patient_id, active=True)
