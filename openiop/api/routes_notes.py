"""Clinical notes over the API: a patient's notes, one note, group and individual notes from
held sessions, drafts edited with optimistic locking, signing, addenda and co-signatures.

Every read reaches the note through ``clinical.access`` (or the patient through
``patients.access``) and is audited. A group note is the facilitator's record of a whole
group and is in no patient's chart; signing it gives each attendee a note of their own,
holding the shared part and only that patient's part. A signed note never changes: editing
or deleting it answers 409 and points to addenda.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the operations'
# annotations at import time and cannot resolve ``Query[...]`` given as a string.

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Count
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AwareDatetime, ConfigDict, field_validator

from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, ValidationErrors
from openiop.audit.models import Action
from openiop.clinical import notes as note_services
from openiop.clinical.access import get_note_for_user
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.clinical.group_notes import create_group_note
from openiop.clinical.hashing import verify_note
from openiop.clinical.models import (
    FORMAT_SECTIONS,
    EntryGoal,
    GroupNoteEntry,
    Note,
    NoteFormat,
    NoteGoal,
    NoteKind,
)
from openiop.clinical.signing import ADDENDUM_MAX_LENGTH, add_addendum, cosign_note
from openiop.patients.access import get_patient_for_user, sites_for
from openiop.scheduling.access import get_session_for_user

router = Router(tags=["notes"])

MAX_ID = 2**63 - 1
TEXT_MAX = 20_000
GoalId = Annotated[int, Field(ge=1, le=MAX_ID)]
INDEX = re.compile(r"\[(\d+)\]")
SECTION_CODES = {
    code
    for note_format in (NoteFormat.DAP, NoteFormat.BIRP, NoteFormat.SOAP)
    for code, _ in FORMAT_SECTIONS[note_format]
}


# --- Input -------------------------------------------------------------------------------
# Absent fields are unchanged; an explicit null for a text is refused (the ``None`` default
# is not validated, a given null is), like the patients API.


def _text(max_length: int = TEXT_MAX) -> Any:
    return Field(None, max_length=max_length)


class SharedIn(Schema):
    """The shared part of a group note: what every attendee's note repeats."""

    model_config = ConfigDict(extra="forbid")

    topic: str = _text(200)
    summary: str = _text()
    interventions: str = _text()
    curriculum_module: int | None = Field(
        None, ge=1, le=MAX_ID, description="Curriculum module id; null for none."
    )


class EntryIn(Schema):
    """One booked patient's part of a group note. Narrative fields may stay empty until
    signing; only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    patient_id: int = Field(ge=1, le=MAX_ID, description="A patient booked in the session.")
    participation: str = _text()
    mood: str = _text()
    response: str = _text()
    progress: str = _text()
    goal_ids: list[GoalId] = Field(
        None, max_length=50, description="Goals of the patient's current treatment plan."
    )
    risk: str = _text()
    plan: str = _text()
    absence_note: str = _text()


def _unique_patients(entries: list[EntryIn] | None) -> list[EntryIn] | None:
    seen: set[int] = set()
    for entry in entries or []:
        if entry.patient_id in seen:
            raise ValueError(f"Patient {entry.patient_id} is given twice.")
        seen.add(entry.patient_id)
    return entries


class GroupNoteIn(Schema):
    """A new group note. The shared part may come as ``shared`` or as top-level fields."""

    model_config = ConfigDict(extra="forbid")

    shared: SharedIn = Field(None)
    topic: str = _text(200)
    summary: str = _text()
    interventions: str = _text()
    curriculum_module: int | None = Field(None, ge=1, le=MAX_ID)
    entries: list[EntryIn] = Field(None, max_length=100)

    @field_validator("entries")
    @classmethod
    def _entries_unique(cls, value: list[EntryIn] | None) -> list[EntryIn] | None:
        return _unique_patients(value)


class IndividualNoteIn(Schema):
    """A new individual note; ``sections`` keyed by the format's section codes."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["dap", "birp", "soap"]
    sections: dict[str, Annotated[str, Field(max_length=TEXT_MAX)]] = Field(
        None,
        description='e.g. {"data": "...", "assessment": "...", "plan": "..."} for DAP.',
    )
    started_at: AwareDatetime = Field(None, description="When the session actually began.")
    ended_at: AwareDatetime = Field(None, description="When it actually ended.")
    goal_ids: list[GoalId] = Field(None, max_length=50)


