from __future__ import annotations

from tests.matrix import Route

ROUTES: dict[str, Route] = {
    "outcomes": Route("get"),
    "outcomes-csv": Route("get"),
}
