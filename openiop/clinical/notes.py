"""One door for changing a note, whatever its kind.

A group note is written by ``group_notes``, an individual note by ``individual_notes``; an
attendee's note (``group_member``) is made by signing its group note and is never edited or
signed on its own: a correction to it is an addendum (``signing.add_addendum``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical import group_notes, individual_notes
from openiop.clinical.errors import SIGNED_NOTE_MESSAGE, NoteConflict, NotPermitted
from openiop.clinical.models import EntryGoal, GroupNoteEntry, Note, NoteGoal, NoteKind

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User
    from openiop.scheduling.models import Session

MEMBER_NOTE_MESSAGE = (
    "This note is an attendee's part of a group note: edit or sign the group note, or add an"
    " addendum once it is signed."
)

# The keys of a group note's shared part (``update_note`` data for a group note).
SHARED_KEYS = ("topic", "summary", "interventions", "curriculum_module")


def update_note(
    note: Note,
    *,
    user: User,
    version: int,
    data: dict[str, Any],
    request: HttpRequest | None = None,
) -> Note:
    """Change a draft note. ``version`` is the one the editor read (stale: NoteConflict).

    For a group note ``data`` holds the shared keys (``SHARED_KEYS``, optional) and
    ``entries`` (list of per-patient changes); for an individual note the format's section
    codes, ``format``, ``started_at``, ``ended_at`` and ``goal_ids``.
    """
    _refuse_member(note)
    if note.is_signed:
        raise NoteConflict(SIGNED_NOTE_MESSAGE)
    if note.kind == NoteKind.GROUP:
        shared = {key: data[key] for key in SHARED_KEYS if key in data}
        entries = list(data.get("entries") or [])
        return group_notes.update_group_note(
            note, user=user, version=version, shared=shared, entries=entries, request=request
        )
    return individual_notes.update_individual_note(note, user=user, version=version, data=data)


def sign_note(note: Note, *, user: User, request: HttpRequest | None = None) -> Note:
    """Sign a draft note as its author and return it.

    Signing a group note fans out to one signed note per attendee (see
    ``group_notes.sign_group_note``); the group note, now signed, is returned.
    """
    _refuse_member(note)
    if note.is_signed:
        raise NoteConflict("This note is already signed. Add an addendum to correct it.")
    if note.kind == NoteKind.GROUP:
        group_notes.sign_group_note(note, user=user, request=request)
        return Note.objects.select_related("author", "signed_by").get(pk=note.pk)
    return individual_notes.sign_individual_note(note, user=user)


@transaction.atomic
def create_individual_note(
    session: Session, *, author: User, format: str, data: dict[str, Any]
) -> Note:
    """Open the note of a held individual session and fill it in, in one transaction."""
    note = individual_notes.start_individual_note(session, author=author, format=format)
    if data:
        note = individual_notes.update_individual_note(
            note, user=author, version=note.version, data=data
        )
    return note


@transaction.atomic
def discard_note(note: Note, *, user: User, request: HttpRequest | None = None) -> None:
    """Delete a draft note; only its author may. A signed note stays: add an addendum."""
    _refuse_member(note)
    note = Note.objects.select_for_update(of=("self",)).select_related("site").get(pk=note.pk)
    if note.is_signed:
        raise NoteConflict(SIGNED_NOTE_MESSAGE)
    if note.author_id != user.pk:
        raise NotPermitted("Only the note's author may discard its draft.")
    if note.kind == NoteKind.GROUP:
        patient_ids = list(note.entries.values_list("patient_id", flat=True))
        EntryGoal.objects.filter(note=note).delete()
        GroupNoteEntry.objects.filter(note=note).delete()
    else:
        patient_ids = [note.patient_id]
        NoteGoal.objects.filter(note=note).delete()
    pk = note.pk
    note.delete()
    for patient_id in patient_ids:
        record_event(
            request=request,
            actor=user,
            site=note.site,
            action=Action.DELETE,
            object_type="note",
            object_id=pk,
            patient_id=patient_id,
            detail=f"discarded draft {note.get_kind_display().lower()} #{pk}"
            f" of session {note.session_id}",
        )


def _refuse_member(note: Note) -> None:
    if note.kind == NoteKind.GROUP_MEMBER:
        raise NoteConflict(MEMBER_NOTE_MESSAGE)