class NotePatch(Schema):
    """Changes to a draft: group-note fields for a group note, individual-note fields for an
    individual note. ``version`` is the one you read."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_ID, description="The version you read (GET).")
    shared: SharedIn = Field(None)
    topic: str = _text(200)
    summary: str = _text()
    interventions: str = _text()
    curriculum_module: int | None = Field(None, ge=1, le=MAX_ID)
    entries: list[EntryIn] = Field(None, max_length=100)
    format: Literal["dap", "birp", "soap"] = Field(None)
    sections: dict[str, Annotated[str, Field(max_length=TEXT_MAX)]] = Field(None)
    started_at: AwareDatetime = Field(None)
    ended_at: AwareDatetime = Field(None)
    goal_ids: list[GoalId] = Field(None, max_length=50)

    @field_validator("entries")
    @classmethod
    def _entries_unique(cls, value: list[EntryIn] | None) -> list[EntryIn] | None:
        return _unique_patients(value)


class AddendumIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=ADDENDUM_MAX_LENGTH)


class NoteFilters(Schema):
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000_000)


GROUP_FIELDS = ("shared", "topic", "summary", "interventions", "curriculum_module", "entries")
INDIVIDUAL_FIELDS = ("format", "sections", "started_at", "ended_at", "goal_ids")


# --- Output ------------------------------------------------------------------------------


class SharedOut(Schema):
    topic: str
    summary: str
    interventions: str
    curriculum_module_id: int | None
    curriculum_module_name: str | None
    participant_count: int | None


class AddendumOut(Schema):
    id: int
    author_id: int
    signer_name: str
    text: str
    signed_at: datetime
    content_sha256: str


class CosignatureOut(Schema):
    cosigner_id: int
    signer_name: str
    signed_at: datetime
    content_sha256: str


class EntryOut(Schema):
    """A patient's part of a group note (the facilitator's record only)."""

    patient_id: int
    patient_name: str
    attendance_status: str
    minutes: int | None
    participation: str
    mood: str
    response: str
    progress: str
    goal_ids: list[int]
    risk: str
    plan: str
    absence_note: str


class NoteSummaryOut(Schema):
    id: int
    kind: str = Field(description="individual, group_member (an attendee's group note) or group")
    format: str = Field(description="dap, birp, soap or group")
    status: str = Field(description="draft or signed")
    version: int = Field(description="Send it back with PATCH while a draft.")
    session_id: int
    patient_id: int | None = Field(description="null for a group note")
    started_at: datetime
    ended_at: datetime
    attendance_status: str
    minutes: int | None
    service_code: str = Field(description="CPT/HCPCS code the documented time supports.")
    author_id: int
    author_name: str = Field(description='Name and credentials: "Tom Fakename, LCSW".')
    signed_at: datetime | None
    signer_name: str
    content_sha256: str = Field(description="SHA-256 of the signed content; empty on a draft.")
    addenda_count: int
    requires_cosign: bool
    cosign_state: Literal["not_required", "pending", "cosigned"]
    cosigned_at: datetime | None
    cosigner_name: str | None


class NoteOut(NoteSummaryOut):
    group_note_id: int | None = Field(description="For an attendee's note: its group note.")
    shared: SharedOut | None = Field(description="The shared part, on group notes only.")
    sections: dict[str, Any] = Field(
        description=(
            "Narrative keyed by the format's codes; on a signed group note, the record of"
            " what it fanned out to."
        )
    )
    goal_ids: list[int] = Field(description="Treatment-plan goals the progress addresses.")
    addenda: list[AddendumOut]
    cosignature: CosignatureOut | None
    verified: bool = Field(description="Whether a signed note still matches its fingerprint.")
    entries: list[EntryOut] | None = Field(description="Group note only: each patient's part.")
    member_note_ids: list[int] | None = Field(
        description="Group note only: the attendees' notes made by signing it."
    )


class NotePage(Schema):
    count: int = Field(description="How many notes the patient has, over all pages.")
    results: list[NoteSummaryOut]
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")


def _summary(note: Note, addenda_count: int) -> dict[str, Any]:
    cosignature = getattr(note, "cosignature", None) if note.requires_cosign else None
    if not note.requires_cosign:
        state = "not_required"
    else:
        state = "cosigned" if cosignature is not None else "pending"
    return {
        "id": note.pk,
        "kind": note.kind,
        "format": note.format,
        "status": note.status,
        "version": note.version,
        "session_id": note.session_id,
        "patient_id": note.patient_id,
        "started_at": note.started_at,
        "ended_at": note.ended_at,
        "attendance_status": note.attendance_status,
        "minutes": note.minutes,
        "service_code": note.service_code,
        "author_id": note.author_id,
        "author_name": note.author.signature_name,
        "signed_at": note.signed_at,
        "signer_name": note.signer_name,
        "content_sha256": note.content_sha256,
        "addenda_count": addenda_count,
        "requires_cosign": note.requires_cosign,
        "cosign_state": state,
        "cosigned_at": cosignature.signed_at if cosignature else None,
        "cosigner_name": cosignature.signer_name if cosignature else None,
    }


def _note_out(note_id: int) -> dict[str, Any]:
    """The whole note (a fixed number of queries, whatever the attendee count)."""
    note = Note.objects.select_related("author", "curriculum_module", "cosignature").get(pk=note_id)
    addenda = list(note.addenda.order_by("signed_at", "pk"))
    out = _summary(note, len(addenda))
    cosignature = getattr(note, "cosignature", None)
    is_group = note.kind == NoteKind.GROUP
    shared = None
    if note.kind in (NoteKind.GROUP, NoteKind.GROUP_MEMBER):
        module = note.curriculum_module
        shared = {
            "topic": note.topic,
            "summary": note.summary,
            "interventions": note.interventions,
            "curriculum_module_id": note.curriculum_module_id,
            "curriculum_module_name": module.name if module else None,
            "participant_count": note.participant_count,
        }
    out.update(
        group_note_id=note.group_note_id,
        shared=shared,
        sections=dict(note.sections or {}),
        goal_ids=sorted(NoteGoal.objects.filter(note=note).values_list("goal_id", flat=True)),
        addenda=[
            {
                "id": addendum.pk,
                "author_id": addendum.author_id,
                "signer_name": addendum.signer_name,
                "text": addendum.text,
                "signed_at": addendum.signed_at,
                "content_sha256": addendum.content_sha256,
            }
            for addendum in addenda
        ],
        cosignature=None
        if cosignature is None
        else {
            "cosigner_id": cosignature.cosigner_id,
            "signer_name": cosignature.signer_name,
            "signed_at": cosignature.signed_at,
            "content_sha256": cosignature.content_sha256,
        },
        verified=verify_note(note),
        entries=_entries_out(note) if is_group else None,
        member_note_ids=(
            list(Note.objects.filter(group_note=note).order_by("pk").values_list("pk", flat=True))
            if is_group
            else None
        ),
    )
    return out


def _entries_out(note: Note) -> list[dict[str, Any]]:
    goals: dict[int, list[int]] = {}
    for entry_id, goal_id in EntryGoal.objects.filter(note=note).values_list("entry_id", "goal_id"):
        goals.setdefault(entry_id, []).append(goal_id)
    entries = GroupNoteEntry.objects.filter(note=note).select_related("patient")
    return [
        {
            "patient_id": entry.patient_id,
            "patient_name": f"{entry.patient.first_name} {entry.patient.last_name}",
            "attendance_status": entry.attendance_status,
            "minutes": entry.minutes,
            "participation": entry.participation,
            "mood": entry.mood,
            "response": entry.response,
            "progress": entry.progress,
            "goal_ids": sorted(goals.get(entry.pk, [])),
            "risk": entry.risk,
            "plan": entry.plan,
            "absence_note": entry.absence_note,
        }
        for entry in entries
    ]


# --- Errors ------------------------------------------------------------------------------


def _field(name: str, where: str, *, sections: bool = False) -> str:
    """A service's field name ("entries[1].goal_ids") as an API path ("payload.entries.1…");
    with ``sections``, an individual note's section code ("data") as "sections.data"."""
    if name == NON_FIELD_ERRORS:
        return where
    if sections and name in SECTION_CODES:
        return f"{where}.sections.{name}"
    dotted = INDEX.sub(r".\1", name)
    return f"{where}.{dotted}"


