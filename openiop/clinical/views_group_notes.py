"""The group-note page: the shared part, one patient's entry at a time, autosave, signing.

One page per group session (``/sessions/<id>/group-note/``). The facilitator moves from
patient to patient with htmx (no reload); every form saves itself as they type and the
server answers with out-of-band fragments only (new version, "Saved 14:03", the patient
list's badges), so the text being typed is never replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from openiop.accounts.access import requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.clinical import group_notes
from openiop.clinical.access import get_note_for_user
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.clinical.forms_group_notes import EntryForm, SharedForm, SignForm
from openiop.clinical.goals import current_goals
from openiop.clinical.models import EntryGoal, GroupNoteEntry, Note, NoteKind, PlanGoal
from openiop.lib.dates import zone
from openiop.scheduling.access import get_session_for_user
from openiop.scheduling.attendance import session_state
from openiop.scheduling.models import AttendanceStatus, CurriculumModule, Session, SessionKind

# What the page shows of a draft, re-read in one go with its version: text and version from
# one read, so the page never pairs a newer version with older text.
NOTE_FIELDS = [
    "version",
    "participant_count",
    "updated_at",
    *group_notes.SHARED_TEXT_FIELDS,
    "curriculum_module",
]

ENTRY_GONE_MESSAGE = (
    "This patient is no longer on the note (their booking was cancelled). Reload the page; "
    "nothing was saved for them."
)

STATE_LABELS = {
    "done": "Done",
    "incomplete": "Incomplete",
    "absent": "Absent",
    "unrecorded": "Attendance not recorded",
    "cancelled": "Booking cancelled",
}


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page_url(session: Session, entry_id: int | None = None) -> str:
    url = reverse("group-note", kwargs={"session_id": session.pk})
    return f"{url}?entry={entry_id}" if entry_id else url


def member_note_url(note_id: int, session: Session, patient_id: int) -> str:
    """The page of an attendee's note: the note page when it exists, else the group-note
    page as seen from that patient's chart."""
    try:
        return reverse("note-detail", args=[note_id])
    except NoReverseMatch:
        url = reverse("group-note", kwargs={"session_id": session.pk})
        return f"{url}?patient={patient_id}"


@dataclass
class EntryRow:
    """One patient on the page: the entry, its state and what its form offers."""

    entry: GroupNoteEntry
    index: int
    state: str
    goals: list[PlanGoal] = field(default_factory=list)
    goal_ids: set[int] = field(default_factory=set)
    errors: dict[str, list[str]] = field(default_factory=dict)
    member_note_id: int | None = None
    member_url: str = ""

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def is_attended(self) -> bool:
        return group_notes.is_attended(self.entry)

    @property
    def is_absent(self) -> bool:
        return group_notes.is_absent(self.entry)

    @property
    def sections(self) -> list[tuple[str, str, str]]:
        """(code, label, text) of the narrative sections, in writing order."""
        return [
            (code, label, getattr(self.entry, code))
            for code, label in group_notes.SECTION_LABELS.items()
        ]


def _session_and_note(
    request: HttpRequest,
    session_id: int,
    *,
    permission: str,
    action: Action = Action.VIEW,
    detail: str = "",
) -> tuple[Session, Note | None]:
    session = get_session_for_user(request, session_id, permission=permission)
    note_id = (
        Note.objects.filter(session=session, kind=NoteKind.GROUP).values_list("pk", flat=True)
    ).first()
    if note_id is None:
        return session, None
    note = get_note_for_user(request, note_id, permission=permission, action=action, detail=detail)
    return session, note


