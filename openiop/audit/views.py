from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from openiop.accounts.access import requires
from openiop.audit.models import AuditEvent


@require_GET
@requires("audit.view")
def audit_list_view(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.filter(site=request.site).select_related("actor")[:100]  # type: ignore[attr-defined]
    return render(request, "audit/event_list.html", {"events": events})


@require_GET
@requires("audit.export")
def audit_export_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("", content_type="text/csv")
