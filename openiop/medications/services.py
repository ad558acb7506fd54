"""Medication orders and in-clinic administrations (issue 5 §6, DOMAIN.md §8).

Services own the writes: each one validates everything first (a ValidationError naming each
bad field; nothing is written), takes the patient's row lock so two writers queue, writes, and
appends the audit event. The dosing arithmetic — due windows, first-dose preconditions, site
rotation — is the pure core ``schedule.py``; this module feeds it from rows.

- ``order_medication``: a new order (prescribed here, or recorded as external: methadone from a
  named Opioid Treatment Program, a psychiatric medicine from an outside prescriber).
- ``stop_medication``: end an order on a day (a stale ``version`` is a conflict, HTTP 409).
- ``record_administration``: a dose given in clinic; returns the warnings (too early, late, same
  site, first-dose preconditions not documented). Warnings never block the API; a screen asks
  the nurse to acknowledge them first (``require_acknowledgement``).
- ``active_medications(patient, day)`` and ``injections_due_for_site(site, today)`` for the
  screening interpretation and the nurse's week list.
- ``raise_overdue_injection_alerts(site, today)``: an alert per overdue due window to the
  primary therapist and the prescriber (``openiop injection-alerts``, the demo).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from openiop.accounts.models import Membership, Site, User
from openiop.accounts.roles import Role
from openiop.alerts.models import AlertKind, Severity
from openiop.alerts.services import raise_alert
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict
from openiop.lib.dates import day_bounds, local_today, zone
from openiop.medications import schedule
from openiop.medications.catalog import (
    Dispensing,
    Medication,
    MedicationClass,
    Route,
    get_medication,
    is_medication_code,
)
from openiop.medications.models import Administration, MedicationOrder
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus
from openiop.screening.catalog import OPIOID_CODES

if TYPE_CHECKING:
    from django.http import HttpRequest

# Orders may be written ahead (a planned start), but not absurdly far.
MAX_DAYS_AHEAD = 365
# A dose recorded "now" from a slightly fast workstation clock is not in the future.
CLOCK_SKEW = timedelta(minutes=5)
DOSE_MAX = Decimal("999999.99")
# Instants outside these are typing slips; converting them to a site's zone could also fall
# off the calendar (year 1 in UTC is year 0 in Chicago).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# An order's planned end this far ahead is a typing slip (leave it empty: ongoing).
MAX_END_DAYS_AHEAD = 2 * 365
NUL_MESSAGE = "Remove the NUL character (\\0) from the text."
TEXT_KEYS = (
    "medication",
    "dose",
    "dose_unit",
    "route",
    "frequency",
    "started_on",
    "ended_on",
    "prescriber_id",
    "dispensing",
    "external_prescriber",
    "notes",
    "order_id",
    "given_at",
    "injection_site",
    "lot",
)
FREQUENCY_MAX_LENGTH = 80
EXTERNAL_PRESCRIBER_MAX_LENGTH = 200
LOT_MAX_LENGTH = 60
NOTES_MAX_LENGTH = 2000
DOSE_UNITS = ("mg", "mcg", "mL", "g", "unit", "kit")
PRESCRIBING_ROLES = (Role.PRESCRIBER, Role.DIRECTOR)
# Opioid-screen analytes of medicines that make Vivitrol's opioid-free interval 10 days.
LONG_ACTING_ANALYTES = frozenset({"buprenorphine", "norbuprenorphine", "methadone", "eddp"})
LONG_ACTING_CODES = frozenset(
    {"bup_nx_sl", "sublocade", "brixadi_weekly", "brixadi_monthly", "methadone_otp"}
)
# How many recent opioid results the first-dose check reads (newest first).
SCREEN_ROWS_READ = 400

# Routes a medicine may be ordered by, when more than its catalogue route.
EXTRA_ROUTES: dict[str, frozenset[Route]] = {
    "naloxone_kit": frozenset({Route.INTRAMUSCULAR, Route.SUBCUTANEOUS}),
}
# Besides the injectables, what may be handed over in clinic: observed sublingual
# buprenorphine (induction) and the naloxone rescue kit.
CLINIC_DISPENSED_CODES = frozenset({"bup_nx_sl", "naloxone_kit"})


class OrderConflict(NoteConflict):
    """The order's state forbids the change: a stale version, already stopped (HTTP 409)."""


