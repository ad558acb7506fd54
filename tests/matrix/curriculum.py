from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from openiop.scheduling.models import CurriculumModule
from tests.factories_scheduling import make_session
from tests.matrix import MatrixContext, Route


def _module() -> CurriculumModule:
    return CurriculumModule.objects.get(code="managing_cravings")


def _session(ctx: MatrixContext) -> dict[str, Any]:
    session = make_session(ctx.site, ctx.target, timezone.now() - timedelta(hours=1))
    return {"session_id": session.pk}


ROUTES: dict[str, Route] = {
    "setup-curriculum": Route("get"),
    "setup-curriculum-create": Route("get"),
    "setup-curriculum-edit": Route("get", kwargs=lambda ctx: {"module_id": _module().pk}),
    "session-module": Route(
        "post", kwargs=_session, data=lambda ctx: {"curriculum_module": _module().pk}
    ),
}
