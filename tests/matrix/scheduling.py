from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from openiop.scheduling.models import Booking, Session
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_booking, make_session
from tests.matrix import MatrixContext, Route


def _session(ctx: MatrixContext) -> dict[str, Any]:
    """A group that started an hour ago, run by the target therapist, with one patient."""
    session = make_session(ctx.site, ctx.target, timezone.now() - timedelta(hours=1))
    make_booking(session, make_patient(ctx.site, first_name="Casey", last_name="Sample"))
    return {"session_id": session.pk}


def _row(ctx: MatrixContext) -> dict[str, Any]:
    booking = Booking.objects.filter(session=Session.objects.filter(site=ctx.site).latest("pk"))[0]
    return {"booking": booking.pk, "version": booking.version, "status": "present"}


ROUTES: dict[str, Route] = {
    "today": Route("get"),
    "session-roster": Route("get", kwargs=_session),
    "session-attendance": Route("post", kwargs=_session, data=_row),
    "session-mark-present": Route("post", kwargs=_session),
    "session-cancel": Route("post", kwargs=_session, data=lambda ctx: {"reason": "Snow day"}),
}
