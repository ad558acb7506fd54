"""Placement screens: a new assessment, its detail with the decision, a patient's history,
and a program's rule-table editor (DOMAIN.md §3–§4).

``placement.view`` reads, ``placement.assess`` records assessments and decisions,
``placement.rules`` edits a program's rule table.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.access import current_role, requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.lib.dates import local_today
from openiop.lib.http import parse_pk
from openiop.measures import services_placement as services
from openiop.measures.chart_placement import ratings_chart
from openiop.measures.forms_placement import (
    DecisionForm,
    PlacementForm,
    ResetRulesForm,
    RuleTableForm,
    level_name,
    placement_errors,
    tier_label,
)
from openiop.measures.models import PlacementAssessment, PlacementKind, PlacementRuleTable
from openiop.measures.placement import (
    CRITERION_NAMES,
    DEFAULT_RULES,
    DIMENSION_NAMES,
    RATING_NAMES,
    ContraIndication,
    Indication,
    Rule,
    indicate,
    rules_to_json,
)
from openiop.patients.access import get_patient_for_user
from openiop.patients.models import Patient
from openiop.programs.forms import apply_errors, run_service
from openiop.programs.models import Program

HISTORY_LIMIT = 200


def _placements() -> QuerySet[PlacementAssessment]:
    return PlacementAssessment.objects.select_related(
        "assessed_by", "decided_by", "program", "rule_table"
    )


# --- new assessment ----------------------------------------------------------------------


def _edition(raw: Any) -> int:
    return 4 if str(raw) == "4" else 3


@require_http_methods(["GET", "POST"])
@requires("placement.assess")
def placement_new_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="placement.assess",
        action=Action.CREATE if request.method == "POST" else Action.VIEW,
        object_type="placement_assessment",
        detail="new placement assessment",
    )
    source = request.POST if request.method == "POST" else request.GET
    edition = _edition(source.get("edition"))
    has_any = PlacementAssessment.objects.filter(patient=patient).exists()
    form = PlacementForm(
        request.POST or None,
        edition=edition,
        initial={
            "edition": edition,
            "kind": PlacementKind.REASSESSMENT if has_any else PlacementKind.INTAKE,
            "assessed_on": local_today(patient.site.time_zone),
        },
    )
    if request.method == "POST" and form.is_valid():
        placement = run_service(
            form,
            lambda: services.record_placement(
                patient=patient, by=request.user, request=request, **form.service_kwargs()
            ),
            errors=placement_errors,
        )
        if placement is not None:
            messages.success(
                request, f"Placement recorded: level {placement.indicated_level} indicated."
            )
            return redirect("placement-detail", placement.pk)
    context = services.placement_context(patient)
    return render(
        request,
        "measures/placement_new.html",
        {
            "patient": patient,
            "form": form,
            "edition": edition,
            "program": context.program,
            "editions": [(3, "3rd edition (2013)"), (4, "4th edition (2023)")],
        },
        status=422 if request.method == "POST" else 200,
    )


# --- detail and decision -----------------------------------------------------------------


def _visible_placement(request: HttpRequest, placement_id: Any, permission: str) -> Any:
    pk = parse_pk(placement_id, "placement")
    found = PlacementAssessment.objects.filter(pk=pk).values_list("patient_id", flat=True).first()
    if found is None:
        record_event(
            request=request,
            actor=request.user if request.user.is_authenticated else None,  # type: ignore[arg-type]
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type="placement_assessment",
            object_id=pk,
            detail=f"no visible placement #{pk} for {permission}",
        )
        raise Http404("No such placement.")
    patient = get_patient_for_user(
        request,
        found,
        permission=permission,
        action=Action.UPDATE if request.method == "POST" else Action.VIEW,
        object_type="placement_assessment",
        detail=f"placement #{pk}",
    )
    return patient, _placements().get(pk=pk)


def _detail_page(
    request: HttpRequest,
    patient: Patient,
    placement: PlacementAssessment,
    form: DecisionForm | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    may_decide = role_may(current_role(request), "placement.assess")
    if form is None and may_decide and not placement.provided_level:
        form = DecisionForm(
            edition=placement.edition,
            initial={
                "provided_level": placement.indicated_level
                if placement.indicated_level != "3.x"
                else "",
                "version": placement.version,
            },
        )
    deciding = set(placement.deciding_rules)
    names = DIMENSION_NAMES[placement.edition]
    ratings = [
        {
            "number": int(number),
            "name": names[int(number)],
            "rating": row["rating"],
            "rating_name": RATING_NAMES[row["rating"]],
            "rationale": row["rationale"],
        }
        for number, row in sorted(placement.ratings.items(), key=lambda item: int(item[0]))
    ]
    criteria = [
        {
            "number": int(number),
            "text": CRITERION_NAMES[int(number)],
            "answer": row["answer"],
            "note": row["note"],
        }
        for number, row in sorted(placement.criteria.items(), key=lambda item: int(item[0]))
    ]
    contra = [ContraIndication(code).label for code in placement.contraindications]
    return render(
        request,
        "measures/placement_detail.html",
        {
            "patient": patient,
            "placement": placement,
            "indicated_name": level_name(placement.edition, placement.indicated_level),
            "provided_name": level_name(placement.edition, placement.provided_level),
            "fired": [
                {
                    **row,
                    "deciding": row["rule_id"] in deciding,
                    "level_label": tier_label(row["level"], placement.edition),
                }
                for row in placement.fired_rules
            ],
            "ratings": ratings,
            "criteria": criteria,
            "contraindications": contra,
            "chart": ratings_chart(placement),
            "form": form if may_decide and not placement.provided_level else None,
            "differs": services.level_differs(placement),
            "edition_label": "3rd edition" if placement.edition == 3 else "4th edition",
        },
        status=status,
    )


@require_GET
@requires("placement.view")
def placement_detail_view(request: HttpRequest, placement_id: int) -> HttpResponse:
    patient, placement = _visible_placement(request, placement_id, "placement.view")
    return _detail_page(request, patient, placement)


@require_POST
@requires("placement.assess")
def placement_decide_view(request: HttpRequest, placement_id: int) -> HttpResponse:
    patient, placement = _visible_placement(request, placement_id, "placement.assess")
    form = DecisionForm(request.POST, edition=placement.edition)
    status = 422
    if form.is_valid():
        try:
            services.record_level_decision(
                assessment=placement,
                provided_level=form.cleaned_data["provided_level"],
                reason=form.cleaned_data["reason"],
                by=request.user,  # type: ignore[arg-type]
                expected_version=form.cleaned_data["version"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except services.PlacementConflict as exc:
            form.add_error(None, exc.message)
            status = 409
        else:
            messages.success(request, "Level of care provided recorded.")
            return redirect("placement-detail", placement.pk)
    placement = _placements().get(pk=placement.pk)
    if placement.provided_level:
        messages.error(request, "The level provided was already recorded.")
        return _detail_page(request, patient, placement, status=409)
    return _detail_page(request, patient, placement, form, status=status)


# --- history -----------------------------------------------------------------------------


@require_GET
@requires("placement.view")
def patient_placements_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="placement.view",
        object_type="placement_assessment",
        detail="placement history",
    )
    placements = list(
        PlacementAssessment.objects.filter(patient=patient)
        .select_related("assessed_by", "decided_by", "program", "rule_table")
        .order_by("-assessed_on", "-created_at", "-id")[:HISTORY_LIMIT]
    )
    for placement in placements:
        placement.differs = services.level_differs(placement)  # type: ignore[attr-defined]
    return render(
        request,
        "measures/placement_history.html",
        {
            "patient": patient,
            "placements": placements,
            "limit": HISTORY_LIMIT,
            "may_assess": role_may(current_role(request), "placement.assess"),
        },
    )


# --- rule table --------------------------------------------------------------------------


def _rule_rows(rules: tuple[Rule, ...]) -> list[dict[str, Any]]:
    return [
        {
            "id": rule.id,
            "description": rule.description,
            "conditions": [c.describe() for c in rule.conditions],
            "level": tier_label(rule.level),
            "editions": sorted(rule.editions),
        }
        for rule in rules
    ]


def _rules_page(
    request: HttpRequest,
    program: Program,
    *,
    form: RuleTableForm | None = None,
    status: int = 200,
    preview: dict[str, Any] | None = None,
) -> HttpResponse:
    table, rules = services.current_rules(program)
    version = table.version if table is not None else 0
    if form is None:
        form = RuleTableForm(initial={"rules": rules_to_json(rules), "version": version})
    history = list(
        PlacementRuleTable.objects.filter(program=program)
        .select_related("created_by")
        .only(
            "pk",
            "version",
            "note",
            "created_at",
            "program_id",
            "created_by__first_name",
            "created_by__last_name",
            "created_by__username",
        )
        .order_by("-version")
    )
    return render(
        request,
        "measures/placement_rules.html",
        {
            "program": program,
            "table": table,
            "rows": _rule_rows(rules),
            "form": form,
            "reset_form": ResetRulesForm(initial={"version": version}),
            "history": history,
            "is_default": table is None,
            "defaults_in_use": table is not None and rules == DEFAULT_RULES,
            "preview": preview,
        },
        status=status,
    )


def _site_program(request: HttpRequest, program_id: int) -> Program:
    return get_object_or_404(
        Program.objects.select_related("site", "level_of_care"),
        pk=program_id,
        site=request.site,  # type: ignore[attr-defined]
    )


@require_http_methods(["GET", "POST"])
@requires("placement.rules")
def placement_rules_view(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _site_program(request, program_id)
    if request.method == "GET":
        return _rules_page(request, program)
    form = RuleTableForm(request.POST)
    status = 422
    if request.POST.get("action") == "preview":
        return _preview(request, program, form)
    if form.is_valid():
        try:
            table = services.save_rule_table(
                program=program,
                rules_json_or_list=form.cleaned_data["rules"],
                note=form.cleaned_data["note"],
                by=request.user,  # type: ignore[arg-type]
                expected_version=form.cleaned_data["version"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except services.PlacementConflict as exc:
            form.add_error(None, exc.message)
            status = 409
        else:
            messages.success(request, f"{program.name}: rule table version {table.version} saved.")
            return redirect("setup-placement-rules", program.pk)
    return _rules_page(request, program, form=form, status=status)


def _preview(request: HttpRequest, program: Program, form: RuleTableForm) -> HttpResponse:
    """Run a sample assessment through the current table and the draft, saving nothing."""
    if not form.is_valid():
        return _rules_page(request, program, form=form, status=422)
    sample = form.sample()
    _, current = services.current_rules(program)
    outcome: dict[str, Any] = {"current": _trial(indicate(sample, current), sample.edition)}
    try:
        draft = services.parse_rules(form.cleaned_data["rules"])
    except ValidationError as exc:
        apply_errors(form, exc)
        return _rules_page(request, program, form=form, status=422, preview=outcome)
    outcome["draft"] = _trial(indicate(sample, draft), sample.edition)
    outcome["changed"] = outcome["draft"]["level"] != outcome["current"]["level"]
    return _rules_page(request, program, form=form, preview=outcome)


def _trial(indication: Indication, edition: int) -> dict[str, Any]:
    return {
        "level": indication.level,
        "name": level_name(edition, indication.level),
        "deciding": list(indication.deciding),
        "fired": [f.rule_id for f in indication.fired],
    }


@require_POST
@requires("placement.rules")
def placement_rules_reset_view(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _site_program(request, program_id)
    form = ResetRulesForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Reload the page and try again.")
        return redirect("setup-placement-rules", program.pk)
    try:
        table = services.save_rule_table(
            program=program,
            rules_json_or_list=list(DEFAULT_RULES),
            note="Reset to OpenIOP defaults",
            by=request.user,  # type: ignore[arg-type]
            expected_version=form.cleaned_data["version"],
            request=request,
        )
    except services.PlacementConflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{program.name}: OpenIOP defaults restored as version {table.version}."
        )
    return redirect(reverse("setup-placement-rules", args=[program.pk]))