def _rows(
    note: Note,
    *,
    errors: dict[str, list[str]] | None = None,
) -> list[EntryRow]:
    """Every entry of ``note`` in roster order, with goals and errors (four queries)."""
    entries = list(
        GroupNoteEntry.objects.filter(note=note)
        .select_related("patient", "booking")
        .order_by("patient__last_name", "patient__first_name", "pk")
    )
    chosen: dict[int, set[int]] = {}
    for entry_id, goal_id in EntryGoal.objects.filter(note=note).values_list("entry_id", "goal_id"):
        chosen.setdefault(entry_id, set()).add(goal_id)
    if note.is_signed:
        addressed = {
            goal.pk: goal
            for goal in PlanGoal.objects.filter(pk__in={g for ids in chosen.values() for g in ids})
        }
        plans = {
            e.patient_id: [addressed[g] for g in sorted(chosen.get(e.pk, ())) if g in addressed]
            for e in entries
        }
        members = dict(Note.objects.filter(group_note=note).values_list("patient_id", "pk"))
    else:
        plans = current_goals([e.patient_id for e in entries])
        members = {}
    rows = []
    for index, entry in enumerate(entries):
        prefix = f"entries[{index}]."
        own_errors = {
            key.removeprefix(prefix): value
            for key, value in (errors or {}).items()
            if key.startswith(prefix)
        }
        member_id = members.get(entry.patient_id)
        rows.append(
            EntryRow(
                entry=entry,
                index=index,
                state=group_notes.entry_state(entry),
                goals=plans.get(entry.patient_id, []),
                goal_ids=chosen.get(entry.pk, set()),
                errors=own_errors,
                member_note_id=member_id,
                member_url=(
                    member_note_url(member_id, note.session, entry.patient_id) if member_id else ""
                ),
            )
        )
    return rows


def _pick(rows: list[EntryRow], raw: str | None) -> EntryRow | None:
    """The row asked for (``?entry=``), else the first with errors, else the first to do."""
    if raw:
        for row in rows:
            if str(row.entry.pk) == raw:
                return row
    for row in rows:
        if row.errors:
            return row
    for row in rows:
        if row.state in ("incomplete", "unrecorded"):
            return row
    return rows[0] if rows else None


def _neighbours(rows: list[EntryRow], current: EntryRow | None) -> tuple[Any, Any]:
    if current is None:
        return None, None
    index = rows.index(current)
    previous = rows[index - 1] if index > 0 else None
    following = rows[index + 1] if index + 1 < len(rows) else None
    return previous, following


def _can_edit(request: HttpRequest, note: Note) -> bool:
    role = request.membership.role  # type: ignore[attr-defined]
    return (
        not note.is_signed and note.author_id == request.user.pk and role_may(role, "notes.write")
    )


def _clock(session: Session) -> str:
    return f"{timezone.localtime(timezone.now(), zone(session.site.time_zone)):%H:%M}"


