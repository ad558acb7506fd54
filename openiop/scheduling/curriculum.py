"""The life-skills curriculum (issue 4 §6): modules, tagging a group session, a patient's progress.

A patient completes a module by attending (present, late or left early) at least one scheduled
session tagged with it. Excused and unexcused absences and no-shows do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import zone
from openiop.scheduling.models import (
    ATTENDED_STATUSES,
    Booking,
    CurriculumModule,
    Session,
    SessionKind,
    SessionStatus,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import User
    from openiop.patients.models import Patient


def _check_module(module: CurriculumModule) -> None:
    if not module.name:
        raise ValidationError({"name": "Give the module a name."})
    try:
        module.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
        if "code" in errors:
            errors["code"] = ["That code is taken or not a slug (letters, digits, _ and -)."]
        if "name" in errors:
            errors["name"] = ["A module with that name exists already."]
        raise ValidationError(errors) from None


@transaction.atomic
def create_module(
    *,
    code: str,
    name: str,
    description: str = "",
    sort_order: int = 100,
    by: User | None,
    request: HttpRequest | None = None,
) -> CurriculumModule:
    """A curriculum module for the whole organization, offered for tagging group sessions."""
    module = CurriculumModule(
        code=code.strip().lower(),
        name=name.strip(),
        description=description.strip(),
        sort_order=sort_order,
    )
    _check_module(module)
    module.save()
    record_event(
        request=request,
        actor=by,
        action=Action.CREATE,
        object_type="curriculum_module",
        object_id=module.pk,
        detail=f"{module.code}: {module.name}",
    )
    return module


@transaction.atomic
def update_module(
    *,
    module: CurriculumModule,
    name: str,
    description: str,
    sort_order: int,
    is_active: bool = True,
    by: User | None,
    request: HttpRequest | None = None,
) -> CurriculumModule:
    """Rename, describe, reorder or retire a module. Its code stays (the API key)."""
    module = CurriculumModule.objects.select_for_update().get(pk=module.pk)
    module.name = name.strip()
    module.description = description.strip()
    module.sort_order = sort_order
    module.is_active = is_active
    _check_module(module)
    module.save()
    record_event(
        request=request,
        actor=by,
        action=Action.UPDATE,
        object_type="curriculum_module",
        object_id=module.pk,
        detail=f"{module.code}: {module.name}{'' if is_active else ' (retired)'}",
    )
    return module


def deactivate_module(
    *, module: CurriculumModule, by: User | None, request: HttpRequest | None = None
) -> CurriculumModule:
    """Retire a module: no longer offered for new sessions nor listed on charts.

    Sessions already tagged keep it (PROTECT): the history of what was taught stays true.
    """
    return update_module(
        module=module,
        name=module.name,
        description=module.description,
        sort_order=module.sort_order,
        is_active=False,
        by=by,
        request=request,
    )


@transaction.atomic
def tag_session_module(
    *,
    session: Session,
    module: CurriculumModule | None,
    by: User | None,
    request: HttpRequest | None = None,
) -> Session:
    """Say which curriculum module a group session teaches, or clear it with ``None``.

    A cancelled session taught nothing and an individual session is not part of the group
    curriculum: both are refused. A retired module can be kept but not newly chosen.
    """
    session = (
        Session.objects.select_for_update(of=("self",)).select_related("site").get(pk=session.pk)
    )
    if session.status == SessionStatus.CANCELLED:
        raise ValidationError({"curriculum_module": "This session was cancelled."})
    if session.kind != SessionKind.GROUP:
        raise ValidationError(
            {"curriculum_module": "Only group sessions are part of the curriculum."}
        )
    new_id = module.pk if module is not None else None
    if module is not None and not module.is_active and new_id != session.curriculum_module_id:
        raise ValidationError({"curriculum_module": f"“{module.name}” is retired."})
    if new_id == session.curriculum_module_id:
        return session
    session.curriculum_module = module
    session.full_clean()
    session.save(update_fields=["curriculum_module"])
    record_event(
        request=request,
        actor=by,
        site=session.site,
        action=Action.UPDATE,
        object_type="session",
        object_id=session.pk,
        detail=(
            f"curriculum module: {module.code}"
            if module is not None
            else "curriculum module cleared"
        ),
    )
    return session


@dataclass(frozen=True)
class ModuleProgress:
    module: CurriculumModule
    completed: bool
    last_attended_on: date | None


def patient_curriculum(patient: Patient) -> list[ModuleProgress]:
    """Every active module, in curriculum order, and whether ``patient`` has attended it.

    Two queries whatever the history's length: the modules, and one aggregate over the
    patient's attended bookings in scheduled, tagged sessions. Dates are in the site's zone.
    """
    modules = list(CurriculumModule.objects.filter(is_active=True))
    last_by_module = dict(
        Booking.objects.filter(
            patient=patient,
            status__in=ATTENDED_STATUSES,
            session__status=SessionStatus.SCHEDULED,
            session__curriculum_module__is_active=True,
        )
        .values_list("session__curriculum_module")
        .annotate(last=Max("session__starts_at"))
        .order_by()
    )
    tz = zone(patient.site.time_zone)
    progress = []
    for module in modules:
        last = last_by_module.get(module.pk)
        progress.append(
            ModuleProgress(
                module=module,
                completed=last is not None,
                last_attended_on=timezone.localtime(last, timezone=tz).date() if last else None,
            )
        )
    return progress
