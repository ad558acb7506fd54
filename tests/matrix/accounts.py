from __future__ import annotations

from typing import Any

from openiop.accounts.models import ApiToken
from openiop.accounts.services import create_api_token
from tests.matrix import MatrixContext, Route


def _own_token(ctx: MatrixContext) -> dict[str, Any]:
    token = (
        ApiToken.objects.filter(user=ctx.user).first()
        or create_api_token(user=ctx.user, name="matrix").token
    )
    return {"token_id": token.pk}


ROUTES: dict[str, Route] = {
    "home": Route("get"),
    "site-switch": Route("post", data=lambda ctx: {"site": ctx.site.pk}),
    "profile": Route("get"),
    "recovery-codes": Route("post"),
    "token-create": Route("post", data=lambda ctx: {"name": "Matrix"}),
    "token-revoke": Route("post", kwargs=_own_token),
    "staff-list": Route("get"),
    "staff-create": Route("post"),
    "staff-disable": Route("post", kwargs=lambda ctx: {"user_id": ctx.target.pk}),
    "staff-enable": Route("post", kwargs=lambda ctx: {"user_id": ctx.target.pk}),
    "staff-supervision": Route("get", kwargs=lambda ctx: {"user_id": ctx.target.pk}),
}
