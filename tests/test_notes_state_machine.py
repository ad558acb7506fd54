"""A hypothesis state machine over a note's life: draft, edit, sign, addendum, co-sign,
discard, and the illegal moves (stale edits, edits and deletes after signing, a second
signature, addenda to drafts, co-signatures by the wrong people), for an individual note and
a group note at once. After every step the invariants hold: signed notes verify and keep
their fingerprint, addenda exist only on signed notes, a note is co-signed at most once and
only by a supervisor, versions never go back.

Each example runs inside a savepoint that is rolled back, so examples start afresh.
"""

from __future__ import annotations

from itertools import count

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from openiop.accounts.roles import Role
from openiop.clinical import notes as note_services
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.clinical.group_notes import create_group_note
from openiop.clinical.hashing import verify_note
from openiop.clinical.models import Addendum, Cosignature, Note, NoteKind
from openiop.clinical.signing import add_addendum, cosign_note
from tests.factories import make_user
from tests.factories_clinical import held_group, held_individual
from tests.factories_patients import make_patient

KINDS = st.sampled_from(["individual", "group"])
SECTIONS = ("data", "assessment", "plan")
ENTRY_FIELDS = ("participation", "mood", "response", "progress", "risk", "plan")


@pytest.fixture
def cast(site, tom):
    sam = make_user(
        "sam", site=site, role=Role.THERAPIST, credentials="LCSW-S", is_clinical_supervisor=True
    )
    tina = make_user("tina", site=site, role=Role.THERAPIST, first_name="Tina")
    return {"tom": tom, "sam": sam, "tina": tina}