@dataclass(frozen=True)
class MedicationWarning:
    """Something the nurse should know before saving a dose; ``code`` is stable for tests."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


class WarningsNotAcknowledged(Exception):
    """A screen asked for acknowledgement and the warnings shown were not (or changed)."""

    def __init__(self, warnings: list[MedicationWarning]) -> None:
        super().__init__("Read and acknowledge the warnings before saving.")
        self.warnings = warnings
        self.digest = warnings_digest(warnings)


def warnings_digest(warnings: Sequence[MedicationWarning]) -> str:
    """A short fingerprint of the warnings shown, so an acknowledgement covers exactly them."""
    text = "\n".join(f"{w.code}:{w.message}" for w in warnings)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# --- Parsing ---------------------------------------------------------------------------------


def _refuse_nul(data: dict[str, Any]) -> None:
    """ValidationError naming each text field holding a NUL character: PostgreSQL cannot
    store (nor look up) such text."""
    errors = {
        key: NUL_MESSAGE
        for key in TEXT_KEYS
        if isinstance(data.get(key), str) and "\x00" in data[key]
    }
    if errors:
        raise ValidationError(errors)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else " ".join(str(value).split())


def _parse_date(value: Any, field: str, errors: dict[str, str]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        errors[field] = "Give a date like 2026-03-02, without a time."
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = f"{str(value)[:40]!r} is not a date like 2026-03-02."
        return None


def _parse_decimal(value: Any, field: str, errors: dict[str, str]) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors[field] = "Give the dose as a number, e.g. 300."
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[field] = f"{str(value)[:40]!r} is not a number."
        return None
    if not number.is_finite():
        errors[field] = "Give the dose as a number, e.g. 300."
        return None
    if number <= 0:
        errors[field] = "The dose must be more than zero."
        return None
    if number > DOSE_MAX:
        errors[field] = f"The dose must be at most {DOSE_MAX}."
        return None
    if number != number.quantize(Decimal("0.01")):
        errors[field] = "At most two decimals."
        return None
    return number


def _parse_int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


def _parse_moment(value: Any, time_zone: str, field: str, errors: dict[str, str]) -> datetime:
    """An aware instant; a naive time is the site's local time. Missing means now."""
    if value is None or value == "":
        return timezone.now()
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        errors[field] = "Give the time of the dose too, e.g. 2026-03-02T10:30."
        return timezone.now()
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            errors[field] = f"{str(value)[:40]!r} is not a date and time like 2026-03-02T10:30."
            return timezone.now()
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zone(time_zone))
    # Aware comparisons do not convert, so they cannot overflow like astimezone() would.
    if moment < EARLIEST:
        errors[field] = f"Give a date and time after {EARLIEST.year}."
        return timezone.now()
    if moment >= LATEST:
        errors[field] = "That is far in the future: a dose cannot be recorded ahead of time."
        return timezone.now()
    return moment


def _local_day(moment: datetime, time_zone: str) -> date:
    return moment.astimezone(zone(time_zone)).date()


# --- Orders ----------------------------------------------------------------------------------


def is_active_on(order: MedicationOrder, day: date) -> bool:
    return order.started_on <= day and (order.ended_on is None or day <= order.ended_on)


def _active_q(day: date) -> Q:
    return Q(started_on__lte=day) & (Q(ended_on__isnull=True) | Q(ended_on__gte=day))


def active_medications(patient: Patient | int, day: date) -> list[MedicationOrder]:
    """The patient's orders active on ``day`` (started, not ended), in one query."""
    patient_id = patient if isinstance(patient, int) else patient.pk
    return list(
        MedicationOrder.objects.filter(_active_q(day), patient_id=patient_id).order_by(
            "medication", "started_on", "pk"
        )
    )


def site_prescribers(site: Site) -> list[User]:
    """Staff of ``site`` who may be named prescriber of an order here (prescribers, directors)."""
    return list(
        User.objects.filter(
            memberships__site=site,
            memberships__role__in=PRESCRIBING_ROLES,
            is_active=True,
            disabled_at__isnull=True,
        )
        .order_by("last_name", "first_name", "username")
        .distinct()
    )


def _is_site_prescriber(user_id: int, site: Site) -> bool:
    return Membership.objects.filter(
        user_id=user_id,
        site=site,
        role__in=PRESCRIBING_ROLES,
        user__is_active=True,
        user__disabled_at__isnull=True,
    ).exists()


def allowed_dispensing(medication: Medication) -> tuple[Dispensing, ...]:
    """Who may hand ``medication`` over: methadone only an OTP; injectables the clinic (or an
    OTP); observed buprenorphine and the naloxone kit the clinic too; the rest a pharmacy."""
    if medication.code == "methadone_otp":
        return (Dispensing.EXTERNAL_OTP,)
    if medication.injected_in_clinic:
        return (Dispensing.CLINIC, Dispensing.EXTERNAL_OTP)
    allowed = [Dispensing.PHARMACY]
    if medication.code in CLINIC_DISPENSED_CODES:
        allowed.append(Dispensing.CLINIC)
    if medication.medication_class in (MedicationClass.MOUD, MedicationClass.NALTREXONE):
        allowed.append(Dispensing.EXTERNAL_OTP)
    return tuple(allowed)


def allowed_routes(medication: Medication) -> tuple[Route, ...]:
    return (medication.route, *sorted(EXTRA_ROUTES.get(medication.code, ()), key=str))


_DISPENSING_WORDS = {
    Dispensing.CLINIC: "given in clinic",
    Dispensing.PHARMACY: "a pharmacy",
    Dispensing.EXTERNAL_OTP: "an external opioid treatment program",
}


