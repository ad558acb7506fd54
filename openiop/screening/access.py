"""The door to drug screens.

A screen is reached through its site (the request's sites for the permission) and its read or
write is audited on the patient, through ``patients.access`` like every chart record. Anything
not visible is a 404 (never a 403, so ids cannot be probed), and the denied attempt is audited.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.lib.http import parse_pk
from openiop.patients.access import get_patient_for_user, sites_for
from openiop.screening.models import DrugScreen


def get_screen_for_user(
    request: HttpRequest,
    screen_id: int | str,
    *,
    permission: str = "screens.view",
    action: Action = Action.VIEW,
    detail: str = "",
    for_update: bool = False,
) -> DrugScreen:
    """The screen ``screen_id`` if this request may reach it under ``permission``, else Http404.

    Audits the access as an event on the screen's patient. With ``for_update`` the screen row
    is locked (call inside a transaction).
    """
    pk = parse_pk(screen_id, "screen")
    queryset = DrugScreen.objects.filter(site__in=sites_for(request, permission)).select_related(
        "site", "patient", "panel", "collected_by", "reviewed_by"
    )
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    screen = queryset.filter(pk=pk).first()
    if screen is None:
        record_event(
            request=request,
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type="drug_screen",
            object_id=pk,
            detail=f"no visible screen #{pk} for {permission}",
        )
        raise Http404("No such screen.")
    # Scopes by site again and writes the patient's audit event.
    get_patient_for_user(
        request,
        screen.patient_id,
        permission=permission,
        action=action,
        object_type="drug_screen",
        detail=detail or f"screen #{screen.pk}",
    )
    return screen
