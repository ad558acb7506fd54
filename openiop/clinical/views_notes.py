"""Note pages: the individual-note editor, a note's page (addenda, co-signature), a patient's
notes, and the clinician's documentation worklist."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.access import current_role, requires
from openiop.accounts.policy import role_may
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical import goals, plan_due, queries_notes, signing, time_bands
from openiop.clinical.access import get_note_for_user
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.clinical.forms_notes import (
    FORMAT_CHOICES,
    FORMAT_HELP,
    AddendumForm,
    FormatForm,
    IndividualNoteForm,
    StartNoteForm,
)
from openiop.clinical.hashing import addendum_content, sha256_of, verify_note
from openiop.clinical.individual_notes import (
    NO_NOTE_STATUSES,
    sign_individual_note,
    start_individual_note,
    update_individual_note,
)
from openiop.clinical.models import (
    FORMAT_SECTIONS,
    Addendum,
    Cosignature,
    Note,
    NoteGoal,
    NoteKind,
)
from openiop.lib.dates import zone
from openiop.patients.access import get_patient_for_user, record_patient_event
from openiop.scheduling.access import get_session_for_user
from openiop.scheduling.models import AttendanceStatus, Booking, SessionKind

PATIENT_NOTES_PAGE = 25


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _url_or_empty(name: str, *args: object) -> str:
    """A route another part of the app owns, or "" while it is not wired."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def group_note_url(session_id: int) -> str:
    """The facilitator's group-note page of a session (owned by the group-notes screens)."""
    return _url_or_empty("group-note", session_id)


# --- starting a note ---------------------------------------------------------------------


@requires("notes.write")
@require_http_methods(["GET", "POST"])
def individual_note_start(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, permission="notes.write")
    existing = Note.objects.filter(session=session, group_note__isnull=True).first()
    if existing is not None:
        return redirect("note-edit" if not existing.is_signed else "note-detail", existing.pk)
    if session.kind != SessionKind.INDIVIDUAL:
        messages.info(request, "This is a group session: write its group note from the roster.")
        return redirect("session-roster", session.pk)
    booking = (
        Booking.objects.filter(session=session)
        .exclude(status__in=("cancelled", "cancelled_by_clinic"))
        .select_related("patient")
        .first()
    )
    if booking is not None:
        record_patient_event(
            request,
            booking.patient,
            action=Action.VIEW,
            object_type="session",
            object_id=session.pk,
            detail="individual note start page",
        )
    form = StartNoteForm(request.POST or None)
    status, problem = 200, ""
    if request.method == "POST" and form.is_valid():
        try:
            note = start_individual_note(
                session,
                author=request.user,  # type: ignore[arg-type]
                format=form.cleaned_data["format"],
            )
        except NoteConflict as exc:
            status, problem = 409, exc.message
        except NotPermitted as exc:
            status, problem = 403, exc.message
        except ValidationError as exc:
            status, problem = 422, " ".join(exc.messages)
        else:
            record_patient_event(
                request,
                note.patient,  # type: ignore[arg-type]
                action=Action.CREATE,
                object_type="note",
                object_id=note.pk,
                detail=f"individual {note.get_format_display()} note started",
            )
            return redirect("note-edit", note.pk)
    elif request.method == "POST":
        status = 422
    if booking is None and not problem:
        problem = "Nobody is booked into this session; there is nothing to document."
    elif booking is not None and booking.status in NO_NOTE_STATUSES and not problem:
        problem = (
            f"Attendance shows “{booking.get_status_display()}”: an individual note documents a "
            "session that took place. Correct the attendance first if it did."
        )
    return render(
        request,
        "clinical/note_start.html",
        {
            "session": session,
            "booking": booking,
            "form": form,
            "problem": problem,
            "format_help": FORMAT_HELP,
            "format_choices": FORMAT_CHOICES,
            "is_mine": session.facilitator_id == request.user.pk,
            "has_started": session.starts_at <= timezone.now(),
            "time_zone": session.site.time_zone,
        },
        status=status,
    )


# --- the editor ----------------------------------------------------------------------------