def clean_order(patient: Patient, data: dict[str, Any], *, by: User) -> dict[str, Any]:
    """The order's fields from ``data`` (the API's keys), or a ValidationError naming each
    bad field. Reads the prescriber's membership (one query) when one is named."""
    _refuse_nul(data)
    errors: dict[str, str] = {}
    code = data.get("medication")
    medication: Medication | None = None
    if code is None or code == "":
        errors["medication"] = "Choose the medication."
    elif not is_medication_code(code):
        errors["medication"] = (
            f"Unknown medication code {str(code)[:40]!r}; GET /api/v1/medications/catalog "
            "lists the codes."
        )
    else:
        medication = get_medication(code)

    dose = _parse_decimal(data.get("dose"), "dose", errors)
    if dose is None and "dose" not in errors:
        errors["dose"] = "Give the dose, e.g. 16."
    dose_unit = _text(data, "dose_unit") or "mg"
    if dose_unit not in DOSE_UNITS:
        errors["dose_unit"] = f"Use one of: {', '.join(DOSE_UNITS)}."

    route_text = _text(data, "route")
    route: Route | None = None
    if medication is not None:
        routes = allowed_routes(medication)
        if not route_text:
            route = medication.route
        elif route_text not in {r.value for r in routes}:
            errors["route"] = (
                f"{medication.short_name[:1].upper()}{medication.short_name[1:]} is given "
                f"{' or '.join(r.value for r in routes)}, not {route_text[:30]!r}."
            )
        else:
            route = Route(route_text)

    frequency = _text(data, "frequency")
    if not frequency:
        errors["frequency"] = "Say how often, e.g. “daily” or “every 28 days”."
    elif len(frequency) > FREQUENCY_MAX_LENGTH:
        errors["frequency"] = f"At most {FREQUENCY_MAX_LENGTH} characters."

    today = local_today(patient.site.time_zone)
    started_on = _parse_date(data.get("started_on"), "started_on", errors)
    if started_on is None and "started_on" not in errors:
        errors["started_on"] = "Give the day the medication starts."
    elif started_on is not None:
        if started_on > today + timedelta(days=MAX_DAYS_AHEAD):
            errors["started_on"] = "The start is more than a year ahead; check the date."
        elif started_on < patient.date_of_birth:
            errors["started_on"] = "The start is before the patient's date of birth."
    ended_on = _parse_date(data.get("ended_on"), "ended_on", errors)
    if ended_on is not None and started_on is not None and ended_on < started_on:
        errors["ended_on"] = "The end must be on or after the start."
    elif ended_on is not None and ended_on > today + timedelta(days=MAX_END_DAYS_AHEAD):
        errors["ended_on"] = (
            "The end is more than two years ahead; check the date, or leave it empty for an "
            "ongoing order."
        )

    dispensing_text = _text(data, "dispensing")
    dispensing: Dispensing | None = None
    if medication is not None and not dispensing_text:
        dispensing = medication.default_dispensing
    elif dispensing_text not in {d.value for d in Dispensing}:
        errors["dispensing"] = "Choose clinic, pharmacy or external_otp."
    else:
        dispensing = Dispensing(dispensing_text)
        if medication is not None and dispensing not in allowed_dispensing(medication):
            allowed = allowed_dispensing(medication)
            if medication.code == "methadone_otp":
                errors["dispensing"] = (
                    "Methadone for opioid use disorder is only dispensed by a certified "
                    "opioid treatment program: record it as external_otp with the program's "
                    "name."
                )
            else:
                errors["dispensing"] = (
                    f"{medication.name} is dispensed by "
                    f"{' or '.join(_DISPENSING_WORDS[d] for d in allowed)}."
                )

    external_prescriber = _text(data, "external_prescriber")
    if len(external_prescriber) > EXTERNAL_PRESCRIBER_MAX_LENGTH:
        errors["external_prescriber"] = f"At most {EXTERNAL_PRESCRIBER_MAX_LENGTH} characters."
    raw_prescriber = data.get("prescriber_id")
    prescriber_id = _parse_int(raw_prescriber)
    if raw_prescriber not in (None, "") and prescriber_id is None:
        errors["prescriber_id"] = "Choose a prescriber of this site."
    if dispensing is Dispensing.EXTERNAL_OTP:
        if not external_prescriber:
            errors["external_prescriber"] = (
                "Name the opioid treatment program that dispenses it (and its prescriber)."
            )
        if prescriber_id is not None:
            errors["prescriber_id"] = (
                "An order dispensed by an outside program has no prescriber here; name the "
                "program instead."
            )
    elif prescriber_id is None and "prescriber_id" not in errors:
        if external_prescriber:
            pass  # recorded as prescribed outside (e.g. a psychiatrist), dispensed elsewhere
        elif _is_site_prescriber(by.pk, patient.site):
            prescriber_id = by.pk
        else:
            errors["prescriber_id"] = (
                "Choose the prescriber, or name the outside prescriber if it was prescribed "
                "elsewhere."
            )
    elif prescriber_id is not None and not _is_site_prescriber(prescriber_id, patient.site):
        errors["prescriber_id"] = "The prescriber must be a prescriber or director of this site."
    if prescriber_id is not None and external_prescriber and "prescriber_id" not in errors:
        errors["external_prescriber"] = (
            "Name an outside prescriber only when no prescriber of this site wrote the order."
        )
    if dispensing is Dispensing.CLINIC and prescriber_id is None and "prescriber_id" not in errors:
        errors["prescriber_id"] = "A dose given in clinic needs a prescriber of this site."

    notes = str(data.get("notes") or "").strip()
    if len(notes) > NOTES_MAX_LENGTH:
        errors["notes"] = f"At most {NOTES_MAX_LENGTH:,} characters."
    if errors:
        raise ValidationError(errors)
    assert medication is not None and route is not None and dispensing is not None  # noqa: S101
    return {
        "medication": medication.code,
        "dose": dose,
        "dose_unit": dose_unit,
        "route": route.value,
        "frequency": frequency,
        "started_on": started_on,
        "ended_on": ended_on,
        "prescriber_id": prescriber_id,
        "dispensing": dispensing.value,
        "external_prescriber": external_prescriber,
        "notes": notes,
    }


