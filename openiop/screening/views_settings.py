"""Screening settings (directors) and the week's screens and injections.

- Settings (``screening.manage``): each program's screening phases (the defaults shown when a
  program has none), the panels of test kits and labs with their cutoffs, and the
  specimen-validity bounds with the "(verify)" ones marked. Under Program setup.
- "Screens and injections" (``screens.view``): screens called today and not yet collected,
  unexpected results awaiting review, injections due or overdue this week.

The alerts list that lived here is the attention list now (``openiop.measures.views_attention``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.access import requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import local_today
from openiop.medications.schedule import site_label
from openiop.medications.services import injections_due_for_site
from openiop.programs.forms import apply_errors
from openiop.programs.models import Program
from openiop.screening import services_settings as services
from openiop.screening.catalog import Verdict
from openiop.screening.defaults import DEFAULT_PHASES
from openiop.screening.forms_settings import PanelForm, PhaseForm, ValidityForm
from openiop.screening.models import (
    DrugScreen,
    Panel,
    ScreeningPhase,
    ScreenStatus,
)
from openiop.screening.validity import ValidityBounds


def _site(request: HttpRequest) -> Any:
    return request.site  # type: ignore[attr-defined]


def _user(request: HttpRequest) -> Any:
    return request.user


def _role(request: HttpRequest) -> str | None:
    membership = getattr(request, "membership", None)
    return membership.role if membership is not None else None


# --- Settings overview -----------------------------------------------------------------------


def _percent(chance: Any) -> str:
    value = (chance * 100).normalize()
    return format(value, "f")


@require_GET
@requires("screening.manage")
def settings_view(request: HttpRequest) -> HttpResponse:
    site = _site(request)
    programs = list(
        Program.objects.filter(site=site)
        .prefetch_related(
            Prefetch("screening_phases", queryset=ScreeningPhase.objects.order_by("from_day"))
        )
        .order_by("-is_active", "name")
    )
    for program in programs:
        program.phases = list(program.screening_phases.all())  # type: ignore[attr-defined]
        for phase in program.phases:  # type: ignore[attr-defined]
            phase.chance_percent = _percent(phase.extra_chance)
    panels = list(Panel.objects.annotate(analyte_count=Count("analytes")).order_by("name"))
    settings = services.screening_settings()
    bounds = services.bounds_from(settings.validity_bounds)
    default = ValidityBounds()
    bound_rows = [
        {
            "label": services.BOUND_LABELS[name],
            "value": format(getattr(bounds, name).normalize(), "f"),
            "changed": getattr(bounds, name) != getattr(default, name),
            "verify": name in ValidityBounds.TO_VERIFY,
        }
        for name in services.BOUND_NAMES
    ]
    return render(
        request,
        "screening/settings.html",
        {
            "programs": programs,
            "defaults": [
                {**phase.__dict__, "chance_percent": _percent(phase.extra_chance)}
                for phase in DEFAULT_PHASES
            ],
            "panels": panels,
            "bound_rows": bound_rows,
            "bounds_changed": bool(settings.validity_bounds),
        },
    )


# --- Phases ----------------------------------------------------------------------------------


def _phase_page(
    request: HttpRequest, form: PhaseForm, *, program: Program, title: str, submit: str
) -> HttpResponse:
    return render(
        request,
        "screening/settings_phase_form.html",
        {
            "form": form,
            "program": program,
            "page_title": title,
            "submit_label": submit,
            "cancel_url": reverse("screening-settings") + f"#program-{program.pk}",
        },
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@requires("screening.manage")
def phase_create_view(request: HttpRequest, program_id: int) -> HttpResponse:
    program = get_object_or_404(Program, pk=program_id, site=_site(request))
    first = not program.screening_phases.exists()
    form = PhaseForm(
        request.POST or None,
        initial={"from_day": 0, "label": "Early treatment"} if first else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            phase = services.create_phase(
                program, by=_user(request), data=form.service_data(), request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, f"{program.name}: phase “{phase.label}” from day {phase.from_day} added."
            )
            return redirect(reverse("screening-settings") + f"#program-{program.pk}")
    return _phase_page(
        request, form, program=program, title=f"New screening phase of {program.name}", submit="Add"
    )


def _site_phase(request: HttpRequest, phase_id: int) -> ScreeningPhase:
    return get_object_or_404(
        ScreeningPhase.objects.select_related("program__site"),
        pk=phase_id,
        program__site=_site(request),
    )


@require_http_methods(["GET", "POST"])
@requires("screening.manage")
def phase_edit_view(request: HttpRequest, phase_id: int) -> HttpResponse:
    phase = _site_phase(request, phase_id)
    form = PhaseForm(
        request.POST or None,
        initial={
            "label": phase.label,
            "from_day": phase.from_day,
            "per_week": phase.per_week,
            "per_month": phase.per_month,
            "extra_chance_percent": _percent(phase.extra_chance),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_phase(
                phase, by=_user(request), data=form.service_data(), request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{phase.program.name}: phase saved.")
            return redirect(reverse("screening-settings") + f"#program-{phase.program_id}")
    return _phase_page(
        request,
        form,
        program=phase.program,
        title=f"Edit “{phase.label}” of {phase.program.name}",
        submit="Save phase",
    )


@require_POST
@requires("screening.manage")
def phase_delete_view(request: HttpRequest, phase_id: int) -> HttpResponse:
    phase = _site_phase(request, phase_id)
    program = phase.program
    try:
        services.delete_phase(phase, by=_user(request), request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"{program.name}: {message}")
    else:
        left = program.screening_phases.exists()
        messages.success(
            request,
            f"{program.name}: phase “{phase.label}” removed."
            + ("" if left else " The program uses the default phases again."),
        )
    return redirect(reverse("screening-settings") + f"#program-{program.pk}")


@require_POST
@requires("screening.manage")
def phases_adopt_view(request: HttpRequest, program_id: int) -> HttpResponse:
    program = get_object_or_404(Program, pk=program_id, site=_site(request))
    try:
        services.adopt_default_phases(program, by=_user(request), request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"{program.name}: {message}")
    else:
        messages.success(request, f"{program.name} now has its own copy of the default phases.")
    return redirect(reverse("screening-settings") + f"#program-{program.pk}")


# --- Panels ----------------------------------------------------------------------------------


def _panel_page(
    request: HttpRequest, form: PanelForm, *, title: str, submit: str, panel: Panel | None
) -> HttpResponse:
    return render(
        request,
        "screening/settings_panel_form.html",
        {
            "form": form,
            "panel": panel,
            "page_title": title,
            "submit_label": submit,
            "cancel_url": reverse("screening-settings") + "#panels",
        },
        status=422 if request.method == "POST" else 200,
    )


def _panel_saved(request: HttpRequest, panel: Panel, replaced: str | None) -> HttpResponse:
    note = f" It replaces {replaced} as the default {panel.get_specimen_display().lower()} panel."
    messages.success(request, f"Panel {panel.name} saved." + (note if replaced else ""))
    return redirect(reverse("screening-settings") + "#panels")


@require_http_methods(["GET", "POST"])
@requires("screening.manage")
def panel_create_view(request: HttpRequest) -> HttpResponse:
    form = PanelForm(request.POST or None, initial={"specimen": "urine", "is_active": True})
    if request.method == "POST" and form.is_valid():
        data, lines = form.service_data()
        try:
            panel, replaced = services.create_panel(
                by=_user(request), data=data, analytes=lines, request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _panel_saved(request, panel, replaced)
    return _panel_page(request, form, title="New screening panel", submit="Add panel", panel=None)


@require_http_methods(["GET", "POST"])
@requires("screening.manage")
def panel_edit_view(request: HttpRequest, panel_id: int) -> HttpResponse:
    panel = get_object_or_404(Panel.objects.prefetch_related("analytes"), pk=panel_id)
    form = PanelForm(
        request.POST or None,
        panel=panel,
        initial={
            "name": panel.name,
            "specimen": panel.specimen,
            "description": panel.description,
            "is_default": panel.is_default,
            "is_active": panel.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        data, lines = form.service_data()
        try:
            panel, replaced = services.update_panel(
                panel, by=_user(request), data=data, analytes=lines, request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _panel_saved(request, panel, replaced)
    return _panel_page(request, form, title=f"Panel {panel.name}", submit="Save panel", panel=panel)


# --- Validity bounds ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires("screening.manage")
def validity_view(request: HttpRequest) -> HttpResponse:
    settings = services.screening_settings()
    initial: dict[str, Any] = {"version": settings.version}
    initial.update(services.bounds_from(settings.validity_bounds).__dict__)
    for name, value in list(initial.items()):
        if name in services.BOUND_NAMES:
            initial[name] = value.normalize()
    form = ValidityForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            values = {name: form.cleaned_data.get(name) for name in services.BOUND_NAMES}
            try:
                services.update_validity_bounds(
                    by=_user(request),
                    values=values,
                    version=form.cleaned_data["version"],
                    request=request,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            except services.SettingsConflict as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(request, "Specimen-validity bounds saved.")
                return redirect(reverse("screening-settings") + "#validity")
    return render(
        request,
        "screening/settings_validity.html",
        {"form": form, "cancel_url": reverse("screening-settings") + "#validity"},
        status=status,
    )


# --- Screens and injections this week ----------------------------------------------------------


@require_GET
@requires("screens.view")
def week_view(request: HttpRequest) -> HttpResponse:
    site = _site(request)
    today = local_today(site.time_zone)
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    to_collect = list(
        DrugScreen.objects.filter(site=site, selected_on=today, status=ScreenStatus.SELECTED)
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "pk")
    )
    to_review = list(
        DrugScreen.objects.filter(
            site=site,
            status=ScreenStatus.COLLECTED,
            verdict=Verdict.UNEXPECTED,
            reviewed_at__isnull=True,
        )
        .select_related("patient", "collected_by")
        .order_by("collected_at", "pk")
    )
    may_collect = role_may(_role(request), "screens.collect")
    for screen in to_collect:
        name = "screen-record" if may_collect else "screen-detail"
        screen.url = reverse(name, args=[screen.pk])  # type: ignore[attr-defined]
    for screen in to_review:
        screen.url = reverse("screen-detail", args=[screen.pk])  # type: ignore[attr-defined]
    injections: list[Any] | None = None
    if role_may(_role(request), "medications.view"):
        injections = [
            {
                "patient": row.patient,
                "order": row.order,
                "due": row.due,
                "last_site": site_label(row.due.last_site) if row.due.last_site else "",
            }
            for row in injections_due_for_site(site, today)
        ]
    shown = sorted(
        {
            *(s.patient_id for s in to_collect),
            *(s.patient_id for s in to_review),
            *(row["patient"].pk for row in injections or []),
        }
    )
    # One event per look at the list (like a roster), naming the patients it showed.
    record_event(
        request=request,
        site=site,
        action=Action.VIEW,
        object_type="screens_week",
        detail=(f"patients {','.join(map(str, shown))}" if shown else "nothing listed")[:1000],
    )
    return render(
        request,
        "screening/week.html",
        {
            "today": today,
            "monday": monday,
            "sunday": sunday,
            "to_collect": to_collect,
            "to_review": to_review,
            "may_collect": may_collect,
            "injections": injections,
            "time_zone": site.time_zone,
        },
    )
