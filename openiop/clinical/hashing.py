"""Canonical content and SHA-256 fingerprints of signed clinical records.

The fingerprint is taken over a canonical JSON rendering (sorted keys, no whitespace, UTF-8)
of everything the signature covers, so that anyone can recompute it from the stored record
and compare: ``verify_note`` answers whether a signed note is still what was signed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from openiop.clinical.models import Addendum, Cosignature, Note, TreatmentPlan


def _default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def canonical_json(content: Mapping[str, Any]) -> bytes:
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    ).encode("utf-8")


def sha256_of(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def note_content(note: Note, goal_ids: Iterable[int]) -> dict[str, Any]:
    """What a note's signature covers. ``goal_ids``: the plan goals its progress addresses.

    Times are rendered in UTC, so the fingerprint does not depend on the database backend.
    """
    return {
        "id": note.pk,
        "kind": note.kind,
        "format": note.format,
        "site": note.site_id,
        "session": note.session_id,
        "patient": note.patient_id,
        "booking": note.booking_id,
        "group_note": note.group_note_id,
        "author": note.author_id,
        "topic": note.topic,
        "summary": note.summary,
        "interventions": note.interventions,
        "curriculum_module": note.curriculum_module_id,
        "participant_count": note.participant_count,
        "started_at": _utc(note.started_at),
        "ended_at": _utc(note.ended_at),
        "attendance_status": note.attendance_status,
        "minutes": note.minutes,
        "sections": note.sections,
        "service_code": note.service_code,
        "goals": sorted(goal_ids),
        "signed_at": _utc(note.signed_at),
        "signed_by": note.signed_by_id,
        "signer_name": note.signer_name,
    }


def addendum_content(addendum: Addendum) -> dict[str, Any]:
    return {
        "note": addendum.note_id,
        "note_sha256": addendum.note.content_sha256,
        "author": addendum.author_id,
        "signer_name": addendum.signer_name,
        "text": addendum.text,
        "signed_at": _utc(addendum.signed_at),
    }


def cosignature_content(cosignature: Cosignature) -> dict[str, Any]:
    return {
        "note": cosignature.note_id,
        "note_sha256": cosignature.note.content_sha256,
        "cosigner": cosignature.cosigner_id,
        "signer_name": cosignature.signer_name,
        "signed_at": _utc(cosignature.signed_at),
    }


def verify_note(note: Note) -> bool:
    """Whether a signed note (and its goal links) still hashes to its stored fingerprint."""
    if not note.is_signed:
        return False
    goal_ids = note.goal_links.values_list("goal_id", flat=True)
    return sha256_of(note_content(note, goal_ids)) == note.content_sha256


def plan_content(plan: TreatmentPlan) -> dict[str, Any]:
    """What a treatment plan's signature covers: the plan and its whole tree."""
    return {
        "id": plan.pk,
        "patient": plan.patient_id,
        "enrollment": plan.enrollment_id,
        "number": plan.number,
        "kind": plan.kind,
        "previous": plan.previous_id,
        "summary": plan.summary,
        "review_due_on": plan.review_due_on,
        "problems": [
            {"id": p.pk, "position": p.position, "statement": p.statement}
            for p in plan.problems.order_by("position", "pk")
        ],
        "goals": [
            {
                "id": g.pk,
                "problem": g.problem_id,
                "position": g.position,
                "statement": g.statement,
                "thread": str(g.thread),
            }
            for g in plan.goals.order_by("pk")
        ],
        "objectives": [
            {
                "id": o.pk,
                "goal": o.goal_id,
                "position": o.position,
                "statement": o.statement,
                "target_date": o.target_date,
                "status": o.status,
            }
            for o in plan.objectives.order_by("pk")
        ],
        "interventions": [
            {
                "id": i.pk,
                "goal": i.goal_id,
                "position": i.position,
                "modality": i.modality,
                "frequency": i.frequency,
                "responsible": i.responsible_id,
            }
            for i in plan.interventions.order_by("pk")
        ],
        "signed_at": _utc(plan.signed_at),
        "signed_by": plan.signed_by_id,
        "signer_name": plan.signer_name,
    }


def verify_plan(plan: TreatmentPlan) -> bool:
    return plan.status == "signed" and sha256_of(plan_content(plan)) == plan.content_sha256


def _utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat()
