"""Relapse-prevention plans (issue 4 §5): the patient's own plan for staying in recovery.

Every save is a new numbered version (the database keeps versions append-only), so the
history shows who changed the plan and when. A save names the version it was based on; if a
colleague saved a newer one meanwhile it is refused rather than silently overwritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.clinical.errors import NoteConflict
from openiop.clinical.models import RelapsePreventionPlan
from openiop.patients.models import Patient
from openiop.patients.services import phone_error

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User

# The narrative sections, in the order the plan is written and printed, with the wording
# the patient sees on their copy.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("triggers", "Triggers", "People, places, feelings and things that make me want to use."),
    ("warning_signs", "Warning signs", "Changes in how I think, feel or act before a relapse."),
    (
        "high_risk_situations",
        "High-risk situations",
        "Situations where using would be easy, and how I plan for them.",
    ),
    ("coping_strategies", "Coping strategies", "What I do instead of using."),
    ("craving_plan", "When a craving hits", "My steps when a craving starts."),
    ("emergency_steps", "In an emergency", "What I do if I use or am in danger."),
)
SECTION_CODES = tuple(code for code, _, _ in SECTIONS)
SECTION_MAX_LENGTH = 5000
MAX_SUPPORTS = 20
NAME_MAX_LENGTH = 120
RELATIONSHIP_MAX_LENGTH = 80
PHONE_MAX_LENGTH = 40


def latest_plan(patient: Patient) -> RelapsePreventionPlan | None:
    return (
        RelapsePreventionPlan.objects.filter(patient=patient)
        .select_related("author")
        .order_by("-number")
        .first()
    )


def clean_supports(rows: Any) -> list[dict[str, str]]:
    """The sober supports as {"name", "phone", "relationship"} rows; entirely blank rows are
    dropped. Each kept row needs a name and a usable phone number: ValidationError naming
    ``supports[i].field`` otherwise."""
    if rows is None:
        return []
    if not isinstance(rows, list | tuple):
        raise ValidationError({"supports": "Sober supports are a list of people."})
    kept: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors[f"supports[{index}]"] = "Each support is a name, a phone and a relationship."
            continue
        name = " ".join(str(row.get("name") or "").split())
        phone = str(row.get("phone") or "").strip()
        relationship = " ".join(str(row.get("relationship") or "").split())
        if not (name or phone or relationship):
            continue
        if not name:
            errors[f"supports[{index}].name"] = "Give the name of this support person."
        elif len(name) > NAME_MAX_LENGTH:
            errors[f"supports[{index}].name"] = f"At most {NAME_MAX_LENGTH} characters."
        if not phone:
            errors[f"supports[{index}].phone"] = (
                "Give a phone number the patient can call, e.g. 555-0142."
            )
        elif len(phone) > PHONE_MAX_LENGTH:
            errors[f"supports[{index}].phone"] = f"At most {PHONE_MAX_LENGTH} characters."
        elif problem := phone_error(phone):
            errors[f"supports[{index}].phone"] = problem
        if len(relationship) > RELATIONSHIP_MAX_LENGTH:
            errors[f"supports[{index}].relationship"] = (
                f"At most {RELATIONSHIP_MAX_LENGTH} characters."
            )
        kept.append({"name": name, "phone": phone, "relationship": relationship})
    if len(kept) > MAX_SUPPORTS:
        errors["supports"] = f"List at most {MAX_SUPPORTS} sober supports."
    if errors:
        raise ValidationError(errors)
    return kept


def clean_plan(data: dict[str, Any]) -> dict[str, Any]:
    """The plan's fields from ``data``: stripped sections and cleaned supports."""
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for code in SECTION_CODES:
        text = str(data.get(code) or "").strip()
        if len(text) > SECTION_MAX_LENGTH:
            errors[code] = f"At most {SECTION_MAX_LENGTH:,} characters."
        values[code] = text
    try:
        values["supports"] = clean_supports(data.get("supports"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if not any(values[code] for code in SECTION_CODES) and not values["supports"]:
        raise ValidationError({"__all__": "Write at least one part of the plan before saving."})
    return values


@transaction.atomic
def save_relapse_prevention_plan(
    patient: Patient,
    *,
    author: User,
    data: dict[str, Any],
    based_on_number: int | None,
    request: HttpRequest | None = None,
) -> RelapsePreventionPlan:
    """Save ``data`` as the patient's next relapse-prevention plan version and return it.

    ``based_on_number`` is the version the author was editing (None or 0 for the first). If
    someone saved a newer version meanwhile, NoteConflict; if nothing changed, a
    ValidationError. Bad sections or supports are ValidationErrors naming the field.
    """
    values = clean_plan(data)
    # Saves of one patient's plan queue on the patient row: the second sees the first.
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk").first()
    latest = latest_plan(patient)
    latest_number = latest.number if latest is not None else 0
    if (based_on_number or 0) != latest_number:
        who = latest.author.display_name if latest is not None else "Someone"
        raise NoteConflict(
            f"{who} saved version {latest_number} of this plan while you were editing."
            " Reload to see it, then make your changes again."
        )
    if latest is not None and all(
        getattr(latest, field) == value for field, value in values.items()
    ):
        raise ValidationError({"__all__": f"Nothing changed since version {latest.number}."})
    top = RelapsePreventionPlan.objects.filter(patient=patient).aggregate(top=Max("number"))
    plan = RelapsePreventionPlan.objects.create(
        patient=patient, number=(top["top"] or 0) + 1, author=author, **values
    )
    record_event(
        request=request,
        actor=author,
        site=patient.site,
        action=Action.CREATE,
        object_type="relapse_prevention_plan",
        object_id=plan.pk,
        patient_id=patient.pk,
        detail=f"relapse-prevention plan v{plan.number} saved",
    )
    return plan