def _lock_patient(patient: Patient) -> None:
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk").first()


def _overlaps(order: MedicationOrder, start: date, end: date | None) -> bool:
    return (order.ended_on is None or order.ended_on >= start) and (
        end is None or order.started_on <= end
    )


@transaction.atomic
def order_medication(
    patient: Patient,
    *,
    by: User,
    data: dict[str, Any],
    request: HttpRequest | None = None,
) -> MedicationOrder:
    """Write a new order for ``patient`` from ``data`` and return it.

    Keys: medication (catalogue code), dose, dose_unit (mg), route (the catalogue's),
    frequency, started_on, ended_on?, prescriber_id? (a prescriber or director of the site;
    the ordering prescriber when left out), dispensing (clinic | pharmacy | external_otp),
    external_prescriber (the OTP's name: required for external_otp, and methadone must be
    external_otp), notes. A second order of the same medication over the same days is refused:
    stop the first (a dose change is a stop and a new order).
    """
    values = clean_order(patient, data, by=by)
    _lock_patient(patient)
    same = MedicationOrder.objects.filter(patient=patient, medication=values["medication"])
    clash = next(
        (
            o
            for o in same.order_by("started_on")
            if _overlaps(o, values["started_on"], values["ended_on"])
        ),
        None,
    )
    if clash is not None:
        until = f" until {clash.ended_on.isoformat()}" if clash.ended_on else ""
        raise ValidationError(
            {
                "medication": (
                    f"{clash.get_medication_display()} is already ordered from "
                    f"{clash.started_on.isoformat()}{until}. Stop that order first; a dose "
                    f"change is a stop and a new order."
                )
            }
        )
    order = MedicationOrder.objects.create(
        site=patient.site, patient=patient, created_by=by, **values
    )
    record_event(
        request=request,
        actor=by,
        site=patient.site,
        action=Action.CREATE,
        object_type="medication_order",
        object_id=order.pk,
        patient_id=patient.pk,
        detail=f"ordered {order.medication} {order.dose} {order.dose_unit} "
        f"({order.dispensing}) from {order.started_on.isoformat()}",
    )
    return order


@transaction.atomic
def stop_medication(
    order: MedicationOrder,
    *,
    by: User,
    ended_on: date | str | None,
    version: int | str | None,
    request: HttpRequest | None = None,
) -> MedicationOrder:
    """End ``order`` on ``ended_on`` (its last active day). A stale ``version`` or an order
    already stopped is an OrderConflict; a day before the start, more than a year ahead, or
    before a dose given under the order is a ValidationError."""
    errors: dict[str, str] = {}
    day = _parse_date(ended_on, "ended_on", errors)
    if day is None and not errors:
        errors["ended_on"] = "Give the last day of the medication."
    expected_version = _parse_int(version)
    if expected_version is None:
        errors["version"] = "The order's version is missing; reload the page."
    if errors:
        raise ValidationError(errors)
    assert day is not None  # noqa: S101
    current = MedicationOrder.objects.select_for_update().select_related("site").get(pk=order.pk)
    if current.version != expected_version:
        raise OrderConflict(
            "This order was changed since you opened it. Reload to see it, then try again."
        )
    if current.ended_on is not None and current.ended_on < local_today(current.site.time_zone):
        raise OrderConflict(f"This order already ended on {current.ended_on.isoformat()}.")
    if day < current.started_on:
        raise ValidationError(
            {"ended_on": f"The order starts {current.started_on.isoformat()}; end it on or after."}
        )
    if day > local_today(current.site.time_zone) + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError({"ended_on": "The end is more than a year ahead; check the date."})
    last_dose = (
        Administration.objects.filter(order=current)
        .order_by("-given_at")
        .values_list("given_at", flat=True)
        .first()
    )
    if last_dose is not None and _local_day(last_dose, current.site.time_zone) > day:
        raise ValidationError(
            {
                "ended_on": f"A dose was given under this order on "
                f"{_local_day(last_dose, current.site.time_zone).isoformat()}, after that day."
            }
        )
    current.ended_on = day
    current.version += 1
    current.save(update_fields=["ended_on", "version"])
    record_event(
        request=request,
        actor=by,
        site=current.site,
        action=Action.UPDATE,
        object_type="medication_order",
        object_id=current.pk,
        patient_id=current.patient_id,
        detail=f"stopped {current.medication} on {day.isoformat()}",
    )
    order.ended_on, order.version = current.ended_on, current.version
    return current


