"""Questionnaires of measurement-based care over the API: the instrument registry, and a
patient's responses (record one, list them).

Answers are a list of option values in item order (item 1 first). A C-SSRS question the skip
logic leaves out is ``null`` (or the list stops early). Every answer problem is a 422 naming the
item: ``payload.answers.9`` is item 9, counted from 1 like the questionnaire. Patients the
token may not see answer 404, like ones that do not exist.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the annotations at import.

from datetime import date, datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from openiop.alerts.models import Alert, AlertKind
from openiop.api.auth import api_guard
from openiop.api.routes_medications import invalid, unprocessable
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action
from openiop.measures import instruments
from openiop.measures.models import MeasureResponse
from openiop.measures.safety import EVIDENCE_TYPE, safety_alerts_of
from openiop.measures.services import record_measure
from openiop.patients.access import get_patient_for_user, sites_for

router = Router(tags=["measures"])

MAX_ID = 2**63 - 1
ERRORS = {401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors}


# --- The registry ------------------------------------------------------------------------


class OptionOut(Schema):
    value: int
    label: str


class AskedIfOut(Schema):
    item: int = Field(description="The question whose answer decides.")
    values: list[int] = Field(
        description="This question is asked when that answer is one of these."
    )


class ItemOut(Schema):
    number: int
    text: str
    options: list[OptionOut]
    required: bool = Field(description="False: may be left unanswered (BAM item 7).")
    asked_if: AskedIfOut | None = Field(
        description="Skip logic: asked only under this condition, else it must be null."
    )
    scored: bool = Field(description="False: stored but counted in no total or subscale.")
    reversed: bool = Field(description="Scores 1 for no and 0 for yes (DAST-10 item 3).")


class BandOut(Schema):
    low: int
    high: int
    name: str


class SubscaleOut(Schema):
    name: str
    items: list[int]


class InstrumentOut(Schema):
    code: str = Field(description='Send it as a response\'s `instrument` ("PHQ-9").')
    name: str
    version: str
    instructions: str
    items: list[ItemOut]
    has_total: bool
    total_range: list[int] | None = Field(description="[lowest, highest] total; null: none.")
    bands: list[BandOut] = Field(
        description="Total → band name. PCL-5: at the default threshold 33; a program may set "
        "31–33. C-SSRS: none here, its band is the risk level (none, low, moderate, high)."
    )
    subscales: list[SubscaleOut]
    safety_items: list[int] = Field(description="An answer above 0 to one of these alerts.")
    safety_levels: list[str] = Field(description="C-SSRS risk levels that alert.")
    licence_note: str


def _instrument_out(instrument: instruments.Instrument) -> dict[str, Any]:
    bands = instruments.pcl5_bands() if instrument is instruments.PCL5 else instrument.bands
    total_range = instrument.total_range
    return {
        "code": instrument.code,
        "name": instrument.name,
        "version": instrument.version,
        "instructions": instrument.instructions,
        "items": [
            {
                "number": item.number,
                "text": item.text,
                "options": [{"value": o.value, "label": o.label} for o in item.options],
                "required": item.required,
                "asked_if": (
                    {"item": item.asked_if[0], "values": sorted(item.asked_if[1])}
                    if item.asked_if
                    else None
                ),
                "scored": item.scored,
                "reversed": item.reversed,
            }
            for item in instrument.items
        ],
        "has_total": instrument.has_total,
        "total_range": list(total_range) if total_range else None,
        "bands": [{"low": b.low, "high": b.high, "name": b.name} for b in bands],
        "subscales": [{"name": s.name, "items": list(s.items)} for s in instrument.subscales],
        "safety_items": list(instrument.safety_items),
        "safety_levels": sorted(
            (level.value for level in instrument.safety_levels),
            key=[level.value for level in instruments.RiskLevel].index,
        ),
        "licence_note": instrument.licence_note,
    }


INSTRUMENT_LIST = [_instrument_out(i) for i in instruments.INSTRUMENTS.values()]


@router.get(
    "/instruments",
    response={200: list[InstrumentOut], 401: Detail, 403: Detail},
    summary="The questionnaires: items, answer options, skip logic, bands, subscales",
    description=(
        "Answer a questionnaire with its options' `value`s in item order. DAST-10 and C-SSRS"
        " items carry short labels written for this project, not the instruments' wording:"
        " see each `licence_note`."
    ),
    auth=api_guard("measures.view"),
)
def list_instruments(request: HttpRequest) -> list[dict[str, Any]]:
    return INSTRUMENT_LIST


# --- Responses ---------------------------------------------------------------------------


class MeasureIn(Schema):
    instrument: str = Field(description='An instrument code from GET /instruments ("PHQ-9").')
    answers: list[Any] = Field(
        description="Option values in item order, item 1 first; null (or a shorter list) for"
        " a C-SSRS question the skip logic leaves out, or BAM item 7."
    )
    taken_on: date | None = Field(None, description="Default: today at the patient's site.")
    respondent: Literal["staff", "patient"] = Field(
        "staff", description="staff: asked in an interview; patient: self-report."
    )
    occasion: Literal["intake", "periodic", "discharge", "ad_hoc"] | None = Field(
        None, description="Default: inferred (intake for the first of the episode of care)."
    )


class FlagOut(Schema):
    code: str
    severity: str
    detail: str
    item: int | None


class AlertRaisedOut(Schema):
    id: int
    assignee_id: int
    assignee: str


class MeasureOut(Schema):
    id: int
    patient_id: int
    instrument: str
    instrument_version: str
    answers: list[int | None] = Field(description="In item order; null: not asked.")
    score: int | None = Field(description="The total; null for the BAM and the C-SSRS.")
    band: str | None = Field(
        description='The band\'s name ("moderately severe"); the C-SSRS risk level; null: none.'
    )
    subscales: dict[str, int]
    flags: list[FlagOut]
    has_safety_flag: bool
    respondent: str
    occasion: str
    taken_on: date
    recorded_by_id: int
    recorded_by: str
    recorded_at: datetime
    struck: bool
    struck_reason: str
    struck_at: datetime | None
    alerts_raised: list[AlertRaisedOut] = Field(
        description="The safety alerts this response raised (one per person alerted)."
    )


def _answers_list(response: MeasureResponse) -> list[int | None]:
    try:
        count = len(instruments.get_instrument(response.instrument).items)
    except instruments.UnknownInstrumentError:
        count = max((int(k) for k in response.answers), default=0)
    return [response.answers.get(str(n)) for n in range(1, count + 1)]


def _measure_out(response: MeasureResponse, alerts: list[Any]) -> dict[str, Any]:
    strike = getattr(response, "strike", None)
    return {
        "id": response.pk,
        "patient_id": response.patient_id,
        "instrument": response.instrument,
        "instrument_version": response.instrument_version,
        "answers": _answers_list(response),
        "score": response.score,
        "band": response.band or None,
        "subscales": response.subscales or {},
        "flags": [
            {
                "code": flag.get("code", ""),
                "severity": flag.get("severity", ""),
                "detail": flag.get("detail", ""),
                "item": flag.get("item"),
            }
            for flag in response.flags or []
        ],
        "has_safety_flag": response.has_safety_flag,
        "respondent": response.respondent,
        "occasion": response.occasion,
        "taken_on": response.taken_on,
        "recorded_by_id": response.recorded_by_id,
        "recorded_by": response.recorded_by.signature_name,
        "recorded_at": response.recorded_at,
        "struck": strike is not None,
        "struck_reason": strike.reason if strike else "",
        "struck_at": strike.struck_at if strike else None,
        "alerts_raised": [
            {"id": a.pk, "assignee_id": a.assignee_id, "assignee": a.assignee.signature_name}
            for a in alerts
        ],
    }


@router.post(
    "/patients/{patient_id}/measures",
    response={201: MeasureOut, **ERRORS},
    summary="Record a questionnaire; answers with its score, band, subscales and flags",
    description=(
        "Scored at once. PHQ-9 item 9 above 0, or a C-SSRS at moderate or high risk, raises a"
        " high-severity safety alert to the primary therapist and the site's directors"
        " (`alerts_raised`). A wrong number of answers, an answer that is not an option, a"
        " question the C-SSRS skip logic asks left null (or one it skips answered) → 422 on"
        " `payload.answers.<item>`; an unknown instrument → 422 on `payload.instrument`."
    ),
    auth=api_guard("measures.record"),
)
def post_measure(
    request: HttpRequest, payload: MeasureIn, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="measures.record",
        action=Action.CREATE,
        object_type="measure",
        detail=f"{payload.instrument[:20]} recorded via API",
    )
    instrument = instruments.INSTRUMENTS.get(payload.instrument)
    if instrument is not None and len(payload.answers) > len(instrument.items):
        count = len(instrument.items)
        return invalid(
            f"payload.answers.{count + 1}",
            f"{instrument.code} has {count} items; {len(payload.answers)} answers were given.",
        )
    try:
        response = record_measure(
            patient=patient,
            instrument=payload.instrument,
            answers=payload.answers,
            taken_on=payload.taken_on,
            respondent=payload.respondent,
            occasion=payload.occasion,
            by=request.auth,  # type: ignore[attr-defined]
            request=request,
        )
    except ValidationError as exc:
        return unprocessable(exc)
    stored = MeasureResponse.objects.select_related("recorded_by").get(pk=response.pk)
    return Status(201, _measure_out(stored, safety_alerts_of(stored)))


class MeasureFilters(Schema):
    instrument: str | None = Field(None, description="Only this instrument's responses.")


@router.get(
    "/patients/{patient_id}/measures",
    response={200: list[MeasureOut], **ERRORS},
    summary="A patient's questionnaire responses, newest first, struck ones included",
    description=(
        "`struck` responses were entered in error: they stay listed but leave the trends,"
        " the due list and the review engine. An unknown `instrument` → 422 on"
        " `query.instrument`."
    ),
    auth=api_guard("measures.view"),
)
def list_measures(
    request: HttpRequest,
    filters: Query[MeasureFilters],
    patient_id: int = Path(..., ge=1, le=MAX_ID),
) -> Any:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="measures.view",
        object_type="measure",
        detail=f"questionnaire responses via API {filters.instrument or ''}"[:120].strip(),
    )
    responses = MeasureResponse.objects.filter(
        patient=patient, site__in=sites_for(request, "measures.view")
    ).select_related("recorded_by", "strike")
    if filters.instrument is not None:
        if filters.instrument not in instruments.INSTRUMENTS:
            known = ", ".join(instruments.INSTRUMENT_CODES)
            return invalid(
                "query.instrument",
                f"Unknown instrument {filters.instrument!r}; choose one of {known}.",
            )
        responses = responses.filter(instrument=filters.instrument)
    responses = list(responses.order_by("-taken_on", "-recorded_at", "-pk"))
    alerts: dict[int, list[Alert]] = {}
    flagged = [r.pk for r in responses if r.has_safety_flag]
    if flagged:
        for alert in (
            Alert.objects.filter(
                kind=AlertKind.SAFETY, evidence_type=EVIDENCE_TYPE, evidence_id__in=flagged
            )
            .select_related("assignee")
            .order_by("assignee__username")
        ):
            alerts.setdefault(alert.evidence_id, []).append(alert)
    return [_measure_out(r, alerts.get(r.pk, [])) for r in responses]
