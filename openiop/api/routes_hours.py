"""Weekly hours against the target over the API (issue 3, point 10).

The week is an ISO week (Monday–Sunday) in the time zone of the patient's site.
"""

# No ``from __future__ import annotations`` here: django-ninja builds its query model from the
# operation's annotations at import time.

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Path, Router, Schema, Status

from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action
from openiop.lib.dates import IsoWeek, local_today
from openiop.patients.access import get_patient_for_user
from openiop.scheduling.hours import WeekStatus
from openiop.scheduling.hours_query import patient_weeks

router = Router(tags=["hours"])

# Larger ids cannot exist and would overflow a 64-bit integer column.
MAX_ID = 2**63 - 1


class WeekHoursOut(Schema):
    week: str = Field(..., description="ISO week, e.g. 2026-W48.", examples=["2026-W48"])
    attended_hours: float = Field(..., description="Hours attended, two decimals.")
    scheduled_hours: float = Field(
        ..., description="Everything booked that week: attended or still ahead."
    )
    target_min: float | None = Field(..., description="Weekly floor; null when not enrolled.")
    target_max: float | None = Field(..., description="Weekly ceiling; null when not enrolled.")
    status: WeekStatus


def _week_error(message: str) -> Status:
    return Status(422, {"detail": [{"field": "week", "message": message, "type": "value_error"}]})


@router.get(
    "/patients/{patient_id}/hours",
    response={200: WeekHoursOut, 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="A patient's attended and scheduled hours of one week against the target",
    description=(
        "Status: met (attended ≥ floor), on_track (attended + still ahead ≥ floor), at_risk"
        " (below that and the week is not over), missed (the week ended below the floor),"
        " not_enrolled. `week` defaults to the current week at the patient's site."
    ),
    auth=api_guard("hours.view"),
)
def patient_hours(
    request: HttpRequest,
    patient_id: int = Path(..., ge=1, le=MAX_ID),
    week: str | None = None,
) -> object:
    requested = None
    if week is not None:
        try:
            requested = IsoWeek.parse(week)
        except ValueError as error:
            return _week_error(str(error))
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="hours.view",
        action=Action.VIEW,
        object_type="hours",
        detail=f"week {requested}" if requested else "current week",
    )
    time_zone = patient.site.time_zone
    chosen = requested or IsoWeek.of(local_today(time_zone))
    (found,) = patient_weeks(
        patient_id=patient.pk, time_zone=time_zone, weeks=[chosen], now=timezone.now()
    )
    return {
        "week": str(found.week),
        "attended_hours": float(found.attended_hours),
        "scheduled_hours": float(found.scheduled_hours),
        "target_min": None if found.target_min is None else float(found.target_min),
        "target_max": None if found.target_max is None else float(found.target_max),
        "status": found.status,
    }