# --- Injections: facts, warnings, due status ---------------------------------------------------


def administration_facts(
    rows: Iterable[Administration], time_zone: str
) -> list[schedule.Administration]:
    return [
        schedule.Administration(
            patient_id=row.patient_id,
            medication=row.order.medication,
            given_on=_local_day(row.given_at, time_zone),
            site=row.injection_site,
        )
        for row in rows
    ]


def patient_administrations(patient: Patient) -> list[Administration]:
    """Every dose given to ``patient`` in clinic, newest first, with order and nurse (1 query)."""
    return list(
        Administration.objects.filter(patient=patient)
        .select_related("order", "given_by")
        .order_by("-given_at", "-pk")
    )


@dataclass(frozen=True)
class ScreenFacts:
    """The opioid results of a patient's screens that the Vivitrol check reads."""

    last_positive_on: date | None
    last_negative_on: date | None
    long_acting_positive: bool


def opioid_screen_facts(patient: Patient, on: date) -> ScreenFacts:
    """The last screen positive for an opioid and the last valid screen negative for all the
    opioids it tested, collected on or before ``on`` (site days). A confirmatory result
    overrides the presumptive one of the same analyte. One query."""
    from openiop.screening.models import ScreenResult, ScreenStatus

    time_zone = patient.site.time_zone
    _, end = day_bounds(on, time_zone)
    rows = (
        ScreenResult.objects.filter(
            screen__patient=patient,
            screen__status=ScreenStatus.COLLECTED,
            screen__collected_at__lt=end,
            analyte__in=OPIOID_CODES,
        )
        .order_by("-screen__collected_at", "-screen_id", "method")
        .values_list(
            "screen_id", "screen__collected_at", "screen__validity", "analyte", "method", "result"
        )[:SCREEN_ROWS_READ]
    )
    screens: dict[int, dict[str, Any]] = {}
    for screen_id, collected_at, validity, analyte, method, result in rows:
        screen = screens.setdefault(
            screen_id,
            {"on": _local_day(collected_at, time_zone), "validity": validity, "final": {}},
        )
        final = screen["final"]
        if analyte not in final or method == "confirmatory":
            final[analyte] = result
    last_positive: date | None = None
    last_negative: date | None = None
    long_acting = False
    for screen in screens.values():  # newest first (dicts keep insertion order)
        results = screen["final"]
        positives = {a for a, r in results.items() if r == "positive"}
        if positives and last_positive is None:
            last_positive = screen["on"]
            long_acting = bool(positives & LONG_ACTING_ANALYTES)
        elif (
            not positives
            and last_negative is None
            and results
            and all(r == "negative" for r in results.values())
            and screen["validity"] in ("", "valid")
        ):
            last_negative = screen["on"]
        if last_positive is not None and last_negative is not None:
            break
    return ScreenFacts(last_positive, last_negative, long_acting)


def _sublingual_run(orders: Iterable[MedicationOrder], on: date) -> tuple[date | None, date | None]:
    """The start and end of the latest unbroken run of sublingual buprenorphine orders that
    started by ``on`` (a dose change is a stop and a new order: they join up)."""
    runs: list[list[date | None]] = []
    for order in sorted(
        (o for o in orders if o.medication == schedule.SUBLINGUAL_BUPRENORPHINE),
        key=lambda o: o.started_on,
    ):
        if order.started_on > on:
            continue
        if runs:
            last_end = runs[-1][1]
            if last_end is None or order.started_on <= last_end + timedelta(days=1):
                if last_end is not None:
                    runs[-1][1] = None if order.ended_on is None else max(last_end, order.ended_on)
                continue
        runs.append([order.started_on, order.ended_on])
    if not runs:
        return None, None
    return runs[-1][0], runs[-1][1]


def first_dose_facts(
    orders: Iterable[MedicationOrder], screens: ScreenFacts, on: date
) -> schedule.FirstDoseFacts:
    orders = list(orders)
    started, ended = _sublingual_run(orders, on)
    recent = on - timedelta(days=schedule.VIVITROL_OPIOID_FREE_DAYS_LONG_ACTING)
    on_long_acting = any(
        o.medication in LONG_ACTING_CODES
        and o.started_on <= on
        and (o.ended_on is None or o.ended_on >= recent)
        for o in orders
    )
    return schedule.FirstDoseFacts(
        last_positive_opioid_screen_on=screens.last_positive_on,
        last_negative_opioid_screen_on=screens.last_negative_on,
        sublingual_started_on=started,
        sublingual_ended_on=ended,
        long_acting_opioid=on_long_acting or screens.long_acting_positive,
    )