def _unprocessable(exc: ValidationError, *, where: str, sections: bool = False) -> Status:
    problems = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    return Status(
        422,
        {
            "detail": [
                {
                    "field": _field(name, where, sections=sections),
                    "message": message,
                    "type": "value_error",
                }
                for name, messages in problems.items()
                for message in messages
            ]
        },
    )


def _invalid(field: str, message: str) -> Status:
    return Status(422, {"detail": [{"field": field, "message": message, "type": "value_error"}]})


def _run(call: Any, *, where: str = "payload", sections: bool = False) -> Any:
    """Call a service; map its errors: bad input 422, wrong state 409, not allowed 403."""
    try:
        return call()
    except ValidationError as exc:
        return _unprocessable(exc, where=where, sections=sections)
    except NoteConflict as exc:
        raise HttpError(409, exc.message) from None
    except NotPermitted as exc:
        raise HttpError(403, exc.message) from None


def _group_data(payload: GroupNoteIn | NotePatch) -> dict[str, Any]:
    given = payload.model_dump(exclude_unset=True)
    shared = dict(given.get("shared") or {})
    for key in note_services.SHARED_KEYS:
        if key in given:
            shared[key] = given[key]
    return {"shared": shared, "entries": list(given.get("entries") or [])}


def _individual_data(
    payload: IndividualNoteIn | NotePatch, note_format: str
) -> dict[str, Any] | Status:
    given = payload.model_dump(exclude_unset=True)
    codes = {code for code, _ in FORMAT_SECTIONS[note_format]}
    data: dict[str, Any] = {}
    for code, text in (given.get("sections") or {}).items():
        if code not in codes:
            known = ", ".join(sorted(codes))
            return _invalid(
                f"payload.sections.{code}",
                f"{note_format.upper()} notes have no section {code!r}; they have {known}.",
            )
        data[code] = text
    for key in INDIVIDUAL_FIELDS:
        if key != "sections" and key in given:
            data[key] = given[key]
    return data


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


