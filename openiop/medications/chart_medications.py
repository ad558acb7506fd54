"""The medications section of the patient chart: active medications and, for injections given
in clinic, when the next one is due or how overdue it is. Two queries, whatever the history."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.lib.dates import local_today
from openiop.medications import schedule
from openiop.medications.models import Administration
from openiop.medications.services import active_medications, injection_statuses
from openiop.patients.models import Patient


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """What the chart shows in this section, or None when the role may not see it."""
    if not role_may(current_role(request), "medications.view"):
        return None
    time_zone = patient.site.time_zone
    today = local_today(time_zone)
    orders = active_medications(patient, today)
    administrations = Administration.objects.filter(
        patient=patient, order__medication__in=list(schedule.RULES)
    ).select_related("order")
    injections = injection_statuses(orders, administrations, today, time_zone)
    return {
        "patient": patient,
        "today": today,
        "orders": orders,
        "injections": injections,
        "attention": sum(1 for i in injections if i.status in ("due", "overdue")),
        "url": reverse("patient-medications", args=[patient.pk]),
    }
