"""The safety alert of measurement-based care (DOMAIN.md §9, issue 6 point 2).

PHQ-9 item 9 above 0 (whatever the total) or a C-SSRS screener at moderate or high risk raises
at once a high-severity alert to the patient's primary therapist and to every active director of
the patient's site. A patient without a therapist still alerts the directors. The alert stays
until its assignee acknowledges it with the action taken (``openiop.alerts.services``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from openiop.accounts.models import Membership, User
from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertKind, Severity
from openiop.alerts.services import raise_alert
from openiop.measures import instruments
from openiop.programs.models import Enrollment, EnrollmentStatus

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.measures.models import MeasureResponse

EVIDENCE_TYPE = "measure"


def safety_recipients(response: MeasureResponse) -> list[User]:
    """The primary therapist of the patient's active enrollment and the site's active
    directors, each once. Two queries."""
    enrollment = (
        Enrollment.objects.filter(patient_id=response.patient_id, status=EnrollmentStatus.ACTIVE)
        .select_related("primary_therapist")
        .only("pk", "primary_therapist")
        .first()
    )
    people: list[User] = []
    therapist = enrollment.primary_therapist if enrollment is not None else None
    if therapist is not None and therapist.is_active:
        people.append(therapist)
    directors = User.objects.filter(
        is_active=True,
        pk__in=Membership.objects.filter(site_id=response.site_id, role=Role.DIRECTOR).values(
            "user_id"
        ),
    ).order_by("pk")
    people.extend(user for user in directors if user not in people)
    return people


def _answer_label(instrument: instruments.Instrument, number: int, value: int) -> str:
    item = instrument.item(number)
    label = next((o.label for o in item.options if o.value == value), str(value))
    return f"{item.text}: {label}"


def safety_title(response: MeasureResponse) -> str:
    if response.instrument == instruments.CSSRS.code:
        return f"C-SSRS screener: {response.band} suicide risk"
    items = [flag["item"] for flag in response.flags if flag.get("item") is not None]
    answered = ", ".join(
        f"item {number} answered {response.answers.get(str(number))}" for number in items
    )
    return f"{response.instrument} {answered}".strip()


def safety_detail(response: MeasureResponse) -> str:
    """The answers behind the flag, item by item, with their option labels."""
    instrument = instruments.get_instrument(response.instrument)
    lines = [f"{instrument.name}, taken {response.taken_on.isoformat()}."]
    if response.score is not None:
        total = f"Total {response.score}"
        lines.append(f"{total} ({response.band})." if response.band else f"{total}.")
    if response.instrument == instruments.CSSRS.code:
        shown = sorted(response.answers.items(), key=lambda pair: int(pair[0]))
    else:
        shown = [
            (str(flag["item"]), response.answers.get(str(flag["item"])))
            for flag in response.flags
            if flag.get("item") is not None
        ]
    lines.extend(_answer_label(instrument, int(number), value) for number, value in shown)
    return "\n".join(lines)


def raise_safety_alerts(
    response: MeasureResponse, *, request: HttpRequest | None = None
) -> list[Alert]:
    """Raise the high-severity safety alert for ``response`` to its recipients (see
    ``safety_recipients``); returns the alerts created. Nothing for a response without a
    safety flag; raising again for the same response creates nothing (idempotent)."""
    if not response.has_safety_flag:
        return []
    return raise_alert(
        site=response.site,
        patient=response.patient,
        kind=AlertKind.SAFETY,
        severity=Severity.HIGH,
        title=safety_title(response),
        detail=safety_detail(response),
        evidence_type=EVIDENCE_TYPE,
        evidence_id=response.pk,
        assignees=safety_recipients(response),
        due_at=timezone.now(),
        request=request,
    )


def safety_alerts_of(response: MeasureResponse) -> list[Alert]:
    """The safety alerts raised for ``response`` with their assignees (for the result page)."""
    return list(
        Alert.objects.filter(
            kind=AlertKind.SAFETY, evidence_type=EVIDENCE_TYPE, evidence_id=response.pk
        )
        .select_related("assignee")
        .order_by("assignee__username")
    )
