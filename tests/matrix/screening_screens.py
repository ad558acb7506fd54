"""Drug-screen pages: the screen, recording, review, confirmation, lab CSV import."""

from __future__ import annotations

from typing import Any

from openiop.screening.services_screens import record_collection, record_results
from tests.factories_screens import collection, negatives, screen_case
from tests.matrix import MatrixContext, Route


def _selected(ctx: MatrixContext) -> dict[str, Any]:
    return {"screen_id": screen_case(ctx.site, ctx.target).screen.pk}


def _unexpected(ctx: MatrixContext) -> dict[str, Any]:
    case = screen_case(ctx.site, ctx.target)
    screen = record_collection(case.screen, by=ctx.target, data=collection(), version=1)
    screen = record_results(
        screen, by=ctx.target, results=negatives(cocaine="positive"), version=screen.version
    )
    return {"screen_id": screen.pk}


def _version(ctx: MatrixContext) -> dict[str, Any]:
    from openiop.screening.models import DrugScreen

    screen = DrugScreen.objects.filter(site=ctx.site).latest("pk")
    return {"version": screen.version, "note": "Talked with the patient."}


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    return {"patient_id": screen_case(ctx.site, ctx.target).patient.pk}


ROUTES: dict[str, Route] = {
    "screen-detail": Route("get", kwargs=_unexpected),
    "screen-record": Route("get", kwargs=_selected),
    "screen-not-collected": Route(
        "post", kwargs=_selected, data=lambda ctx: {"version": 1, "reason": "Patient absent"}
    ),
    "screen-review": Route("post", kwargs=_unexpected, data=_version),
    "screen-confirm": Route("post", kwargs=_unexpected, data=_version),
    "screen-import": Route("get"),
    "patient-screen-new": Route("get", kwargs=_patient),
}
