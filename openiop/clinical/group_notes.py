"""Group notes: one shared record of a group session and one entry per booked patient.

DOMAIN.md §6 and issue 4 §1. The facilitator opens the note from a held group session
(``start_group_note``): an entry for every booked patient, prefilled from attendance. Drafts
change through ``update_group_note`` (the whole note, as the API sends it) or, from the page
that saves as one types, ``save_group_shared`` and ``save_group_entry``.

Versions: ``note.version`` counts every change to the note, shared part or entry;
``entry.version`` counts the changes to one entry. Saving the shared part or the whole note
names the note version it read; saving one entry names only that entry's version, so that
typing one patient's entry never conflicts with another's. A stale version is a
``NoteConflict``: nothing is overwritten. An entry save also names the note version its page
knows, and hands the new note version back only when that one was current: a page that missed
a change made elsewhere (another tab) keeps its stale version, so its next shared-part save is
refused instead of overwriting that change.

Bookings: a patient booked into the session after the note was started (a drop-in, a late
booking) gets an entry, and a booking cancelled since loses its draft entry, whenever the
author opens the draft page and when the note is signed (``reconcile_group_note``): signing
never leaves a booked patient without a note.

Signing (``sign_group_note``) fans out, in one transaction and a fixed number of queries
whatever the group's size, to one signed ``group_member`` note per booked patient made of the
shared part and that patient's own part only: no other patient's name or identifier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openiop.audit.models import Action
from openiop.audit.services import build_event, record_event, record_events
from openiop.clinical.errors import SIGNED_NOTE_MESSAGE, NoteConflict, NotPermitted
from openiop.clinical.goals import check_goals
from openiop.clinical.hashing import note_content, sha256_of
from openiop.clinical.models import (
    FORMAT_SECTIONS,
    EntryGoal,
    GroupNoteEntry,
    Note,
    NoteFormat,
    NoteGoal,
    NoteKind,
    NoteStatus,
)
from openiop.scheduling.models import (
    ATTENDED_STATUSES,
    SEAT_STATUSES,
    AttendanceStatus,
    Booking,
    CurriculumModule,
    Session,
    SessionKind,
    SessionStatus,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User
    from openiop.patients.models import Patient

# Group psychotherapy (DOMAIN.md §6, §12): the code of every attendee's note.
GROUP_SERVICE_CODE = "90853"

# The shared part's text fields, and the keys ``shared`` may hold.
SHARED_TEXT_FIELDS = ("topic", "summary", "interventions")
SHARED_KEYS = (*SHARED_TEXT_FIELDS, "curriculum_module")
SHARED_LABELS = {
    "topic": "Topic",
    "summary": "Group summary",
    "interventions": "Interventions",
    "curriculum_module": "Curriculum module",
}
# What an attendee's part holds: the group format's sections (DOMAIN.md §6).
ENTRY_SECTIONS: tuple[str, ...] = tuple(code for code, _ in FORMAT_SECTIONS[NoteFormat.GROUP])
SECTION_LABELS: dict[str, str] = dict(FORMAT_SECTIONS[NoteFormat.GROUP])
# An absent patient's note holds only this section: what the note says about the absence.
ABSENCE_SECTION = "absence_note"
ENTRY_TEXT_FIELDS = (*ENTRY_SECTIONS, ABSENCE_SECTION)
ENTRY_KEYS = ("patient_id", *ENTRY_TEXT_FIELDS, "goal_ids")
ENTRY_LABELS = {**SECTION_LABELS, ABSENCE_SECTION: "Absence note", "goal_ids": "Goals addressed"}

# Every section of an attendee's part is required to sign; risk may say "None observed."
REQUIRED_SHARED = ("topic", "summary", "interventions")
REQUIRED_ATTENDED = ENTRY_SECTIONS
REQUIRED_ABSENT = (ABSENCE_SECTION,)

ABSENT_STATUSES = (AttendanceStatus.EXCUSED, AttendanceStatus.UNEXCUSED, AttendanceStatus.NO_SHOW)
NOT_EXPECTED_STATUSES = (AttendanceStatus.CANCELLED, AttendanceStatus.CANCELLED_BY_CLINIC)
STALE_SIGN_MESSAGE = (
    "Not signed: this note changed since the page was loaded (in another tab, or a patient was "
    "booked or cancelled since). Review it as it is now, then sign."
)
TOPIC_MAX_LENGTH = Note._meta.get_field("topic").max_length or 200
TEXT_MAX_LENGTH = 20_000


# --- Small helpers ------------------------------------------------------------------------


def absence_text(status: str) -> str:
    """The prefilled absence note: "Did not attend (no-show)."."""
    if status not in ABSENT_STATUSES:
        return ""
    return f"Did not attend ({AttendanceStatus(status).label.lower()})."


def is_attended(entry: GroupNoteEntry) -> bool:
    return entry.attendance_status in ATTENDED_STATUSES


def is_absent(entry: GroupNoteEntry) -> bool:
    return entry.attendance_status in ABSENT_STATUSES


def missing_fields(entry: GroupNoteEntry) -> list[str]:
    """The fields of ``entry`` that must be filled in before the note can be signed."""
    if is_attended(entry):
        required: Iterable[str] = REQUIRED_ATTENDED
    elif is_absent(entry):
        required = REQUIRED_ABSENT
    else:
        return []
    return [name for name in required if not getattr(entry, name).strip()]


def entry_state(entry: GroupNoteEntry) -> str:
    """What the patient list shows for an entry: done, incomplete, absent, unrecorded or
    cancelled."""
    if entry.attendance_status in NOT_EXPECTED_STATUSES:
        return "cancelled"
    if entry.attendance_status == AttendanceStatus.BOOKED:
        return "unrecorded"
    if missing_fields(entry):
        return "incomplete"
    return "absent" if is_absent(entry) else "done"


def _check_open(note: Note, user: User) -> None:
    if note.kind != NoteKind.GROUP:
        raise NoteConflict("This is not a group note.")
    if note.status == NoteStatus.SIGNED:
        raise NoteConflict(SIGNED_NOTE_MESSAGE)
    if note.author_id != user.pk:
        raise NotPermitted("Only the author of this group note may change or sign it.")


def _lock(note: Note) -> Note:
    locked = (
        Note.objects.select_for_update(of=("self",))
        .select_related("site", "session", "author")
        .filter(pk=note.pk)
        .first()
    )
    if locked is None:
        raise NoteConflict("This note no longer exists.")
    return locked


def _text(value: Any, field: str, *, max_length: int = TEXT_MAX_LENGTH) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: "Must be text."})
    if len(value) > max_length:
        raise ValidationError({field: f"At most {max_length} characters."})
    # Line endings from a browser textarea are \r\n; store one form.
    return value.replace("\r\n", "\n")


def _module(value: Any) -> CurriculumModule | None:
    if value in (None, ""):
        return None
    if isinstance(value, CurriculumModule):
        return value
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"curriculum_module": "Choose a curriculum module."}) from None
    module = CurriculumModule.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if module is None:
        raise ValidationError({"curriculum_module": f"There is no curriculum module {pk}."})
    return module


def _goal_ids(value: Any, field: str) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError({field: "Must be a list of goal ids."})
    ids = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise ValidationError({field: "Must be a list of goal ids."})
        try:
            goal_id = int(item)
        except ValueError:
            raise ValidationError({field: f"“{str(item)[:20]}” is not a goal id."}) from None
        if not 0 < goal_id < 2**63:
            raise ValidationError({field: f"{goal_id} is not a goal id."})
        ids.append(goal_id)
    return ids


def _audit_patients(
    *,
    request: HttpRequest | None,
    user: User,
    note: Note,
    action: Action,
    object_type: str,
    rows: list[tuple[int, str, object]],
) -> None:
    """One audit event per patient (``rows``: patient id, detail, object id) in one INSERT,
    so that signing a twelve-patient group costs no query per attendee (issue 4, Speed)."""
    events = [
        build_event(
            request=request,
            actor=user,
            action=action,
            object_type=object_type,
            object_id=object_id,
            patient_id=patient_id,
            detail=detail,
        )
        for patient_id, detail, object_id in rows
    ]
    for event in events:
        event.site_id = note.site_id  # the note's site, without loading it
    record_events(events)


def _new_entry(note: Note, booking: Booking) -> GroupNoteEntry:
    """A booked patient's entry, prefilled from attendance."""
    return GroupNoteEntry(
        note=note,
        booking=booking,
        patient_id=booking.patient_id,
        attendance_status=booking.status,
        minutes=booking.minutes_attended if booking.status in ATTENDED_STATUSES else None,
        absence_note=absence_text(booking.status),
    )


