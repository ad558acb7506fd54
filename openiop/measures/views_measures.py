"""Questionnaire screens: administer one, its result, a patient's history, the questionnaires
due at the site, and a program's schedules and settings (under Program setup).

Permissions: ``measures.view`` to read, ``measures.record`` to administer and strike,
``measures.manage`` for a program's schedules and settings. Patients are reached only through
``get_patient_for_user`` (404 for what the user may not see, audited).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.access import current_role, requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.audit.services import build_event, record_events
from openiop.lib.dates import local_today
from openiop.lib.http import parse_pk
from openiop.measures import instruments
from openiop.measures.due import due_for_site
from openiop.measures.forms_measures import (
    AdministerForm,
    MeasureSettingsForm,
    ScheduleForm,
    StrikeForm,
    apply_measure_errors,
)
from openiop.measures.models import MeasureResponse, MeasureSchedule
from openiop.measures.program_settings import settings_for
from openiop.measures.safety import safety_alerts_of
from openiop.measures.services import (
    MeasureConflict,
    SettingsConflict,
    record_measure,
    remove_measure_schedule,
    responses_for,
    save_measure_schedule,
    strike_measure,
    update_measure_settings,
)
from openiop.patients.access import get_patient_for_user
from openiop.programs.forms import apply_errors, run_service
from openiop.programs.models import Program

DUE_PAGE_SIZE = 100
HISTORY_PAGE_SIZE = 50


def _site(request: HttpRequest) -> Any:
    return request.site  # type: ignore[attr-defined]


def _may(request: HttpRequest, permission: str) -> bool:
    return role_may(current_role(request), permission)


def _instrument_or_none(code: str | None) -> instruments.Instrument | None:
    if not code:
        return None
    return instruments.INSTRUMENTS.get(code)


# --- Administer ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires("measures.record")
def measure_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The instrument picker, then the questionnaire: every item's options as radio buttons."""
    code = request.POST.get("instrument") or request.GET.get("instrument")
    instrument = _instrument_or_none(code)
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="measures.record",
        object_type="measure",
        detail=f"administer {instrument.code}" if instrument else "choose a questionnaire",
    )
    if instrument is None:
        return render(
            request,
            "measures/measure_pick.html",
            {
                "patient": patient,
                "instruments": instruments.INSTRUMENTS.values(),
                "unknown": code or "",
            },
            status=422 if code else 200,
        )
    today = local_today(patient.site.time_zone)
    form = AdministerForm(
        request.POST if request.method == "POST" else None,
        instrument=instrument,
        initial={"taken_on": today},
    )
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: record_measure(
                patient=patient,
                instrument=instrument.code,
                answers=form.answers(),
                taken_on=form.cleaned_data["taken_on"],
                respondent=form.cleaned_data["respondent"],
                by=request.user,  # type: ignore[arg-type]
                request=request,
            ),
            errors=apply_measure_errors,
        )
        if response is not None:
            messages.success(request, f"{instrument.code} saved.")
            return redirect("measure-detail", measure_id=response.pk)
    return render(
        request,
        "measures/measure_form.html",
        {
            "patient": patient,
            "instrument": instrument,
            "form": form,
            "today": today,
            "skip_gates": sorted(
                {item.asked_if[0] for item in instrument.items if item.asked_if is not None}
            ),
        },
        status=422 if request.method == "POST" else 200,
    )


# --- Result ----------------------------------------------------------------------------------


def _response_for(request: HttpRequest, measure_id: object, *, permission: str) -> Any:
    """The response and its patient, through the patient door (404 when not visible)."""
    pk = parse_pk(measure_id, "measure")
    patient_id = (
        MeasureResponse.objects.filter(pk=pk, site=_site(request))
        .values_list("patient_id", flat=True)
        .first()
    )
    if patient_id is None:
        raise Http404("No such questionnaire response.")
    patient = get_patient_for_user(
        request,
        patient_id,
        permission=permission,
        object_type="measure",
        detail=f"measure {pk}",
    )
    response = (
        MeasureResponse.objects.select_related("recorded_by", "strike", "strike__struck_by")
        .filter(pk=pk, patient=patient)
        .first()
    )
    if response is None:
        raise Http404("No such questionnaire response.")
    return patient, response


def _answer_rows(response: MeasureResponse) -> list[dict[str, Any]]:
    instrument = instruments.get_instrument(response.instrument)
    rows = []
    for item in instrument.items:
        value = response.answers.get(str(item.number))
        label = next((o.label for o in item.options if o.value == value), None)
        flagged = any(f.get("item") == item.number for f in response.flags)
        rows.append({"item": item, "value": value, "label": label, "flagged": flagged})
    return rows


