from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from openiop.api.auth import api_guard
from openiop.api.schemas import Detail, Me, SiteRole

router = Router(tags=["accounts"])


@router.get(
    "/me",
    response={200: Me, 401: Detail},
    summary="The token's user, sites and roles",
    auth=api_guard("me.view"),
)
def me(request: HttpRequest) -> Me:
    user = request.auth  # type: ignore[attr-defined]
    memberships = user.memberships.select_related("site").order_by("site__name")
    return Me(
        id=user.pk,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        credentials=user.credentials,
        sites=[
            SiteRole(
                site_id=m.site_id, site_name=m.site.name, time_zone=m.site.time_zone, role=m.role
            )
            for m in memberships
        ],
    )
