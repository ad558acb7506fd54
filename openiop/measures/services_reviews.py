"""Deciding a recommended level review (DOMAIN.md §10: the software recommends, a clinician
decides).

Three decisions, each carrying the review's ``version`` (stale → ``ReviewConflict``, HTTP 409)
and refused once the review is no longer open:

- ``dismiss_review``: not now, with a required reason;
- ``accept_review``: accepted, with an optional reason, when the transfer is handled
  elsewhere or not needed (e.g. the patient is being referred out);
- ``transfer_for_review``: accepted **together with** the transfer it leads to, in one
  transaction. The database freezes a review once it leaves "open", so the transfer cannot be
  linked afterwards; instead "Accept" opens the transfer form prefilled from the review
  (``transfer_prefill``) and the transfer view calls this service, which records the decision
  and the new enrollment at once, or neither.

Every decision is audited and resolves the review's alerts with the decision's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict
from openiop.lib.http import parse_pk
from openiop.measures import engine
from openiop.measures.models import LevelReview, ReviewDirection, ReviewState
from openiop.measures.placement import Tier
from openiop.patients.access import get_patient_for_user
from openiop.programs.models import Enrollment, Program, TransferKind

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User
    from openiop.scheduling.enrollment import TransferResult

REASON_MAX_LENGTH = 2000
# A form-wide message: the review travels in a hidden field, which shows no error of its own.
NOT_THIS_ENROLLMENT = "Not a review of this enrollment."
T = TypeVar("T")


class ReviewConflict(NoteConflict):
    """The review changed meanwhile or is already decided (HTTP 409)."""


def reviews_with_people() -> QuerySet[LevelReview]:
    return LevelReview.objects.select_related(
        "enrollment__program__level_of_care", "decided_by", "transfer__program"
    )


def get_review_for_user(
    request: HttpRequest,
    review_id: object,
    *,
    permission: str,
    action: Action = Action.VIEW,
    detail: str = "",
) -> LevelReview:
    """The review if this request may see its patient (``permission``), else Http404; the
    access is audited by ``get_patient_for_user``."""
    pk = parse_pk(review_id, "review")
    patient_id = LevelReview.objects.filter(pk=pk).values_list("patient_id", flat=True).first()
    if patient_id is None:
        user = getattr(request, "user", None)
        record_event(
            request=request,
            actor=user if user is not None and user.is_authenticated else None,
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type=engine.EVIDENCE_TYPE,
            object_id=pk,
            detail=f"no visible level review #{pk} for {permission}",
        )
        raise Http404("No such review.")
    patient = get_patient_for_user(
        request,
        patient_id,
        permission=permission,
        action=action,
        object_type="level_review",
        detail=detail or f"level review {pk}",
    )
    review = reviews_with_people().get(pk=pk)
    review.patient = patient
    return review


def summary_text(review: LevelReview) -> str:
    """The evidence in one paragraph, for the transfer's reason and the decision."""
    label = "Step-up" if review.direction == ReviewDirection.STEP_UP else "Step-down"
    return f"{label} review #{review.pk}: " + " ".join(
        s["evidence"].rstrip(".") + "." for s in review.signals
    )


def target_program(review: LevelReview) -> Program | None:
    """The active program of the review's site one level up (step-up) or down (step-down):
    the nearest tier in that direction, then the level's sort order and the program's name.
    None when the site has none."""
    current = engine.tier_of(review.enrollment.program)
    if current is None:
        return None
    up = review.direction == ReviewDirection.STEP_UP
    candidates: list[tuple[Tier, Program]] = []
    programs = Program.objects.filter(site_id=review.site_id, is_active=True).select_related(
        "level_of_care"
    )
    for program in programs:
        tier = engine.tier_of(program)
        if tier is None or program.pk == review.enrollment.program_id:
            continue
        if (up and tier > current) or (not up and tier < current):
            candidates.append((tier, program))
    if not candidates:
        return None

    def nearness(item: tuple[Tier, Program]) -> tuple[int, int, str]:
        tier, program = item
        return (abs(tier - current), program.level_of_care.sort_order, program.name)

    return min(candidates, key=nearness)[1]


def transfer_target(review: LevelReview, *, version: int) -> Program:
    """The program to transfer to when accepting ``review`` (nothing is written yet: the
    transfer form records the decision). ReviewConflict when the review is stale or decided,
    ValidationError when the site has no program one level up or down."""
    current = LevelReview.objects.filter(pk=review.pk).values_list("state", "version").first()
    if current is None or current[0] != ReviewState.OPEN:
        raise ReviewConflict("This review was already decided.")
    if current[1] != version:
        raise ReviewConflict("This review changed since the page was loaded. Reload it and retry.")
    program = target_program(review)
    if program is None:
        way = "up" if review.direction == ReviewDirection.STEP_UP else "down"
        raise ValidationError(
            f"No program one level {way} at this site: accept without a transfer, or set the"
            " program up first."
        )
    return program


def transfer_prefill(review: LevelReview) -> dict[str, Any]:
    """Initial values of the transfer form for an accepted review."""
    program = target_program(review)
    return {
        "program": program.pk if program else review.enrollment.program_id,
        "kind": TransferKind.STEP_UP
        if review.direction == ReviewDirection.STEP_UP
        else TransferKind.STEP_DOWN,
        "reason": summary_text(review)[:500],
        "review": review.pk,
        "review_version": review.version,
    }


