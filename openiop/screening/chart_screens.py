"""The screens section of the patient chart."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from openiop.patients.models import Patient


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """What the chart shows in this section, or None when the role may not see it."""
    return None
