"""Routes of the authorization matrix, one module per app.

Each module defines ``ROUTES: dict[str, Route]`` keyed by URL name. ``kwargs`` and ``data``
receive a ``MatrixContext`` (the signed-in user, their site and a therapist "target" at that
site) and may create what the route needs (a patient, a session …) with the make_* helpers.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openiop.accounts.models import Site, User


@dataclass(frozen=True)
class MatrixContext:
    user: User
    site: Site
    target: User


def _nothing(ctx: MatrixContext) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Route:
    method: str
    kwargs: Callable[[MatrixContext], dict[str, Any]] = _nothing
    data: Callable[[MatrixContext], dict[str, Any]] = _nothing


def all_routes() -> dict[str, Route]:
    routes: dict[str, Route] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for name, route in getattr(module, "ROUTES", {}).items():
            assert name not in routes, f"route {name!r} is listed twice"
            routes[name] = route
    return routes