def dose_warnings(
    order: MedicationOrder,
    *,
    on: date,
    site: str,
    history: Sequence[schedule.Administration],
    facts: schedule.FirstDoseFacts,
) -> list[MedicationWarning]:
    """What to warn about a dose of ``order`` on ``on`` at ``site`` (pure): timing against the
    current series, site rotation, and first-dose preconditions. ``history`` is the patient's
    in-clinic doses (any order), not including this one."""
    code = order.medication
    if not schedule.is_injectable(code):
        return []
    before = [a for a in history if a.given_on <= on]
    series = schedule.current_series(code, before)
    warnings: list[MedicationWarning] = []
    if series:
        for message in schedule.administration_warnings(code, given_on=on, previous=series):
            kind = (
                "duplicate"
                if "already recorded" in message
                else "too_early"
                if message.startswith("Too early")
                else "late"
            )
            warnings.append(MedicationWarning(kind, message))
        last = max((a for a in before if a.medication == code), key=lambda a: a.given_on)
        previous_site = last.site or None
    else:
        try:
            preconditions = schedule.first_dose_warnings(code, on=on, facts=facts)
        except ValueError as exc:
            preconditions = [schedule.Precondition("facts_after_dose", str(exc))]
        warnings.extend(MedicationWarning(p.code, p.message) for p in preconditions)
        previous_site = None
    if site:
        warnings.extend(
            MedicationWarning("site", message)
            for message in schedule.site_warnings(code, site, previous_site=previous_site)
        )
    return warnings


@dataclass(frozen=True)
class InjectionStatus:
    """Where an active injectable order stands on a day: its next window, or a first dose."""

    order: MedicationOrder
    status: schedule.DueStatus
    first_dose: bool
    window: schedule.DueWindow | None
    last_given_on: date | None
    last_site: str
    suggested_site: schedule.SiteSuggestion

    @property
    def last_site_label(self) -> str:
        return schedule.site_label(self.last_site) if self.last_site else ""

    @property
    def days_overdue(self) -> int:
        if self.window is None or self.status is not schedule.DueStatus.OVERDUE:
            return 0
        return (self.as_of - self.window.latest).days

    as_of: date = date.min


def injection_status(
    order: MedicationOrder, history: Sequence[schedule.Administration], today: date
) -> InjectionStatus:
    """``order``'s due status on ``today`` from the patient's doses (pure)."""
    code = order.medication
    series = schedule.current_series(code, history)
    window = schedule.next_window(code, series)
    of_code = sorted((a for a in history if a.medication == code), key=lambda a: a.given_on)
    sites = [a.site for a in of_code if a.given_on in set(series)]
    suggestion = schedule.suggest_site(code, sites)
    if window is None:
        status = (
            schedule.DueStatus.DUE if order.started_on <= today else schedule.DueStatus.NOT_YET_DUE
        )
        return InjectionStatus(order, status, True, None, None, "", suggestion, today)
    return InjectionStatus(
        order,
        schedule.status_on(window, today),
        False,
        window,
        window.last_given_on,
        sites[-1] if sites else "",
        suggestion,
        today,
    )


def injection_statuses(
    orders: Iterable[MedicationOrder],
    administrations: Iterable[Administration],
    today: date,
    time_zone: str,
) -> list[InjectionStatus]:
    """The due status of each active in-clinic injectable order among ``orders`` (pure)."""
    history = administration_facts(administrations, time_zone)
    return [
        injection_status(order, history, today)
        for order in orders
        if schedule.is_injectable(order.medication)
        and order.dispensing == Dispensing.CLINIC
        and is_active_on(order, today)
    ]


# --- Administrations -------------------------------------------------------------------------


def _resolve_order(
    patient: Patient, data: dict[str, Any], day: date, errors: dict[str, str]
) -> MedicationOrder | None:
    raw_id = data.get("order_id")
    code = data.get("medication")
    if raw_id not in (None, ""):
        order_id = _parse_int(raw_id)
        order = (
            MedicationOrder.objects.filter(pk=order_id, patient=patient).first()
            if order_id is not None
            else None
        )
        if order is None:
            errors["order_id"] = "No such order for this patient."
            return None
        if code not in (None, "") and code != order.medication:
            errors["medication"] = f"Order #{order.pk} is for {order.get_medication_display()}."
            return None
    elif code in (None, ""):
        errors["medication"] = "Choose the medication that was given."
        return None
    elif not is_medication_code(code):
        errors["medication"] = (
            f"Unknown medication code {str(code)[:40]!r}; GET /api/v1/medications/catalog "
            "lists the codes."
        )
        return None
    else:
        candidates = list(
            MedicationOrder.objects.filter(patient=patient, medication=code).order_by("-started_on")
        )
        order = next((o for o in candidates if is_active_on(o, day)), None)
        if order is None:
            name = get_medication(code).name
            errors["medication"] = (
                f"{name} is not ordered for this patient on {day.isoformat()}."
                if not candidates
                else f"No order of {name} is active on {day.isoformat()}."
            )
            return None
    if not is_active_on(order, day):
        until = f" to {order.ended_on.isoformat()}" if order.ended_on else ""
        errors["order_id"] = (
            f"The order of {order.get_medication_display()} runs from "
            f"{order.started_on.isoformat()}{until}; it is not active on {day.isoformat()}."
        )
        return None
    if order.dispensing != Dispensing.CLINIC:
        errors["order_id"] = (
            f"{order.get_medication_display()} is dispensed by "
            f"{_DISPENSING_WORDS[Dispensing(order.dispensing)]}, not given in clinic; only doses "
            "given in clinic are recorded here."
        )
        return None
    return order


