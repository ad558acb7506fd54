"""make_* helpers for placement assessments. Every person here is obviously fictional."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from openiop.accounts.models import Site, User
from openiop.measures.models import PlacementAssessment
from openiop.measures.services_placement import record_placement
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, EnrollmentStatus, Program
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program


def ratings(*values: int, rationale: str = "Observed at the interview.") -> dict[int, Any]:
    """Six ratings D1..D6 with a rationale each (empty for zeros and ones)."""
    assert len(values) == 6
    return {n: (value, rationale if value >= 2 else "") for n, value in enumerate(values, start=1)}


def criteria(**answers: str) -> dict[int, Any]:
    """Criteria as ``c1="yes", c5="no"``; the rest unknown."""
    out: dict[int, Any] = dict.fromkeys(range(1, 7), ("unknown", ""))
    for key, answer in answers.items():
        out[int(key.removeprefix("c"))] = (answer, "")
    return out


def enrolled(
    site: Site,
    *,
    program: Program | None = None,
    admitted_on: date | None = None,
    status: str = EnrollmentStatus.ACTIVE,
    **patient: Any,
) -> Enrollment:
    """A patient enrolled in ``program`` (the site's "Adult IOP" unless given)."""
    if program is None:
        program = Program.objects.filter(site=site, name="Adult IOP").first() or make_program(site)
    fields = {"first_name": "Casey", "last_name": "Placefake", **patient}
    extra: dict[str, Any] = {}
    if status == EnrollmentStatus.DISCHARGED:
        extra = {"discharged_on": date(2026, 2, 1), "discharge_reason": "completed"}
    return make_enrollment(
        make_patient(site, **fields), program, admitted_on=admitted_on, status=status, **extra
    )


def make_placement(
    patient: Patient,
    by: User,
    values: Sequence[int] = (0, 0, 1, 0, 1, 0),
    *,
    edition: int = 3,
    assessed_on: date | None = None,
    **kwargs: Any,
) -> PlacementAssessment:
    return record_placement(
        patient=patient,
        kind=kwargs.pop("kind", None),
        edition=edition,
        criteria=kwargs.pop("criteria", criteria()),
        ratings=ratings(*values),
        assessed_on=assessed_on,
        by=by,
        **kwargs,
    )
