"""measures over the API."""

# No ``from __future__ import annotations`` here: django-ninja reads the annotations at import.

from ninja import Router

router = Router(tags=["measures"])
