"""``{% group_note_button session %}``: the roster's way into a group session's note."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from openiop.accounts.policy import role_may
from openiop.clinical.models import Note, NoteKind
from openiop.scheduling.attendance import session_state
from openiop.scheduling.models import Session, SessionKind

register = template.Library()


@register.inclusion_tag("clinical/_group_note_button.html", takes_context=True)
def group_note_button(context: dict[str, Any], session: Session) -> dict[str, Any]:
    """Open the note (notes.view) or start it (notes.write) once a group session has ended.

    Only an ended group session costs a query (does it have a note?): the roster of a group
    in progress keeps its query count.
    """
    request = context["request"]
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None else None
    held = session.kind == SessionKind.GROUP and session_state(session, timezone.now()) == "held"
    if not held or not role_may(role, "notes.view"):
        return {"show": False}
    found = (
        Note.objects.filter(session=session, kind=NoteKind.GROUP)
        .values_list("pk", "status")
        .first()
    )
    return {
        "show": True,
        "session": session,
        "note_id": found[0] if found else None,
        "note_signed": bool(found and found[1] == "signed"),
        "can_start": role_may(role, "notes.write"),
        "csrf_token": context.get("csrf_token"),
    }
