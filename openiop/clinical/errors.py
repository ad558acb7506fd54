"""Errors of the clinical services, mapped to HTTP by the views and the API.

* ``django.core.exceptions.ValidationError`` with a dict of field errors: bad input
  (form errors; API 422 naming each field).
* ``NoteConflict``: the record is not in a state that allows this (stale version, already
  signed, already exists, addendum to a draft, a session that has not happened): API 409.
* ``NotPermitted``: this person may not do this to this record (someone else's draft, a
  co-signature by someone who is not a clinical supervisor): API 403.
"""

from __future__ import annotations


class ClinicalError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoteConflict(ClinicalError):
    """The record's state forbids the change (HTTP 409)."""


class NotPermitted(ClinicalError):
    """This user may not make the change (HTTP 403)."""


SIGNED_NOTE_MESSAGE = (
    "This note is signed and cannot be changed or deleted. Add an addendum to correct it."
)
