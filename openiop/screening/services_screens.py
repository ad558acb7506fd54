"""Recording drug screens: collection and validity, results, interpretation, review.

Rules (docs/screening.md has the full list):

* **Collection** (``record_collection``): specimen type, observed or not, the collection time
  (never in the future), specimen id (unique at the site, so a lab's CSV finds the screen),
  temperature and when it was read, and the urine validity measurements. The specimen is
  classified by ``validity.classify_validity`` with the organization's bounds
  (``ScreeningSettings.validity_bounds`` over the defaults); the class and its reasons are
  stored. A temperature read after the 4 minutes is not an error: the reasons say it.
* **Results** (``record_results``): one row per analyte and method. The analyte must be a
  catalogue code, the method presumptive or confirmatory, the result positive, negative or
  inconclusive. A value is in ng/mL, a number from 0. **A value that contradicts its result
  is refused**: a positive below the cutoff, or a negative at or above it, is a typing error to
  fix now, not a result to store and interpret (the cutoff is the row's, else the panel's,
  else the catalogue's). A breath-alcohol test reports only alcohol, without a value. Results
  are merged into those already on the screen (a confirmatory result later does not erase the
  presumptive one; a result for the same analyte and method replaces it).
* **Interpretation** (``interpretation.interpret``) with the patient's medications active on
  the collection date, stored as JSON with the verdict. An unexpected screen raises an alert
  (``alerts.services.raise_alert``, idempotent) to the primary therapist and the prescriber of
  the patient's active enrollment, and proposes confirmation of the analytes the
  interpretation names; ``order_confirmation`` records that the confirmation was ordered (on
  the screen: the same specimen goes to the lab; confirmatory results come back onto it).
* **Review** (``review_screen``): a clinician notes what was done; it closes the reviewer's
  own alert for the screen. New results reopen the screen for review.

Every service runs in one transaction, locks the screen row, checks ``version`` (stale:
``ScreenConflict``, HTTP 409) and audits on the patient. Recording a screen costs the same
number of queries for 1 or 17 analytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.alerts.services import raise_alert
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict
from openiop.lib.dates import zone
from openiop.measures import engine as level_review_engine
from openiop.medications.services import active_medications
from openiop.programs.models import Enrollment, EnrollmentStatus
from openiop.screening.catalog import (
    ANALYTE_CODES,
    Method,
    Outcome,
    SpecimenType,
    ValidityClass,
    Verdict,
    get_analyte,
    is_analyte_code,
)
from openiop.screening.interpretation import ActiveMedication, AnalyteResult, interpret
from openiop.screening.models import (
    DrugScreen,
    Panel,
    PanelAnalyte,
    ScreeningSettings,
    ScreenReason,
    ScreenResult,
    ScreenStatus,
)
from openiop.screening.validity import (
    DEFAULT_BOUNDS,
    SpecimenMeasurements,
    ValidityBounds,
    classify_validity,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User
    from openiop.patients.models import Patient

logger = logging.getLogger(__name__)

ON_ARRIVAL_CAUSE = "Recorded on arrival"
NOTE_MAX_LENGTH = 2000
SPECIMEN_ID_MAX_LENGTH = 60
CAUSE_MAX_LENGTH = 300
# A clock a little ahead on the collector's device is not "the future".
FUTURE_SLACK = timedelta(minutes=5)
VALUE_MAX = Decimal("999999999")  # ng/mL; far above any real concentration
CUTOFF_MAX = Decimal("9999999.999")  # ng/mL; the column's largest
NOT_COLLECTED_REASON_MAX_LENGTH = 300
NUMBER_MAX_EXPONENT = 15  # no number read here has more than 16 digits before the point
# Instants outside these are typing slips; converting them to a site's zone could also fall
# off the calendar (year 1 in UTC is year 0 in Chicago), and the columns could not hold them.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
NUL_MESSAGE = "Remove the NUL character (\\0) from the text."
RESULT_SOURCES = ("manual", "lab_csv", "api")
SEVERE_VALIDITY = (ValidityClass.SUBSTITUTED, ValidityClass.ADULTERATED)


class ScreenConflict(NoteConflict):
    """The screen's state forbids the change, or it changed meanwhile (HTTP 409)."""


# --- Parsing ------------------------------------------------------------------------------------