def test_notes_state_machine(site, cast):
    tom = cast["tom"]
    words = count()

    class NoteLife(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            patient = make_patient(site, first_name="Kilo", last_name="Statecase")
            self.sessions = {
                "individual": held_individual(site, tom, patient)[0],
                "group": held_group(site, tom).session,
            }
            self.notes: dict[str, int | None] = {"individual": None, "group": None}
            self.filled = {"individual": False, "group": False}
            self.versions: dict[int, int] = {}
            self.fingerprints: dict[int, str] = {}
            self.addenda: dict[int, int] = {}
            self.cosigned: set[int] = set()
            self.supervised = False
            self.kind = "individual"

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        @initialize(
            kind=KINDS,
            supervised=st.sampled_from([True, True, False]),
            stage=st.sampled_from(["signed", "written", "draft", "signed"]),
        )
        def begin(self, kind: str, supervised: bool, stage: str) -> None:
            # One note per example keeps the paths to signing and beyond short.
            self.kind = kind
            self.supervised = supervised
            tom.supervisor = cast["sam"] if supervised else None
            tom.save(update_fields=["supervisor"])
            self.start()
            if stage in ("written", "signed"):
                self.edit(complete=True, stale=False)
            if stage == "signed":
                self.sign(by="tom")

        # --- helpers ---------------------------------------------------------------

        def note(self, kind: str) -> Note | None:
            pk = self.notes[kind]
            return None if pk is None else Note.objects.get(pk=pk)

        def data(self, kind: str, complete: bool) -> dict:
            word = f"text {next(words)}"
            if kind == "individual":
                sections = dict.fromkeys(SECTIONS, word)
                if not complete:
                    sections["plan"] = ""
                return sections
            group = self.sessions["group"]
            patient_ids = list(
                group.bookings.exclude(status="no_show").values_list("patient_id", flat=True)
            )
            return {
                "topic": word,
                "summary": word if complete else "",
                "interventions": word,
                "entries": [
                    {"patient_id": pk, **dict.fromkeys(ENTRY_FIELDS, word)} for pk in patient_ids
                ],
            }

        def all_notes(self, kind: str) -> list[Note]:
            note = self.note(kind)
            if note is None:
                return []
            return [note, *Note.objects.filter(group_note=note)]

        # --- rules -----------------------------------------------------------------

        @rule()
        def start(self) -> None:
            kind = self.kind
            session = self.sessions[kind]
            if self.notes[kind] is not None:
                with pytest.raises(NoteConflict):
                    self._start(kind, session)
                return
            note = self._start(kind, session)
            self.notes[kind] = note.pk
            self.filled[kind] = False
            self.versions[note.pk] = note.version

        def _start(self, kind: str, session) -> Note:
            if kind == "individual":
                return note_services.create_individual_note(
                    session, author=tom, format="dap", data={}
                )
            return create_group_note(session, author=tom, shared={}, entries=[])

        @rule(complete=st.sampled_from([True, True, False]), stale=st.sampled_from([False, True]))
        def edit(self, complete: bool, stale: bool) -> None:
            kind = self.kind
            note = self.note(kind)
            if note is None:
                return
            version = note.version - 1 if stale else note.version
            data = self.data(kind, complete)
            if note.is_signed or stale:
                with pytest.raises(NoteConflict):
                    note_services.update_note(note, user=tom, version=version, data=data)
                return
            edited = note_services.update_note(note, user=tom, version=version, data=data)
            assert edited.version > self.versions[note.pk]
            self.versions[note.pk] = edited.version
            self.filled[kind] = complete

        @rule(by=st.sampled_from(["tom", "tom", "tina"]))
        def sign(self, by: str) -> None:
            kind = self.kind
            note = self.note(kind)
            if note is None:
                return
            user = cast[by]
            if note.is_signed:
                with pytest.raises(NoteConflict):
                    note_services.sign_note(note, user=user)
                return
            if by != "tom":
                with pytest.raises(NotPermitted):
                    note_services.sign_note(note, user=user)
                return
            if not self.filled[kind]:
                with pytest.raises(ValidationError):
                    note_services.sign_note(note, user=user)
                assert not Note.objects.filter(group_note=note).exists()
                return
            signed = note_services.sign_note(note, user=user)
            assert signed.is_signed
            assert signed.requires_cosign == self.supervised
            for each in self.all_notes(kind):
                assert each.is_signed
                self.fingerprints[each.pk] = each.content_sha256
                self.versions[each.pk] = each.version
                self.addenda[each.pk] = 0
            if kind == "group":
                assert Note.objects.filter(group_note=note).count() == 3

        @rule()
        def amend(self) -> None:
            kind = self.kind
            note = self.note(kind)
            if note is None:
                return
            if not note.is_signed:
                with pytest.raises(NoteConflict):
                    add_addendum(note, user=tom, text="Late entry.")
                return
            add_addendum(note, user=tom, text="Late entry.")
            for each in self.all_notes(kind):
                self.addenda[each.pk] += 1

        @rule(by=st.sampled_from(["sam", "sam", "tina", "tom"]))
        def cosign(self, by: str) -> None:
            kind = self.kind
            note = self.note(kind)
            if note is None:
                return
            user = cast[by]
            if by != "sam":
                with pytest.raises(NotPermitted):
                    cosign_note(note, user=user)
                return
            if not note.is_signed or not note.requires_cosign or note.pk in self.cosigned:
                with pytest.raises(NoteConflict):
                    cosign_note(note, user=user)
                return
            cosign_note(note, user=user)
            self.cosigned.update(each.pk for each in self.all_notes(kind))

        @rule()
        def discard(self) -> None:
            kind = self.kind
            note = self.note(kind)
            if note is None:
                return
            if note.is_signed:
                with pytest.raises(NoteConflict):
                    note_services.discard_note(note, user=tom)
                return
            note_services.discard_note(note, user=tom)
            self.notes[kind] = None

        @rule()
        def tamper(self) -> None:
            kind = self.kind
            """Going around the services: the database refuses a change to a signed note."""
            note = self.note(kind)
            if note is None or not note.is_signed:
                return
            with pytest.raises(DatabaseError), transaction.atomic():
                Note.objects.filter(pk=note.pk).update(summary="Rewritten behind its back.")

        # --- invariants --------------------------------------------------------------

        @invariant()
        def signed_notes_verify_and_keep_their_fingerprint(self) -> None:
            for kind in self.notes:
                for each in self.all_notes(kind):
                    if each.is_signed:
                        assert verify_note(each)
                        assert each.content_sha256 == self.fingerprints[each.pk]
                    assert each.version >= self.versions.get(each.pk, 0)
                    self.versions[each.pk] = each.version

        @invariant()
        def addenda_only_on_signed_notes(self) -> None:
            assert not Addendum.objects.filter(note__status="draft").exists()
            for pk, expected in self.addenda.items():
                assert Addendum.objects.filter(note_id=pk).count() == expected

        @invariant()
        def cosigned_at_most_once_by_a_supervisor(self) -> None:
            cosignatures = list(Cosignature.objects.select_related("cosigner", "note"))
            assert {c.note_id for c in cosignatures} == self.cosigned
            for cosignature in cosignatures:
                assert cosignature.cosigner.is_clinical_supervisor
                assert cosignature.cosigner_id != cosignature.note.author_id
                assert cosignature.note.is_signed and cosignature.note.requires_cosign

        @invariant()
        def attendee_notes_exist_only_once_signed(self) -> None:
            for member in Note.objects.filter(kind=NoteKind.GROUP_MEMBER):
                assert member.is_signed

    run_state_machine_as_test(
        NoteLife,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