def _struck(response: MeasureResponse) -> Any:
    try:
        return response.strike
    except MeasureResponse.strike.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None


def _detail_page(
    request: HttpRequest, patient: Any, response: MeasureResponse, strike_form: StrikeForm
) -> HttpResponse:
    alerts = safety_alerts_of(response) if response.has_safety_flag else []
    return render(
        request,
        "measures/measure_detail.html",
        {
            "patient": patient,
            "response": response,
            "instrument": instruments.get_instrument(response.instrument),
            "answers": _answer_rows(response),
            "struck": _struck(response),
            "alerted": [a.assignee.display_name for a in alerts],
            "strike_form": strike_form,
            "may_strike": _may(request, "measures.record"),
        },
        status=422 if strike_form.is_bound else 200,
    )


@require_GET
@requires("measures.view")
def measure_detail(request: HttpRequest, measure_id: int) -> HttpResponse:
    patient, response = _response_for(request, measure_id, permission="measures.view")
    return _detail_page(request, patient, response, StrikeForm())


@require_POST
@requires("measures.record")
def measure_strike(request: HttpRequest, measure_id: int) -> HttpResponse:
    patient, response = _response_for(request, measure_id, permission="measures.record")
    form = StrikeForm(request.POST)
    if form.is_valid():
        done = run_service(
            form,
            lambda: strike_measure(
                response=response,
                reason=form.cleaned_data["reason"],
                by=request.user,  # type: ignore[arg-type]
                request=request,
            ),
            refusals=(MeasureConflict,),
        )
        if done is not None:
            messages.success(request, f"{response.instrument} of {response.taken_on} struck.")
            return redirect("measure-detail", measure_id=response.pk)
    return _detail_page(request, patient, response, form)


# --- History ---------------------------------------------------------------------------------


@require_GET
@requires("measures.view")
def patient_measures(request: HttpRequest, patient_id: int) -> HttpResponse:
    code = request.GET.get("instrument") or ""
    instrument = _instrument_or_none(code)
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="measures.view",
        object_type="measure",
        detail=f"questionnaire history{f' ({instrument.code})' if instrument else ''}",
    )
    if code and instrument is None:
        return render(
            request,
            "measures/measure_history.html",
            {
                "patient": patient,
                "instruments": instruments.INSTRUMENT_CODES,
                "selected": code,
                "error": f"Unknown questionnaire “{code}”.",
                "page": None,
                "may_record": _may(request, "measures.record"),
            },
            status=422,
        )
    rows = responses_for(patient, instrument.code if instrument else None, include_struck=True)
    page = Paginator(rows, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "measures/measure_history.html",
        {
            "patient": patient,
            "instruments": instruments.INSTRUMENT_CODES,
            "selected": instrument.code if instrument else "",
            "page": page,
            "may_record": _may(request, "measures.record"),
        },
    )


# --- Due list --------------------------------------------------------------------------------


class DueFilterForm(forms.Form):
    show = forms.ChoiceField(
        label="Show", choices=[("mine", "My patients"), ("all", "Everyone at this site")]
    )


@require_GET
@requires("measures.view")
def measures_due(request: HttpRequest) -> HttpResponse:
    site = _site(request)
    today = local_today(site.time_zone)
    form = DueFilterForm(request.GET or {"show": "all"})
    show = form.cleaned_data["show"] if form.is_valid() else "all"
    items = due_for_site(site, today)
    me = request.user.pk
    mine = [i for i in items if i.enrollment.primary_therapist_id == me]
    others = [] if show == "mine" else [i for i in items if i.enrollment.primary_therapist_id != me]
    # "Mine" first, then the others; one page of rows at a time for a large site.
    page = Paginator([*mine, *others], DUE_PAGE_SIZE).get_page(request.GET.get("page"))
    # The page names patients: one event per patient shown, written in one INSERT, so each
    # patient's access history shows who saw them on the list (one event when it is empty).
    shown = sorted({item.patient.pk for item in page.object_list})
    record_events(
        build_event(
            request=request,
            site=site,
            action=Action.VIEW,
            object_type="measures_due_list",
            patient_id=pk,
            detail=f"{show}: page {page.number}",
        )
        for pk in shown or [None]
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "measures/measure_due.html",
        {
            "form": form,
            "show": show,
            "page": page,
            "mine_count": len(mine),
            "overdue_count": sum(1 for i in [*mine, *others] if i.overdue),
            "today": today,
            "query": query.urlencode(),
            "may_record": _may(request, "measures.record"),
        },
        status=200 if form.is_valid() or not request.GET else 422,
    )


# --- Program setup ---------------------------------------------------------------------------


def _program(request: HttpRequest, program_id: object) -> Program:
    return get_object_or_404(Program, pk=parse_pk(program_id, "program"), site=_site(request))