def clean_administration(
    patient: Patient, data: dict[str, Any]
) -> tuple[MedicationOrder, dict[str, Any]]:
    """The dose's order and fields from ``data`` or a ValidationError naming each bad field.

    Keys: order_id or medication (catalogue code; the patient's order active that day),
    given_at (ISO date-time; a naive time is the site's; default now), dose (default the
    order's), injection_site (required for an injectable: one of its product's sites), lot,
    notes.
    """
    _refuse_nul(data)
    errors: dict[str, str] = {}
    time_zone = patient.site.time_zone
    given_at = _parse_moment(data.get("given_at"), time_zone, "given_at", errors)
    if "given_at" not in errors and given_at > timezone.now() + CLOCK_SKEW:
        errors["given_at"] = "The dose cannot be recorded ahead of time."
    day = _local_day(given_at, time_zone)
    order = None if "given_at" in errors else _resolve_order(patient, data, day, errors)
    dose = _parse_decimal(data.get("dose"), "dose", errors)
    site = _text(data, "injection_site")
    if order is not None:
        if dose is None and "dose" not in errors:
            dose = order.dose
        if schedule.is_injectable(order.medication):
            rule = schedule.rule_for(order.medication)
            if not site:
                errors["injection_site"] = (
                    f"Choose where {rule.name} was injected: "
                    f"{', '.join(schedule.site_label(s) for s in rule.sites)}."
                )
            elif site not in rule.sites:
                errors["injection_site"] = (
                    f"{schedule.site_label(site)[:40]} is not a site for {rule.name}; use "
                    f"{', '.join(schedule.site_label(s) for s in rule.sites)}."
                )
        elif site:
            errors["injection_site"] = (
                f"{order.get_medication_display()} is not injected; leave the site empty."
            )
    lot = _text(data, "lot")
    if len(lot) > LOT_MAX_LENGTH:
        errors["lot"] = f"At most {LOT_MAX_LENGTH} characters."
    notes = str(data.get("notes") or "").strip()
    if len(notes) > NOTES_MAX_LENGTH:
        errors["notes"] = f"At most {NOTES_MAX_LENGTH:,} characters."
    if errors:
        raise ValidationError(errors)
    assert order is not None  # noqa: S101
    return order, {
        "given_at": given_at,
        "dose": dose,
        "injection_site": site,
        "lot": lot,
        "notes": notes,
    }


def warnings_for(
    patient: Patient, order: MedicationOrder, given_at: datetime, site: str
) -> list[MedicationWarning]:
    """The warnings of a dose of ``order`` at ``given_at`` (3 queries: the patient's doses,
    orders, and opioid screens — the last two only before a first dose)."""
    time_zone = patient.site.time_zone
    on = _local_day(given_at, time_zone)
    if not schedule.is_injectable(order.medication):
        return []
    history = administration_facts(
        Administration.objects.filter(patient=patient).select_related("order"), time_zone
    )
    series = schedule.current_series(order.medication, [a for a in history if a.given_on <= on])
    facts = schedule.FirstDoseFacts()
    if not series and order.medication in ("vivitrol", "sublocade"):
        orders = MedicationOrder.objects.filter(patient=patient)
        facts = first_dose_facts(orders, opioid_screen_facts(patient, on), on)
    return dose_warnings(order, on=on, site=site, history=history, facts=facts)


@transaction.atomic
def record_administration(
    patient: Patient,
    *,
    by: User,
    data: dict[str, Any],
    request: HttpRequest | None = None,
    require_acknowledgement: bool = False,
) -> tuple[Administration, list[MedicationWarning]]:
    """Record a dose given in clinic to ``patient`` and return it with its warnings.

    The order must be this patient's, active that day and given in clinic (ValidationError
    otherwise); see ``clean_administration`` for the keys. Warnings (too early, late, same
    site, first-dose preconditions not documented) do not block. With
    ``require_acknowledgement`` — what the screen does — they must have been shown and
    acknowledged: ``data["acknowledged"]`` must be the ``warnings_digest`` of exactly these
    warnings, else WarningsNotAcknowledged (nothing is written).
    """
    order, values = clean_administration(patient, data)
    _lock_patient(patient)
    warnings = warnings_for(patient, order, values["given_at"], values["injection_site"])
    if (
        require_acknowledgement
        and warnings
        and str(data.get("acknowledged") or "") != warnings_digest(warnings)
    ):
        raise WarningsNotAcknowledged(warnings)
    administration = Administration.objects.create(
        order=order, patient=patient, given_by=by, **values
    )
    record_event(
        request=request,
        actor=by,
        site=patient.site,
        action=Action.CREATE,
        object_type="administration",
        object_id=administration.pk,
        patient_id=patient.pk,
        detail=(
            f"{order.medication} {administration.dose} {order.dose_unit} given"
            + (f" ({administration.injection_site})" if administration.injection_site else "")
            + (f"; {len(warnings)} warning(s) acknowledged" if warnings else "")
        )[:500],
    )
    return administration, warnings


