"""Drug-screen pages: the screen (collection, validity, results and their interpretation,
confirmation, review), the fast form that records collection and results, and the lab CSV
import. Views parse, call one service and render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from openiop.accounts.access import current_role, requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.clinical.errors import NoteConflict
from openiop.lib.dates import zone
from openiop.medications.catalog import get_medication, is_medication_code
from openiop.patients.access import get_patient_for_user
from openiop.patients.models import Patient
from openiop.screening import csv_import, services_screens
from openiop.screening.access import get_screen_for_user
from openiop.screening.catalog import ANALYTE_CODES, Method, SpecimenType, get_analyte
from openiop.screening.models import (
    DrugScreen,
    Panel,
    PanelAnalyte,
    ScreenResult,
    ScreenStatus,
)

RESULT_CHOICES = (
    ("negative", "Neg"),
    ("positive", "Pos"),
    ("inconclusive", "Inc"),
    ("", "Not tested"),
)
# Offered on the screen page; any other reason may be typed.
NOT_COLLECTED_REASONS = (
    "Patient absent",
    "Patient refused",
    "Patient left before collection",
    "Unable to provide a specimen",
)
COLLECTION_KEYS = (
    "specimen",
    "observed",
    "collected_at",
    "specimen_id",
    "temperature_c",
    "temperature_read_minutes",
    "creatinine_mg_dl",
    "specific_gravity",
    "ph",
    "nitrite_ug_ml",
)


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1


def _message_map(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"__all__": exc.messages}


# --- The screen page ----------------------------------------------------------------------------


def _fmt(number: Decimal | None) -> str:
    return "" if number is None else format(number.normalize(), "f")


@dataclass
class AnalyteLine:
    code: str
    name: str
    verdict: str
    reason: str
    result: str
    method: str
    value: str
    cutoff: str
    other: str  # the presumptive result a confirmation overrides, in words


def _analyte_lines(screen: DrugScreen, rows: list[ScreenResult]) -> list[AnalyteLine]:
    by_key = {(r.analyte, r.method): r for r in rows}
    lines: list[AnalyteLine] = []
    for item in (screen.interpretation or {}).get("analytes", []):
        row = by_key.get((item["analyte"], item["method"]))
        other = ""
        if item["method"] == Method.CONFIRMATORY.value:
            first = by_key.get((item["analyte"], Method.PRESUMPTIVE.value))
            if first is not None:
                other = f"presumptive {first.result}"
        lines.append(
            AnalyteLine(
                code=item["analyte"],
                name=item.get("name") or get_analyte(item["analyte"]).name,
                verdict=item["verdict"],
                reason=item["reason"],
                result=item["result"],
                method=item["method"],
                value=_fmt(row.value) if row is not None else "",
                cutoff=_fmt(row.cutoff) if row is not None else "",
                other=other,
            )
        )
    return lines


def _screen_page(
    request: HttpRequest,
    screen: DrugScreen,
    *,
    review_errors: dict[str, list[str]] | None = None,
    note: str = "",
    conflict: str = "",
    status: int = 200,
    absence_errors: dict[str, list[str]] | None = None,
    absence_reason: str = "",
) -> HttpResponse:
    role = current_role(request)
    rows = list(screen.results.all())
    stored = screen.interpretation or {}
    validity = stored.get("validity") or {}
    needed = [get_analyte(code).name for code in stored.get("confirmation_needed", [])]
    order = stored.get("confirmation_order")
    medications = [
        get_medication(code).name
        for code in stored.get("medications", [])
        if is_medication_code(code)
    ]
    tz = zone(screen.site.time_zone)
    collected_local = screen.collected_at.astimezone(tz) if screen.collected_at else None
    may_review = (
        role_may(role, "screens.review") and bool(screen.verdict) and screen.reviewed_at is None
    )
    context = {
        "screen": screen,
        "patient": screen.patient,
        "collected_local": collected_local,
        "validity": validity,
        "lines": _analyte_lines(screen, rows),
        "notes": stored.get("notes", []),
        "recollect": stored.get("recollect", False),
        "medications": medications,
        "confirmation_needed": needed,
        "confirmation_order": order,
        "confirmation_names": [get_analyte(c).name for c in (order or {}).get("analytes", [])],
        "may_confirm": bool(needed)
        and not order
        and screen.verdict == "unexpected"
        and role_may(role, "screens.review"),
        "may_record": role_may(role, "screens.collect")
        and screen.status != ScreenStatus.NOT_COLLECTED,
        "may_review": may_review,
        "may_mark_not_collected": role_may(role, "screens.collect")
        and screen.status == ScreenStatus.SELECTED,
        "absence_errors": absence_errors or {},
        "absence_reason": absence_reason,
        "absence_reasons": NOT_COLLECTED_REASONS,
        "reviews": stored.get("reviews", []),
        "review_errors": review_errors or {},
        "note": note,
        "conflict": conflict,
        "temperature_late": _temperature_late(screen),
    }
    return render(request, "screening/screen_detail.html", context, status=status)


def _temperature_late(screen: DrugScreen) -> bool:
    minutes = screen.temperature_read_minutes
    return (
        minutes is not None
        and minutes > services_screens.validity_bounds().temperature_read_within_minutes
    )


@requires("screens.view")
@require_http_methods(["GET"])
def screen_detail(request: HttpRequest, screen_id: int) -> HttpResponse:
    screen = get_screen_for_user(request, screen_id)
    return _screen_page(request, screen)


@requires("screens.review")
@require_POST
def screen_review(request: HttpRequest, screen_id: int) -> HttpResponse:
    screen = get_screen_for_user(
        request, screen_id, permission="screens.review", action=Action.UPDATE, detail="review"
    )
    note = request.POST.get("note", "")
    try:
        services_screens.review_screen(
            screen, by=request.user, note=note, version=_version(request), request=request
        )
    except ValidationError as exc:
        return _screen_page(request, screen, review_errors=_message_map(exc), note=note, status=422)
    except NoteConflict as exc:
        screen.refresh_from_db()
        return _screen_page(request, screen, conflict=exc.message, note=note, status=409)
    messages.success(request, "Review recorded.")
    return redirect("screen-detail", screen.pk)


@requires("screens.review")
@require_POST
def screen_confirm(request: HttpRequest, screen_id: int) -> HttpResponse:
    screen = get_screen_for_user(
        request,
        screen_id,
        permission="screens.review",
        action=Action.UPDATE,
        detail="order confirmation",
    )
    try:
        services_screens.order_confirmation(
            screen, by=request.user, version=_version(request), request=request
        )
    except NoteConflict as exc:
        screen.refresh_from_db()
        return _screen_page(request, screen, conflict=exc.message, status=409)
    messages.success(request, "Confirmation ordered: send the specimen to the lab for LC-MS/MS.")
    return redirect("screen-detail", screen.pk)


@requires("screens.collect")
@require_POST
def screen_not_collected(request: HttpRequest, screen_id: int) -> HttpResponse:
    screen = get_screen_for_user(
        request,
        screen_id,
        permission="screens.collect",
        action=Action.UPDATE,
        detail="mark not collected",
    )
    reason = request.POST.get("reason", "")
    try:
        services_screens.mark_not_collected(
            screen, by=request.user, reason=reason, version=_version(request), request=request
        )
    except ValidationError as exc:
        return _screen_page(
            request,
            screen,
            absence_errors=_message_map(exc),
            absence_reason=reason.replace("\x00", ""),
            status=422,
        )
    except NoteConflict as exc:
        screen.refresh_from_db()
        return _screen_page(request, screen, conflict=exc.message, status=409)
    messages.success(request, "Recorded as not collected.")
    return redirect("screen-detail", screen.pk)


# --- The fast form: collection and results -----------------------------------------------------


@dataclass
class GridRow:
    code: str
    name: str
    detects: str
    cutoff: str
    result: str  # the chosen outcome, "" for not tested
    value: str
    errors: list[str]


def _panels() -> list[Panel]:
    return list(Panel.objects.filter(is_active=True).order_by("-is_default", "name"))


def _choose_panel(panels: list[Panel], wanted: Any, current: Panel | None) -> Panel | None:
    try:
        wanted_pk = int(wanted)
    except (TypeError, ValueError):
        wanted_pk = None
    by_pk = {p.pk: p for p in panels}
    if wanted_pk in by_pk:
        return by_pk[wanted_pk]
    if current is not None and current.pk in by_pk:
        return current
    return next((p for p in panels if p.is_default and p.specimen == SpecimenType.URINE), None) or (
        panels[0] if panels else None
    )


def _grid(
    panel: Panel | None,
    method: str,
    existing: dict[tuple[str, str], ScreenResult],
    posted: dict[str, tuple[str, str]] | None,
    errors: dict[str, list[str]],
) -> list[GridRow]:
    if panel is None:
        codes_cutoffs = [(code, None) for code in ("etg",)]
    else:
        rows = {r.analyte: r for r in PanelAnalyte.objects.filter(panel=panel)}
        order = {code: index for index, code in enumerate(ANALYTE_CODES)}
        codes_cutoffs = [
            (
                code,
                rows[code].screen_cutoff if method == "presumptive" else rows[code].confirm_cutoff,
            )
            for code in sorted(rows, key=order.__getitem__)
        ]
    grid: list[GridRow] = []
    for code, cutoff in codes_cutoffs:
        analyte = get_analyte(code)
        if posted is not None:
            result, value = posted.get(code, ("", ""))
        else:
            row = existing.get((code, method))
            if row is not None:
                result, value = row.result, _fmt(row.value)
            else:
                # Default negative for a first presumptive reading; a confirmation names only
                # what was sent.
                result, value = ("negative" if method == "presumptive" else ""), ""
        grid.append(
            GridRow(
                code=code,
                name=analyte.name,
                detects=analyte.detects,
                cutoff=_fmt(cutoff) if cutoff is not None else "",
                result=result,
                value=value,
                errors=errors.get(code, []),
            )
        )
    return grid


def _initial(screen: DrugScreen | None, panel: Panel | None, tz_name: str) -> dict[str, Any]:
    tz = zone(tz_name)
    if screen is not None and screen.status == ScreenStatus.COLLECTED:
        values: dict[str, Any] = {
            "specimen": screen.specimen,
            "observed": screen.observed,
            "collected_at": screen.collected_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
            "specimen_id": screen.specimen_id,
        }
        for name in COLLECTION_KEYS[4:]:
            values[name] = _fmt(getattr(screen, name))
        return values
    now = timezone.now().astimezone(tz)
    return {
        "specimen": panel.specimen if panel is not None else SpecimenType.URINE.value,
        "observed": False,
        "collected_at": now.strftime("%Y-%m-%dT%H:%M"),
    }


def _posted_results(
    request: HttpRequest, method: str
) -> tuple[list[dict[str, Any]], list[str], dict[str, tuple[str, str]]]:
    """(result rows for the service, the analyte code of each row, what was posted per code)."""
    rows: list[dict[str, Any]] = []
    codes: list[str] = []
    posted: dict[str, tuple[str, str]] = {}
    for code in request.POST.getlist("analyte"):
        result = request.POST.get(f"result_{code}", "").strip()
        value = request.POST.get(f"value_{code}", "").strip()
        posted[code] = (result, value)
        if not result and not value:
            continue
        rows.append({"analyte": code, "method": method, "result": result, "value": value})
        codes.append(code)
    return rows, codes, posted


def _split_errors(
    errors: dict[str, list[str]], codes: list[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(field errors of the collection, errors per analyte code)."""
    fields: dict[str, list[str]] = {}
    per_code: dict[str, list[str]] = {}
    for key, texts in errors.items():
        if key.startswith("results[") and "]" in key:
            try:
                index = int(key[len("results[") : key.index("]")])
                code = codes[index]
            except (ValueError, IndexError):
                fields.setdefault("results", []).extend(texts)
                continue
            per_code.setdefault(code, []).extend(texts)
        else:
            fields.setdefault(key, []).extend(texts)
    return fields, per_code


