"""Setup screens (openiop.programs.views) in the authorization matrix."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from openiop.programs.models import LevelOfCare
from tests.factories_programs import group_type, make_program, make_room, make_series, make_track
from tests.matrix import MatrixContext, Route


def _program(ctx: MatrixContext) -> dict[str, Any]:
    return {"program_id": make_program(ctx.site, name="Matrix IOP").pk}


def _track(ctx: MatrixContext) -> dict[str, Any]:
    return {"track_id": make_track(make_program(ctx.site, name="Matrix IOP")).pk}


def _series(ctx: MatrixContext) -> dict[str, Any]:
    track = make_track(make_program(ctx.site, name="Matrix IOP"))
    return {"series_id": make_series(track, ctx.target, 1, time(18, 0)).pk}


def _level(ctx: MatrixContext) -> dict[str, Any]:
    return {"level_id": LevelOfCare.objects.get(code="2.1", edition=3).pk}


ROUTES: dict[str, Route] = {
    "setup-home": Route("get"),
    "setup-levels": Route("get"),
    "setup-level-edit": Route("get", kwargs=_level),
    "setup-program-create": Route("get"),
    "setup-program-detail": Route("get", kwargs=_program),
    "setup-program-edit": Route("get", kwargs=_program),
    "setup-program-active": Route("post", kwargs=_program, data=lambda ctx: {"is_active": "true"}),
    "setup-track-create": Route("get", kwargs=_program),
    "setup-track-edit": Route("get", kwargs=_track),
    "setup-track-active": Route("post", kwargs=_track, data=lambda ctx: {"is_active": "true"}),
    "setup-series-create": Route("get"),
    "setup-series-edit": Route("get", kwargs=_series),
    "setup-series-end": Route(
        "post", kwargs=_series, data=lambda ctx: {"ends_on": date(2020, 1, 1).isoformat()}
    ),
    "setup-group-types": Route("get"),
    "setup-group-type-create": Route("get"),
    "setup-group-type-edit": Route("get", kwargs=lambda ctx: {"group_type_id": group_type().pk}),
    "setup-rooms": Route("get"),
    "setup-room-create": Route("get"),
    "setup-room-edit": Route("get", kwargs=lambda ctx: {"room_id": make_room(ctx.site).pk}),
}