# --- Starting ------------------------------------------------------------------------------


@transaction.atomic
def start_group_note(session: Session, *, author: User, request: HttpRequest | None = None) -> Note:
    """Open the group note of a held group session, with an entry for every booked patient.

    Entries are prefilled from attendance (status, minutes, an absence note for absentees);
    the shared part from the session (times, curriculum module, participant count). Refused
    with ``NoteConflict`` for a cancelled, individual or not yet ended session, and when the
    session already has a group note.
    """
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("site")
        .filter(pk=session.pk)
        .first()
    )
    if session is None:
        raise NoteConflict("This session no longer exists.")
    if session.kind != SessionKind.GROUP:
        raise NoteConflict("Only a group session has a group note; write an individual note.")
    if session.status == SessionStatus.CANCELLED:
        raise NoteConflict("This session was cancelled; there is nothing to document.")
    if session.ends_at > timezone.now():
        raise NoteConflict(
            "This session has not ended yet; its group note can be written once it has."
        )
    if Note.objects.filter(session=session, kind=NoteKind.GROUP).exists():
        raise NoteConflict("This session already has a group note.")
    bookings = list(
        Booking.objects.filter(session=session, status__in=SEAT_STATUSES).order_by(
            "patient__last_name", "patient__first_name", "pk"
        )
    )
    note = Note(
        site=session.site,
        kind=NoteKind.GROUP,
        format=NoteFormat.GROUP,
        session=session,
        author=author,
        curriculum_module_id=session.curriculum_module_id,
        participant_count=sum(1 for b in bookings if b.status in ATTENDED_STATUSES),
        started_at=session.starts_at,
        ended_at=session.ends_at,
    )
    note.full_clean(exclude=["site", "session", "author", "curriculum_module"])
    note.save()
    GroupNoteEntry.objects.bulk_create(_new_entry(note, booking) for booking in bookings)
    record_event(
        request=request,
        actor=author,
        site=session.site,
        action=Action.CREATE,
        object_type="group_note",
        object_id=note.pk,
        detail=f"group note of session {session.pk}: {len(bookings)} entries",
    )
    _audit_patients(
        request=request,
        user=author,
        note=note,
        action=Action.CREATE,
        object_type="group_note_entry",
        rows=[
            (b.patient_id, f"entry in group note #{note.pk} (session {session.pk})", note.pk)
            for b in bookings
        ],
    )
    return note


