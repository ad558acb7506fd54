"""Level reviews over the API: a patient's recommended step-up / step-down reviews, one review,
and the two decisions (DOMAIN.md §10: the software recommends, a clinician decides).

Errors: a review or patient the token may not see → 404; a bad value → 422 naming the field;
a stale ``version`` or a review already decided → 409 ``{"detail": …}``. Accepting with a
``transfer`` moves the patient and records the decision in one transaction, or neither.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the annotations at import.

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict

from openiop.accounts.models import User
from openiop.api.auth import api_guard
from openiop.api.routes_enrollments import enrollment_out
from openiop.api.routes_medications import MAX_ID, Text, unprocessable
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action
from openiop.measures import services_reviews as services
from openiop.measures.models import LevelReview
from openiop.patients.access import get_patient_for_user, sites_for
from openiop.programs.enrollment import ActiveEnrollmentExists, StaleEnrollment
from openiop.programs.models import Cadence, Enrollment, Program, Track, TransferKind
from openiop.scheduling import enrollment as enrollment_services
from openiop.scheduling.booking import BookingConflict

router = Router(tags=["reviews"])

ERRORS = {401: Detail, 403: Detail, 404: Detail, 409: Detail, 422: ValidationErrors}
LIST_LIMIT = 200


class SignalOut(Schema):
    code: str = Field(
        description="unexpected_screens, missed_hours, phq9_band_up, gad7_band_up,"
        " craving_rising, safety_flag (step-up); screens_negative, hours_met, scores_stable,"
        " goals_met (step-down)"
    )
    evidence: str = Field(description="The data that produced it, with ISO dates and values.")
    dates: list[date]


class ReviewOut(Schema):
    id: int
    patient_id: int
    enrollment_id: int
    site_id: int
    program_id: int
    program_name: str
    direction: str = Field(description="step_up or step_down")
    signals: list[SignalOut]
    trigger: str = Field(description="nightly, screen, measure, week or manual")
    created_at: datetime
    state: str = Field(description="open, accepted, dismissed or closed (enrollment ended)")
    decided_by_id: int | None
    decided_at: datetime | None
    reason: str
    transfer_enrollment_id: int | None
    version: int = Field(description="Send it back with a decision; stale → 409.")


class DismissIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=services.REASON_MAX_LENGTH)
    version: int = Field(ge=1, le=MAX_ID)


class ReviewTransferIn(Schema):
    model_config = ConfigDict(extra="forbid")

    program_id: int = Field(ge=1, le=MAX_ID)
    track_id: int | None = Field(None, ge=1, le=MAX_ID)
    on: date
    reason: Text | None = Field(
        None, max_length=500, description="Default: the review's evidence in one paragraph."
    )
    kind: TransferKind | None = Field(None, description="Default: the review's direction.")
    weekly_hours_min: Decimal | None = Field(None, ge=0, le=168, decimal_places=1)
    weekly_hours_max: Decimal | None = Field(None, ge=0, le=168, decimal_places=1)
    primary_therapist_id: int | None = Field(None, ge=1, le=MAX_ID)
    prescriber_id: int | None = Field(None, ge=1, le=MAX_ID)
    individual_cadence: Cadence | None = None
    enrollment_version: int | None = Field(
        None, ge=1, le=MAX_ID, description="The enrollment's version read; stale → 409."
    )


class AcceptIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = Field(
        None,
        max_length=services.REASON_MAX_LENGTH,
        description="Required without a transfer (e.g. a referral handled elsewhere).",
    )
    version: int = Field(ge=1, le=MAX_ID)
    transfer: ReviewTransferIn | None = Field(
        None, description="Step the patient up or down now; the review links the new enrollment."
    )


class AcceptOut(Schema):
    review: ReviewOut
    transfer: dict[str, Any] | None = Field(
        description="The new enrollment (as in POST /enrollments/{id}/transfer), or null."
    )


def review_out(review: LevelReview) -> dict[str, Any]:
    return {
        "id": review.pk,
        "patient_id": review.patient_id,
        "enrollment_id": review.enrollment_id,
        "site_id": review.site_id,
        "program_id": review.enrollment.program_id,
        "program_name": review.enrollment.program.name,
        "direction": review.direction,
        "signals": review.signals,
        "trigger": review.trigger,
        "created_at": review.created_at,
        "state": review.state,
        "decided_by_id": review.decided_by_id,
        "decided_at": review.decided_at,
        "reason": review.reason,
        "transfer_enrollment_id": review.transfer_id,
        "version": review.version,
    }


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _fresh(review: LevelReview) -> dict[str, Any]:
    return review_out(services.reviews_with_people().get(pk=review.pk))


@router.get(
    "/patients/{patient_id}/reviews",
    response={200: list[ReviewOut], 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="A patient's level reviews, newest first (open and decided)",
    auth=api_guard("measures.view"),
)
def list_reviews(
    request: HttpRequest, patient_id: int = Path(..., ge=1, le=MAX_ID)
) -> list[dict[str, Any]]:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="measures.view",
        object_type="level_review",
        detail="level reviews via API",
    )
    reviews = services.reviews_with_people().filter(patient=patient)[:LIST_LIMIT]
    return [review_out(r) for r in reviews]


@router.get(
    "/reviews/{review_id}",
    response={200: ReviewOut, 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="One level review with its signals and decision",
    auth=api_guard("measures.view"),
)
def get_review(request: HttpRequest, review_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    review = services.get_review_for_user(request, review_id, permission="measures.view")
    return review_out(review)


@router.post(
    "/reviews/{review_id}/dismiss",
    response={200: ReviewOut, **ERRORS},
    summary="Dismiss an open review with a reason; resolves its alerts",
    auth=api_guard("reviews.decide"),
)
def dismiss(
    request: HttpRequest, payload: DismissIn, review_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    review = services.get_review_for_user(
        request, review_id, permission="reviews.decide", action=Action.UPDATE
    )
    try:
        decided = services.dismiss_review(
            review, by=_user(request), version=payload.version, reason=payload.reason,
            request=request,
        )  # fmt: skip
    except ValidationError as exc:
        return unprocessable(exc)
    except services.ReviewConflict as exc:
        raise HttpError(409, str(exc)) from None
    return Status(200, _fresh(decided))


def _one(queryset: Any, pk: int | None, what: str) -> Any:
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise HttpError(404, f"No such {what}.")
    return found


def _staff(request: HttpRequest, pk: int | None, what: str, permission: str) -> User | None:
    sites = sites_for(request, permission)
    return _one(User.objects.filter(memberships__site__in=sites).distinct(), pk, what)


@router.post(
    "/reviews/{review_id}/accept",
    response={200: AcceptOut, **ERRORS},
    summary="Accept an open review, with the transfer it leads to or a reason without one",
    description=(
        "With `transfer` the patient is stepped up or down (as POST"
        " /enrollments/{id}/transfer) and the review accepted with the new enrollment, all or"
        " nothing; `transfer` needs the enrollments.change permission too. Without it a"
        " `reason` is required."
    ),
    auth=api_guard("reviews.decide"),
)
def accept(
    request: HttpRequest, payload: AcceptIn, review_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    review = services.get_review_for_user(
        request, review_id, permission="reviews.decide", action=Action.UPDATE
    )
    by = _user(request)
    moved = payload.transfer
    try:
        if moved is None:
            decided = services.accept_review(
                review, by=by, version=payload.version, reason=payload.reason or "",
                request=request,
            )  # fmt: skip
            return Status(200, {"review": _fresh(decided), "transfer": None})
        permission = "enrollments.change"
        if review.site_id not in {s.pk for s in sites_for(request, permission)}:
            raise HttpError(403, "Transferring a patient needs the enrollments.change permission.")
        enrollment = Enrollment.objects.select_related("patient__site").get(pk=review.enrollment_id)
        site_id = review.site_id
        program = _one(
            Program.objects.filter(site_id=site_id).select_related("level_of_care"),
            moved.program_id,
            "program",
        )
        track = _one(Track.objects.filter(program__site_id=site_id), moved.track_id, "track")
        therapist = _staff(request, moved.primary_therapist_id, "therapist", permission)
        prescriber = _staff(request, moved.prescriber_id, "prescriber", permission)
        kind = moved.kind or (
            TransferKind.STEP_UP if review.direction == "step_up" else TransferKind.STEP_DOWN
        )
        result = services.transfer_for_review(
            review,
            by=by,
            version=payload.version,
            transfer=lambda: enrollment_services.transfer_patient(
                enrollment=enrollment,
                program=program,
                track=track,
                on=moved.on,
                reason=moved.reason or services.summary_text(review)[:500],
                kind=kind,
                weekly_hours_min=moved.weekly_hours_min,
                weekly_hours_max=moved.weekly_hours_max,
                primary_therapist=therapist,
                prescriber=prescriber,
                individual_cadence=moved.individual_cadence,
                expected_version=moved.enrollment_version,
                by=by,
                request=request,
            ),
            request=request,
        )
    except ValidationError as exc:
        where = "payload.transfer" if moved is not None else "payload"
        renames = {"admitted_on": "on", "program": "program_id", "track": "track_id"}
        return unprocessable(exc, where=where, renames=renames)
    except (
        services.ReviewConflict,
        ActiveEnrollmentExists,
        StaleEnrollment,
        BookingConflict,
    ) as exc:
        raise HttpError(409, str(exc)) from None
    new = Enrollment.objects.select_related("program__level_of_care", "track").get(
        pk=result.transfer.enrollment.pk
    )
    return Status(200, {"review": _fresh(result.review), "transfer": enrollment_out(new)})
