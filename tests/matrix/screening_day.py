from __future__ import annotations

from typing import Any

from openiop.lib.dates import local_today
from tests.factories_programs import make_program
from tests.factories_screening_select import enrolled_patient
from tests.matrix import MatrixContext, Route


def _for_cause(ctx: MatrixContext) -> dict[str, Any]:
    """A patient enrolled and booked at the site today, and a reason."""
    patient, _ = enrolled_patient(
        ctx.site,
        make_program(ctx.site),
        ctx.target,
        "Casey",
        days=[local_today(ctx.site.time_zone)],
    )
    return {"patient": patient.pk, "cause": "Smelled of alcohol at check-in"}


ROUTES: dict[str, Route] = {
    "screens-today": Route("get"),
    "screens-select": Route("post"),
    "screens-for-cause": Route("post", data=_for_cause),
}