# name: (minimum, maximum, decimal places) — the model's column and what makes sense.
MEASUREMENTS: dict[str, tuple[Decimal, Decimal, int]] = {
    "temperature_c": (Decimal(0), Decimal(100), 1),
    "temperature_read_minutes": (Decimal(0), Decimal("999.9"), 1),
    "creatinine_mg_dl": (Decimal(0), Decimal("9999.99"), 2),
    "specific_gravity": (Decimal(1), Decimal(2), 4),
    "ph": (Decimal(0), Decimal(14), 2),
    "nitrite_ug_ml": (Decimal(0), Decimal("999999.9"), 1),
}
URINE_ONLY = ("creatinine_mg_dl", "specific_gravity", "ph", "nitrite_ug_ml")
MEASUREMENT_LABELS = {
    "temperature_c": "Temperature (°C)",
    "temperature_read_minutes": "Temperature read after (minutes)",
    "creatinine_mg_dl": "Creatinine (mg/dL)",
    "specific_gravity": "Specific gravity",
    "ph": "pH",
    "nitrite_ug_ml": "Nitrite (µg/mL)",
}


def has_nul(value: Any) -> bool:
    """Whether ``value`` is text holding a NUL character (PostgreSQL text cannot store one)."""
    return isinstance(value, str) and "\x00" in value


def nul_errors(data: dict[str, Any], keys: Any) -> dict[str, str]:
    """A field error for each of ``keys`` whose text in ``data`` holds a NUL character."""
    return {key: NUL_MESSAGE for key in keys if has_nul(data.get(key))}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_number(value: Any, *, what: str) -> Decimal | None:
    """A finite number from a form string, int, float or Decimal; None when blank.
    Raises ValueError with a message for a person."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number.")
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what} must be a number, not “{str(value)[:20]}”.") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number.")
    if number and number.adjusted() > NUMBER_MAX_EXPONENT:
        # 1e999999999 is a valid Decimal whose digits would fill the memory when shown.
        raise ValueError(f"{what} is far too large.")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


def parse_when(value: Any, time_zone: str) -> datetime:
    """An aware datetime from a datetime or ISO text; a time without zone is the site's.

    ValueError (with a message for a person) for text that is no date and time, and for an
    instant before 1900 or after 2200.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
        if moment is None:
            raise ValueError("Give the date and time, e.g. 2026-03-02 09:15.")
    else:
        raise ValueError("Give the date and time the specimen was collected.")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zone(time_zone))
    # Aware comparisons do not convert, so they cannot overflow like astimezone() would.
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"Give a date and time between {EARLIEST.year} and {LATEST.year}.")
    return moment


def validity_bounds() -> ValidityBounds:
    """The organization's validity bounds: the defaults with ``ScreeningSettings`` overrides.

    Settings that do not make a consistent set (the settings page refuses those) fall back to
    the defaults rather than failing a collection.
    """
    row = ScreeningSettings.objects.filter(pk=1).only("validity_bounds").first()
    overrides = row.validity_bounds if row is not None else {}
    if not overrides:
        return DEFAULT_BOUNDS
    known = set(DEFAULT_BOUNDS.__dataclass_fields__)
    try:
        return ValidityBounds(
            **{name: Decimal(str(value)) for name, value in overrides.items() if name in known}
        )
    except (ValueError, TypeError, InvalidOperation):
        logger.warning("Screening validity bounds are inconsistent; using the defaults.")
        return DEFAULT_BOUNDS


@dataclass
class Collection:
    """Cleaned collection fields, ready to store."""

    specimen: SpecimenType
    observed: bool
    collected_at: datetime
    specimen_id: str
    panel: Panel | None
    measurements: dict[str, Decimal | None]


