"""The attention list, its actions and the old alerts address in the authorization matrix."""

from __future__ import annotations

from typing import Any

from openiop.alerts.models import AlertKind, Severity
from tests.factories_attention import make_alert
from tests.factories_patients import make_patient
from tests.matrix import MatrixContext, Route


def _alert(ctx: MatrixContext) -> dict[str, Any]:
    alert = make_alert(
        ctx.site,
        ctx.user,
        make_patient(ctx.site, first_name="Casey", last_name="Sample"),
        kind=AlertKind.NOTE_UNSIGNED,
        severity=Severity.MEDIUM,
        evidence_type="note",
    )
    return {"alert_id": alert.pk}


ROUTES: dict[str, Route] = {
    "attention": Route("get"),
    "attention-site": Route("get"),
    "alerts": Route("get"),
    "alert-acknowledge": Route("post", kwargs=_alert, data=lambda ctx: {"version": 1}),
    "alert-resolve": Route(
        "post", kwargs=_alert, data=lambda ctx: {"version": 1, "resolution": "Talked with them."}
    ),
}
