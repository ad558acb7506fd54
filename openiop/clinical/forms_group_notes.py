"""Parsing the group-note page's autosave posts. The services validate the content."""

from __future__ import annotations

from typing import Any

from django import forms

from openiop.clinical import group_notes
from openiop.clinical.models import Note


class _VersionForm(forms.Form):
    version = forms.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"required": "Reload the page: the form lost its version."},
    )


class SharedForm(_VersionForm):
    """The shared part; only the fields posted are saved."""

    def __init__(self, *args: Any, note: Note, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.note = note

    def shared(self) -> dict[str, Any]:
        return {key: self.data[key] for key in group_notes.SHARED_KEYS if key in self.data}


class EntryForm(_VersionForm):
    """One patient's entry. Checkboxes post nothing when none is ticked, so the form also
    posts ``goal_ids_sent`` to say that the goals were on it.

    ``version`` is the entry's; ``note_version`` the note version the page knows (the
    page's ``#known-version``, which the form includes): the new note version is handed
    back only if that one was current. Without it (no JavaScript) nothing is handed back.
    """

    note_version = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"invalid": "Reload the page: the form's note version is not a number."},
    )

    def entry_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            key: self.data[key] for key in group_notes.ENTRY_TEXT_FIELDS if key in self.data
        }
        if "goal_ids_sent" in self.data:
            data["goal_ids"] = self.data.getlist("goal_ids")  # type: ignore[attr-defined]
        return data


class SignForm(forms.Form):
    """The signature: ``note_version`` is the note version the page knows (included from
    ``#known-version``); signing is refused if the note changed since. Optional: a form
    posted without JavaScript sends none."""

    note_version = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"invalid": "Reload the page: the form's note version is not a number."},
    )