def clean_collection(
    data: dict[str, Any],
    *,
    site_id: int,
    time_zone: str,
    screen_id: int | None = None,
    current_panel: Panel | None = None,
) -> Collection:
    """The collection fields of ``data``, or ValidationError naming each bad field."""
    errors = nul_errors(data, ("specimen", "collected_at", "specimen_id", "panel_id"))
    if errors:
        # Nothing else is read: a NUL cannot even be looked up in PostgreSQL.
        raise ValidationError(errors)
    specimen: SpecimenType | None = None
    try:
        specimen = SpecimenType(str(data.get("specimen") or "").strip())
    except ValueError:
        errors["specimen"] = "Choose the specimen: " + ", ".join(
            s.value.replace("_", " ") for s in SpecimenType
        )
    collected_at: datetime | None = None
    try:
        collected_at = parse_when(data.get("collected_at"), time_zone)
    except ValueError as exc:
        errors["collected_at"] = str(exc)
    if collected_at is not None and collected_at > timezone.now() + FUTURE_SLACK:
        errors["collected_at"] = "The collection time is in the future."
    specimen_id = " ".join(str(data.get("specimen_id") or "").split())
    if len(specimen_id) > SPECIMEN_ID_MAX_LENGTH:
        errors["specimen_id"] = f"At most {SPECIMEN_ID_MAX_LENGTH} characters."
    elif specimen_id:
        taken = DrugScreen.objects.filter(site_id=site_id, specimen_id=specimen_id)
        if screen_id is not None:
            taken = taken.exclude(pk=screen_id)
        if taken.exists():
            errors["specimen_id"] = (
                f"Specimen id {specimen_id} is already used by another screen at this site."
            )
    measurements: dict[str, Decimal | None] = {}
    for name, (low, high, places) in MEASUREMENTS.items():
        label = MEASUREMENT_LABELS[name]
        try:
            number = parse_number(data.get(name), what=label)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if number is not None and not low <= number <= high:
            errors[name] = f"{label} {number} makes no sense (expected {low} to {high})."
            continue
        if number is not None:
            number = number.quantize(Decimal(1).scaleb(-places))
        measurements[name] = number
    if specimen is not None and specimen is not SpecimenType.URINE:
        for name in URINE_ONLY:
            if measurements.get(name) is not None:
                errors[name] = (
                    f"{MEASUREMENT_LABELS[name]} applies to urine only, not to "
                    f"{specimen.value.replace('_', ' ')}."
                )
    panel = current_panel
    raw_panel = data.get("panel_id")
    if not _blank(raw_panel):
        try:
            panel_pk = int(str(raw_panel))
        except ValueError:
            panel_pk = 0
        panel = Panel.objects.filter(pk=panel_pk, is_active=True).first() if panel_pk > 0 else None
        if panel is None:
            errors["panel_id"] = "Choose one of the active panels."
    elif specimen is not None and (panel is None or panel.specimen != specimen):
        panel = Panel.objects.filter(specimen=specimen, is_default=True, is_active=True).first()
    if panel is not None and specimen is not None and panel.specimen != specimen:
        errors["panel_id"] = (
            f"The panel {panel.name} is for {panel.get_specimen_display().lower()}, "
            f"not for {specimen.value.replace('_', ' ')}."
        )
    if errors:
        raise ValidationError(errors)
    assert specimen is not None and collected_at is not None  # noqa: S101 - checked above
    return Collection(
        specimen,
        _bool(data.get("observed")),
        collected_at,
        specimen_id,
        panel,
        {name: measurements.get(name) for name in MEASUREMENTS},
    )


@dataclass
class CleanResult:
    analyte: str
    method: Method
    result: Outcome
    value: Decimal | None
    cutoff: Decimal | None


def panel_cutoffs(panel_id: int | None) -> dict[str, tuple[Decimal | None, Decimal]]:
    """analyte → (screen cutoff, confirmation cutoff) of the panel; one query."""
    if panel_id is None:
        return {}
    return {
        row.analyte: (row.screen_cutoff, row.confirm_cutoff)
        for row in PanelAnalyte.objects.filter(panel_id=panel_id).only(
            "analyte", "screen_cutoff", "confirm_cutoff"
        )
    }


def default_cutoff(
    analyte: str, method: Method, cutoffs: dict[str, tuple[Decimal | None, Decimal]]
) -> Decimal | None:
    if analyte in cutoffs:
        screen, confirm = cutoffs[analyte]
        return screen if method is Method.PRESUMPTIVE else confirm
    return get_analyte(analyte).cutoff(method)


def _fmt(number: Decimal) -> str:
    return format(number.normalize(), "f")


