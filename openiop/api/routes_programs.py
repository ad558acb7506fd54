"""Program setup over the API: levels of care, programs, tracks, group types, rooms and group
series. Reads need ``programs.view`` and writes ``programs.manage``, each at the site concerned:
an id from a site where the token's user lacks the permission answers 404, like one that does
not exist."""

# No ``from __future__ import annotations`` here: django-ninja builds its models from the
# operation's annotations at import time.

import re
from datetime import date, time
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError, ValidationError
from pydantic import field_validator

from openiop.accounts.access import sites_with_permission
from openiop.accounts.models import Site, User
from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, ValidationErrors
from openiop.programs import services
from openiop.programs.models import LevelOfCare, Program, Track
from openiop.scheduling import series as schedule
from openiop.scheduling.models import DEFAULT_GROUP_CAPACITY, GroupSeries, GroupType, Room

router = Router(tags=["programs"])

_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# --- Schemas ---------------------------------------------------------------------------------


class LevelOfCareOut(Schema):
    id: int
    code: str = Field(description="ASAM level number, e.g. 2.1")
    edition: int = Field(description="ASAM edition: 3 (2013) or 4 (2023)")
    name: str
    weekly_hours_min: float = Field(description="Weekly hour floor")
    weekly_hours_max: float | None = Field(description="Weekly hour ceiling; null: none")
    is_residential: bool


class ProgramOut(Schema):
    id: int
    site_id: int
    level_of_care_id: int
    name: str
    weekly_hours_min: float
    weekly_hours_max: float
    typical_length_weeks: int
    is_active: bool


class ProgramIn(Schema):
    site_id: int = Field(ge=1)
    level_of_care_id: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=120)
    weekly_hours_min: float = Field(ge=0, le=168, description="Default weekly target: floor")
    weekly_hours_max: float = Field(ge=0, le=168, description="Default weekly target: ceiling")
    typical_length_weeks: int = Field(12, ge=1, le=104)


class TrackOut(Schema):
    id: int
    program_id: int
    name: str
    description: str
    is_active: bool


class TrackIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=300)


class GroupTypeOut(Schema):
    id: int
    code: str
    name: str
    description: str
    is_active: bool


class RoomOut(Schema):
    id: int
    site_id: int
    name: str
    capacity: int | None
    is_active: bool


class RoomFilters(Schema):
    site_id: int | None = Field(None, ge=1, description="Only this site's rooms.")


class ProgramFilters(Schema):
    site_id: int | None = Field(None, ge=1, description="Only this site's programs.")