# --- The site's week -------------------------------------------------------------------------


@dataclass(frozen=True)
class DueInjection:
    """One line of the week's injection list: the patient, the order and where it stands."""

    patient: Patient
    order: MedicationOrder
    due: schedule.DueItem

    @property
    def status(self) -> schedule.DueStatus:
        return self.due.status

    @property
    def first_dose(self) -> bool:
        return self.due.first_dose


def injections_due_for_site(site: Site, today: date) -> list[DueInjection]:
    """In-clinic injections due or overdue from ``today`` through Sunday at ``site``, overdue
    first (``schedule.injections_due_this_week``). Active patients only. Two queries."""
    sunday = today + timedelta(days=6 - today.weekday())
    due_orders = MedicationOrder.objects.filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=today),
        site=site,
        medication__in=list(schedule.RULES),
        dispensing=Dispensing.CLINIC,
        started_on__lte=sunday,
        patient__is_active=True,
    )
    orders = list(due_orders.select_related("patient", "prescriber"))
    if not orders:
        return []
    administrations = Administration.objects.filter(
        patient_id__in=Subquery(due_orders.values("patient_id")),
        order__medication__in=list(schedule.RULES),
    ).select_related("order")
    history = administration_facts(administrations, site.time_zone)
    items = schedule.injections_due_this_week(
        [
            schedule.InjectableOrder(o.pk, o.patient_id, o.medication, o.started_on, o.ended_on)
            for o in orders
        ],
        history,
        today=today,
    )
    by_id = {o.pk: o for o in orders}
    return [DueInjection(by_id[i.order_id].patient, by_id[i.order_id], i) for i in items]


# --- Overdue injection alerts ------------------------------------------------------------------

# An overdue window is identified by the dose it follows: a later dose opens a new window, and
# when that one is missed too it is new evidence, so a new alert.
OVERDUE_EVIDENCE_TYPE = "administration"


def raise_overdue_injection_alerts(
    site: Site, today: date, *, request: HttpRequest | None = None
) -> int:
    """Alert the primary therapist and the prescriber of each patient at ``site`` whose
    in-clinic injection is overdue on ``today``; return how many alerts were created.

    Idempotent per due window: the evidence is the last dose of the series (the window
    follows it), and ``raise_alert`` keeps one alert per evidence and person whatever its
    state — a resolved one is not raised again for the same window, while a window after a
    later dose is new evidence. A first dose has no window, so it is never overdue. Safe to
    run on several servers at once (the alerts' unique constraint keeps one). Patients
    without an active enrollment have nobody to alert and are skipped.
    """
    overdue = [
        item
        for item in injections_due_for_site(site, today)
        if item.status is schedule.DueStatus.OVERDUE and not item.first_dose
    ]
    if not overdue:
        return 0
    patient_ids = sorted({item.patient.pk for item in overdue})
    last_dose: dict[tuple[int, str], tuple[int, date]] = {}
    rows = (
        Administration.objects.filter(
            patient_id__in=patient_ids,
            order__medication__in=sorted({item.order.medication for item in overdue}),
        )
        .order_by("given_at", "pk")
        .values_list("pk", "patient_id", "order__medication", "given_at")
    )
    for pk, patient_id, code, given_at in rows:
        last_dose[(patient_id, code)] = (pk, _local_day(given_at, site.time_zone))
    enrollments = {
        enrollment.patient_id: enrollment
        for enrollment in Enrollment.objects.filter(
            patient_id__in=patient_ids, status=EnrollmentStatus.ACTIVE
        ).select_related("primary_therapist", "prescriber")
    }
    created = 0
    for item in overdue:
        enrollment = enrollments.get(item.patient.pk)
        dose = last_dose.get((item.patient.pk, item.order.medication))
        if enrollment is None or dose is None or item.due.latest is None:
            continue
        dose_id, given_on = dose
        name = schedule.rule_for(item.order.medication).name
        due, latest = item.due, item.due.latest
        days = (today - latest).days
        detail = (
            f"Last given {given_on:%b} {given_on.day}"
            + (f" ({schedule.site_label(due.last_site)})" if due.last_site else "")
            + f"; the next was due {due.target:%b} {due.target.day} (window "
            f"{due.due_from:%b} {due.due_from.day} – {latest:%b} {latest.day}). Overdue "
            f"{days} day{'s' if days != 1 else ''} on {today:%b} {today.day}: reach the "
            "patient, give the injection or record why not."
        )
        created += len(
            raise_alert(
                site=site,
                patient=item.patient,
                kind=AlertKind.INJECTION_OVERDUE,
                severity=Severity.HIGH,
                title=f"{name} injection overdue: due by {latest:%b} {latest.day}",
                detail=detail,
                evidence_type=OVERDUE_EVIDENCE_TYPE,
                evidence_id=dose_id,
                assignees=[enrollment.primary_therapist, enrollment.prescriber],
                request=request,
            )
        )
    return created