def clean_results(
    rows: Any,
    *,
    specimen: str,
    cutoffs: dict[str, tuple[Decimal | None, Decimal]],
    field: str = "results",
    labels: list[str] | None = None,
) -> list[CleanResult]:
    """Cleaned result rows, or ValidationError naming ``results[i].key`` for each problem.

    ``labels`` replaces ``results[i]`` in the error keys (the CSV import names rows by number).
    """
    if not isinstance(rows, list | tuple):
        raise ValidationError({field: "Results are a list of {analyte, method, result, value}."})
    if not rows:
        raise ValidationError({field: "Give at least one result."})
    errors: dict[str, str] = {}
    cleaned: list[CleanResult] = []
    seen: dict[tuple[str, Method], str] = {}
    breath = specimen == SpecimenType.BREATH_ALCOHOL
    for index, row in enumerate(rows):
        key = labels[index] if labels is not None else f"{field}[{index}]"
        if not isinstance(row, dict):
            errors[key] = "Each result is {analyte, method, result, value}."
            continue
        with_nul = nul_errors(row, ("analyte", "method", "result", "value", "cutoff"))
        if with_nul:
            errors.update({f"{key}.{name}": text for name, text in with_nul.items()})
            continue
        code = str(row.get("analyte") or "").strip().lower()
        if not is_analyte_code(code):
            shown = str(row.get("analyte") or "")[:40]
            errors[f"{key}.analyte"] = (
                f"Unknown analyte “{shown}”; known codes: {', '.join(ANALYTE_CODES)}."
                if shown
                else "Name the analyte."
            )
            continue
        name = get_analyte(code).name
        try:
            method = Method(str(row.get("method") or Method.PRESUMPTIVE.value).strip().lower())
        except ValueError:
            errors[f"{key}.method"] = f"{name}: the method is presumptive or confirmatory."
            continue
        try:
            result = Outcome(str(row.get("result") or "").strip().lower())
        except ValueError:
            errors[f"{key}.result"] = f"{name}: the result is positive, negative or inconclusive."
            continue
        if (code, method) in seen:
            errors[key] = f"{name} ({method.value}) is given twice (also {seen[(code, method)]})."
            continue
        seen[(code, method)] = key
        try:
            value = parse_number(row.get("value"), what=f"{name}: the value")
            cutoff = parse_number(row.get("cutoff"), what=f"{name}: the cutoff")
        except ValueError as exc:
            errors[f"{key}.value"] = str(exc)
            continue
        if breath:
            if code != "etg":
                errors[f"{key}.analyte"] = (
                    f"A breath-alcohol test shows alcohol only, not {name.lower()}."
                )
                continue
            if value is not None or cutoff is not None:
                errors[f"{key}.value"] = "Record only the result of a breath-alcohol test."
                continue
        if value is not None and not Decimal(0) <= value <= VALUE_MAX:
            errors[f"{key}.value"] = (
                f"{name}: a value of {_fmt(value)} ng/mL makes no sense (0 or more)."
                if value < 0
                else f"{name}: a value of {_fmt(value)} ng/mL is not a concentration."
            )
            continue
        if value is not None:
            value = value.quantize(Decimal("0.001"))
        if cutoff is not None and Decimal(0) < cutoff <= CUTOFF_MAX:
            cutoff = cutoff.quantize(Decimal("0.001"))
        if cutoff is not None and not Decimal("0.001") <= cutoff <= CUTOFF_MAX:
            errors[f"{key}.cutoff"] = (
                f"{name}: a cutoff is a number above 0 ng/mL, at most {_fmt(CUTOFF_MAX)}."
            )
            continue
        effective = (
            cutoff
            if cutoff is not None
            else (None if breath else default_cutoff(code, method, cutoffs))
        )
        if value is not None and effective is not None and result is not Outcome.INCONCLUSIVE:
            above = value >= effective
            if above != (result is Outcome.POSITIVE):
                relation = "at or above" if above else "below"
                errors[f"{key}.value"] = (
                    f"{name} is marked {result.value} but {_fmt(value)} ng/mL is {relation} "
                    f"the cutoff of {_fmt(effective)} ng/mL: check the result or the value."
                )
                continue
        cleaned.append(CleanResult(code, method, result, value, effective))
    if errors:
        raise ValidationError(errors)
    return cleaned


def clean_note(note: Any, *, field: str = "note", required: bool = True) -> str:
    text = str(note or "").strip()
    if "\x00" in text:
        raise ValidationError({field: NUL_MESSAGE})
    if required and not text:
        raise ValidationError({field: "Say what was done, e.g. “Talked with the patient.”"})
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationError({field: f"At most {NOTE_MAX_LENGTH:,} characters."})
    return text


# --- Medications --------------------------------------------------------------------------------


def is_as_needed(frequency: str) -> bool:
    """Whether an order's frequency is as-needed (PRN); shared with the demo clinic."""
    text = f" {frequency.lower()} "
    return "as needed" in text or " prn " in text.replace(".", " ")


def active_medication_list(patient_id: int, day: date) -> list[ActiveMedication]:
    """The medicines active on ``day`` (one query, ``medications.services``). An order whose
    frequency says "as needed" or "PRN" is as needed: a negative for it is no missed dose."""
    return [
        ActiveMedication(order.medication, is_as_needed(order.frequency))
        for order in active_medications(patient_id, day)
    ]


# --- Writing -------------------------------------------------------------------------------------


def lock_screen(screen: DrugScreen, version: int | None) -> DrugScreen:
    """The screen row, locked; ScreenConflict when gone or when ``version`` is stale."""
    current = (
        DrugScreen.objects.select_for_update(of=("self",))
        .select_related("site", "patient", "panel")
        .filter(pk=screen.pk)
        .first()
    )
    if current is None:
        raise ScreenConflict("This screen no longer exists.")
    if version is not None and current.version != version:
        raise ScreenConflict(
            "This screen changed since the page was loaded (someone else saved it). "
            "Reload it and enter your change again."
        )
    return current


def _audit(
    screen: DrugScreen,
    *,
    by: User,
    action: Action,
    detail: str,
    request: HttpRequest | None,
) -> None:
    record_event(
        request=request,
        actor=by,
        site=screen.site,
        action=action,
        object_type="drug_screen",
        object_id=screen.pk,
        patient_id=screen.patient_id,
        detail=detail,
    )


