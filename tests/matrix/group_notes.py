from __future__ import annotations

from typing import Any

from openiop.clinical.group_notes import start_group_note
from openiop.clinical.models import GroupNoteEntry
from tests.factories_clinical import held_group
from tests.matrix import MatrixContext, Route


def _held(ctx: MatrixContext) -> dict[str, Any]:
    """A group that ended an hour ago, run by the target therapist, three patients."""
    return {"session_id": held_group(ctx.site, ctx.target).session.pk}


def _with_note(ctx: MatrixContext) -> dict[str, Any]:
    """A held group whose draft note the signed-in user started (only the author edits)."""
    session = held_group(ctx.site, ctx.target).session
    start_group_note(session, author=ctx.user)
    return {"session_id": session.pk}


def _entry(ctx: MatrixContext) -> dict[str, Any]:
    kwargs = _with_note(ctx)
    entry = GroupNoteEntry.objects.filter(note__session_id=kwargs["session_id"]).first()
    return {**kwargs, "entry_id": entry.pk}


def _entry_data(ctx: MatrixContext) -> dict[str, Any]:
    return {"version": 1, "mood": "Calm, engaged."}


ROUTES: dict[str, Route] = {
    "group-note": Route("get", kwargs=_with_note),
    "group-note-start": Route("post", kwargs=_held),
    "group-note-shared": Route(
        "post", kwargs=_with_note, data=lambda ctx: {"version": 1, "topic": "Stress"}
    ),
    "group-note-entry": Route("get", kwargs=_entry),
    "group-note-entry-save": Route("post", kwargs=_entry, data=_entry_data),
    "group-note-sign": Route("post", kwargs=_with_note),
}
