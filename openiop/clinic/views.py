"""The screens that bring the lower apps together: the patient chart, census, at-risk list."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from openiop.accounts.access import requires
from openiop.lib.dates import local_today
from openiop.patients.access import get_patient_for_user


def _url_or(name: str, literal: str, *args: object) -> str:
    """The named route when its owner has wired it, else the agreed literal path."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return literal


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@require_GET
@requires("patients.view")
def patient_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, object_type="chart")
    today = local_today(patient.site.time_zone)
    return render(
        request,
        "clinic/patient_chart.html",
        {
            "patient": patient,
            "age": _age(patient.date_of_birth, today),
            "edit_url": _url_or("patient-edit", f"/patients/{patient.pk}/edit/", patient.pk),
        },
    )