def _record_page(
    request: HttpRequest,
    *,
    patient: Patient,
    screen: DrugScreen | None,
) -> HttpResponse:
    panels = _panels()
    method = request.POST.get("method") or request.GET.get("method") or "presumptive"
    if method not in ("presumptive", "confirmatory"):
        method = "presumptive"
    source = request.POST if request.method == "POST" else request.GET
    panel = _choose_panel(
        panels, source.get("panel_id") or source.get("panel"), screen.panel if screen else None
    )
    existing = (
        {(r.analyte, r.method): r for r in screen.results.all()} if screen is not None else {}
    )
    status = 200
    conflict = ""
    field_errors: dict[str, list[str]] = {}
    per_code: dict[str, list[str]] = {}
    posted = None
    values = _initial(screen, panel, patient.site.time_zone)
    if request.method == "POST":
        rows, codes, posted = _posted_results(request, method)
        data: dict[str, Any] = {key: request.POST.get(key, "") for key in COLLECTION_KEYS}
        data["observed"] = request.POST.get("observed") == "on"
        data["panel_id"] = request.POST.get("panel_id", "")
        data["cause"] = request.POST.get("cause", "")
        data["results"] = rows
        try:
            saved = services_screens.record_screen(
                patient,
                by=request.user,
                data=data,
                request=request,
                screen=screen,
                version=_version(request) if screen is not None else None,
            )
        except ValidationError as exc:
            field_errors, per_code = _split_errors(_message_map(exc), codes)
            status = 422
        except NoteConflict as exc:
            conflict = exc.message
            status = 409
        else:
            if saved.verdict == "unexpected":
                messages.warning(
                    request,
                    "Saved. The screen is unexpected: the primary therapist and the prescriber "
                    "have an alert.",
                )
            else:
                messages.success(request, "Screen saved.")
            return redirect("screen-detail", saved.pk)
        values = dict(data)
    grid = _grid(panel, method, existing, posted, per_code)
    called_today = screen is None and (
        DrugScreen.objects.filter(
            patient=patient,
            selected_on=timezone.now().astimezone(zone(patient.site.time_zone)).date(),
            reason="random",
            status=ScreenStatus.SELECTED,
        ).exists()
    )
    context = {
        "called_today": called_today,
        "patient": patient,
        "screen": screen,
        "panels": panels,
        "panel": panel,
        "method": method,
        "values": values,
        "grid": grid,
        "result_choices": RESULT_CHOICES,
        "errors": field_errors,
        "conflict": conflict,
        "specimens": [(s.value, s.value.replace("_", " ").capitalize()) for s in SpecimenType],
        "has_errors": bool(field_errors or per_code),
        "measure_fields": [
            {
                "name": name,
                "label": services_screens.MEASUREMENT_LABELS[name],
                "value": values.get(name, "") or "",
                "errors": field_errors.get(name, []),
                "urine_only": name in services_screens.URINE_ONLY,
            }
            for name in services_screens.MEASUREMENTS
        ],
        "action": (
            reverse("screen-record", args=[screen.pk])
            if screen is not None
            else reverse("patient-screen-new", args=[patient.pk])
        ),
    }
    return render(request, "screening/screen_record.html", context, status=status)


