"""Medication orders and in-clinic administrations (DOMAIN.md §8, issue 5 §6).

What a medicine *is* lives in the pure catalogue (``catalog.py``); rows name it by code.
Injection scheduling (due windows, first-dose preconditions, site rotation) is the pure core
``schedule.py``; the services feed it from these rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from openiop.accounts.models import Site
from openiop.medications.catalog import MEDICATIONS, Dispensing, Route
from openiop.patients.models import Patient

MEDICATION_CHOICES = [(m.code, m.name) for m in MEDICATIONS]
ROUTE_CHOICES = [(r.value, r.value.replace("_", " ").capitalize()) for r in Route]
DISPENSING_CHOICES = [
    (Dispensing.CLINIC.value, "Given in clinic"),
    (Dispensing.PHARMACY.value, "Pharmacy"),
    (Dispensing.EXTERNAL_OTP.value, "External opioid treatment program"),
]


class MedicationOrder(models.Model):
    """A medicine the patient is on: prescribed here, or recorded as external (methadone from
    an Opioid Treatment Program). Active on a day when started_on ≤ day and (no ended_on or
    day ≤ ended_on)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medication_orders")
    medication = models.CharField(max_length=30, choices=MEDICATION_CHOICES)
    dose = models.DecimalField(max_digits=8, decimal_places=2)
    dose_unit = models.CharField(max_length=10, default="mg")
    route = models.CharField(max_length=16, choices=ROUTE_CHOICES)
    frequency = models.CharField(max_length=80)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for an external order (e.g. methadone from an OTP).",
    )
    dispensing = models.CharField(max_length=14, choices=DISPENSING_CHOICES)
    external_prescriber = models.CharField(
        max_length=200, blank=True, help_text="The OTP or outside prescriber, when external."
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["patient", "-started_on", "-id"]
        indexes = [
            models.Index(fields=["patient", "started_on"], name="medorder_patient_start"),
            models.Index(fields=["site", "medication"], name="medorder_site_medication"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="medorder_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(dose__gt=0), name="medorder_dose_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_medication_display()} {self.dose} {self.dose_unit}"


class Administration(models.Model):
    """One dose given in clinic (an injection): when, how much, where on the body, lot, by whom."""

    order = models.ForeignKey(
        MedicationOrder, on_delete=models.PROTECT, related_name="administrations"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="administrations")
    given_at = models.DateTimeField()
    dose = models.DecimalField(max_digits=8, decimal_places=2)
    injection_site = models.CharField(max_length=30, blank=True)
    lot = models.CharField(max_length=60, blank=True)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient", "-given_at", "-id"]
        indexes = [models.Index(fields=["patient", "-given_at"], name="admin_patient_time")]
        constraints = [
            models.CheckConstraint(condition=Q(dose__gt=0), name="administration_dose_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order} given {self.given_at:%Y-%m-%d}"
