from __future__ import annotations

from typing import Any

from openiop.clinical.individual_notes import start_individual_note
from tests.factories_notes import individual, signed_note
from tests.matrix import MatrixContext, Route


def _session(ctx: MatrixContext) -> dict[str, Any]:
    """An individual session the signed-in user held two hours ago."""
    case = individual(ctx.site, ctx.user, first_name="Matt", last_name="Rix")
    return {"session_id": case.session.pk}


def _draft(ctx: MatrixContext) -> dict[str, Any]:
    case = individual(ctx.site, ctx.target, first_name="Dora", last_name="Draftly")
    return {"note_id": start_individual_note(case.session, author=ctx.target, format="dap").pk}


def _signed(ctx: MatrixContext) -> dict[str, Any]:
    case = individual(ctx.site, ctx.target, first_name="Sig", last_name="Nedly")
    return {"note_id": signed_note(case, ctx.target).pk}


def _to_cosign(ctx: MatrixContext) -> dict[str, Any]:
    """A note by the target therapist, supervised by the signed-in user (a supervisor)."""
    ctx.user.is_clinical_supervisor = True
    ctx.user.save(update_fields=["is_clinical_supervisor"])
    ctx.target.supervisor = ctx.user
    ctx.target.save(update_fields=["supervisor"])
    return _signed(ctx)


def _patient(ctx: MatrixContext) -> dict[str, Any]:
    case = individual(ctx.site, ctx.target, first_name="Pia", last_name="Listed")
    signed_note(case, ctx.target)
    return {"patient_id": case.patient.pk}


ROUTES: dict[str, Route] = {
    "documentation": Route("get"),
    "individual-note-start": Route("post", kwargs=_session, data=lambda ctx: {"format": "dap"}),
    "note-detail": Route("get", kwargs=_signed),
    "note-edit": Route("get", kwargs=_draft),
    "note-sign": Route("post", kwargs=_draft),
    "note-addendum": Route("post", kwargs=_signed, data=lambda ctx: {"text": "Late entry."}),
    "note-cosign": Route("post", kwargs=_to_cosign),
    "patient-notes": Route("get", kwargs=_patient),
}