def _clean_reason(reason: str | None, *, required: bool, field: str = "reason") -> str:
    text = (reason or "").strip()
    if required and not text:
        raise ValidationError({field: "Say why, e.g. “Discussed with the patient; stays.”"})
    if len(text) > REASON_MAX_LENGTH:
        raise ValidationError({field: f"At most {REASON_MAX_LENGTH:,} characters."})
    return text


def _locked(review: LevelReview, *, version: int) -> LevelReview:
    current = LevelReview.objects.select_for_update().filter(pk=review.pk).first()
    if current is None:
        raise ReviewConflict("This review no longer exists.")
    if current.state != ReviewState.OPEN:
        raise ReviewConflict(
            f"This review was already decided ({current.get_state_display().lower()})."
        )
    if current.version != version:
        raise ReviewConflict("This review changed since the page was loaded. Reload it and retry.")
    return current


def _decide(
    current: LevelReview,
    *,
    state: ReviewState,
    by: User,
    reason: str,
    transfer: Enrollment | None,
    request: HttpRequest | None,
) -> LevelReview:
    now = timezone.now()
    current.state = state
    current.decided_by = by
    current.decided_at = now
    current.reason = reason
    current.transfer = transfer
    current.version += 1
    current.full_clean()
    current.save(
        update_fields=["state", "decided_by", "decided_at", "reason", "transfer", "version"]
    )
    decision = {
        ReviewState.ACCEPTED: "Review accepted",
        ReviewState.DISMISSED: "Review dismissed",
    }[state]
    if transfer is not None:
        decision += f"; transferred to {transfer.program.name} on {transfer.admitted_on}"
    text = decision + (f": {reason}" if reason else "")
    Alert.objects.filter(
        kind=AlertKind.REVIEW_RECOMMENDED,
        evidence_type=engine.EVIDENCE_TYPE,
        evidence_id=current.pk,
    ).exclude(state=AlertState.RESOLVED).update(
        state=AlertState.RESOLVED, resolved_at=now, resolved_by=by, resolution=text[:2000]
    )
    record_event(
        request=request,
        actor=by,
        site=current.site,
        action=Action.UPDATE,
        object_type=engine.EVIDENCE_TYPE,
        object_id=current.pk,
        patient_id=current.patient_id,
        detail=f"{current.direction} review {state}"
        + (f" (transfer to enrollment {transfer.pk})" if transfer else "")
        + (f": {reason}" if reason else ""),
    )
    return current


@transaction.atomic
def dismiss_review(
    review: LevelReview,
    *,
    by: User,
    version: int,
    reason: str,
    request: HttpRequest | None = None,
) -> LevelReview:
    """Dismiss an open review with a required reason."""
    text = _clean_reason(reason, required=True)
    current = _locked(review, version=version)
    return _decide(
        current,
        state=ReviewState.DISMISSED,
        by=by,
        reason=text,
        transfer=None,
        request=request,
    )


@transaction.atomic
def accept_review(
    review: LevelReview,
    *,
    by: User,
    version: int,
    reason: str = "",
    transfer: Enrollment | None = None,
    request: HttpRequest | None = None,
) -> LevelReview:
    """Accept an open review. ``transfer`` is the enrollment the patient was moved to (it must
    follow the review's enrollment); without one the decision says the transfer is handled
    elsewhere and a reason is required."""
    text = _clean_reason(reason, required=transfer is None)
    current = _locked(review, version=version)
    if transfer is not None and transfer.previous_id != current.enrollment_id:
        raise ValidationError({"transfer": "That enrollment does not follow the reviewed one."})
    return _decide(
        current,
        state=ReviewState.ACCEPTED,
        by=by,
        reason=text,
        transfer=transfer,
        request=request,
    )


@dataclass(frozen=True)
class ReviewTransfer:
    review: LevelReview
    transfer: TransferResult


@transaction.atomic
def transfer_for_review(
    review: LevelReview,
    *,
    by: User,
    version: int,
    transfer: Callable[[], TransferResult],
    request: HttpRequest | None = None,
) -> ReviewTransfer:
    """Run ``transfer`` (a call of ``scheduling.enrollment.transfer_patient`` for the review's
    enrollment) and accept the review with the new enrollment, all or nothing. The review is
    locked first, so a stale or already decided review stops the transfer. The enrollment's
    other open reviews are closed, as the enrollment has ended."""
    current = _locked(review, version=version)
    result = transfer()
    if result.previous.pk != current.enrollment_id:
        raise ValidationError({"review": "This review is about another enrollment."})
    decided = _decide(
        current,
        state=ReviewState.ACCEPTED,
        by=by,
        reason=result.enrollment.transfer_reason,
        transfer=result.enrollment,
        request=request,
    )
    engine.close_ended(site=current.site, request=request, enrollment_ids=[current.enrollment_id])
    return ReviewTransfer(review=decided, transfer=result)


def open_review_of(enrollment: Enrollment, review_id: object) -> LevelReview:
    """The review ``review_id`` of ``enrollment`` (for the transfer form; whether it is still
    open is checked when deciding), else ValidationError."""
    try:
        pk = parse_pk(review_id, "review")
    except Http404:
        raise ValidationError(NOT_THIS_ENROLLMENT) from None
    review = reviews_with_people().filter(pk=pk, enrollment=enrollment).first()
    if review is None:
        raise ValidationError(NOT_THIS_ENROLLMENT)
    return review


def review_of(enrollment: Enrollment, review_id: object) -> LevelReview | None:
    """``open_review_of`` for display: None instead of an error."""
    try:
        return open_review_of(enrollment, review_id)
    except ValidationError:
        return None