def _editor_form(note: Note, data: Any = None) -> IndividualNoteForm:
    tz = zone(note.site.time_zone)
    plan_goals = goals.current_goals([note.patient_id]).get(note.patient_id, [])  # type: ignore[list-item]
    initial: dict[str, Any] = {
        "version": note.version,
        "started_at": note.started_at.astimezone(tz).time(),
        "ended_at": note.ended_at.astimezone(tz).time(),
        "goal_ids": list(NoteGoal.objects.filter(note=note).values_list("goal_id", flat=True)),
        **note.sections,
    }
    form = IndividualNoteForm(
        data,
        initial=initial,
        note_format=note.format,
        goals=plan_goals,
        day=note.session.starts_at.astimezone(tz).date(),
        time_zone=note.site.time_zone,
    )
    form.plan_goals = plan_goals  # type: ignore[attr-defined]
    return form


def _editor(
    request: HttpRequest,
    note: Note,
    form: IndividualNoteForm,
    *,
    status: int = 200,
    problem: str = "",
) -> HttpResponse:
    minutes = note.minutes or 0
    return render(
        request,
        "clinical/note_edit.html",
        {
            "note": note,
            "form": form,
            "format_form": FormatForm(initial={"version": note.version, "format": note.format}),
            "format_help": FORMAT_HELP,
            "band": time_bands.band_label(minutes),
            "has_code": time_bands.psychotherapy_code(minutes) is not None,
            "no_code_message": time_bands.NO_CODE_MESSAGE,
            "plan_goals": form.plan_goals,  # type: ignore[attr-defined]
            "problem": problem,
            "time_zone": note.site.time_zone,
            "chart_url": reverse("patient-chart", args=[note.patient_id]),
        },
        status=status,
    )


def _editable(request: HttpRequest, note: Note) -> HttpResponse | None:
    """A redirect to the note's page when this note is not an editable draft for this user."""
    if note.kind == NoteKind.GROUP:
        url = group_note_url(note.session_id)
        return redirect(url) if url else redirect("note-detail", note.pk)
    if note.kind != NoteKind.INDIVIDUAL or note.is_signed:
        return redirect("note-detail", note.pk)
    if note.author_id != request.user.pk:
        messages.info(request, "Only the author of a draft note can edit it.")
        return redirect("note-detail", note.pk)
    return None


def _form_errors(form: IndividualNoteForm, exc: ValidationError) -> None:
    for field, problems in exc.message_dict.items():
        target = field if field in form.fields else None
        for problem in problems:
            form.add_error(target, problem)


def _autosave(
    request: HttpRequest, note: Note, *, status: int = 200, problems: list[str] | None = None
) -> HttpResponse:
    minutes = note.minutes or 0
    return render(
        request,
        "clinical/_note_autosave.html",
        {
            "note": note,
            "problems": problems or [],
            "status": status,
            "band": time_bands.band_label(minutes),
            "has_code": time_bands.psychotherapy_code(minutes) is not None,
            "saved_at": timezone.now(),
            "time_zone": note.site.time_zone,
        },
        status=status,
    )


def _labelled(form: IndividualNoteForm, exc_or_errors: dict[str, list[str]]) -> list[str]:
    labels = {name: str(field.label) for name, field in form.fields.items()}
    return [
        f"{labels.get(field, 'Note')}: {problem}" if field != "__all__" else problem
        for field, problems in exc_or_errors.items()
        for problem in problems
    ]