def local_day(screen: DrugScreen) -> date:
    assert screen.collected_at is not None  # noqa: S101 - collected screens only
    return screen.collected_at.astimezone(zone(screen.site.time_zone)).date()


def _apply_collection(screen: DrugScreen, values: Collection, *, by: User) -> None:
    """Set the collection fields and the validity (no save)."""
    screen.specimen = values.specimen.value
    screen.observed = values.observed
    screen.collected_at = values.collected_at
    screen.collected_by = by
    screen.specimen_id = values.specimen_id
    screen.panel = values.panel
    for name, number in values.measurements.items():
        setattr(screen, name, number)
    measured = {
        "temperature_c": values.measurements["temperature_c"],
        "temperature_read_after_minutes": values.measurements["temperature_read_minutes"],
        **{name: values.measurements[name] for name in URINE_ONLY},
    }
    try:
        verdict = classify_validity(
            SpecimenMeasurements(values.specimen, **measured), validity_bounds()
        )
    except ValueError as exc:  # the cleaning above makes this unreachable; be clear anyway
        raise ValidationError({"specimen": str(exc)}) from None
    screen.validity = verdict.classification.value
    screen.status = ScreenStatus.COLLECTED
    screen.not_collected_reason = ""
    stored = dict(screen.interpretation or {})
    stored["validity"] = {
        "class": verdict.classification.value,
        "reasons": list(verdict.reasons),
        "temperature_verified": verdict.temperature_verified,
        "checks_apply": verdict.checks_apply,
    }
    screen.interpretation = stored


SCREEN_COLLECTION_FIELDS = [
    "specimen",
    "observed",
    "collected_at",
    "collected_by",
    "specimen_id",
    "panel",
    *MEASUREMENTS,
    "validity",
    "status",
    "not_collected_reason",
    "interpretation",
    "verdict",
    "reviewed_at",
    "reviewed_by",
    "version",
]


def _stored_results(screen: DrugScreen) -> list[ScreenResult]:
    return list(ScreenResult.objects.filter(screen=screen))


def interpretation_record(
    before: dict[str, Any],
    rows: list[ScreenResult],
    medications: list[ActiveMedication],
    validity: str,
    *,
    at: datetime,
) -> dict[str, Any]:
    """``before`` updated with the reading of ``rows`` against ``medications``: what a
    screen's ``interpretation`` stores (verdict, each analyte's reading, confirmations)."""
    reading = interpret(
        [
            AnalyteResult(
                row.analyte, Method(row.method), Outcome(row.result), row.value, row.cutoff
            )
            for row in rows
        ],
        medications,
        validity,
    )
    stored = dict(before)
    stored.update(
        {
            "verdict": reading.verdict.value,
            "analytes": [
                {
                    "analyte": item.analyte,
                    "name": get_analyte(item.analyte).name,
                    "verdict": item.verdict.value,
                    "reason": item.reason,
                    "result": item.result.value,
                    "method": item.method.value,
                    "explained_by": list(item.explained_by),
                    "needs_confirmation": item.needs_confirmation,
                }
                for item in reading.analytes
            ],
            "confirmation_needed": list(reading.confirmation_needed),
            "notes": list(reading.notes),
            "recollect": reading.recollect,
            "medications": sorted({m.code for m in medications}),
            "interpreted_at": at.isoformat(),
        }
    )
    return stored


def interpret_screen(
    screen: DrugScreen, rows: list[ScreenResult], *, request: HttpRequest | None
) -> None:
    """Interpret ``rows`` against the medications on the collection day; store the
    interpretation and verdict on ``screen`` (no save) and raise alerts when unexpected.
    Public so the demo clinic's tests can check the demo's history against it."""
    before = screen.verdict
    stored = dict(screen.interpretation or {})
    if not rows:
        stored.pop("analytes", None)
        screen.interpretation = stored
        screen.verdict = ""
        return
    day = local_day(screen)
    medications = active_medication_list(screen.patient_id, day)
    stored = interpretation_record(
        stored,
        rows,
        medications,
        screen.validity or ValidityClass.VALID,
        at=timezone.now(),
    )
    screen.interpretation = stored
    screen.verdict = stored["verdict"]
    # New results need a new look: the screen is awaiting review again.
    screen.reviewed_at = None
    screen.reviewed_by = None
    if stored["verdict"] == Verdict.UNEXPECTED.value:
        _alert(screen, reading_severity(screen, stored), request=request)
    elif before == Verdict.UNEXPECTED.value:
        stored["cleared_at"] = timezone.now().isoformat()


def reading_severity(screen: DrugScreen, stored: dict[str, Any]) -> Severity:
    """High when the specimen was tampered with or an opioid came back unexpected."""
    if screen.validity in SEVERE_VALIDITY:
        return Severity.HIGH
    for item in stored.get("analytes", []):
        if item["verdict"] == Verdict.UNEXPECTED.value and get_analyte(item["analyte"]).is_opioid:
            return Severity.HIGH
    return Severity.MEDIUM


