"""An alert is one thing one person should look at about one patient.

Services raise alerts (``openiop.alerts.services.raise_alert``) with the evidence that made
them (what kind of record, which one); raising the same alert twice for the same evidence and
person changes nothing. The person acknowledges it (seen) and resolves it with what was done.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from openiop.accounts.models import Site
from openiop.patients.models import Patient


class AlertKind(models.TextChoices):
    UNEXPECTED_SCREEN = "unexpected_screen", "Unexpected drug-screen result"
    INJECTION_OVERDUE = "injection_overdue", "Injection overdue"
    SAFETY = "safety", "Safety: suicide risk"
    REVIEW_RECOMMENDED = "review_recommended", "Level-of-care review recommended"
    HOURS_AT_RISK = "hours_at_risk", "Weekly hours at risk"
    NOTE_UNSIGNED = "note_unsigned", "Note unsigned"
    PLAN_DUE = "plan_due", "Treatment plan due"
    PLACEMENT_DUE = "placement_due", "Placement reassessment due"


class Severity(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="alerts")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    # The record that raised it, e.g. ("drug_screen", 42).
    evidence_type = models.CharField(max_length=40)
    evidence_id = models.BigIntegerField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="alerts"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=14, choices=AlertState.choices, default=AlertState.OPEN)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolution = models.TextField(blank=True)
    # What was done when it was acknowledged; required for safety alerts (issue 6 point 2).
    acknowledgement = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["assignee", "state", "-created_at"], name="alert_assignee_state"),
            models.Index(fields=["site", "state", "-created_at"], name="alert_site_state"),
            models.Index(fields=["patient", "-created_at"], name="alert_patient_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "evidence_type", "evidence_id", "assignee"],
                name="alert_once_per_evidence_and_assignee",
            ),
            models.CheckConstraint(
                condition=~Q(state="resolved") | Q(resolved_at__isnull=False),
                name="alert_resolved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for patient {self.patient_id} ({self.state})"
