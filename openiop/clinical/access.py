"""The door to clinical records: notes, treatment plans and relapse-prevention plans.

A patient's note is reached through its patient (``patients.access`` scopes by site and
audits the read); a group note, which is in no patient's chart, through its session's site,
and its read is audited with the patients it documents. Anything not visible is a 404.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.clinical.models import Note, NoteKind
from openiop.lib.http import parse_pk
from openiop.patients.access import get_patient_for_user, sites_for


def get_note_for_user(
    request: HttpRequest,
    note_id: int | str,
    *,
    permission: str = "notes.view",
    action: Action = Action.VIEW,
    detail: str = "",
    for_update: bool = False,
) -> Note:
    """The note ``note_id`` if this request may see it under ``permission``, else Http404.

    Audits the access: a patient's note as an event on that patient; a group note as one
    event naming the patients whose entries it holds. With ``for_update`` the note row is
    locked (call inside a transaction).
    """
    pk = parse_pk(note_id, "note")
    queryset = Note.objects.filter(site__in=sites_for(request, permission)).select_related(
        "site", "session", "author", "signed_by", "curriculum_module", "patient"
    )
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    note = queryset.filter(pk=pk).first()
    if note is None:
        record_event(
            request=request,
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type="note",
            object_id=pk,
            detail=f"no visible note #{pk} for {permission}",
        )
        raise Http404("No such note.")
    if note.kind == NoteKind.GROUP:
        entries = note.entries.values_list("patient_id", flat=True)
        patient_ids = ",".join(str(patient_id) for patient_id in entries)
        record_event(
            request=request,
            site=note.site,
            action=action,
            object_type="group_note",
            object_id=note.pk,
            detail=(detail or f"group note of session {note.session_id}")
            + (f": patients {patient_ids}" if patient_ids else ""),
        )
    else:
        # The patient getter scopes by site again and writes the patient's audit event.
        get_patient_for_user(
            request,
            note.patient_id,
            permission=permission,
            action=action,
            object_type="note",
            detail=detail or f"note #{note.pk}",
        )
    return note