def alert_detail(stored: dict[str, Any]) -> str:
    reasons = [
        item["reason"]
        for item in stored.get("analytes", [])
        if item["verdict"] == Verdict.UNEXPECTED.value
    ]
    if not reasons:
        reasons = list(stored.get("notes", []))
    return "\n".join(reasons)


def _alert(screen: DrugScreen, severity: Severity, *, request: HttpRequest | None) -> None:
    enrollment = (
        Enrollment.objects.filter(patient_id=screen.patient_id, status=EnrollmentStatus.ACTIVE)
        .select_related("primary_therapist", "prescriber")
        .only("pk", "primary_therapist", "prescriber")
        .first()
    )
    if enrollment is None:
        return
    day = local_day(screen)
    raise_alert(
        site=screen.site,
        patient=screen.patient,
        kind=AlertKind.UNEXPECTED_SCREEN,
        severity=severity,
        title=f"Unexpected drug screen of {day:%b} {day.day}",
        detail=alert_detail(screen.interpretation),
        evidence_type="drug_screen",
        evidence_id=screen.pk,
        assignees=[enrollment.primary_therapist, enrollment.prescriber],
        request=request,
    )


def _merge_results(
    screen: DrugScreen, cleaned: list[CleanResult], *, source: str
) -> list[ScreenResult]:
    """Upsert the cleaned rows into the screen's results (constant queries); all rows after."""
    existing = {(row.analyte, row.method): row for row in _stored_results(screen)}
    now = timezone.now()
    new: list[ScreenResult] = []
    changed: list[ScreenResult] = []
    for item in cleaned:
        row = existing.get((item.analyte, item.method.value))
        if row is None:
            row = ScreenResult(
                screen=screen,
                analyte=item.analyte,
                method=item.method.value,
                result=item.result.value,
                value=item.value,
                cutoff=item.cutoff,
                source=source,
                entered_at=now,
            )
            new.append(row)
            existing[(item.analyte, item.method.value)] = row
        else:
            row.result, row.value, row.cutoff = item.result.value, item.value, item.cutoff
            row.source, row.entered_at = source, now
            changed.append(row)
    if new:
        ScreenResult.objects.bulk_create(new)
    if changed:
        ScreenResult.objects.bulk_update(
            changed, ["result", "value", "cutoff", "source", "entered_at"]
        )
    order = {code: index for index, code in enumerate(ANALYTE_CODES)}
    return sorted(existing.values(), key=lambda r: (order[r.analyte], r.method))


def _check_collectable(screen: DrugScreen) -> None:
    if screen.status == ScreenStatus.NOT_COLLECTED:
        raise ScreenConflict(
            "This screen was recorded as not collected. Order a new screen instead."
        )


@transaction.atomic
def record_collection(
    screen: DrugScreen,
    *,
    by: User,
    data: dict[str, Any],
    version: int,
    request: HttpRequest | None = None,
) -> DrugScreen:
    """Record (or correct) the specimen's collection and classify its validity.

    A correction of a screen that has results interprets them again with the new validity.
    """
    current = lock_screen(screen, version)
    _check_collectable(current)
    values = clean_collection(
        data,
        site_id=current.site_id,
        time_zone=current.site.time_zone,
        screen_id=current.pk,
        current_panel=current.panel,
    )
    correcting = current.status == ScreenStatus.COLLECTED
    _apply_collection(current, values, by=by)
    rows = _stored_results(current) if correcting else []
    if rows:
        interpret_screen(current, rows, request=request)
    current.version += 1
    current.save(update_fields=SCREEN_COLLECTION_FIELDS)
    _audit(
        current,
        by=by,
        action=Action.UPDATE,
        detail=f"{'corrected' if correcting else 'recorded'} collection: {current.specimen}, "
        f"{current.validity}",
        request=request,
    )
    return current


@transaction.atomic
def record_results(
    screen: DrugScreen,
    *,
    by: User,
    results: list[dict[str, Any]],
    version: int,
    request: HttpRequest | None = None,
    source: str = "manual",
) -> DrugScreen:
    """Store the results (merged with those already there), interpret the screen against
    the medications active on the collection day, and alert when it is unexpected."""
    if source not in RESULT_SOURCES:
        raise ValueError(f"source must be one of {RESULT_SOURCES}")
    current = lock_screen(screen, version)
    if current.status != ScreenStatus.COLLECTED:
        raise ScreenConflict("Record the specimen's collection before its results.")
    cleaned = clean_results(
        results, specimen=current.specimen, cutoffs=panel_cutoffs(current.panel_id)
    )
    return store_results(current, cleaned, by=by, source=source, request=request)


