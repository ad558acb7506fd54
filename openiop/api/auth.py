from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from openiop.accounts.models import User
from openiop.accounts.services import authenticate_token


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; a revoked token or a disabled user is refused."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = authenticate_token(token)
        if user is not None:
            request.user = user
        return user
