"""The attention list: my alerts (``alerts.view``) and the site's (``alerts.site``), with
acknowledge and resolve forms (issue 6 point 6).

- ``/attention/``: the signed-in clinician's open and acknowledged alerts at this site, most
  urgent first; a "Resolved" tab; filters by kind and severity; counts per kind.
- ``/attention/site/``: every alert of the site, with an assignee filter.
- ``/alerts/``: the old address of the list, a permanent redirect.
- Acknowledge and resolve take the alert's ``version`` and return to ``next`` when it is a
  path on this host (the chart's safety banner posts here), else to the list.

Each look at a list writes one audit event naming the patients it showed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from openiop.accounts.access import current_role, requires
from openiop.accounts.models import Membership, User
from openiop.accounts.policy import POLICY, role_may
from openiop.alerts.models import Alert, AlertKind, Severity
from openiop.alerts.services import acknowledge_alert, resolve_alert
from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict, NotPermitted
from openiop.lib.http import parse_pk
from openiop.measures import attention

SHOW_CHOICES = [("active", "Open and acknowledged"), ("resolved", "Resolved")]


class FilterForm(forms.Form):
    show = forms.ChoiceField(choices=SHOW_CHOICES, required=False)
    kind = forms.ChoiceField(
        choices=[("", "All kinds"), *AlertKind.choices], required=False, label="Kind"
    )
    severity = forms.ChoiceField(
        choices=[("", "All severities"), *Severity.choices], required=False, label="Severity"
    )

    def __init__(self, *args: Any, assignees: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if assignees is not None:
            self.fields["assignee"] = forms.TypedChoiceField(
                choices=[("", "Everyone"), *((str(u.pk), u.display_name) for u in assignees)],
                coerce=int,
                empty_value=None,
                required=False,
                label="Assignee",
            )


def _site(request: HttpRequest) -> Any:
    return request.site  # type: ignore[attr-defined]


def _may_see_site(request: HttpRequest) -> bool:
    return role_may(current_role(request), "alerts.site")


def _site_staff(site: Any) -> list[User]:
    """Everyone at ``site`` whose role sees an attention list (the assignee filter)."""
    return [
        m.user
        for m in Membership.objects.filter(site=site, role__in=POLICY["alerts.view"].roles)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    ]


def _page(
    request: HttpRequest,
    *,
    scope: str,
    problem: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    site = _site(request)
    staff = _site_staff(site) if scope == "site" else None
    form = FilterForm(request.GET, assignees=staff)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = form.cleaned_data
    elif status == 200:
        status = 422
    show = filters.get("show") or "active"
    assignee: Any = request.user if scope == "mine" else filters.get("assignee")
    rows = attention.alerts_for(
        site,
        assignee=assignee,
        resolved=show == "resolved",
        kind=filters.get("kind") or "",
        severity=filters.get("severity") or "",
    )
    counts = attention.counts_for(site, assignee=assignee)
    now = timezone.now()
    problem_shown = False
    for alert in rows:
        alert.evidence_url, alert.evidence_label = attention.evidence_link(alert)  # type: ignore[attr-defined]
        alert.is_overdue = alert.due_at is not None and alert.due_at < now  # type: ignore[attr-defined]
        if problem and problem["alert_id"] == alert.pk:
            alert.problem = problem  # type: ignore[attr-defined]
            problem_shown = True
    shown = sorted({alert.patient_id for alert in rows})
    # One event per look at the list, naming the patients it showed.
    label = f"{scope} {show}"
    record_event(
        request=request,
        site=site,
        action=Action.VIEW,
        object_type="attention_list",
        detail=(f"{label}: patients {','.join(map(str, shown))}" if shown else f"{label}: none")[
            :1000
        ],
    )
    list_url = reverse("attention-site" if scope == "site" else "attention")
    query = request.GET.copy()
    query.pop("show", None)
    return render(
        request,
        "measures/attention_list.html",
        {
            "alerts": rows,
            "scope": scope,
            "show": show,
            "form": form,
            "counts": counts,
            "list_url": list_url,
            "filter_query": query.urlencode(),
            "filtered": any(filters.get(k) for k in ("kind", "severity", "assignee")),
            "problem": problem if problem and not problem_shown else None,
            "page_size": attention.PAGE_SIZE,
            "may_see_site": _may_see_site(request),
            "next": problem.get("next", "") if problem else "",
        },
        status=status,
    )


@require_GET
@requires("alerts.view")
def attention_view(request: HttpRequest) -> HttpResponse:
    return _page(request, scope="mine")


@require_GET
@requires("alerts.site")
def attention_site_view(request: HttpRequest) -> HttpResponse:
    return _page(request, scope="site")


@require_GET
@requires("alerts.view")
def alerts_redirect_view(request: HttpRequest) -> HttpResponse:
    """The list's old address (``/alerts/``), kept so bookmarks and old links work."""
    url = reverse("attention")
    if request.GET:
        url += "?" + request.GET.urlencode()
    return HttpResponsePermanentRedirect(url)


def _actionable(request: HttpRequest, alert_id: object) -> Alert:
    """The alert if it is at this site and mine, or anyone's for ``alerts.site``; else 404."""
    pk = parse_pk(alert_id, "alert")
    alerts = Alert.objects.filter(site=_site(request)).select_related("patient")
    if not _may_see_site(request):
        alerts = alerts.filter(assignee=request.user)
    alert = alerts.filter(pk=pk).first()
    if alert is None:
        raise Http404("No such alert.")
    return alert


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next", "")
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1


def _act(request: HttpRequest, alert_id: int, *, acknowledge: bool) -> HttpResponse:
    alert = _actionable(request, alert_id)
    scope = "site" if request.POST.get("list") == "site" and _may_see_site(request) else "mine"
    next_url = _safe_next(request)
    text = request.POST.get("action" if acknowledge else "resolution", "")
    try:
        if acknowledge:
            acknowledge_alert(
                alert, by=request.user, version=_version(request), action=text, request=request
            )
        else:
            resolve_alert(
                alert,
                by=request.user,
                version=_version(request),
                resolution=text,
                request=request,
            )
    except (ValidationError, NoteConflict, NotPermitted) as exc:
        if isinstance(exc, ValidationError):
            message, status = " ".join(exc.messages), 422
        else:
            message, status = str(exc), 403 if isinstance(exc, NotPermitted) else 409
        problem = {
            "alert_id": alert.pk,
            "title": alert.title,
            "message": message,
            "field": "action" if acknowledge else "resolution",
            "text": text,
            "next": next_url,
        }
        return _page(request, scope=scope, problem=problem, status=status)
    done = "Acknowledged" if acknowledge else "Resolved"
    messages.success(request, f"{done}: {alert.title} ({alert.patient.display_name}).")
    if next_url:
        return redirect(next_url)
    list_url = reverse("attention-site" if scope == "site" else "attention")
    return redirect(f"{list_url}#alert-{alert.pk}")


@require_POST
@requires("alerts.view")
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _act(request, alert_id, acknowledge=True)


@require_POST
@requires("alerts.view")
def alert_resolve_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _act(request, alert_id, acknowledge=False)
