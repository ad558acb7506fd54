"""Screening settings, the week's screens and injections, and alerts in the authorization matrix."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from openiop.alerts.models import Alert, AlertKind, Severity
from openiop.screening.models import Panel, ScreeningPhase
from tests.factories_patients import make_patient
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


def _alert(ctx: MatrixContext) -> dict[str, Any]:
    alert = Alert.objects.create(
        site=ctx.site,
        patient=make_patient(ctx.site, first_name="Casey", last_name="Sample"),
        kind=AlertKind.UNEXPECTED_SCREEN,
        severity=Severity.HIGH,
        title="Unexpected drug-screen result",
        evidence_type="drug_screen",
        evidence_id=1,
        assignee=ctx.user,
        created_at=timezone.now(),
    )
    return {"alert_id": alert.pk}


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
    "alerts": Route("get"),
    "alert-acknowledge": Route("post", kwargs=_alert, data=lambda ctx: {"version": 1}),
    "alert-resolve": Route(
        "post", kwargs=_alert, data=lambda ctx: {"version": 1, "resolution": "Talked with them."}
    ),
}