@transaction.atomic
def create_group_note(
    session: Session,
    *,
    author: User,
    shared: Mapping[str, Any],
    entries: list[Mapping[str, Any]],
    request: HttpRequest | None = None,
) -> Note:
    """``start_group_note`` and ``update_group_note`` in one transaction (the API's POST)."""
    note = start_group_note(session, author=author, request=request)
    if shared or entries:
        note = update_group_note(
            note,
            user=author,
            version=note.version,
            shared=shared,
            entries=entries,
            request=request,
        )
    return note


# --- Editing -------------------------------------------------------------------------------


def _apply_shared(note: Note, shared: Mapping[str, Any]) -> list[str]:
    """Set the given shared keys on ``note``; the names of the fields that changed."""
    if not isinstance(shared, Mapping):
        raise ValidationError({"shared": "Must be an object."})
    unknown = sorted(set(shared) - set(SHARED_KEYS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Not a field of a group note's shared part."))
    changed = []
    for key in SHARED_TEXT_FIELDS:
        if key in shared:
            limit = TOPIC_MAX_LENGTH if key == "topic" else TEXT_MAX_LENGTH
            value = _text(shared[key], key, max_length=limit)
            if value != getattr(note, key):
                setattr(note, key, value)
                changed.append(key)
    if "curriculum_module" in shared:
        module = _module(shared["curriculum_module"])
        new_id = module.pk if module is not None else None
        if new_id != note.curriculum_module_id:
            if module is not None and not module.is_active:
                raise ValidationError({"curriculum_module": f"“{module.name}” is retired."})
            note.curriculum_module = module
            changed.append("curriculum_module")
    return changed


def _apply_entry(
    entry: GroupNoteEntry, data: Mapping[str, Any], *, prefix: str
) -> tuple[list[str], list[int] | None]:
    """Set the given fields on ``entry``; (changed text fields, new goal ids or None)."""
    for key in ENTRY_TEXT_FIELDS:
        if key in data:
            value = _text(data[key], f"{prefix}{key}")
            if value != getattr(entry, key):
                setattr(entry, key, value)
    changed = [key for key in ENTRY_TEXT_FIELDS if key in data]
    goal_ids = None
    if "goal_ids" in data:
        field = f"{prefix}goal_ids"
        goal_ids = check_goals(entry.patient_id, _goal_ids(data["goal_ids"], field), field=field)
    return changed, goal_ids


def _set_goals(entry: GroupNoteEntry, goal_ids: list[int]) -> bool:
    """Make ``entry``'s goal links exactly ``goal_ids``; whether anything changed."""
    current = set(EntryGoal.objects.filter(entry=entry).values_list("goal_id", flat=True))
    wanted = set(goal_ids)
    if current == wanted:
        return False
    EntryGoal.objects.filter(entry=entry, goal_id__in=current - wanted).delete()
    EntryGoal.objects.bulk_create(
        EntryGoal(note_id=entry.note_id, entry=entry, goal_id=goal_id)
        for goal_id in sorted(wanted - current)
    )
    return True


def _text_changed(before: Mapping[str, str], entry: GroupNoteEntry) -> list[str]:
    return [key for key in ENTRY_TEXT_FIELDS if before[key] != getattr(entry, key)]


@transaction.atomic
def update_group_note(
    note: Note,
    *,
    user: User,
    version: int,
    shared: Mapping[str, Any],
    entries: list[Mapping[str, Any]],
    request: HttpRequest | None = None,
) -> Note:
    """Change a draft group note's shared part and any of its entries (only given keys).

    ``version`` is the note version the caller read; a different one is a ``NoteConflict``.
    ``entries``: each a mapping with ``patient_id`` and any of the entry fields and
    ``goal_ids`` (goals of that patient's current treatment plan). Bad input is a
    ``ValidationError`` naming the field (``entries[1].goal_ids`` …); nothing is written.
    """
    note = _lock(note)
    _check_open(note, user)
    if note.version != version:
        raise NoteConflict(
            f"This note was changed elsewhere (version {note.version}, you had {version}). "
            "Reload it to see the changes."
        )
    changed_shared = _apply_shared(note, shared or {})
    if not isinstance(entries, list):
        raise ValidationError({"entries": "Must be a list."})
    by_patient = {e.patient_id: e for e in note.entries.select_for_update(of=("self",))}
    seen: set[int] = set()
    plans: list[tuple[GroupNoteEntry, dict[str, str], list[int] | None]] = []
    for index, data in enumerate(entries):
        prefix = f"entries[{index}]."
        if not isinstance(data, Mapping):
            raise ValidationError({f"entries[{index}]": "Must be an object."})
        unknown = sorted(set(data) - set(ENTRY_KEYS))
        if unknown:
            raise ValidationError(
                {f"{prefix}{key}": "Not a field of a group-note entry." for key in unknown}
            )
        raw_id = data.get("patient_id")
        try:
            patient_id = int(raw_id) if not isinstance(raw_id, bool) else None
        except (TypeError, ValueError):
            patient_id = None
        if patient_id is None:
            raise ValidationError({f"{prefix}patient_id": "Give the patient's id."})
        entry = by_patient.get(patient_id)
        if entry is None:
            raise ValidationError(
                {f"{prefix}patient_id": f"Patient {patient_id} is not on this group note."}
            )
        if patient_id in seen:
            raise ValidationError({f"{prefix}patient_id": f"Patient {patient_id} is listed twice."})
        seen.add(patient_id)
        before = {key: getattr(entry, key) for key in ENTRY_TEXT_FIELDS}
        _, goal_ids = _apply_entry(entry, data, prefix=prefix)
        plans.append((entry, before, goal_ids))
    changed_entries = []
    for entry, before, goal_ids in plans:
        changed = _text_changed(before, entry)
        if goal_ids is not None and _set_goals(entry, goal_ids):
            changed.append("goal_ids")
        if changed:
            entry.version += 1
            entry.full_clean(exclude=["note", "booking", "patient"])
            entry.save()
            changed_entries.append((entry, changed))
    if not changed_shared and not changed_entries:
        return note
    note.version += 1
    note.full_clean(exclude=["site", "session", "author", "curriculum_module", "patient"])
    note.save()
    if changed_shared:
        record_event(
            request=request,
            actor=user,
            site=note.site,
            action=Action.UPDATE,
            object_type="group_note",
            object_id=note.pk,
            detail=f"shared part: {', '.join(changed_shared)}",
        )
    _audit_patients(
        request=request,
        user=user,
        note=note,
        action=Action.UPDATE,
        object_type="group_note_entry",
        rows=[
            (entry.patient_id, f"group note #{note.pk}: {', '.join(changed)}", entry.pk)
            for entry, changed in changed_entries
        ],
    )
    return note


@transaction.atomic
def save_group_shared(
    note: Note,
    *,
    user: User,
    version: int,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Note:
    """Save the shared part as the page autosaves it (``data``: any of ``SHARED_KEYS``)."""
    return update_group_note(
        note, user=user, version=version, shared=data, entries=[], request=request
    )


@dataclass(frozen=True)
class EntrySaved:
    """What an entry save gives back: the entry, and the note version to hand the page.

    ``note_version`` is None when the page's known note version was not current before this
    save: something else (another tab, a whole-note update) changed the note meanwhile, and
    the page must not learn the new version, or its next shared-part save would overwrite
    that change unseen.
    """

    entry: GroupNoteEntry
    note_version: int | None


@transaction.atomic
def save_group_entry(
    entry: GroupNoteEntry,
    *,
    user: User,
    version: int,
    data: Mapping[str, Any],
    note_version: int | None = None,
    request: HttpRequest | None = None,
) -> EntrySaved:
    """Save one patient's entry as the page autosaves it.

    ``version`` is the entry's version (not the note's): saving one patient's entry never
    conflicts with another's. The note's version goes up too, so that a whole-note update
    from elsewhere notices. ``note_version`` is the note version the page knows (None: not
    known); the new one is handed back only if it was current. ``data``: any entry field
    and ``goal_ids``.
    """
    note = _lock(entry.note)
    _check_open(note, user)
    locked = GroupNoteEntry.objects.select_for_update().filter(pk=entry.pk, note=note).first()
    if locked is None:
        raise NoteConflict("This entry is no longer on the note.")
    entry = locked
    if entry.version != version:
        raise NoteConflict(
            "This patient's entry was changed elsewhere since you opened it. "
            "Reload to see the saved text; nothing was overwritten."
        )
    if not isinstance(data, Mapping):
        raise ValidationError({"entry": "Must be an object."})
    unknown = sorted(set(data) - set(ENTRY_KEYS) - {"patient_id"})
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Not a field of a group-note entry."))
    current = note_version is not None and note_version == note.version
    before = {key: getattr(entry, key) for key in ENTRY_TEXT_FIELDS}
    _, goal_ids = _apply_entry(
        entry, {k: v for k, v in data.items() if k != "patient_id"}, prefix=""
    )
    changed = _text_changed(before, entry)
    if goal_ids is not None and _set_goals(entry, goal_ids):
        changed.append("goal_ids")
    if not changed:
        return EntrySaved(entry, note.version if current else None)
    entry.version += 1
    entry.full_clean(exclude=["note", "booking", "patient"])
    entry.save()
    note.version += 1
    Note.objects.filter(pk=note.pk).update(version=note.version, updated_at=timezone.now())
    _audit_patients(
        request=request,
        user=user,
        note=note,
        action=Action.UPDATE,
        object_type="group_note_entry",
        rows=[(entry.patient_id, f"group note #{note.pk}: {', '.join(changed)}", entry.pk)],
    )
    return EntrySaved(entry, note.version if current else None)


# --- Keeping the entries in step with the bookings -----------------------------------------


@dataclass(frozen=True)
class Reconciled:
    """What ``reconcile_group_note`` changed: the patients (display names) whose entry it
    added or removed, and the note's version afterwards. False when nothing changed."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    version: int | None = None

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def _sync_entries(
    note: Note, *, user: User, request: HttpRequest | None = None
) -> tuple[Reconciled, dict[int, Booking]]:
    """Give every seat-holding booking of the session an entry, and drop the entries whose
    booking was cancelled. The caller holds the lock on the draft ``note``.

    The session row is locked first: booking into a session locks it too, so no booking
    slips in between this look and the signature. A fixed number of queries however many
    bookings changed: three reads, then, when something changed, one delete, one insert, one
    note update and an audit insert for each direction. Returns what changed and the
    session's bookings by id, as read under the lock.
    """
    list(
        Session.objects.select_for_update().filter(pk=note.session_id).order_by().values_list("pk")
    )
    bookings = {
        booking.pk: booking
        for booking in Booking.objects.filter(session_id=note.session_id)
        .select_related("patient")
        .order_by("pk")
    }
    entries = list(
        GroupNoteEntry.objects.filter(note=note).select_related("patient").order_by("pk")
    )
    have = {entry.booking_id for entry in entries}
    gone = [
        entry
        for entry in entries
        if entry.booking_id not in bookings
        or bookings[entry.booking_id].status not in SEAT_STATUSES
    ]
    new = [
        booking
        for booking in bookings.values()
        if booking.status in SEAT_STATUSES and booking.pk not in have
    ]
    if not gone and not new:
        return Reconciled(version=note.version), bookings
    if gone:
        # Goal links go with their entries (ON DELETE CASCADE through the ORM).
        GroupNoteEntry.objects.filter(pk__in=[entry.pk for entry in gone]).delete()
    if new:
        GroupNoteEntry.objects.bulk_create(_new_entry(note, booking) for booking in new)
    note.version += 1
    note.participant_count = sum(1 for b in bookings.values() if b.status in ATTENDED_STATUSES)
    Note.objects.filter(pk=note.pk).update(
        version=note.version,
        participant_count=note.participant_count,
        updated_at=timezone.now(),
    )
    _audit_patients(
        request=request,
        user=user,
        note=note,
        action=Action.CREATE,
        object_type="group_note_entry",
        rows=[
            (
                booking.patient_id,
                f"entry added to draft group note #{note.pk}: booked "
                f"({booking.get_kind_display().lower()}) after the note was started",
                note.pk,
            )
            for booking in new
        ],
    )
    _audit_patients(
        request=request,
        user=user,
        note=note,
        action=Action.DELETE,
        object_type="group_note_entry",
        rows=[
            (
                entry.patient_id,
                f"entry removed from draft group note #{note.pk}: {_why_gone(entry, bookings)}",
                entry.pk,
            )
            for entry in gone
        ],
    )
    reconciled = Reconciled(
        added=_names([booking.patient for booking in new]),
        removed=_names([entry.patient for entry in gone]),
        version=note.version,
    )
    return reconciled, bookings


def _why_gone(entry: GroupNoteEntry, bookings: dict[int, Booking]) -> str:
    booking = bookings.get(entry.booking_id)
    if booking is None:
        return "no longer booked in this session"
    return f"booking {booking.get_status_display().lower()}"


def _names(patients: list[Patient]) -> list[str]:
    """The patients' display names, in roster order."""
    ordered = sorted(patients, key=lambda p: (p.last_name, p.first_name, p.pk))
    return [patient.display_name for patient in ordered]


def reconcile_group_note(
    note: Note, *, user: User, request: HttpRequest | None = None
) -> Reconciled:
    """Bring a draft group note's entries in step with the session's current bookings.

    A patient booked since the note was started (a drop-in, a late booking) gets an entry
    prefilled from attendance; a patient whose booking was cancelled since loses the draft
    entry (and its goal links). Both are audited per patient and bump the note's version, so
    a page that read the older version reloads before saving the shared part. A signed note
    is left alone (its entries are the record of what was signed); only the author's draft
    changes (``NotPermitted`` otherwise).

    Opening the page calls this every time: two plain reads answer when nothing changed (the
    usual case); only a difference opens the transaction that locks and writes.
    """
    if note.kind != NoteKind.GROUP or note.status == NoteStatus.SIGNED:
        return Reconciled(version=note.version)
    if _in_step(note):
        _check_open(note, user)
        return Reconciled(version=note.version)
    return _reconcile_locked(note, user=user, request=request)


def _in_step(note: Note) -> bool:
    """Whether the note has an entry for exactly the seat-holding bookings (no lock)."""
    seats = set(
        Booking.objects.filter(session_id=note.session_id, status__in=SEAT_STATUSES)
        .order_by()
        .values_list("pk", flat=True)
    )
    have = set(
        GroupNoteEntry.objects.filter(note=note).order_by().values_list("booking_id", flat=True)
    )
    return seats == have


@transaction.atomic
def _reconcile_locked(note: Note, *, user: User, request: HttpRequest | None) -> Reconciled:
    note = _lock(note)
    if note.status == NoteStatus.SIGNED:
        return Reconciled(version=note.version)
    _check_open(note, user)
    return _sync_entries(note, user=user, request=request)[0]


# --- Signing -------------------------------------------------------------------------------


def _validation_errors(note: Note, entries: list[GroupNoteEntry]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for key in REQUIRED_SHARED:
        if not getattr(note, key).strip():
            errors[key] = f"{SHARED_LABELS[key]}: required to sign."
    for index, entry in enumerate(entries):
        prefix = f"entries[{index}]."
        if entry.attendance_status == AttendanceStatus.BOOKED:
            errors[f"{prefix}attendance_status"] = (
                "Attendance is not recorded for this patient; record it on the roster first."
            )
            continue
        for name in missing_fields(entry):
            if name == "risk":
                message = "Risk observations: required to sign (write “None observed.” if none)."
            else:
                message = f"{ENTRY_LABELS[name]}: required to sign."
            errors[f"{prefix}{name}"] = message
    return errors


def member_sections(entry: GroupNoteEntry) -> dict[str, str]:
    """The sections of an attendee's note: their own part only."""
    if is_attended(entry):
        return {code: getattr(entry, code).strip() for code in ENTRY_SECTIONS}
    return {ABSENCE_SECTION: entry.absence_note.strip()}


def member_note(
    note: Note,
    entry: GroupNoteEntry,
    *,
    signer: User,
    signed_at: datetime,
    requires_cosign: bool,
) -> Note:
    """The draft of one attendee's note: the group's shared part and only this entry's own
    part. The caller links its goals, then signs it with its fingerprint."""
    return Note(
        site_id=note.site_id,
        kind=NoteKind.GROUP_MEMBER,
        format=NoteFormat.GROUP,
        status=NoteStatus.DRAFT,
        session_id=note.session_id,
        patient_id=entry.patient_id,
        booking_id=entry.booking_id,
        group_note=note,
        author_id=note.author_id,
        topic=note.topic,
        summary=note.summary,
        interventions=note.interventions,
        curriculum_module_id=note.curriculum_module_id,
        participant_count=note.participant_count,
        started_at=note.started_at,
        ended_at=note.ended_at,
        attendance_status=entry.attendance_status,
        minutes=entry.minutes,
        sections=member_sections(entry),
        service_code=GROUP_SERVICE_CODE if is_attended(entry) else "",
        signed_at=signed_at,
        signed_by=signer,
        signer_name=signer.signature_name,
        requires_cosign=requires_cosign,
    )


def entries_record(
    entries: list[GroupNoteEntry],
    goals_by_entry: Mapping[int, list[int]],
    member_by_entry: Mapping[int, Note],
) -> dict[str, Any]:
    """The signed group note's own record of what it fanned out to: each entry's patient,
    attendance, goals and the member note written for it (with that note's fingerprint)."""
    return {
        "entries": [
            {
                "patient": entry.patient_id,
                "booking": entry.booking_id,
                "attendance_status": entry.attendance_status,
                "minutes": entry.minutes,
                "goals": sorted(goals_by_entry.get(entry.pk, [])),
                "member_note": member_by_entry[entry.pk].pk
                if entry.pk in member_by_entry
                else None,
                "member_sha256": (
                    member_by_entry[entry.pk].content_sha256
                    if entry.pk in member_by_entry
                    else None
                ),
            }
            for entry in entries
        ]
    }


def sign_group_note(
    note: Note, *, user: User, request: HttpRequest | None = None, version: int | None = None
) -> list[Note]:
    """Sign a draft group note as its author; return the attendees' signed notes.

    First the entries are brought in step with the bookings (``reconcile_group_note``, its
    own transaction: a patient booked since the note was started keeps the entry even when
    the signature is refused for an empty field, so the page and the API show what to fill
    in). Then, in one transaction, the bookings are checked once more under the session's
    lock, each entry's attendance is refreshed from its booking; every required field is
    checked (a ``ValidationError`` names each empty one: ``summary``,
    ``entries[0].participation`` …); then one ``group_member`` note per booked patient is
    written with the shared part and that patient's own part and goals, signed and
    fingerprinted, and finally the group note itself is signed over its shared part and a
    summary of its entries. The number of queries depends neither on the group's size nor
    on how many bookings changed.

    ``version``, when given (the page sends the note version it knows), must still be the
    note's after the entries were brought in step: a change the signer has not seen (another
    tab, a patient booked since) is a ``NoteConflict``, and nothing is signed.
    """
    reconcile_group_note(note, user=user, request=request)
    return _sign(note, user=user, request=request, version=version)


@transaction.atomic
def _sign(
    note: Note, *, user: User, request: HttpRequest | None, version: int | None
) -> list[Note]:
    """The signature itself (see ``sign_group_note``), in one transaction."""
    note = _lock(note)
    _check_open(note, user)
    if version is not None and version != note.version:
        raise NoteConflict(STALE_SIGN_MESSAGE)
    # Usually a no-op (``reconcile_group_note`` just ran); under the session's lock it makes
    # sure no booking made since is left out, and gives the bookings as they are now.
    _, bookings = _sync_entries(note, user=user, request=request)
    entries = list(
        GroupNoteEntry.objects.filter(note=note).order_by(
            "patient__last_name", "patient__first_name", "pk"
        )
    )
    for entry in entries:
        entry.booking = bookings[entry.booking_id]
    goals_by_entry: dict[int, list[int]] = defaultdict(list)
    for entry_id, goal_id in EntryGoal.objects.filter(note=note).values_list("entry_id", "goal_id"):
        goals_by_entry[entry_id].append(goal_id)
    # Attendance may have been corrected on the roster since the note was started.
    refreshed = []
    for entry in entries:
        booking = entry.booking
        minutes = booking.minutes_attended if booking.status in ATTENDED_STATUSES else None
        if entry.attendance_status != booking.status or entry.minutes != minutes:
            entry.attendance_status = booking.status
            entry.minutes = minutes
            if is_absent(entry) and not entry.absence_note.strip():
                entry.absence_note = absence_text(entry.attendance_status)
            refreshed.append(entry)
    attended = [e for e in entries if is_attended(e)]
    note.participant_count = len(attended)
    errors = _validation_errors(note, entries)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    if refreshed:
        for entry in refreshed:
            entry.version += 1
            entry.updated_at = now
        GroupNoteEntry.objects.bulk_update(
            refreshed, ["attendance_status", "minutes", "absence_note", "version", "updated_at"]
        )
    requires_cosign = user.is_supervised
    documented = [e for e in entries if is_attended(e) or is_absent(e)]
    members = Note.objects.bulk_create(
        member_note(note, entry, signer=user, signed_at=now, requires_cosign=requires_cosign)
        for entry in documented
    )
    member_goals = {
        member.pk: sorted(goals_by_entry.get(entry.pk, [])) if is_attended(entry) else []
        for member, entry in zip(members, documented, strict=True)
    }
    NoteGoal.objects.bulk_create(
        NoteGoal(note_id=member_id, goal_id=goal_id)
        for member_id, goal_ids in member_goals.items()
        for goal_id in goal_ids
    )
    for member in members:
        member.status = NoteStatus.SIGNED
        member.updated_at = now
        member.content_sha256 = sha256_of(note_content(member, member_goals[member.pk]))
    if members:
        Note.objects.bulk_update(members, ["status", "content_sha256", "updated_at"])
    member_by_entry = {entry.pk: member for member, entry in zip(members, documented, strict=True)}
    # The group note's own record of what it fanned out to (it is in no patient's chart).
    note.sections = entries_record(entries, goals_by_entry, member_by_entry)
    note.service_code = GROUP_SERVICE_CODE
    note.signed_at = now
    note.signed_by = user
    note.signer_name = user.signature_name
    note.requires_cosign = requires_cosign
    note.version += 1
    note.status = NoteStatus.SIGNED
    note.content_sha256 = sha256_of(note_content(note, []))
    note.save()
    _audit_patients(
        request=request,
        user=user,
        note=note,
        action=Action.CREATE,
        object_type="note",
        rows=[
            (
                member.patient_id,
                f"signed note #{member.pk} from group note #{note.pk}",
                member.pk,
            )
            for member in members
        ],
    )
    return members