@requires("notes.write")
@require_http_methods(["GET", "POST"])
def note_edit(request: HttpRequest, note_id: int) -> HttpResponse:
    if request.method == "GET":
        note = get_note_for_user(request, note_id, permission="notes.write", detail="note editor")
        return _editable(request, note) or _editor(request, note, _editor_form(note))
    note = get_note_for_user(
        request, note_id, permission="notes.write", action=Action.UPDATE, detail="draft saved"
    )
    refused = _editable(request, note)
    if refused is not None:
        if _is_htmx(request):
            return _autosave(
                request,
                note,
                status=409,
                problems=["This note can no longer be edited here. Reload the page."],
            )
        return refused
    if request.POST.get("intent") == "format":
        return _switch_format(request, note)
    form = _editor_form(note, request.POST)
    if not form.is_valid():
        if _is_htmx(request):
            return _autosave(request, note, status=422, problems=_labelled(form, form.errors))
        return _editor(request, note, form, status=422)
    try:
        note = update_individual_note(
            note,
            user=request.user,  # type: ignore[arg-type]
            version=form.cleaned_data["version"],
            data=form.service_data(),
        )
    except NoteConflict as exc:
        if _is_htmx(request):
            return _autosave(request, note, status=409, problems=[exc.message])
        return _editor(request, note, form, status=409, problem=exc.message)
    except ValidationError as exc:
        if _is_htmx(request):
            return _autosave(request, note, status=422, problems=_labelled(form, exc.message_dict))
        _form_errors(form, exc)
        return _editor(request, note, form, status=422)
    if _is_htmx(request):
        return _autosave(request, note)
    messages.success(request, "Draft saved.")
    return redirect("note-edit", note.pk)


def _switch_format(request: HttpRequest, note: Note) -> HttpResponse:
    form = FormatForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose DAP, BIRP or SOAP.")
        return redirect("note-edit", note.pk)
    try:
        note = update_individual_note(
            note,
            user=request.user,  # type: ignore[arg-type]
            version=form.cleaned_data["version"],
            data={"format": form.cleaned_data["format"]},
        )
    except (NoteConflict, ValidationError) as exc:
        text = exc.message if isinstance(exc, NoteConflict) else " ".join(exc.messages)
        messages.error(request, f"Format not changed: {text}")
    else:
        messages.success(request, f"Now a {note.get_format_display()} note.")
    return redirect("note-edit", note.pk)


def _holds(note: Note, data: dict[str, Any]) -> bool:
    """Whether the stored draft already holds exactly ``data`` (the editor's whole state)."""
    codes = [code for code, _ in FORMAT_SECTIONS[note.format]]
    stored_goals = set(NoteGoal.objects.filter(note=note).values_list("goal_id", flat=True))
    return (
        all(note.sections.get(code, "") == data[code] for code in codes)
        and note.started_at == data["started_at"]
        and note.ended_at == data["ended_at"]
        and stored_goals == set(data["goal_ids"])
    )


@requires("notes.write")
@require_POST
def note_sign(request: HttpRequest, note_id: int) -> HttpResponse:
    """Save what the editor holds, then sign. The save stands even when signing is refused,
    so nothing typed is lost while the missing sections are filled in."""
    note = get_note_for_user(
        request, note_id, permission="notes.write", action=Action.UPDATE, detail="note signed"
    )
    refused = _editable(request, note)
    if refused is not None:
        if note.is_signed:
            messages.info(request, "This note is already signed.")
        return refused
    form = _editor_form(note, request.POST)
    if not form.is_valid():
        return _editor(request, note, form, status=422, problem="Not signed: fix the fields below.")
    user = request.user
    try:
        note = update_individual_note(
            note,
            user=user,  # type: ignore[arg-type]
            version=form.cleaned_data["version"],
            data=form.service_data(),
        )
    except NoteConflict as exc:
        # The page's own autosave may have landed a moment before the click on "Sign": when
        # the stored draft is exactly what this form holds, nothing would be overwritten.
        note.refresh_from_db()
        if not _holds(note, form.service_data()):
            return _editor(request, note, form, status=409, problem=exc.message)
    except ValidationError as exc:
        _form_errors(form, exc)
        return _editor(
            request, note, form, status=422, problem="Not saved or signed: fix the fields below."
        )
    try:
        note = sign_individual_note(note, user=user)  # type: ignore[arg-type]
    except NoteConflict as exc:
        return _editor(request, note, form, status=409, problem=exc.message)
    except ValidationError as exc:
        # The draft was saved: the page carries its new version so the next save succeeds.
        data = request.POST.copy()
        data["version"] = str(note.version)
        form = _editor_form(note, data)
        form.is_valid()
        _form_errors(form, exc)
        return _editor(
            request,
            note,
            form,
            status=422,
            problem="Saved as a draft but not signed: complete the fields marked below.",
        )
    if note.service_code:
        messages.success(request, f"Note signed. Service code {note.service_code}.")
    else:
        messages.warning(request, f"Note signed. {time_bands.NO_CODE_MESSAGE}")
    return redirect("note-detail", note.pk)


