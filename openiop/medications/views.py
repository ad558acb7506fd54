"""The patient's medications page: orders (active, upcoming, past), the order form, stopping an
order, doses given in clinic with the next due window, and the form that records a dose.

Views parse, call one service and render. A dose with warnings (too early, late, same site,
first-dose preconditions not documented) is saved only once the nurse has ticked that the
very warnings shown were read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from openiop.accounts.access import current_role, requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.lib.dates import local_today, zone
from openiop.medications import schedule, services
from openiop.medications.access import get_order_for_patient, get_patient_for_medications
from openiop.medications.catalog import Dispensing, get_medication
from openiop.medications.forms import DoseForm, OrderForm, StopForm
from openiop.medications.models import Administration, MedicationOrder
from openiop.medications.services import (
    InjectionStatus,
    MedicationWarning,
    OrderConflict,
    WarningsNotAcknowledged,
    is_active_on,
    warnings_digest,
)
from openiop.patients.models import Patient
from openiop.programs.forms import apply_errors


@dataclass
class DosePanel:
    """One in-clinic order on the page: where it stands and the form that records a dose."""

    order: MedicationOrder
    status: InjectionStatus | None
    form: DoseForm | None
    warnings: list[MedicationWarning] = field(default_factory=list)
    changed: bool = False  # the warnings differ from those the nurse ticked


@dataclass
class HistoryRow:
    administration: Administration
    timing: schedule.DueStatus | None  # against the window the previous dose opened

    @property
    def medication(self) -> str:
        return get_medication(self.administration.order.medication).name.split(" (")[0]

    @property
    def site_label(self) -> str:
        site = self.administration.injection_site
        return schedule.site_label(site).capitalize() if site else ""


def _history(administrations: list[Administration], time_zone: str) -> list[HistoryRow]:
    """Each dose with its timing against the series it belongs to (a switch of product starts
    a new series), newest first."""
    timing: dict[int, schedule.DueStatus | None] = {}
    current_code, last_on = "", None
    for row in sorted(administrations, key=lambda a: (a.given_at, a.pk)):
        code = row.order.medication
        if not schedule.is_injectable(code):
            timing[row.pk] = None
            continue
        given_on = row.given_at.astimezone(zone(time_zone)).date()
        if code == current_code and last_on is not None:
            window = schedule.window_after(schedule.rule_for(code), last_on)
            timing[row.pk] = schedule.timing_of(window, given_on)
        else:
            timing[row.pk] = None
        current_code, last_on = code, given_on
    return [HistoryRow(a, timing[a.pk]) for a in administrations]


def _now_local(time_zone: str) -> str:
    return timezone.now().astimezone(zone(time_zone)).strftime("%Y-%m-%dT%H:%M")


def _render(
    request: HttpRequest,
    patient: Patient,
    *,
    order_form: OrderForm | None = None,
    dose_form: DoseForm | None = None,
    dose_warnings: list[MedicationWarning] | None = None,
    dose_changed: bool = False,
    stop_errors: dict[int, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    role = current_role(request)
    may_order = role_may(role, "medications.order")
    may_give = role_may(role, "medications.administer")
    time_zone = patient.site.time_zone
    today = local_today(time_zone)
    orders = list(
        MedicationOrder.objects.filter(patient=patient)
        .select_related("prescriber", "created_by")
        .order_by("-started_on", "-pk")
    )
    administrations = services.patient_administrations(patient)
    current = [o for o in orders if o.ended_on is None or o.ended_on >= today]
    past = [o for o in orders if o.ended_on is not None and o.ended_on < today]
    statuses = {
        s.order.pk: s
        for s in services.injection_statuses(orders, administrations, today, time_zone)
    }
    in_clinic = sorted(
        (o for o in current if o.dispensing == Dispensing.CLINIC and is_active_on(o, today)),
        key=lambda o: (not schedule.is_injectable(o.medication), o.medication),
    )
    history_facts = services.administration_facts(administrations, time_zone)
    facts: schedule.FirstDoseFacts | None = None
    panels: list[DosePanel] = []
    for order in in_clinic:
        state = statuses.get(order.pk)
        form: DoseForm | None = None
        warnings: list[MedicationWarning] = []
        changed = False
        if dose_form is not None and dose_form.order.pk == order.pk:
            form, warnings, changed = dose_form, dose_warnings or [], dose_changed
        elif may_give:
            site = state.suggested_site.site if state is not None else ""
            if state is not None and state.first_dose and facts is None:
                facts = services.first_dose_facts(
                    orders, services.opioid_screen_facts(patient, today), today
                )
            warnings = services.dose_warnings(
                order,
                on=today,
                site=site,
                history=history_facts,
                facts=facts or schedule.FirstDoseFacts(),
            )
            form = DoseForm(
                order=order,
                initial={
                    "given_at": _now_local(time_zone),
                    "dose": order.dose.normalize(),
                    "injection_site": site,
                    "acknowledged": warnings_digest(warnings) if warnings else "",
                },
            )
        panels.append(DosePanel(order, state, form, warnings, changed))
    if may_order and order_form is None:
        order_form = OrderForm(
            prescribers=services.site_prescribers(patient.site),
            initial={"started_on": today, "dose_unit": "mg"},
        )
    return render(
        request,
        "medications/patient_medications.html",
        {
            "patient": patient,
            "today": today,
            "current": current,
            "past": past,
            "statuses": statuses,
            "panels": panels,
            "history": _history(administrations, time_zone),
            "order_form": order_form if may_order else None,
            "may_order": may_order,
            "may_give": may_give,
            "stop_errors": stop_errors or {},
        },
        status=status,
    )


@require_GET
@requires("medications.view")
def medications_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_medications(request, patient_id, detail="medications page")
    return _render(request, patient)


@require_POST
@requires("medications.order")
def order_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_medications(
        request,
        patient_id,
        permission="medications.order",
        action=Action.CREATE,
        detail="medication order form",
    )
    form = OrderForm(request.POST, prescribers=services.site_prescribers(patient.site))
    if form.is_valid():
        try:
            order = services.order_medication(
                patient,
                by=request.user,  # type: ignore[arg-type]
                data=form.cleaned_data,
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{order.get_medication_display()} is ordered.")
            return redirect(reverse("patient-medications", args=[patient.pk]))
    return _render(request, patient, order_form=form, status=422)


@require_POST
@requires("medications.order")
def stop_view(request: HttpRequest, patient_id: int, order_id: int) -> HttpResponse:
    patient = get_patient_for_medications(
        request,
        patient_id,
        permission="medications.order",
        action=Action.UPDATE,
        detail=f"stop medication order #{order_id}",
    )
    order = get_order_for_patient(request, patient, order_id)
    form = StopForm(request.POST)
    errors: list[str] = []
    status = 422
    if form.is_valid():
        try:
            services.stop_medication(
                order,
                by=request.user,  # type: ignore[arg-type]
                ended_on=form.cleaned_data["ended_on"],
                version=form.cleaned_data["version"],
                request=request,
            )
        except OrderConflict as exc:
            errors, status = [exc.message], 409
        except ValidationError as exc:
            errors = [m for ms in exc.message_dict.values() for m in ms]
        else:
            messages.success(
                request,
                f"{order.get_medication_display()} stops after "
                f"{form.cleaned_data['ended_on']:%b %-d, %Y}.",
            )
            return redirect(reverse("patient-medications", args=[patient.pk]))
    else:
        errors = [m for ms in form.errors.values() for m in ms]
    return _render(request, patient, stop_errors={order.pk: errors}, status=status)


@require_POST
@requires("medications.administer")
def administer_view(request: HttpRequest, patient_id: int, order_id: int) -> HttpResponse:
    patient = get_patient_for_medications(
        request,
        patient_id,
        permission="medications.administer",
        action=Action.CREATE,
        detail=f"dose of medication order #{order_id}",
    )
    order = get_order_for_patient(request, patient, order_id)
    form = DoseForm(request.POST, order=order)
    if form.is_valid():
        data = form.service_data()
        try:
            administration, warnings = services.record_administration(
                patient,
                by=request.user,  # type: ignore[arg-type]
                data=data,
                request=request,
                require_acknowledgement=True,
            )
        except WarningsNotAcknowledged as exc:
            posted = request.POST.copy()
            posted[form.add_prefix("acknowledged")] = exc.digest
            posted.pop(form.add_prefix("confirm"), None)
            ticked = bool(form.cleaned_data.get("confirm"))
            again = DoseForm(posted, order=order)
            again.is_valid()
            if not ticked:
                again.add_error("confirm", "Tick the box to confirm you read the warnings.")
            return _render(
                request,
                patient,
                dose_form=again,
                dose_warnings=exc.warnings,
                dose_changed=ticked,
                status=422,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            local = administration.given_at.astimezone(zone(patient.site.time_zone))
            note = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''} acknowledged)"
            messages.success(
                request,
                f"{order.get_medication_display()} given {local:%b %-d at %H:%M} is recorded"
                + (note if warnings else "")
                + ".",
            )
            return redirect(reverse("patient-medications", args=[patient.pk]))
    return _render(request, patient, dose_form=form, status=422)