ERRORS = {401: Detail, 403: Detail, 404: Detail, 409: Detail, 422: ValidationErrors}


# --- Operations --------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/notes",
    response={200: NotePage, 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="A patient's notes (individual and group), newest first",
    auth=api_guard("notes.view"),
)
def list_patient_notes(
    request: HttpRequest,
    filters: Query[NoteFilters],
    patient_id: int = Path(..., ge=1, le=MAX_ID),
) -> dict[str, Any]:
    patient = get_patient_for_user(
        request,
        patient_id,
        permission="notes.view",
        object_type="notes",
        detail=f"notes list via API, offset {filters.offset}",
    )
    # Only the patient's own notes: a group note holds other patients and is in no chart.
    notes = (
        Note.objects.filter(patient=patient, site__in=sites_for(request, "notes.view"))
        .exclude(kind=NoteKind.GROUP)
        .select_related("author", "cosignature")
        .annotate(addenda_count=Count("addenda"))
        .order_by("-started_at", "-pk")
    )
    count = notes.count()
    end = filters.offset + filters.limit
    return {
        "count": count,
        "results": [
            _summary(note, note.addenda_count)  # type: ignore[attr-defined]
            for note in notes[filters.offset : end]
        ],
        "next_offset": end if end < count else None,
    }


@router.get(
    "/notes/{note_id}",
    response={200: NoteOut, 401: Detail, 403: Detail, 404: Detail, 422: ValidationErrors},
    summary="One note, with its addenda, co-signature and whether it verifies",
    description=(
        "A group note (the facilitator's record) carries each patient's entry and the ids of"
        " the attendees' notes; an attendee's note carries the shared part and only that"
        " patient's own part."
    ),
    auth=api_guard("notes.view"),
)
def get_note(request: HttpRequest, note_id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    note = get_note_for_user(request, note_id, detail="via API")
    return _note_out(note.pk)


@router.post(
    "/sessions/{session_id}/group-note",
    response={201: NoteOut, **ERRORS},
    summary="Write the group note of a held group session (a draft)",
    description=(
        "One entry per booked patient is made, prefilled from attendance; the `entries` given"
        " fill in those patients' parts. Narrative fields may stay empty until signing. A"
        " session that is cancelled, not a group, not yet held or that already has a group"
        " note answers 409."
    ),
    auth=api_guard("notes.write"),
)
def post_group_note(
    request: HttpRequest, payload: GroupNoteIn, session_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    session = get_session_for_user(request, session_id, permission="notes.write")
    data = _group_data(payload)
    result = _run(
        lambda: create_group_note(
            session,
            author=_user(request),
            shared=data["shared"],
            entries=data["entries"],
            request=request,
        )
    )
    if isinstance(result, Status):
        return result
    note = get_note_for_user(
        request, result.pk, permission="notes.write", action=Action.CREATE, detail="via API"
    )
    return Status(201, _note_out(note.pk))


@router.post(
    "/sessions/{session_id}/individual-note",
    response={201: NoteOut, **ERRORS},
    summary="Write the note of a held individual session (a draft) in DAP, BIRP or SOAP",
    auth=api_guard("notes.write"),
)
def post_individual_note(
    request: HttpRequest, payload: IndividualNoteIn, session_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    session = get_session_for_user(request, session_id, permission="notes.write")
    data = _individual_data(payload, payload.format)
    if isinstance(data, Status):
        return data
    data.pop("format", None)
    result = _run(
        lambda: note_services.create_individual_note(
            session, author=_user(request), format=payload.format, data=data
        ),
        sections=True,
    )
    if isinstance(result, Status):
        return result
    note = get_note_for_user(
        request, result.pk, permission="notes.write", action=Action.CREATE, detail="via API"
    )
    return Status(201, _note_out(note.pk))


@router.patch(
    "/notes/{note_id}",
    response={200: NoteOut, **ERRORS},
    summary="Change a draft note; refused (409) if stale or signed",
    description=(
        "Send the `version` you read. A signed note is never changed: the 409 says to add an"
        " addendum. An attendee's note changes only through its group note."
    ),
    auth=api_guard("notes.write"),
)
def patch_note(
    request: HttpRequest, payload: NotePatch, note_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    note = get_note_for_user(
        request, note_id, permission="notes.write", action=Action.UPDATE, detail="edit via API"
    )
    given = payload.model_fields_set
    if note.kind == NoteKind.GROUP:
        wrong = [name for name in INDIVIDUAL_FIELDS if name in given]
        data = _group_data(payload)
        data = {**data["shared"], "entries": data["entries"]}
    else:
        wrong = [name for name in GROUP_FIELDS if name in given]
        note_format = payload.format or note.format
        data = (
            _individual_data(payload, note_format)
            if note_format in dict(NoteFormat.choices) and note_format != NoteFormat.GROUP
            else {}
        )
    if wrong and not note.is_signed and note.kind != NoteKind.GROUP_MEMBER:
        kind = "group notes" if note.kind != NoteKind.GROUP else "individual notes"
        return _invalid(f"payload.{wrong[0]}", f"Only {kind} have {wrong[0]}.")
    if isinstance(data, Status):
        return data
    result = _run(
        lambda: note_services.update_note(
            note, user=_user(request), version=payload.version, data=data, request=request
        ),
        sections=note.kind == NoteKind.INDIVIDUAL,
    )
    if isinstance(result, Status):
        return result
    return _note_out(note.pk)


@router.delete(
    "/notes/{note_id}",
    response={204: None, **ERRORS},
    summary="Discard a draft note (its author only); a signed note stays (409)",
    auth=api_guard("notes.write"),
)
def delete_note(request: HttpRequest, note_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    note = get_note_for_user(
        request, note_id, permission="notes.write", action=Action.DELETE, detail="via API"
    )
    result = _run(lambda: note_services.discard_note(note, user=_user(request), request=request))
    if isinstance(result, Status):
        return result
    return Status(204, None)


@router.post(
    "/notes/{note_id}/sign",
    response={200: NoteOut, **ERRORS},
    summary="Sign a draft note as its author; a group note's signature makes each attendee's note",
    description=(
        "A required field left empty answers 422 naming it (`note.summary`,"
        " `note.entries.0.participation` …, entries in the order GET lists them); a note"
        " already signed 409; someone else's note 403."
    ),
    auth=api_guard("notes.write"),
)
def sign(request: HttpRequest, note_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    note = get_note_for_user(
        request, note_id, permission="notes.write", action=Action.UPDATE, detail="sign via API"
    )
    result = _run(
        lambda: note_services.sign_note(note, user=_user(request), request=request),
        where="note",
        sections=note.kind == NoteKind.INDIVIDUAL,
    )
    if isinstance(result, Status):
        return result
    return _note_out(note.pk)


@router.post(
    "/notes/{note_id}/addenda",
    response={201: AddendumOut, **ERRORS},
    summary="Add a signed addendum to a signed note (on a group note: to every attendee's too)",
    auth=api_guard("notes.write"),
)
def post_addendum(
    request: HttpRequest, payload: AddendumIn, note_id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    note = get_note_for_user(request, note_id, permission="notes.write", detail="addendum via API")
    result = _run(
        lambda: add_addendum(note, user=_user(request), text=payload.text, request=request)
    )
    if isinstance(result, Status):
        return result
    return Status(
        201,
        {
            "id": result.pk,
            "author_id": result.author_id,
            "signer_name": result.signer_name,
            "text": result.text,
            "signed_at": result.signed_at,
            "content_sha256": result.content_sha256,
        },
    )


@router.post(
    "/notes/{note_id}/cosign",
    response={201: CosignatureOut, **ERRORS},
    summary="Co-sign a supervised clinician's signed note (clinical supervisors only)",
    auth=api_guard("notes.cosign"),
)
def post_cosignature(request: HttpRequest, note_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    note = get_note_for_user(request, note_id, permission="notes.cosign", detail="co-sign via API")
    result = _run(lambda: cosign_note(note, user=_user(request), request=request))
    if isinstance(result, Status):
        return result
    return Status(
        201,
        {
            "cosigner_id": result.cosigner_id,
            "signer_name": result.signer_name,
            "signed_at": result.signed_at,
            "content_sha256": result.content_sha256,
        },
    )