# --- a note's page -------------------------------------------------------------------------


def _detail(
    request: HttpRequest,
    note: Note,
    *,
    addendum_form: AddendumForm | None = None,
    status: int = 200,
    problem: str = "",
) -> HttpResponse:
    role = current_role(request)
    user = request.user
    links = list(
        NoteGoal.objects.filter(note=note)
        .select_related("goal__plan", "goal__problem")
        .order_by("goal__problem__position", "goal__position", "goal_id")
    )
    addenda = list(Addendum.objects.filter(note=note).order_by("signed_at", "pk"))
    for addendum in addenda:
        addendum.note = note  # the fingerprint covers the note's; no query per addendum
        addendum.verifies = sha256_of(addendum_content(addendum)) == addendum.content_sha256  # type: ignore[attr-defined]
    cosignature = Cosignature.objects.filter(note=note).first()
    is_group_part = note.kind == NoteKind.GROUP_MEMBER
    may_cosign = (
        note.is_signed
        and note.requires_cosign
        and cosignature is None
        and note.kind != NoteKind.GROUP_MEMBER
        and role_may(role, "notes.cosign")
        and getattr(user, "is_clinical_supervisor", False)
        and note.author_id != user.pk
    )
    minutes = note.minutes
    return render(
        request,
        "clinical/note_detail.html",
        {
            "note": note,
            "sections": [
                (label, note.sections.get(code, "")) for code, label in FORMAT_SECTIONS[note.format]
            ],
            "links": links,
            "addenda": addenda,
            "cosignature": cosignature,
            "verified": verify_note(note) if note.is_signed else None,
            "band": (
                time_bands.band_label(minutes)
                if minutes is not None and note.kind == NoteKind.INDIVIDUAL
                else ""
            ),
            "attendance_label": (
                AttendanceStatus(note.attendance_status).label
                if note.attendance_status in AttendanceStatus.values
                else note.attendance_status
            ),
            "is_group_part": is_group_part,
            "group_note_url": (
                group_note_url(note.session_id)
                if is_group_part and role_may(role, "notes.write")
                else ""
            ),
            "may_edit": (
                not note.is_signed
                and note.kind == NoteKind.INDIVIDUAL
                and note.author_id == user.pk
                and role_may(role, "notes.write")
            ),
            "may_add_addendum": note.is_signed and role_may(role, "notes.write"),
            "may_cosign": may_cosign,
            "cosign_waiting": note.is_signed and note.requires_cosign and cosignature is None,
            "addendum_form": addendum_form or AddendumForm(),
            "problem": problem,
            "time_zone": note.site.time_zone,
        },
        status=status,
    )


@requires("notes.view")
@require_GET
def note_detail(request: HttpRequest, note_id: int) -> HttpResponse:
    note = get_note_for_user(request, note_id)
    if note.kind == NoteKind.GROUP:
        url = group_note_url(note.session_id)
        if url:
            return redirect(url)
    return _detail(request, note)


@requires("notes.write")
@require_POST
def note_addendum(request: HttpRequest, note_id: int) -> HttpResponse:
    note = get_note_for_user(
        request, note_id, permission="notes.write", detail="note opened to add an addendum"
    )
    form = AddendumForm(request.POST)
    if not form.is_valid():
        return _detail(request, note, addendum_form=form, status=422)
    try:
        signing.add_addendum(
            note,
            user=request.user,  # type: ignore[arg-type]
            text=form.cleaned_data["text"],
            request=request,
        )
    except ValidationError as exc:
        for problem in exc.messages:
            form.add_error("text", problem)
        return _detail(request, note, addendum_form=form, status=422)
    except NoteConflict as exc:
        return _detail(request, note, addendum_form=form, status=409, problem=exc.message)
    except NotPermitted as exc:
        return _detail(request, note, addendum_form=form, status=403, problem=exc.message)
    messages.success(request, "Addendum signed and added below the note.")
    return redirect(f"{reverse('note-detail', args=[note.pk])}#addenda")


