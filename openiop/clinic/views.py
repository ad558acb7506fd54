"""The screens that bring the lower apps together: the patient chart, census, at-risk list."""

from __future__ import annotations

from datetime import date

from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from openiop.accounts.access import current_role, requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinic import queries
from openiop.clinic.charts import hours_chart
from openiop.clinical import chart_documents, chart_notes, chart_plans
from openiop.measures import (
    chart_measures,
    chart_placement,
    chart_reviews,
    chart_safety,
    chart_trends,
)
from openiop.medications import chart_medications
from openiop.patients.access import get_patient_for_user
from openiop.scheduling.curriculum import patient_curriculum
from openiop.scheduling.hours import WeekStatus
from openiop.screening import chart_screens


def _url_or(name: str, literal: str, *args: object) -> str:
    """The named route when its owner has wired it, else the agreed literal path."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return literal


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


LEGEND = [
    (WeekStatus.MET, "Met the floor"),
    (WeekStatus.ON_TRACK, "On track"),
    (WeekStatus.AT_RISK, "At risk"),
    (WeekStatus.MISSED, "Missed"),
]


@require_GET
@requires("patients.view")
def patient_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, object_type="chart")
    chart = queries.patient_chart(
        patient=patient, now=timezone.now(), history_page=request.GET.get("page", 1)
    )
    role = current_role(request)
    pid = patient.pk
    active = chart.active
    actions = {}
    if active is None and patient.is_active and role_may(role, "enrollments.admit"):
        actions["admit"] = _url_or("enrollment-admit", f"/patients/{pid}/admit/", pid)
    if active is not None and role_may(role, "enrollments.change"):
        eid = active.pk
        base = f"/patients/{pid}/enrollments/{eid}"
        actions["discharge"] = _url_or("enrollment-discharge", f"{base}/discharge/", pid, eid)
        actions["transfer"] = _url_or("enrollment-transfer", f"{base}/transfer/", pid, eid)
    curriculum = patient_curriculum(patient)
    # Clinical sections, each None when the role may not see it.
    panels = {
        "notes": chart_notes.panel(request, patient),
        "plans": chart_plans.panel(request, patient),
        "documents": chart_documents.panel(request, patient),
        "screens": chart_screens.panel(request, patient),
        "medications": chart_medications.panel(request, patient),
        "placement": chart_placement.panel(request, patient),
        "reviews": chart_reviews.panel(request, patient),
        "safety": chart_safety.panel(request, patient),
        "trends": chart_trends.panel(request, patient),
        "measures": chart_measures.panel(request, patient),
    }
    return render(
        request,
        "clinic/patient_chart.html",
        {
            "patient": patient,
            "chart": chart,
            "curriculum": curriculum,
            "panels": panels,
            "curriculum_done": sum(1 for item in curriculum if item.completed),
            "age": _age(patient.date_of_birth, chart.today),
            "edit_url": (
                _url_or("patient-edit", f"/patients/{pid}/edit/", pid)
                if role_may(role, "patients.edit")
                else ""
            ),
            "actions": actions,
            "hours_chart": hours_chart(chart.weeks, current=chart.current_week),
            "legend": LEGEND,
            "time_zone": patient.site.time_zone,
        },
    )


@require_GET
@requires("hours.view")
def census(request: HttpRequest) -> HttpResponse:
    site = request.site  # type: ignore[attr-defined]
    return render(
        request,
        "clinic/census.html",
        {"census": queries.site_census(site=site), "time_zone": site.time_zone},
    )


AT_RISK_PAGE_SIZE = 50


@require_GET
@requires("hours.view")
def at_risk(request: HttpRequest) -> HttpResponse:
    site = request.site  # type: ignore[attr-defined]
    found = queries.site_at_risk(site=site, now=timezone.now())
    # The list names patients: one event records that it was read and how many it showed.
    record_event(
        request=request,
        actor=request.user,  # type: ignore[arg-type]
        site=site,
        action=Action.VIEW,
        object_type="at_risk_list",
        detail=(
            f"{found.week}: {len(found.at_risk)} at risk; "
            f"{found.last_week}: {len(found.missed_last_week)} missed"
        ),
    )
    # Each list is paged, so a large site's page stays quick; the worst cases come first.
    risk_page = Paginator(found.at_risk, AT_RISK_PAGE_SIZE).get_page(request.GET.get("page"))
    missed_page = Paginator(found.missed_last_week, AT_RISK_PAGE_SIZE).get_page(
        request.GET.get("missed_page")
    )
    # Program, track and therapist only for the rows shown: three queries whatever the size.
    prefetch_related_objects(
        [row.enrollment for row in [*risk_page.object_list, *missed_page.object_list]],
        "program",
        "track",
        "primary_therapist",
    )
    return render(
        request,
        "clinic/at_risk.html",
        {
            "found": found,
            "time_zone": site.time_zone,
            "risk_page": risk_page,
            "missed_page": missed_page,
        },
    )
