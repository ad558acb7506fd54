from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from openiop.accounts.access import check_api_permission
from openiop.accounts.models import User
from openiop.accounts.policy import POLICY
from openiop.accounts.services import authenticate_token


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; a revoked token or a disabled user is refused.

    With a ``permission``, the token's user must also hold it in the policy table; this runs
    before ninja parses parameters, so 401 and 403 come before any 422.
    """

    def __init__(self, permission: str | None = None) -> None:
        if permission is not None and permission not in POLICY:
            raise KeyError(f"{permission!r} is not in the policy table")
        self.permission = permission
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = authenticate_token(token)
        if user is None:
            return None
        request.user = user
        if self.permission is not None:
            check_api_permission(request, user, self.permission)
        return user


def api_guard(permission: str) -> BearerToken:
    """The ``auth=`` of an API operation: a bearer token whose user holds ``permission``."""
    return BearerToken(permission)
