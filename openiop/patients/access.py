"""The only door to patient data.

Every view, API operation and command that reads or writes a patient's record reaches the
patient through these helpers. They scope by site (staff see the patients of the sites where
their role holds the permission; on a web page, of the site they are working at), answer 404
for anything else — never 403, so ids cannot be probed — and write the audit event.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from openiop.accounts.access import sites_with_permission
from openiop.accounts.models import Site, User
from openiop.accounts.policy import role_may
from openiop.audit.models import Action, Outcome
from openiop.audit.services import record_event
from openiop.lib.http import parse_pk
from openiop.patients.models import Patient


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def sites_for(request: HttpRequest, permission: str) -> list[Site]:
    """The sites whose patients this request may touch under ``permission``.

    A web page works at one site (the one chosen in the site switcher); an API token spans
    every site where its user's role holds the permission.
    """
    if is_api_request(request):
        user: User = request.auth  # type: ignore[attr-defined]
        return sites_with_permission(user, permission)
    membership = getattr(request, "membership", None)
    if membership is None or not role_may(membership.role, permission):
        return []
    return [membership.site]


def visible_patients(request: HttpRequest, permission: str = "patients.view") -> QuerySet[Patient]:
    """Patients this request may see. Listing is audited by the caller (what was searched)."""
    return Patient.objects.filter(site__in=sites_for(request, permission))


def get_patient_for_user(
    request: HttpRequest,
    patient_id: int | str,
    *,
    permission: str = "patients.view",
    action: Action = Action.VIEW,
    object_type: str = "patient",
    detail: str = "",
    for_update: bool = False,
) -> Patient:
    """The patient ``patient_id`` if this request may see it, else Http404; audits the access.

    ``action``/``object_type``/``detail`` describe what the caller is about to do (e.g.
    ``Action.VIEW, "chart"``). With ``for_update`` the row is locked (call inside a
    transaction) so concurrent writers queue.
    """
    pk = parse_pk(patient_id, "patient")
    queryset = visible_patients(request, permission).select_related("site")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    patient = queryset.filter(pk=pk).first()
    if patient is None:
        # A denied attempt is audited too (DESIGN.md §7), without saying whether the patient
        # exists elsewhere: the event names only the id that was asked for.
        record_event(
            request=request,
            actor=_actor(request),
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            object_type=object_type,
            object_id=pk,
            detail=f"no visible patient #{pk} for {permission}",
        )
        raise Http404("No such patient.")
    record_event(
        request=request,
        actor=_actor(request),
        site=patient.site,
        action=action,
        object_type=object_type,
        object_id=patient.pk if object_type == "patient" else "",
        patient_id=patient.pk,
        detail=detail,
    )
    return patient


def record_patient_event(
    request: HttpRequest,
    patient: Patient,
    *,
    action: Action,
    object_type: str,
    object_id: object = "",
    detail: str = "",
) -> None:
    """Audit a read or write of one patient's data that did not go through a getter above."""
    record_event(
        request=request,
        actor=_actor(request),
        site=patient.site,
        action=action,
        object_type=object_type,
        object_id=object_id,
        patient_id=patient.pk,
        detail=detail,
    )


def _actor(request: HttpRequest) -> User | None:
    if is_api_request(request):
        return getattr(request, "auth", None)
    user = request.user
    return user if user.is_authenticated else None  # type: ignore[return-value]