@requires("notes.cosign")
@require_POST
def note_cosign(request: HttpRequest, note_id: int) -> HttpResponse:
    note = get_note_for_user(
        request, note_id, permission="notes.cosign", detail="note opened to co-sign"
    )
    try:
        signing.cosign_note(note, user=request.user, request=request)  # type: ignore[arg-type]
    except NotPermitted as exc:
        return _detail(request, note, status=403, problem=exc.message)
    except NoteConflict as exc:
        return _detail(request, note, status=409, problem=exc.message)
    messages.success(request, "Note co-signed.")
    if note.kind == NoteKind.GROUP:
        url = group_note_url(note.session_id)
        if url:
            return redirect(url)
    return redirect("note-detail", note.pk)


# --- a patient's notes ----------------------------------------------------------------------


@requires("notes.view")
@require_GET
def patient_notes(request: HttpRequest, patient_id: int) -> HttpResponse:
    page_number = request.GET.get("page", 1)
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="notes.view",
        object_type="notes",
        detail="list of notes",
    )
    page = Paginator(queries_notes.patient_notes(patient), PATIENT_NOTES_PAGE).get_page(page_number)
    return render(
        request,
        "clinical/notes_patient.html",
        {"patient": patient, "page": page, "time_zone": patient.site.time_zone},
    )


# --- the documentation worklist ------------------------------------------------------------


@requires("notes.view")
@require_GET
def documentation(request: HttpRequest) -> HttpResponse:
    site = request.site  # type: ignore[attr-defined]
    user = request.user
    role = current_role(request)
    may_cosign = role_may(role, "notes.cosign") and user.is_clinical_supervisor  # type: ignore[union-attr]
    found = queries_notes.worklist(user, site, timezone.now(), may_cosign=may_cosign)  # type: ignore[arg-type]
    sessions = [*found.overdue_sessions.rows, *found.waiting_sessions.rows]
    patients = queries_notes.patients_by_id({s.patient_id for s in sessions if s.patient_id})
    for session in sessions:
        session.patient = patients.get(session.patient_id)
        session.deadline = queries_notes.deadline(session.ends_at, session.unsigned_hours)
        session.write_url = (
            reverse("individual-note-start", args=[session.pk])
            if session.kind == SessionKind.INDIVIDUAL
            else group_note_url(session.pk) or reverse("session-roster", args=[session.pk])
        )
    for note in [*found.overdue_drafts.rows, *found.drafts.rows]:
        note.deadline = queries_notes.deadline(note.session.ends_at, note.unsigned_hours)
        note.edit_url = (
            reverse("note-edit", args=[note.pk])
            if note.kind == NoteKind.INDIVIDUAL
            else group_note_url(note.session_id)
            or reverse("session-roster", args=[note.session_id])
        )
    for note in found.cosign.rows if found.cosign else []:
        note.url = (
            group_note_url(note.session_id) if note.kind == NoteKind.GROUP else ""
        ) or reverse("note-detail", args=[note.pk])
    shown = sorted(
        {
            *patients,
            *(n.patient_id for n in found.overdue_drafts.rows if n.patient_id),
            *(n.patient_id for n in found.drafts.rows if n.patient_id),
            *(n.patient_id for n in (found.cosign.rows if found.cosign else []) if n.patient_id),
        }
    )
    # One event per look at the list (like a roster), naming the patients it showed.
    record_event(
        request=request,
        site=site,
        action=Action.VIEW,
        object_type="documentation_worklist",
        detail=(f"patients {','.join(map(str, shown))}" if shown else "nothing to document"),
    )
    return render(
        request,
        "clinical/worklist.html",
        {
            "found": found,
            "plans": plan_due.worklist_panel(request),
            "may_write": role_may(role, "notes.write"),
            "group_start_hint": "Open the roster to write the group note.",
            "time_zone": site.time_zone,
        },
    )
