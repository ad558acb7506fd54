"""The level-review page: the signals with their evidence and links, and the decision.

``measures.view`` reads a review; ``reviews.decide`` accepts or dismisses it. "Accept and
transfer" opens the transfer form prefilled from the review; saving the transfer records the
acceptance in the same transaction (``services_reviews.transfer_for_review``). "Accept" alone
(the transfer is handled elsewhere) and "Dismiss" need a reason.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from openiop.accounts.access import current_role, requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.lib.dates import zone
from openiop.measures import services_reviews as services
from openiop.measures.engine import SIGNAL_LABELS
from openiop.measures.models import LevelReview, MeasureResponse, ReviewState
from openiop.programs.forms import apply_errors, run_service
from openiop.screening.models import DrugScreen, ScreenStatus

# A screen is called for on its local day and collected that day or, late at night, the next.
_SLACK = timedelta(days=1)
_SCREEN_CODES = {"unexpected_screens", "screens_negative"}
_SCORE_CODES = {
    "phq9_band_up": ("PHQ-9",),
    "gad7_band_up": ("GAD-7",),
    "craving_rising": ("CRAVING",),
    "scores_stable": ("PHQ-9", "GAD-7"),
    "safety_flag": None,  # any instrument with a safety flag
}


class DecisionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        required=False,
        max_length=services.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )


def _measure_url(response_id: int) -> str | None:
    try:
        return reverse("measure-detail", args=[response_id])
    except NoReverseMatch:
        return None


def _signal_rows(review: LevelReview) -> list[dict[str, Any]]:
    """Each signal with links to the rows it quotes: screens and scores on its dates (two
    queries), hours and goals to the chart."""
    days = {date.fromisoformat(d) for s in review.signals for d in s["dates"]}
    tz = zone(review.site.time_zone)
    screens: dict[date, list[int]] = {}
    if any(s["code"] in _SCREEN_CODES for s in review.signals) and days:
        found = DrugScreen.objects.filter(
            patient_id=review.patient_id,
            status=ScreenStatus.COLLECTED,
            selected_on__gte=min(days) - _SLACK,
            selected_on__lte=max(days) + _SLACK,
        ).values_list("pk", "collected_at")
        for pk, collected_at in found:
            screens.setdefault(collected_at.astimezone(tz).date(), []).append(pk)
    scores: dict[tuple[str, date], list[int]] = {}
    safety: dict[date, list[int]] = {}
    if any(s["code"] in _SCORE_CODES for s in review.signals) and days:
        rows = MeasureResponse.objects.filter(
            patient_id=review.patient_id, taken_on__in=days, strike__isnull=True
        ).values_list("pk", "instrument", "taken_on", "has_safety_flag")
        for pk, instrument, taken_on, flagged in rows:
            scores.setdefault((instrument, taken_on), []).append(pk)
            if flagged:
                safety.setdefault(taken_on, []).append(pk)
    chart = reverse("patient-chart", args=[review.patient_id])
    result = []
    for signal in review.signals:
        code = signal["code"]
        dates = [date.fromisoformat(d) for d in signal["dates"]]
        links: list[tuple[str, str]] = []
        if code in _SCREEN_CODES:
            for day in dates:
                for pk in screens.get(day, []):
                    links.append((f"Screen of {day:%b %-d}", reverse("screen-detail", args=[pk])))
        elif code in _SCORE_CODES:
            wanted = _SCORE_CODES[code]
            for day in dates:
                ids = (
                    safety.get(day, [])
                    if wanted is None
                    else [pk for name in wanted for pk in scores.get((name, day), [])]
                )
                for pk in ids:
                    url = _measure_url(pk)
                    if url:
                        links.append((f"Result of {day:%b %-d}", url))
        if code in ("missed_hours", "hours_met"):
            links.append(("Weekly hours on the chart", chart + "#hours"))
        elif code == "goals_met":
            links.append(("Treatment plan on the chart", chart))
        elif not links:
            links.append(("The chart", chart))
        result.append(
            {
                "code": code,
                "label": SIGNAL_LABELS.get(code, code.replace("_", " ").capitalize()),
                "evidence": signal["evidence"],
                "dates": dates,
                "links": links,
            }
        )
    return result


def _page(
    request: HttpRequest,
    review: LevelReview,
    *,
    accept_form: DecisionForm | None = None,
    dismiss_form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    may_decide = review.state == ReviewState.OPEN and role_may(
        current_role(request), "reviews.decide"
    )
    target = services.target_program(review) if may_decide else None
    initial = {"version": review.version}
    return render(
        request,
        "measures/review_detail.html",
        {
            "patient": review.patient,
            "review": review,
            "signals": _signal_rows(review),
            "may_decide": may_decide,
            "target": target,
            "accept_form": accept_form or DecisionForm(initial=initial, prefix="accept"),
            "dismiss_form": dismiss_form or DecisionForm(initial=initial, prefix="dismiss"),
        },
        status=status,
    )


@require_GET
@requires("measures.view")
def review_detail_view(request: HttpRequest, review_id: int) -> HttpResponse:
    review = services.get_review_for_user(request, review_id, permission="measures.view")
    return _page(request, review)


def _decision(request: HttpRequest, review_id: int, what: str) -> LevelReview:
    return services.get_review_for_user(
        request,
        review_id,
        permission="reviews.decide",
        action=Action.UPDATE,
        detail=f"{what} level review {review_id}",
    )


def _decide(form: DecisionForm, call: Any) -> tuple[LevelReview | None, int]:
    """Run a decision: the review, or None with the error on the form and the status (422
    for a bad form, 409 when the review changed or was decided meanwhile)."""
    try:
        return run_service(form, call, errors=apply_errors), 422
    except services.ReviewConflict as exc:
        form.add_error(None, str(exc))
        return None, 409


@require_POST
@requires("reviews.decide")
def review_accept_view(request: HttpRequest, review_id: int) -> HttpResponse:
    review = _decision(request, review_id, "accept")
    form = DecisionForm(request.POST, prefix="accept")
    status = 422
    if form.is_valid() and request.POST.get("transfer") == "1":
        version = form.cleaned_data["version"]
        target, status = _decide(form, lambda: services.transfer_target(review, version=version))
        if target is not None:
            url = reverse("enrollment-transfer", args=[review.patient_id, review.enrollment_id])
            return redirect(f"{url}?{urlencode({'review': review.pk, 'program': target.pk})}")
    elif form.is_valid():
        decided, status = _decide(
            form,
            lambda: services.accept_review(
                review,
                by=request.user,  # type: ignore[arg-type]
                version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                request=request,
            ),
        )
        if decided is not None:
            messages.success(request, "Review accepted.")
            return redirect("review-detail", decided.pk)
    return _page(request, review, accept_form=form, status=status)


@require_POST
@requires("reviews.decide")
def review_dismiss_view(request: HttpRequest, review_id: int) -> HttpResponse:
    review = _decision(request, review_id, "dismiss")
    form = DecisionForm(request.POST, prefix="dismiss")
    status = 422
    if form.is_valid():
        decided, status = _decide(
            form,
            lambda: services.dismiss_review(
                review,
                by=request.user,  # type: ignore[arg-type]
                version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                request=request,
            ),
        )
        if decided is not None:
            messages.success(request, "Review dismissed.")
            return redirect("review-detail", decided.pk)
    return _page(request, review, dismiss_form=form, status=status)
