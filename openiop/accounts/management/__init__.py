"""Operator commands (``openiop addsite``, ``adduser``, ``token``, ``serve``, ``demo``)."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def describe(exc: ValidationError, *, labels: dict[str, str] | None = None) -> str:
    """One line for a ValidationError, naming the option each message is about."""
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    labels = labels or {}
    parts = []
    for field, errors in exc.message_dict.items():
        label = "" if field == NON_FIELD_ERRORS else f"{labels.get(field, field)}: "
        parts.append(label + " ".join(errors))
    return " ".join(parts)
