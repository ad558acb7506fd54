"""Program setup for directors: levels of care, programs, tracks, the group schedule, group
types and rooms. Everyone who works with the schedule may read these pages; only directors
(``programs.manage``) change them. Every object is looked up within the current site."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.access import requires
from openiop.accounts.policy import role_may
from openiop.lib.dates import local_today
from openiop.programs import services
from openiop.programs.forms import (
    EndSeriesForm,
    GroupSeriesForm,
    GroupTypeForm,
    LevelOfCareForm,
    ProgramForm,
    RoomForm,
    TrackForm,
    apply_errors,
    program_initial,
    run_service,
)
from openiop.programs.models import LevelOfCare, Program, Track
from openiop.scheduling import series as schedule
from openiop.scheduling.models import GroupSeries, GroupType, Room, Weekday

DAYS = [(value, label[:3]) for value, label in Weekday.choices]


def _site(request: HttpRequest) -> Any:
    return request.site  # type: ignore[attr-defined]


def _may_manage(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return role_may(membership.role if membership else None, "programs.manage")


def _running(site: Any) -> Q:
    """Series that still meet: active and not ended before today (the site's)."""
    today = local_today(site.time_zone)
    return Q(is_active=True) & (Q(ends_on__isnull=True) | Q(ends_on__gte=today))


def _series_rows(queryset: Any) -> Any:
    return queryset.select_related("group_type", "facilitator", "room").order_by(
        "weekday", "start_time", "title"
    )


@dataclass
class WeekGrid:
    """A track's (or the site's) weekly group schedule, Monday to Sunday."""

    days: list[tuple[str, list[GroupSeries]]]
    minutes: int = 0
    count: int = 0
    hours: Decimal = field(default=Decimal(0))

    @classmethod
    def of(cls, series: list[GroupSeries]) -> WeekGrid:
        by_day: dict[int, list[GroupSeries]] = defaultdict(list)
        for item in series:
            start = datetime.combine(date(2000, 1, 3), item.start_time)
            item.end_time = (start + timedelta(minutes=item.duration_minutes)).time()  # type: ignore[attr-defined]
            by_day[item.weekday].append(item)
        minutes = sum(item.duration_minutes for item in series)
        return cls(
            days=[(label, by_day[value]) for value, label in DAYS],
            minutes=minutes,
            count=len(series),
            hours=(Decimal(minutes) / 60).quantize(Decimal("0.1")),
        )


def _form_page(
    request: HttpRequest,
    form: Any,
    *,
    title: str,
    intro: str = "",
    submit: str,
    cancel_url: str,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    return render(
        request,
        "programs/form.html",
        {
            "form": form,
            "page_title": title,
            "intro": intro,
            "submit_label": submit,
            "cancel_url": cancel_url,
            **extra,
        },
        status=status,
    )


# --- Overview -------------------------------------------------------------------------------


@require_GET
@requires("programs.view")
def setup_home_view(request: HttpRequest) -> HttpResponse:
    site = _site(request)
    programs = list(
        Program.objects.filter(site=site)
        .select_related("level_of_care")
        .prefetch_related(Prefetch("tracks", queryset=Track.objects.order_by("name")))
        .order_by("-is_active", "level_of_care__edition", "level_of_care__sort_order", "name")
    )
    per_track = {
        row["track_id"]: row
        for row in GroupSeries.objects.filter(_running(site), site=site, track__isnull=False)
        .values("track_id")
        .annotate(minutes=Sum("duration_minutes"), groups=Count("id"))
    }
    levels: dict[int, dict[str, Any]] = {}
    for program in programs:
        entry = levels.setdefault(
            program.level_of_care_id, {"level": program.level_of_care, "programs": []}
        )
        tracks = []
        for track in program.tracks.all():
            row = per_track.get(track.pk, {"minutes": 0, "groups": 0})
            tracks.append(
                {
                    "track": track,
                    "groups": row["groups"],
                    "hours": (Decimal(row["minutes"] or 0) / 60).quantize(Decimal("0.1")),
                }
            )
        entry["programs"].append({"program": program, "tracks": tracks})
    site_wide = WeekGrid.of(
        list(_series_rows(GroupSeries.objects.filter(_running(site), site=site, track=None)))
    )
    return render(
        request,
        "programs/setup_home.html",
        {
            "levels": list(levels.values()),
            "program_count": len(programs),
            "group_types": list(GroupType.objects.order_by("-is_active", "name")),
            "rooms": list(Room.objects.filter(site=site).order_by("-is_active", "name")),
            "site_wide": site_wide,
            "can_manage": _may_manage(request),
        },
    )


# --- Levels of care -----------------------------------------------------------------------


@require_GET
@requires("programs.view")
def level_list_view(request: HttpRequest) -> HttpResponse:
    levels = list(
        LevelOfCare.objects.annotate(
            program_count=Count("programs", filter=Q(programs__site=_site(request)))
        ).order_by("edition", "sort_order", "code")
    )
    editions: dict[int, dict[str, Any]] = {}
    for level in levels:
        editions.setdefault(level.edition, {"label": level.get_edition_display(), "levels": []})[
            "levels"
        ].append(level)
    return render(
        request,
        "programs/level_list.html",
        {"editions": list(editions.values()), "can_manage": _may_manage(request)},
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def level_edit_view(request: HttpRequest, level_id: int) -> HttpResponse:
    level = get_object_or_404(LevelOfCare, pk=level_id)
    initial = {
        "name": level.name,
        "weekly_hours_min": level.weekly_hours_min,
        "weekly_hours_max": level.weekly_hours_max,
    }
    form = LevelOfCareForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: services.update_level_of_care(
                level=level,
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if saved is not None:
            messages.success(request, f"{form.cleaned_data['name']} was updated.")
            return redirect("setup-levels")
    return _form_page(
        request,
        form,
        title=f"Edit ASAM {level.code} — {level.name}",
        intro=(
            "States and payers set these hours differently: programs at this level must keep"
            " their weekly targets inside the floor and ceiling."
        ),
        submit="Save level",
        cancel_url=reverse("setup-levels"),
        status=422 if request.method == "POST" else 200,
    )


# --- Programs and tracks ---------------------------------------------------------------------


def _program(request: HttpRequest, program_id: int) -> Program:
    return get_object_or_404(
        Program.objects.select_related("level_of_care"), pk=program_id, site=_site(request)
    )


def _track(request: HttpRequest, track_id: int) -> Track:
    return get_object_or_404(
        Track.objects.select_related("program__level_of_care"),
        pk=track_id,
        program__site=_site(request),
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def program_create_view(request: HttpRequest) -> HttpResponse:
    form = ProgramForm(
        request.POST or None, initial={"weekly_hours_min": 9, "weekly_hours_max": 12}
    )
    if request.method == "POST" and form.is_valid():
        program = run_service(
            form,
            lambda: services.create_program(
                site=_site(request),
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if program is not None:
            messages.success(request, f"{program.name} was created. Add its tracks next.")
            return redirect("setup-program-detail", program_id=program.pk)
    return _form_page(
        request,
        form,
        title="New program",
        intro=(
            "A program is the site's offering at one level of care. Its weekly target is the"
            " default for new admissions (IOP: usually 9–12 hours)."
        ),
        submit="Create program",
        cancel_url=reverse("setup-home"),
        status=422 if request.method == "POST" else 200,
    )


@require_GET
@requires("programs.view")
def program_detail_view(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _program(request, program_id)
    site = _site(request)
    tracks = list(program.tracks.order_by("-is_active", "name"))
    series_by_track: dict[int, list[GroupSeries]] = defaultdict(list)
    for item in _series_rows(GroupSeries.objects.filter(_running(site), track__program=program)):
        series_by_track[item.track_id].append(item)  # type: ignore[index]
    rows = [{"track": track, "grid": WeekGrid.of(series_by_track[track.pk])} for track in tracks]
    return render(
        request,
        "programs/program_detail.html",
        {
            "program": program,
            "level": program.level_of_care,
            "tracks": rows,
            "can_manage": _may_manage(request),
            "time_zone": site.time_zone,
        },
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def program_edit_view(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _program(request, program_id)
    form = ProgramForm(request.POST or None, initial=program_initial(program))
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: services.update_program(
                program=program,
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if saved is not None:
            messages.success(request, f"{form.cleaned_data['name']} was updated.")
            return redirect("setup-program-detail", program_id=program.pk)
    return _form_page(
        request,
        form,
        title=f"Edit {program.name}",
        intro="Patients already admitted keep the weekly target they were admitted with.",
        submit="Save program",
        cancel_url=reverse("setup-program-detail", args=[program.pk]),
        status=422 if request.method == "POST" else 200,
    )


def _activation(request: HttpRequest) -> bool:
    return request.POST.get("is_active") == "true"


@require_POST
@requires("programs.manage")
def program_active_view(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _program(request, program_id)
    is_active = _activation(request)
    try:
        services.set_program_active(
            program=program,
            is_active=is_active,
            by=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{program.name} is {'open' if is_active else 'closed'} for admissions."
        )
    return redirect("setup-program-detail", program_id=program.pk)


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def track_create_view(request: HttpRequest, program_id: int) -> HttpResponse:
    program = _program(request, program_id)
    form = TrackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        track = run_service(
            form,
            lambda: services.create_track(
                program=program,
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if track is not None:
            messages.success(request, f"Track “{track.name}” was added. Add its groups next.")
            return redirect("setup-program-detail", program_id=program.pk)
    return _form_page(
        request,
        form,
        title=f"New track of {program.name}",
        intro="A track is a schedule option, e.g. mornings or evenings; patients join one.",
        submit="Add track",
        cancel_url=reverse("setup-program-detail", args=[program.pk]),
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def track_edit_view(request: HttpRequest, track_id: int) -> HttpResponse:
    track = _track(request, track_id)
    form = TrackForm(
        request.POST or None, initial={"name": track.name, "description": track.description}
    )
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: services.update_track(
                track=track,
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if saved is not None:
            messages.success(request, f"Track “{form.cleaned_data['name']}” was updated.")
            return redirect("setup-program-detail", program_id=track.program_id)
    return _form_page(
        request,
        form,
        title=f"Edit track of {track.program.name}",
        submit="Save track",
        cancel_url=reverse("setup-program-detail", args=[track.program_id]),
        status=422 if request.method == "POST" else 200,
        track=track,
    )


@require_POST
@requires("programs.manage")
def track_active_view(request: HttpRequest, track_id: int) -> HttpResponse:
    track = _track(request, track_id)
    is_active = _activation(request)
    try:
        services.set_track_active(
            track=track,
            is_active=is_active,
            by=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Track “{track.name}” is {'open' if is_active else 'closed'}"
            + ("." if is_active else "; its groups are no longer scheduled."),
        )
    return redirect("setup-program-detail", program_id=track.program_id)


# --- Group series --------------------------------------------------------------------------


def _series(request: HttpRequest, series_id: int) -> GroupSeries:
    return get_object_or_404(
        GroupSeries.objects.select_related("track__program", "group_type", "facilitator", "room"),
        pk=series_id,
        site=_site(request),
    )


def _back_to(series_or_track: GroupSeries | Track | None) -> str:
    track = series_or_track.track if isinstance(series_or_track, GroupSeries) else series_or_track
    if track is not None:
        return reverse("setup-program-detail", args=[track.program_id])
    return reverse("setup-home")


def _report(request: HttpRequest, change: schedule.SeriesChange, verb: str) -> None:
    parts = []
    if change.updated:
        parts.append(f"{change.updated} future session{'s' if change.updated != 1 else ''} moved")
    if change.cancelled:
        parts.append(f"{change.cancelled} cancelled")
    parts.append(f"{change.created} session{'s' if change.created != 1 else ''} created")
    if change.materialized.booked:
        parts.append(f"{change.materialized.booked} booking(s) made for the track's patients")
    messages.success(request, f"“{change.series.title}” was {verb}: {', '.join(parts)}.")
    for conflict in change.all_conflicts:
        messages.warning(request, f"Skipped — {conflict}")


def _series_values(data: dict[str, Any]) -> dict[str, Any]:
    values = dict(data)
    values.pop("version", None)
    return values


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def series_create_view(request: HttpRequest) -> HttpResponse:
    site = _site(request)
    track: Track | None = None
    track_id = request.GET.get("track", "")
    if track_id.isdigit():
        track = Track.objects.filter(pk=int(track_id), program__site=site).first()
    form = GroupSeriesForm(
        request.POST or None,
        site=site,
        initial={
            "track": track.pk if track else None,
            "starts_on": local_today(site.time_zone).isoformat(),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            change = schedule.create_group_series(
                site=site,
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **_series_values(form.cleaned_data),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except schedule.SeriesConflict as exc:
            for conflict in exc.conflicts:
                form.add_error(None, f"The first meeting clashes: {conflict}")
        else:
            _report(request, change, "created")
            return redirect(_back_to(change.series))
    return _form_page(
        request,
        form,
        title="New group",
        intro=(
            f"A weekly group at {site.name}; times are local ({site.time_zone}). Sessions are"
            f" created for the next {schedule.DEFAULT_HORIZON_WEEKS} weeks and kept ahead"
            " nightly."
        ),
        submit="Create group",
        cancel_url=_back_to(track),
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def series_edit_view(request: HttpRequest, series_id: int) -> HttpResponse:
    series = _series(request, series_id)
    site = _site(request)
    initial = {
        name: getattr(series, name)
        for name in (
            "title",
            "weekday",
            "start_time",
            "duration_minutes",
            "capacity",
            "starts_on",
            "ends_on",
            "version",
        )
    }
    initial.update(
        group_type=series.group_type_id,
        facilitator=series.facilitator_id,
        room=series.room_id,
        # Date and time inputs need ISO text, not the locale's "Nov. 26, 2026" or "6 p.m.".
        start_time=f"{series.start_time:%H:%M}",
        starts_on=series.starts_on.isoformat(),
        ends_on=series.ends_on.isoformat() if series.ends_on else "",
    )
    form = GroupSeriesForm(request.POST or None, site=site, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        change = run_service(
            form,
            lambda: schedule.update_group_series(
                series=series,
                version=form.cleaned_data["version"] or 0,
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **_series_values(form.cleaned_data),
            ),
            refusals=(schedule.StaleSeries,),
        )
        if change is not None:
            _report(request, change, "updated")
            return redirect(_back_to(change.series))
    return _form_page(
        request,
        form,
        title=f"Edit “{series.title}”",
        intro=(
            "Future sessions without recorded attendance follow the change; sessions already"
            f" held stay as they were. Times are local ({site.time_zone})."
        ),
        submit="Save group",
        cancel_url=_back_to(series),
        status=422 if request.method == "POST" else 200,
        series=series,
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def series_end_view(request: HttpRequest, series_id: int) -> HttpResponse:
    series = _series(request, series_id)
    today = local_today(_site(request).time_zone)
    form = EndSeriesForm(
        request.POST or None, initial={"ends_on": (today - timedelta(days=1)).isoformat()}
    )
    if request.method == "POST" and form.is_valid():
        change = run_service(
            form,
            lambda: schedule.end_group_series(
                series=series,
                ends_on=form.cleaned_data["ends_on"],
                by=request.user,  # type: ignore[arg-type]
                request=request,
            ),
        )
        if change is not None:
            _report(request, change, "ended")
            return redirect(_back_to(change.series))
    return _form_page(
        request,
        form,
        title=f"End “{series.title}”",
        intro=(
            "Sessions after the last day are cancelled (“schedule changed”) and their patients'"
            " bookings become “cancelled by clinic”. Sessions with attendance stay."
        ),
        submit="End group",
        submit_class="btn-danger",
        cancel_url=_back_to(series),
        status=422 if request.method == "POST" else 200,
    )


# --- Group types and rooms ----------------------------------------------------------------


@require_GET
@requires("programs.view")
def group_type_list_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "programs/group_type_list.html",
        {
            "group_types": list(GroupType.objects.order_by("-is_active", "name")),
            "can_manage": _may_manage(request),
        },
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def group_type_create_view(request: HttpRequest) -> HttpResponse:
    form = GroupTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group_type = run_service(
            form,
            lambda: schedule.create_group_type(
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if group_type is not None:
            messages.success(request, f"Group type “{group_type.name}” was added.")
            return redirect("setup-group-types")
    return _form_page(
        request,
        form,
        title="New group type",
        intro="Group types are shared by every site of the organization.",
        submit="Add group type",
        cancel_url=reverse("setup-group-types"),
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def group_type_edit_view(request: HttpRequest, group_type_id: int) -> HttpResponse:
    group_type = get_object_or_404(GroupType, pk=group_type_id)
    form = GroupTypeForm(
        request.POST or None,
        editing=True,
        initial={
            "name": group_type.name,
            "description": group_type.description,
            "is_active": group_type.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: schedule.update_group_type(
                group_type=group_type,
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if saved is not None:
            messages.success(request, f"Group type “{form.cleaned_data['name']}” was updated.")
            return redirect("setup-group-types")
    return _form_page(
        request,
        form,
        title=f"Edit group type “{group_type.name}”",
        intro=f"API code: {group_type.code}. A retired type stays on existing groups.",
        submit="Save group type",
        cancel_url=reverse("setup-group-types"),
        status=422 if request.method == "POST" else 200,
    )


@require_GET
@requires("programs.view")
def room_list_view(request: HttpRequest) -> HttpResponse:
    site = _site(request)
    rooms = list(
        Room.objects.filter(site=site)
        .annotate(group_count=Count("group_series", filter=_prefixed_running(site)))
        .order_by("-is_active", "name")
    )
    return render(
        request, "programs/room_list.html", {"rooms": rooms, "can_manage": _may_manage(request)}
    )


def _prefixed_running(site: Any) -> Q:
    today = local_today(site.time_zone)
    return Q(group_series__is_active=True) & (
        Q(group_series__ends_on__isnull=True) | Q(group_series__ends_on__gte=today)
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def room_create_view(request: HttpRequest) -> HttpResponse:
    form = RoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        room = run_service(
            form,
            lambda: schedule.create_room(
                site=_site(request),
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if room is not None:
            messages.success(request, f"{room.name} was added.")
            return redirect("setup-rooms")
    return _form_page(
        request,
        form,
        title=f"New room at {_site(request).name}",
        submit="Add room",
        cancel_url=reverse("setup-rooms"),
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def room_edit_view(request: HttpRequest, room_id: int) -> HttpResponse:
    room = get_object_or_404(Room, pk=room_id, site=_site(request))
    form = RoomForm(
        request.POST or None,
        editing=True,
        initial={"name": room.name, "capacity": room.capacity, "is_active": room.is_active},
    )
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: schedule.update_room(
                room=room,
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if saved is not None:
            messages.success(request, f"{form.cleaned_data['name']} was updated.")
            return redirect("setup-rooms")
    return _form_page(
        request,
        form,
        title=f"Edit {room.name}",
        submit="Save room",
        cancel_url=reverse("setup-rooms"),
        status=422 if request.method == "POST" else 200,
    )