def store_results(
    current: DrugScreen,
    cleaned: list[CleanResult],
    *,
    by: User,
    source: str,
    request: HttpRequest | None,
) -> DrugScreen:
    rows = _merge_results(current, cleaned, source=source)
    interpret_screen(current, rows, request=request)
    current.version += 1
    current.save(
        update_fields=["interpretation", "verdict", "reviewed_at", "reviewed_by", "version"]
    )
    # The level review runs once the result is committed; should it fail, the result stays
    # and the nightly review-levels run catches up (robust: logged, not raised).
    transaction.on_commit(
        lambda: level_review_engine.on_event(current.patient, trigger="screen", request=request),
        robust=True,
    )
    _audit(
        current,
        by=by,
        action=Action.UPDATE,
        detail=f"recorded {len(cleaned)} result{'s' if len(cleaned) != 1 else ''} ({source}): "
        f"{current.verdict}",
        request=request,
    )
    return current


def _screen_for_arrival(patient: Patient, values: Collection, *, by: User) -> DrugScreen:
    """The patient's random screen of the collection day still to collect, else a new
    for-cause screen."""
    day = values.collected_at.astimezone(zone(patient.site.time_zone)).date()
    selected = (
        DrugScreen.objects.select_for_update(of=("self",))
        .select_related("site", "patient", "panel")
        .filter(
            patient=patient,
            selected_on=day,
            reason=ScreenReason.RANDOM,
            status=ScreenStatus.SELECTED,
        )
        .first()
    )
    if selected is not None:
        return selected
    enrollment = (
        Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE)
        .only("pk")
        .first()
    )
    return DrugScreen(
        site=patient.site,
        patient=patient,
        enrollment=enrollment,
        reason=ScreenReason.FOR_CAUSE,
        selected_on=day,
        created_by_label=by.display_name[:150],
    )


