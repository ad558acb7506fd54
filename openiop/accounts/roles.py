"""Staff roles (DESIGN.md §1). Patients are not staff and have no role here."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    DIRECTOR = "director", "Director"
    THERAPIST = "therapist", "Therapist"
    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Nurse"
    FRONT_DESK = "front_desk", "Front desk"
    BILLING = "billing", "Billing"
    AUDITOR = "auditor", "Auditor"


ALL_ROLES: frozenset[str] = frozenset(Role.values)
