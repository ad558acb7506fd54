"""Screening settings and the week's screens and injections in the authorization matrix."""

from __future__ import annotations

from typing import Any

from openiop.screening.models import Panel, ScreeningPhase
from tests.factories_programs import make_program
from tests.matrix import MatrixContext, Route


def _program(ctx: MatrixContext) -> dict[str, Any]:
    return {"program_id": make_program(ctx.site, name="Matrix IOP").pk}


def _phase(ctx: MatrixContext) -> dict[str, Any]:
    program = make_program(ctx.site, name="Matrix IOP")
    phase = ScreeningPhase.objects.create(program=program, from_day=0, label="Early", per_week=2)
    return {"phase_id": phase.pk}


def _panel(ctx: MatrixContext) -> dict[str, Any]:
    return {"panel_id": Panel.objects.get(is_default=True, specimen="urine").pk}


ROUTES: dict[str, Route] = {
    "screening-settings": Route("get"),
    "screening-phase-create": Route("get", kwargs=_program),
    "screening-phases-adopt": Route("post", kwargs=_program),
    "screening-phase-edit": Route("get", kwargs=_phase),
    "screening-phase-delete": Route("post", kwargs=_phase),
    "screening-panel-create": Route("get"),
    "screening-panel-edit": Route("get", kwargs=_panel),
    "screening-validity": Route("get"),
    "screens-week": Route("get"),
}