@transaction.atomic
def record_screen(
    patient: Patient,
    *,
    by: User,
    data: dict[str, Any],
    request: HttpRequest | None = None,
    screen: DrugScreen | None = None,
    version: int | None = None,
    source: str = "manual",
) -> DrugScreen:
    """Collection and results in one go (the API's POST and the fast form).

    Without ``screen``: the patient's random screen of the collection day if one is still to
    collect, else a new for-cause screen with ``data["cause"]`` or "Recorded on arrival". With
    ``screen`` (and its ``version``): that screen. ``data`` holds the collection fields and
    ``results`` (a list; may be empty to record the collection alone). Every bad field is
    reported at once; nothing is written unless all are good.
    """
    if screen is not None:
        current = lock_screen(screen, version)
        if current.patient_id != patient.pk:
            raise ValidationError({"screen": "This screen is another patient's."})
        _check_collectable(current)
    else:
        current = None
    errors: dict[str, Any] = {}
    values: Collection | None = None
    cause = " ".join(str(data.get("cause") or "").split())
    if has_nul(cause):
        errors["cause"] = NUL_MESSAGE
    elif len(cause) > CAUSE_MAX_LENGTH:
        errors["cause"] = f"At most {CAUSE_MAX_LENGTH} characters."
    try:
        values = clean_collection(
            data,
            site_id=patient.site_id,
            time_zone=patient.site.time_zone,
            screen_id=current.pk if current is not None else None,
            current_panel=current.panel if current is not None else None,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    rows = data.get("results")
    cleaned: list[CleanResult] = []
    if rows not in (None, [], ()):
        try:
            cleaned = clean_results(
                rows,
                specimen=values.specimen.value if values is not None else "",
                cutoffs=panel_cutoffs(values.panel.pk if values and values.panel else None),
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    assert values is not None  # noqa: S101 - no errors means the collection was cleaned
    if current is None:
        current = _screen_for_arrival(patient, values, by=by)
        if current.pk is None:
            current.cause = cause or ON_ARRIVAL_CAUSE
    created = current.pk is None
    correcting = current.status == ScreenStatus.COLLECTED
    _apply_collection(current, values, by=by)
    if current.pk is None:
        current.save()
        stored: list[ScreenResult] = []
    else:
        stored = _stored_results(current) if correcting else []
        current.version += 1
        current.save(update_fields=SCREEN_COLLECTION_FIELDS)
    _audit(
        current,
        by=by,
        action=Action.CREATE if created else Action.UPDATE,
        detail=f"recorded collection ({current.get_reason_display().lower()}): "
        f"{current.specimen}, {current.validity}",
        request=request,
    )
    if cleaned:
        return store_results(current, cleaned, by=by, source=source, request=request)
    if stored:
        interpret_screen(current, stored, request=request)
        current.save(update_fields=["interpretation", "verdict", "reviewed_at", "reviewed_by"])
    return current


@transaction.atomic
def order_confirmation(
    screen: DrugScreen,
    *,
    by: User,
    version: int,
    request: HttpRequest | None = None,
) -> DrugScreen:
    """Record that the analytes the interpretation names were sent for confirmation
    (LC-MS/MS) on the same specimen. Their confirmatory results come back onto this screen."""
    current = lock_screen(screen, version)
    stored = dict(current.interpretation or {})
    analytes = list(stored.get("confirmation_needed") or [])
    if current.verdict != Verdict.UNEXPECTED.value or not analytes:
        raise ScreenConflict("Nothing on this screen needs confirmation.")
    if stored.get("confirmation_order"):
        raise ScreenConflict("Confirmation was already ordered for this screen.")
    stored["confirmation_order"] = {
        "analytes": analytes,
        "ordered_at": timezone.now().isoformat(),
        "ordered_by_id": by.pk,
        "ordered_by": by.display_name,
    }
    current.interpretation = stored
    current.version += 1
    current.save(update_fields=["interpretation", "version"])
    _audit(
        current,
        by=by,
        action=Action.UPDATE,
        detail="ordered confirmation of " + ", ".join(analytes),
        request=request,
    )
    return current


@transaction.atomic
def review_screen(
    screen: DrugScreen,
    *,
    by: User,
    note: str,
    version: int | None = None,
    request: HttpRequest | None = None,
) -> DrugScreen:
    """Record the clinician's review of the screen's results with what was done.

    Closes the reviewer's own open alert for this screen with the note. A screen is reviewed
    once per set of results (new results reopen it).
    """
    text = clean_note(note)
    current = lock_screen(screen, version)
    if current.status != ScreenStatus.COLLECTED or not current.verdict:
        raise ScreenConflict("This screen has no results to review yet.")
    if current.reviewed_at is not None:
        raise ScreenConflict("This screen's results were already reviewed.")
    now = timezone.now()
    stored = dict(current.interpretation or {})
    stored["reviews"] = [
        *stored.get("reviews", []),
        {"at": now.isoformat(), "by_id": by.pk, "by": by.display_name, "note": text},
    ]
    current.interpretation = stored
    current.reviewed_at = now
    current.reviewed_by = by
    current.version += 1
    current.save(update_fields=["interpretation", "reviewed_at", "reviewed_by", "version"])
    closed = Alert.objects.filter(
        kind=AlertKind.UNEXPECTED_SCREEN,
        evidence_type="drug_screen",
        evidence_id=current.pk,
        assignee=by,
    ).exclude(state=AlertState.RESOLVED)
    closed.update(
        state=AlertState.RESOLVED,
        resolved_at=now,
        resolved_by=by,
        resolution=f"Reviewed the screen: {text}"[:NOTE_MAX_LENGTH],
        version=F("version") + 1,
    )
    _audit(current, by=by, action=Action.UPDATE, detail="reviewed the results", request=request)
    return current


def clean_not_collected_reason(reason: Any, *, field: str = "reason") -> str:
    text = " ".join(str(reason or "").split())
    if has_nul(text):
        raise ValidationError({field: NUL_MESSAGE})
    if not text:
        raise ValidationError(
            {field: "Say why the screen was not collected, e.g. “Absent”, “Refused”."}
        )
    if len(text) > NOT_COLLECTED_REASON_MAX_LENGTH:
        raise ValidationError({field: f"At most {NOT_COLLECTED_REASON_MAX_LENGTH} characters."})
    return text


@transaction.atomic
def mark_not_collected(
    screen: DrugScreen,
    *,
    by: User,
    reason: str,
    version: int | None,
    request: HttpRequest | None = None,
) -> DrugScreen:
    """Record that a screen called for collection was not collected, and why (the patient
    was absent, refused, or left before collection). A refusal is clinically meaningful: the
    chart shows it with its reason.

    Only a selected screen (not yet collected) can be marked; the reason is required. A stale
    ``version`` or another status: ScreenConflict (HTTP 409).
    """
    text = clean_not_collected_reason(reason)
    current = lock_screen(screen, version)
    if current.status == ScreenStatus.NOT_COLLECTED:
        raise ScreenConflict("This screen is already recorded as not collected.")
    if current.status != ScreenStatus.SELECTED:
        raise ScreenConflict(
            "This screen was collected; a collected screen cannot be marked not collected."
        )
    current.status = ScreenStatus.NOT_COLLECTED
    current.not_collected_reason = text
    current.version += 1
    current.save(update_fields=["status", "not_collected_reason", "version"])
    _audit(
        current,
        by=by,
        action=Action.UPDATE,
        detail=f"marked not collected: {text}"[:500],
        request=request,
    )
    return current