class GroupSeriesIn(Schema):
    track_id: int = Field(ge=1)
    group_type: str | int = Field(
        description='The group type\'s code (e.g. "cbt", see GET /group-types) or its id.'
    )
    title: str = Field(min_length=1, max_length=120)
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    start_time: str = Field(description='"HH:MM", 24-hour, in the site\'s time zone')
    duration_minutes: int = Field(ge=15, le=600)
    facilitator_id: int = Field(ge=1, description="A staff member of the track's site")
    room_id: int | None = Field(None, ge=1)
    capacity: int = Field(DEFAULT_GROUP_CAPACITY, ge=1, le=500)
    starts_on: date
    ends_on: date | None = None

    @field_validator("start_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _HH_MM.match(value):
            raise ValueError('use "HH:MM" between 00:00 and 23:59, e.g. "18:00"')
        return value


class GroupSeriesOut(Schema):
    id: int
    site_id: int
    track_id: int | None
    group_type: str = Field(description="The group type's code")
    title: str
    weekday: int
    start_time: str
    duration_minutes: int
    facilitator_id: int
    room_id: int | None
    capacity: int
    starts_on: date
    ends_on: date | None
    is_active: bool
    version: int


class GroupSeriesCreated(GroupSeriesOut):
    sessions_created: int = Field(description="Sessions materialized for the next 8 weeks")
    skipped_conflicts: list[str] = Field(
        description="Later occurrences not created because the facilitator or room was busy"
    )


# --- Helpers ---------------------------------------------------------------------------------

# Service errors are keyed by model field; the API speaks in its own field names.
_API_FIELD = {
    "level_of_care": "level_of_care_id",
    "site": "site_id",
    "track": "track_id",
    "program": "program_id",
    "facilitator": "facilitator_id",
    "room": "room_id",
    "__all__": "",
}


def _invalid(errors: dict[str, list[str]]) -> ValidationError:
    """A 422 in the shape of ninja's own: {"detail": [{"field", "message", "type"}]}."""
    return ValidationError(
        [
            {
                # Named like ninja's request validation names body fields ("payload.name").
                "loc": ["payload", _API_FIELD.get(name, name)] if name != "__all__" else [],
                "msg": message,
                "type": "value_error",
            }
            for name, messages in errors.items()
            for message in messages
        ]
    )


def _from_django(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return _invalid(exc.message_dict)
    return _invalid({"__all__": exc.messages})


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _site_ids(request: HttpRequest, permission: str) -> list[int]:
    return [site.pk for site in sites_with_permission(_user(request), permission)]


def _hours(value: float) -> Decimal:
    return Decimal(str(value))


def _series_out(series: GroupSeries, **extra: Any) -> dict[str, Any]:
    return {
        "id": series.pk,
        "site_id": series.site_id,
        "track_id": series.track_id,
        "group_type": series.group_type.code,
        "title": series.title,
        "weekday": series.weekday,
        "start_time": f"{series.start_time:%H:%M}",
        "duration_minutes": series.duration_minutes,
        "facilitator_id": series.facilitator_id,
        "room_id": series.room_id,
        "capacity": series.capacity,
        "starts_on": series.starts_on,
        "ends_on": series.ends_on,
        "is_active": series.is_active,
        "version": series.version,
        **extra,
    }


# --- Operations -----------------------------------------------------------------------------


@router.get(
    "/levels-of-care",
    response={200: list[LevelOfCareOut], 401: Detail, 403: Detail},
    summary="Levels of care (ASAM number, edition, weekly hour floor and ceiling)",
    auth=api_guard("programs.view"),
)
def list_levels_of_care(request: HttpRequest) -> list[LevelOfCare]:
    return list(LevelOfCare.objects.order_by("edition", "sort_order", "code"))


@router.get(
    "/programs",
    response={200: list[ProgramOut], 401: Detail, 403: Detail, 422: ValidationErrors},
    summary="Programs of the sites where the token's user may see them",
    auth=api_guard("programs.view"),
)
def list_programs(request: HttpRequest, filters: Query[ProgramFilters]) -> list[Program]:
    site_ids = _site_ids(request, "programs.view")
    if filters.site_id is not None:
        site_ids = [pk for pk in site_ids if pk == filters.site_id]
    return list(Program.objects.filter(site_id__in=site_ids).order_by("site__name", "name"))


@router.post(
    "/programs",
    response={201: ProgramOut, 401: Detail, 403: Detail, 422: ValidationErrors},
    summary="Create a program at a site (weekly target within the level's floor and ceiling)",
    auth=api_guard("programs.manage"),
)
def create_program(request: HttpRequest, payload: ProgramIn) -> Status:
    site = Site.objects.filter(
        pk=payload.site_id, pk__in=_site_ids(request, "programs.manage")
    ).first()
    if site is None:
        raise _invalid({"site_id": ["Not a site where you may set up programs."]})
    level = LevelOfCare.objects.filter(pk=payload.level_of_care_id).first()
    if level is None:
        raise _invalid({"level_of_care_id": ["No level of care with this id."]})
    try:
        program = services.create_program(
            site=site,
            level_of_care=level,
            name=payload.name,
            weekly_hours_min=_hours(payload.weekly_hours_min),
            weekly_hours_max=_hours(payload.weekly_hours_max),
            typical_length_weeks=payload.typical_length_weeks,
            by=_user(request),
            request=request,
        )
    except DjangoValidationError as exc:
        raise _from_django(exc) from None
    return Status(201, program)


def _program(request: HttpRequest, program_id: int, permission: str) -> Program:
    program = Program.objects.filter(
        pk=program_id, site_id__in=_site_ids(request, permission)
    ).first()
    if program is None:
        raise Http404
    return program


@router.get(
    "/programs/{program_id}/tracks",
    response={200: list[TrackOut], 401: Detail, 403: Detail, 404: Detail},
    summary="Tracks of a program",
    auth=api_guard("programs.view"),
)
def list_tracks(request: HttpRequest, program_id: int) -> list[Track]:
    program = _program(request, program_id, "programs.view")
    return list(program.tracks.order_by("name"))


@router.post(
    "/programs/{program_id}/tracks",
    response={201: TrackOut, 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="Add a track (a schedule option) to a program",
    auth=api_guard("programs.manage"),
)
def create_track(request: HttpRequest, program_id: int, payload: TrackIn) -> Status:
    program = _program(request, program_id, "programs.manage")
    try:
        track = services.create_track(
            program=program,
            name=payload.name,
            description=payload.description,
            by=_user(request),
            request=request,
        )
    except DjangoValidationError as exc:
        raise _from_django(exc) from None
    return Status(201, track)


@router.get(
    "/group-types",
    response={200: list[GroupTypeOut], 401: Detail, 403: Detail},
    summary="Group types (CBT, DBT, process …); the code is what POST /group-series takes",
    auth=api_guard("programs.view"),
)
def list_group_types(request: HttpRequest) -> list[GroupType]:
    return list(GroupType.objects.order_by("name"))


@router.get(
    "/rooms",
    response={200: list[RoomOut], 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="Rooms of one site (site_id) or of every site the token's user may see",
    auth=api_guard("programs.view"),
)
def list_rooms(request: HttpRequest, filters: Query[RoomFilters]) -> list[Room]:
    site_ids = _site_ids(request, "programs.view")
    if filters.site_id is not None:
        if filters.site_id not in site_ids:
            raise Http404
        site_ids = [filters.site_id]
    return list(Room.objects.filter(site_id__in=site_ids).order_by("site__name", "name"))


@router.post(
    "/group-series",
    response={
        201: GroupSeriesCreated,
        401: Detail,
        403: Detail,
        409: Detail,
        422: ValidationErrors,
    },
    summary="Create a weekly group on a track; its sessions for the next 8 weeks are created",
    description=(
        '`group_type` takes the code shown by GET /group-types (e.g. `"cbt"`) or the id.'
        " `start_time` is the site's local clock time. A facilitator or room already busy at"
        " the first meeting answers 409 naming the clash; later clashes are skipped and listed"
        " in `skipped_conflicts`."
    ),
    auth=api_guard("programs.manage"),
)
def create_group_series(request: HttpRequest, payload: GroupSeriesIn) -> Status:
    track = (
        Track.objects.select_related("program__site")
        .filter(pk=payload.track_id, program__site_id__in=_site_ids(request, "programs.manage"))
        .first()
    )
    if track is None:
        raise _invalid({"track_id": ["No track with this id at a site you may set up."]})
    site = track.program.site
    if isinstance(payload.group_type, int):
        group_type = GroupType.objects.filter(pk=payload.group_type).first()
    else:
        group_type = GroupType.objects.filter(code=payload.group_type.strip().lower()).first()
    if group_type is None:
        raise _invalid({"group_type": ["Unknown group type; see GET /api/v1/group-types."]})
    facilitator = User.objects.filter(pk=payload.facilitator_id).first()
    if facilitator is None:
        raise _invalid({"facilitator_id": ["No staff member with this id at the track's site."]})
    room = None
    if payload.room_id is not None:
        room = Room.objects.filter(pk=payload.room_id, site=site).first()
        if room is None:
            raise _invalid({"room_id": ["No room with this id at the track's site."]})
    hours, minutes = payload.start_time.split(":")
    try:
        change = schedule.create_group_series(
            site=site,
            track=track,
            group_type=group_type,
            title=payload.title,
            weekday=payload.weekday,
            start_time=time(int(hours), int(minutes)),
            duration_minutes=payload.duration_minutes,
            facilitator=facilitator,
            room=room,
            capacity=payload.capacity,
            starts_on=payload.starts_on,
            ends_on=payload.ends_on,
            by=_user(request),
            request=request,
        )
    except DjangoValidationError as exc:
        raise _from_django(exc) from None
    except schedule.SeriesConflict as exc:
        raise HttpError(409, "The first meeting clashes: " + " ".join(exc.conflicts)) from None
    return Status(
        201,
        _series_out(
            change.series,
            sessions_created=change.created,
            skipped_conflicts=change.materialized.conflicts,
        ),
    )
