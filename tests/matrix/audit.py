from __future__ import annotations

from tests.matrix import Route

ROUTES: dict[str, Route] = {
    "audit-list": Route("get"),
    "audit-export": Route("get"),
}