@requires("screens.collect")
@require_http_methods(["GET", "POST"])
def screen_record(request: HttpRequest, screen_id: int) -> HttpResponse:
    screen = get_screen_for_user(
        request,
        screen_id,
        permission="screens.collect",
        action=Action.UPDATE if request.method == "POST" else Action.VIEW,
        detail="record collection and results",
    )
    return _record_page(request, patient=screen.patient, screen=screen)


@requires("screens.collect")
@require_http_methods(["GET", "POST"])
def patient_screen_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="screens.collect",
        action=Action.CREATE if request.method == "POST" else Action.VIEW,
        object_type="drug_screen",
        detail="record a screen",
    )
    return _record_page(request, patient=patient, screen=None)


# --- The lab CSV import ---------------------------------------------------------------------


@requires("screens.collect")
@require_http_methods(["GET", "POST"])
def screen_import(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"errors": [], "report": None, "columns": csv_import.COLUMNS}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["errors"] = ["Choose the lab's CSV file."]
            status = 422
        else:
            try:
                report = csv_import.import_lab_csv(
                    upload, site=request.membership.site, by=request.user, request=request
                )
            except ValidationError as exc:
                found = _message_map(exc)
                context["errors"] = [text for texts in found.values() for text in texts]
                status = 422
            except NoteConflict as exc:
                context["errors"] = [exc.message]
                status = 409
            else:
                context["report"] = report
                context["screens"] = [
                    {
                        "screen": s,
                        "day": s.collected_at.astimezone(zone(s.site.time_zone)).date()
                        if isinstance(s.collected_at, datetime)
                        else None,
                    }
                    for s in report.screens
                ]
    return render(request, "screening/screen_import.html", context, status=status)