def _context(
    request: HttpRequest,
    session: Session,
    note: Note,
    *,
    rows: list[EntryRow],
    current: EntryRow | None,
    shared_errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    previous, following = _neighbours(rows, current)
    can_edit = _can_edit(request, note)
    context: dict[str, Any] = {
        "session": session,
        "note": note,
        "rows": rows,
        "current": current,
        "previous": previous,
        "following": following,
        "can_edit": can_edit,
        "time_zone": session.site.time_zone,
        "shared_errors": shared_errors or {},
        "todo_count": sum(1 for row in rows if row.state in ("incomplete", "unrecorded")),
        "attended_count": sum(1 for row in rows if row.is_attended),
    }
    if can_edit:
        context["modules"] = list(
            CurriculumModule.objects.filter(Q(is_active=True) | Q(pk=note.curriculum_module_id))
        )
    return context


# --- Pages ---------------------------------------------------------------------------------


@requires("notes.view")
@require_GET
def group_note_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session, note = _session_and_note(request, session_id, permission="notes.view")
    if note is None:
        role = request.membership.role  # type: ignore[attr-defined]
        state = session_state(session, timezone.now())
        return render(
            request,
            "clinical/group_note_start.html",
            {
                "session": session,
                "state": state,
                "can_start": (
                    role_may(role, "notes.write")
                    and session.kind == SessionKind.GROUP
                    and state == "held"
                ),
                "time_zone": session.site.time_zone,
            },
        )
    raw_patient = request.GET.get("patient")
    if raw_patient and note.is_signed:
        return _member_view(request, session, note, raw_patient)
    reconciled = _reconcile(request, note)
    rows = _rows(note)
    current = _pick(rows, request.GET.get("entry"))
    context = _context(request, session, note, rows=rows, current=current)
    context["reconciled"] = reconciled
    return render(request, "clinical/group_note.html", context)


def _reconcile(request: HttpRequest, note: Note) -> group_notes.Reconciled | None:
    """The author opening the draft brings its entries in step with the bookings (a drop-in
    booked since it was started gets an entry, a cancelled booking loses its own). Readers
    who cannot edit change nothing."""
    if not _can_edit(request, note):
        return None
    try:
        reconciled = group_notes.reconcile_group_note(
            note,
            user=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except (NoteConflict, NotPermitted):
        raise Http404("No such group note.") from None
    if reconciled:
        note.refresh_from_db(fields=NOTE_FIELDS)
    return reconciled


def _member_view(
    request: HttpRequest, session: Session, group_note: Note, raw_patient: str
) -> HttpResponse:
    """One attendee's signed note, as their chart shows it: no other patient on the page."""
    try:
        patient_id = int(raw_patient)
    except ValueError:
        raise Http404("No such note.") from None
    member_id = (
        Note.objects.filter(group_note=group_note, patient_id=patient_id)
        .values_list("pk", flat=True)
        .first()
    )
    if member_id is None:
        raise Http404("No such note.")
    member = get_note_for_user(request, member_id, permission="notes.view")
    goals = list(PlanGoal.objects.filter(note_links__note=member).order_by("pk"))
    return render(
        request,
        "clinical/group_note_member.html",
        {
            "session": session,
            "member": member,
            "goals": goals,
            "sections": _member_sections(member),
            "attendance_label": AttendanceStatus(member.attendance_status).label,
            "time_zone": session.site.time_zone,
        },
    )


def _member_sections(member: Note) -> list[tuple[str, str]]:
    labels = {**group_notes.SECTION_LABELS, group_notes.ABSENCE_SECTION: "Absence"}
    return [(labels.get(code, code), text) for code, text in member.sections.items()]


@requires("notes.write")
@require_POST
def group_note_start_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, permission="notes.write")
    try:
        group_notes.start_group_note(
            session,
            author=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except NoteConflict as exc:
        messages.error(request, exc.message)
    return redirect(_page_url(session))


@requires("notes.view")
@require_GET
def group_note_entry_view(request: HttpRequest, session_id: int, entry_id: int) -> HttpResponse:
    session, note = _session_and_note(request, session_id, permission="notes.view", detail="entry")
    if note is None:
        raise Http404("No such group note.")
    if not _is_htmx(request):
        return redirect(_page_url(session, entry_id))
    rows = _rows(note)
    current = next((row for row in rows if row.entry.pk == entry_id), None)
    if current is None:
        raise Http404("No such entry.")
    context = _context(request, session, note, rows=rows, current=current)
    context["tabs_oob"] = True
    return render(request, "clinical/_group_note_entry.html", context)


# --- Autosave ------------------------------------------------------------------------------


def _saved(
    request: HttpRequest,
    session: Session,
    note: Note,
    *,
    current_id: int | None,
    shared_version: int | None = None,
    entry_version: int | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    """The out-of-band answer to an autosave: versions, "Saved 14:03" or the problem, and
    the patient list's badges.

    The versions handed back are the ones the service wrote for this save, never re-read:
    a change made elsewhere in between must stay a conflict. ``shared_version`` None after a
    successful entry save means the page's note version was stale: it stays stale, and the
    page is told to reload before it edits the shared part.
    """
    rows = _rows(note)
    current = next((row for row in rows if row.entry.pk == current_id), None)
    context = _context(request, session, note, rows=rows, current=current)
    context.update(
        entry_save=current_id is not None,
        problem=problem,
        saved_at=_clock(session),
        status=status,
        shared_version=None if problem else shared_version,
        entry_version=None if problem else entry_version,
        stale=not problem and current_id is not None and shared_version is None,
    )
    return render(request, "clinical/_group_note_saved.html", context, status=status)


@requires("notes.write")
@require_POST
def group_note_shared_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session, note = _session_and_note(
        request, session_id, permission="notes.write", action=Action.UPDATE, detail="shared part"
    )
    if note is None:
        raise Http404("No such group note.")
    form = SharedForm(request.POST, note=note)
    problem, status, version = "", 200, None
    if not form.is_valid():
        problem, status = " ".join(m for ms in form.errors.values() for m in ms), 422
    else:
        try:
            version = group_notes.save_group_shared(
                note,
                user=request.user,  # type: ignore[arg-type]
                version=form.cleaned_data["version"],
                data=form.shared(),
                request=request,
            ).version
        except ValidationError as exc:
            problem, status = " ".join(exc.messages), 422
        except NoteConflict as exc:
            problem, status = exc.message, 409
        except NotPermitted as exc:
            problem, status = exc.message, 403
    if not _is_htmx(request):
        if problem:
            messages.error(request, f"Not saved: {problem}")
        else:
            messages.success(request, "Shared part saved.")
        return redirect(_page_url(session))
    return _saved(
        request,
        session,
        note,
        current_id=None,
        shared_version=version,
        problem=problem,
        status=status,
    )


@requires("notes.write")
@require_POST
def group_note_entry_save_view(
    request: HttpRequest, session_id: int, entry_id: int
) -> HttpResponse:
    session, note = _session_and_note(
        request, session_id, permission="notes.write", action=Action.UPDATE, detail="entry"
    )
    if note is None:
        raise Http404("No such group note.")
    entry = GroupNoteEntry.objects.filter(note=note, pk=entry_id).first()
    if entry is None:
        if not _is_htmx(request):
            raise Http404("No such entry.")
        # A patient's entry open in this tab, removed since (their booking was cancelled and
        # another tab or the signature brought the note in step): say so, or the typing
        # would go nowhere without a word.
        return _saved(
            request,
            session,
            note,
            current_id=entry_id,
            problem=ENTRY_GONE_MESSAGE,
            status=409,
        )
    form = EntryForm(request.POST)
    problem, status, saved = "", 200, None
    if not form.is_valid():
        problem, status = " ".join(m for ms in form.errors.values() for m in ms), 422
    else:
        try:
            saved = group_notes.save_group_entry(
                entry,
                user=request.user,  # type: ignore[arg-type]
                version=form.cleaned_data["version"],
                data=form.entry_data(),
                note_version=form.cleaned_data["note_version"],
                request=request,
            )
        except ValidationError as exc:
            problem, status = " ".join(exc.messages), 422
        except NoteConflict as exc:
            problem, status = exc.message, 409
        except NotPermitted as exc:
            problem, status = exc.message, 403
    if not _is_htmx(request):
        if problem:
            messages.error(request, f"Not saved: {problem}")
        else:
            messages.success(request, "Entry saved.")
        return redirect(_page_url(session, entry.pk))
    return _saved(
        request,
        session,
        note,
        current_id=entry.pk,
        shared_version=saved.note_version if saved else None,
        entry_version=saved.entry.version if saved else None,
        problem=problem,
        status=status,
    )


# --- Signing -------------------------------------------------------------------------------


@requires("notes.write")
@require_POST
def group_note_sign_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session, note = _session_and_note(
        request, session_id, permission="notes.write", action=Action.UPDATE, detail="sign"
    )
    if note is None:
        raise Http404("No such group note.")
    form = SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return _go(request, _page_url(session))
    try:
        signed = group_notes.sign_group_note(
            note,
            user=request.user,  # type: ignore[arg-type]
            request=request,
            version=form.cleaned_data["note_version"],
        )
    except ValidationError as exc:
        errors = exc.message_dict
        # Signing brought the entries in step with the bookings first (a drop-in's entry
        # stays); the page shown now is the note as saved, with its version.
        note.refresh_from_db(fields=NOTE_FIELDS)
        rows = _rows(note, errors=errors)
        shared_errors = {k: v for k, v in errors.items() if not k.startswith("entries[")}
        context = _context(
            request,
            session,
            note,
            rows=rows,
            current=_pick(rows, None),
            shared_errors=shared_errors,
        )
        context["sign_failed"] = True
        return render(request, "clinical/group_note.html", context, status=422)
    except (NoteConflict, NotPermitted) as exc:
        messages.error(request, exc.message)
        return _go(request, _page_url(session))
    count = len(signed)
    messages.success(
        request,
        f"Group note signed: {count} note{'s' if count != 1 else ''} written, one in each "
        "patient's chart.",
    )
    return _go(request, _page_url(session))


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect; from htmx (the sign button queues behind pending autosaves), a full one."""
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
