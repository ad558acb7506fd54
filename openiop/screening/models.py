"""Drug screening rows (DOMAIN.md §7, issue 5 §1–§5).

Analyte codes, specimen types, methods, outcomes, validity classes and verdicts are those of
the pure catalogue (``catalog.py``); validity (``validity.py``), interpretation
(``interpretation.py``) and random selection (``selection.py``) are pure cores the services
feed from these rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from openiop.accounts.models import Site
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, Program
from openiop.screening.catalog import (
    ANALYTES,
    Method,
    Outcome,
    SpecimenType,
    ValidityClass,
    Verdict,
)


def _choices(enum: type) -> list[tuple[str, str]]:
    return [(member.value, member.value.replace("_", " ").capitalize()) for member in enum]


ANALYTE_CHOICES = [(a.code, a.name) for a in ANALYTES]
SPECIMEN_CHOICES = _choices(SpecimenType)
METHOD_CHOICES = _choices(Method)
OUTCOME_CHOICES = _choices(Outcome)
VALIDITY_CHOICES = _choices(ValidityClass)
VERDICT_CHOICES = [(Verdict.EXPECTED.value, "Expected"), (Verdict.UNEXPECTED.value, "Unexpected")]


class ScreeningPhase(models.Model):
    """A program's screening frequency from ``from_day`` days after admission on (e.g. day 0:
    2 a week; day 30: 1 a week; day 90: 2 a month). ``extra_chance``: the chance of a test on
    any on-site day beyond the minimum (no safe window, DOMAIN.md §7)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="screening_phases")
    from_day = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=80)
    per_week = models.PositiveSmallIntegerField(default=0)
    per_month = models.PositiveSmallIntegerField(default=0)
    extra_chance = models.DecimalField(max_digits=4, decimal_places=3, default=0)

    class Meta:
        ordering = ["program", "from_day"]
        constraints = [
            models.UniqueConstraint(fields=["program", "from_day"], name="phase_program_day"),
            models.CheckConstraint(
                condition=Q(per_week__lte=7, per_month__lte=31),
                name="phase_frequency_in_range",
            ),
            models.CheckConstraint(
                condition=Q(extra_chance__gte=0, extra_chance__lte=1),
                name="phase_extra_chance_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program}: {self.label}"


class Panel(models.Model):
    """A test kit's or lab's panel: the analytes it reports and their cutoffs (ng/mL)."""

    name = models.CharField(max_length=120, unique=True)
    specimen = models.CharField(max_length=16, choices=SPECIMEN_CHOICES)
    description = models.CharField(max_length=300, blank=True)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["specimen"],
                condition=Q(is_default=True),
                name="panel_one_default_per_specimen",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PanelAnalyte(models.Model):
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="analytes")
    analyte = models.CharField(max_length=20, choices=ANALYTE_CHOICES)
    screen_cutoff = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    confirm_cutoff = models.DecimalField(max_digits=10, decimal_places=3)

    class Meta:
        ordering = ["panel", "id"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "analyte"], name="panel_analyte_once"),
            models.CheckConstraint(
                condition=Q(confirm_cutoff__gt=0)
                & (Q(screen_cutoff__isnull=True) | Q(screen_cutoff__gt=0)),
                name="panel_cutoffs_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.panel}: {self.analyte}"


class ScreeningSettings(models.Model):
    """Organization-wide settings (one row, pk=1): specimen-validity bounds that differ from
    the defaults of ``validity.ValidityBounds`` ({field name: decimal string})."""

    validity_bounds = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return "Screening settings"


class ScreenSelection(models.Model):
    """The random selection of one site and day: exactly one (unique), with its pool and the
    reasoning for every patient (``selection.Selection.as_record``), and who or what ran it."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    ran_at = models.DateTimeField()
    ran_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    ran_by_label = models.CharField(max_length=150)
    record = models.JSONField(default=dict)

    class Meta:
        ordering = ["-day", "site"]
        constraints = [
            models.UniqueConstraint(fields=["site", "day"], name="selection_once_per_site_day"),
        ]

    def __str__(self) -> str:
        return f"Screen selection {self.site} {self.day}"


class ScreenReason(models.TextChoices):
    RANDOM = "random", "Random selection"
    FOR_CAUSE = "for_cause", "For cause"


class ScreenStatus(models.TextChoices):
    SELECTED = "selected", "To collect"
    COLLECTED = "collected", "Collected"
    NOT_COLLECTED = "not_collected", "Not collected"


class DrugScreen(models.Model):
    """One screen of one patient: why (random or for cause), collection and validity, the
    per-analyte results and their interpretation against the patient's medications."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="drug_screens")
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    selection = models.ForeignKey(
        ScreenSelection, on_delete=models.PROTECT, null=True, blank=True, related_name="screens"
    )
    reason = models.CharField(max_length=10, choices=ScreenReason.choices)
    cause = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=14, choices=ScreenStatus.choices, default=ScreenStatus.SELECTED
    )
    selected_on = models.DateField(help_text="The site's local day it was called for.")
    not_collected_reason = models.CharField(max_length=300, blank=True)
    panel = models.ForeignKey(
        Panel, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    specimen = models.CharField(max_length=16, choices=SPECIMEN_CHOICES, blank=True)
    observed = models.BooleanField(default=False)
    collected_at = models.DateTimeField(null=True, blank=True)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    specimen_id = models.CharField(max_length=60, blank=True)
    temperature_c = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    temperature_read_minutes = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True
    )
    creatinine_mg_dl = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    specific_gravity = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    ph = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    nitrite_ug_ml = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    validity = models.CharField(max_length=12, choices=VALIDITY_CHOICES, blank=True)
    # The interpretation as stored when results were recorded (per analyte verdict and reason).
    interpretation = models.JSONField(default=dict, blank=True)
    verdict = models.CharField(max_length=10, choices=VERDICT_CHOICES, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_label = models.CharField(max_length=150)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-selected_on", "-id"]
        indexes = [
            models.Index(fields=["patient", "-selected_on"], name="screen_patient_day"),
            models.Index(fields=["site", "selected_on", "status"], name="screen_site_day_status"),
            models.Index(fields=["site", "verdict", "reviewed_at"], name="screen_site_review"),
        ]
        constraints = [
            # One random screen per patient and day (a for-cause screen may come on top).
            models.UniqueConstraint(
                fields=["patient", "selected_on"],
                condition=Q(reason="random"),
                name="screen_one_random_per_patient_day",
            ),
            models.CheckConstraint(
                condition=~Q(reason="for_cause") | ~Q(cause=""),
                name="screen_for_cause_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="collected")
                | (Q(collected_at__isnull=False) & ~Q(specimen="")),
                name="screen_collected_has_time_and_specimen",
            ),
        ]

    def __str__(self) -> str:
        return f"Screen #{self.pk} of patient {self.patient_id} ({self.status})"


class ScreenResult(models.Model):
    screen = models.ForeignKey(DrugScreen, on_delete=models.CASCADE, related_name="results")
    analyte = models.CharField(max_length=20, choices=ANALYTE_CHOICES)
    method = models.CharField(max_length=14, choices=METHOD_CHOICES)
    result = models.CharField(max_length=14, choices=OUTCOME_CHOICES)
    value = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    cutoff = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    source = models.CharField(max_length=10, default="manual")  # manual | lab_csv | api
    entered_at = models.DateTimeField()

    class Meta:
        ordering = ["screen", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["screen", "analyte", "method"], name="result_once_per_analyte_method"
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0), name="result_value_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.analyte} {self.method}: {self.result}"