def _settings_initial(program: Program) -> dict[str, Any]:
    stored = settings_for(program)
    form = MeasureSettingsForm()
    initial = {name: getattr(stored, name) for name in form.fields if name != "version"}
    initial["version"] = stored.version
    return initial


def _setup_page(
    request: HttpRequest,
    program: Program,
    *,
    settings_form: MeasureSettingsForm | None = None,
    schedule_form: ScheduleForm | None = None,
    edit_forms: dict[int, ScheduleForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    schedules = list(MeasureSchedule.objects.filter(program=program).order_by("instrument"))
    edit_forms = edit_forms or {}
    rows = [
        {
            "schedule": schedule,
            "name": instruments.INSTRUMENTS[schedule.instrument].name
            if schedule.instrument in instruments.INSTRUMENTS
            else schedule.instrument,
            "form": edit_forms.get(schedule.pk)
            or ScheduleForm(
                initial={
                    "instrument": schedule.instrument,
                    "at_intake": schedule.at_intake,
                    "every_days": schedule.every_days,
                    "at_discharge": schedule.at_discharge,
                },
                prefix=f"s{schedule.pk}",
            ),
        }
        for schedule in schedules
    ]
    return render(
        request,
        "measures/measure_setup.html",
        {
            "program": program,
            "rows": rows,
            "schedule_form": schedule_form or ScheduleForm(initial={"at_intake": True}),
            "settings_form": settings_form
            or MeasureSettingsForm(initial=_settings_initial(program)),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@requires("measures.manage")
def setup_measures(request: HttpRequest, program_id: int) -> HttpResponse:
    """The program's questionnaire schedules, and its settings form (POST saves settings)."""
    program = _program(request, program_id)
    if request.method == "GET":
        return _setup_page(request, program)
    form = MeasureSettingsForm(request.POST)
    if form.is_valid():
        saved = run_service(
            form,
            lambda: update_measure_settings(
                program=program,
                values=form.values(),
                version=form.cleaned_data["version"],
                by=request.user,  # type: ignore[arg-type]
                request=request,
            ),
            refusals=(SettingsConflict,),
        )
        if saved is not None:
            messages.success(request, f"{program.name}: questionnaire and review settings saved.")
            return redirect(reverse("setup-measures", args=[program.pk]) + "#settings")
    return _setup_page(request, program, settings_form=form, status=422)


def _save_schedule(
    request: HttpRequest, program: Program, form: ScheduleForm, schedule: MeasureSchedule | None
) -> MeasureSchedule | None:
    if not form.is_valid():
        return None
    return run_service(
        form,
        lambda: save_measure_schedule(
            program=program,
            instrument=form.cleaned_data["instrument"],
            at_intake=form.cleaned_data["at_intake"],
            every_days=form.cleaned_data["every_days"],
            at_discharge=form.cleaned_data["at_discharge"],
            schedule=schedule,
            by=request.user,  # type: ignore[arg-type]
            request=request,
        ),
        errors=apply_errors,
    )


@require_POST
@requires("measures.manage")
def setup_measure_schedule_add(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _program(request, program_id)
    form = ScheduleForm(request.POST)
    saved = _save_schedule(request, program, form, None)
    if saved is None:
        return _setup_page(request, program, schedule_form=form, status=422)
    messages.success(request, f"{program.name}: {saved.instrument} scheduled.")
    return redirect(reverse("setup-measures", args=[program.pk]) + "#schedules")


def _schedule(request: HttpRequest, schedule_id: object) -> MeasureSchedule:
    return get_object_or_404(
        MeasureSchedule.objects.select_related("program"),
        pk=parse_pk(schedule_id, "schedule"),
        program__site=_site(request),
    )


@require_POST
@requires("measures.manage")
def setup_measure_schedule_edit(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = _schedule(request, schedule_id)
    program = schedule.program
    form = ScheduleForm(request.POST, prefix=f"s{schedule.pk}")
    saved = _save_schedule(request, program, form, schedule)
    if saved is None:
        return _setup_page(request, program, edit_forms={schedule.pk: form}, status=422)
    messages.success(request, f"{program.name}: {saved.instrument} schedule saved.")
    return redirect(reverse("setup-measures", args=[program.pk]) + "#schedules")


@require_POST
@requires("measures.manage")
def setup_measure_schedule_remove(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = _schedule(request, schedule_id)
    program = schedule.program
    instrument = schedule.instrument
    remove_measure_schedule(
        schedule=schedule,
        by=request.user,  # type: ignore[arg-type]
        request=request,
    )
    messages.success(request, f"{program.name}: {instrument} no longer scheduled.")
    return redirect(reverse("setup-measures", args=[program.pk]) + "#schedules")
