from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from openiop.accounts.models import Site
from openiop.patients.models import Patient


class Edition(models.IntegerChoices):
    THIRD = 3, "ASAM 3rd edition (2013)"
    FOURTH = 4, "ASAM 4th edition (2023)"


class LevelOfCare(models.Model):
    """A level of the continuum (DOMAIN.md §1), with its ASAM number and edition.

    Reference data seeded by a migration and editable by directors: hour floors and ceilings
    are what most states and payers set differently.
    """

    code = models.CharField(max_length=10, help_text="ASAM level number, e.g. 2.1")
    edition = models.PositiveSmallIntegerField(choices=Edition.choices)
    name = models.CharField(max_length=100)
    weekly_hours_min = models.DecimalField(max_digits=5, decimal_places=1, default=Decimal(0))
    weekly_hours_max = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, blank=True, help_text="Empty: no ceiling."
    )
    is_residential = models.BooleanField(default=False, help_text="24-hour structure.")
    sort_order = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["edition", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "edition"], name="loc_code_edition_unique"),
            models.CheckConstraint(
                condition=Q(weekly_hours_max__isnull=True)
                | Q(weekly_hours_max__gte=F("weekly_hours_min")),
                name="loc_hours_min_le_max",
            ),
        ]

    def __str__(self) -> str:
        edition = {Edition.THIRD: "3rd", Edition.FOURTH: "4th"}.get(self.edition, "")
        return f"{self.name} (ASAM {self.code}, {edition} ed.)"


class Program(models.Model):
    """A site's offering at one level of care, e.g. "Adult IOP"."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="programs")
    level_of_care = models.ForeignKey(
        LevelOfCare, on_delete=models.PROTECT, related_name="programs"
    )
    name = models.CharField(max_length=120)
    weekly_hours_min = models.DecimalField(max_digits=5, decimal_places=1)
    weekly_hours_max = models.DecimalField(max_digits=5, decimal_places=1)
    typical_length_weeks = models.PositiveSmallIntegerField(default=12)
    # Documentation deadlines (issue 4 §3, §7), configurable per program.
    plan_initial_due_days = models.PositiveSmallIntegerField(
        "initial treatment plan due (days after admission)", default=7
    )
    plan_review_days = models.PositiveSmallIntegerField(
        "treatment plan review interval (days)", default=30
    )
    note_unsigned_hours = models.PositiveSmallIntegerField(
        "notes unsigned after (hours after the session)", default=24
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="program_site_name_unique"),
            models.CheckConstraint(
                condition=Q(weekly_hours_max__gte=F("weekly_hours_min")),
                name="program_hours_min_le_max",
            ),
            models.CheckConstraint(
                condition=Q(plan_initial_due_days__gte=1, plan_review_days__gte=1)
                & Q(note_unsigned_hours__gte=1),
                name="program_documentation_deadlines_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Track(models.Model):
    """A schedule option of a program, e.g. "Evening — Tue/Wed/Thu 18:00–21:00"."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="tracks")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["program__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="track_program_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.program.name} — {self.name}"


class Episode(models.Model):
    """One continuous treatment story of a patient; transfers stay inside it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("opened_on")),
                name="episode_closed_after_opened",
            ),
        ]

    def __str__(self) -> str:
        return f"Episode of {self.patient_id} from {self.opened_on}"


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISCHARGED = "discharged", "Discharged"
    TRANSFERRED = "transferred", "Transferred"


class DischargeReason(models.TextChoices):
    COMPLETED = "completed", "Completed treatment"
    LEFT_AGAINST_ADVICE = "left_against_advice", "Left against clinical advice"
    ADMINISTRATIVE = "administrative", "Administrative discharge"
    TRANSFERRED = "transferred", "Transferred to another provider"
    STEPPED_UP = "stepped_up", "Stepped up to a higher level of care"
    STEPPED_DOWN = "stepped_down", "Stepped down to a lower level of care"


class TransferKind(models.TextChoices):
    STEP_UP = "step_up", "Step up"
    STEP_DOWN = "step_down", "Step down"
    CHANGE_TRACK = "change_track", "Change of track"


class Cadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    BIWEEKLY = "biweekly", "Every two weeks"
    NONE = "none", "No individual sessions"


class Enrollment(models.Model):
    """A patient in one program and track for a span of an episode.

    At most one active enrollment per patient, enforced by the database. A transfer closes
    one enrollment (status "transferred") and opens the next in the same episode, linked by
    ``previous``.
    """

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="enrollments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="enrollments")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrollments")
    track = models.ForeignKey(
        Track, on_delete=models.PROTECT, null=True, blank=True, related_name="enrollments"
    )
    admitted_on = models.DateField()
    discharged_on = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE
    )
    discharge_reason = models.CharField(max_length=24, choices=DischargeReason.choices, blank=True)
    discharge_note = models.CharField(max_length=500, blank=True)
    weekly_hours_min = models.DecimalField(max_digits=5, decimal_places=1)
    weekly_hours_max = models.DecimalField(max_digits=5, decimal_places=1)
    primary_therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="primary_enrollments",
    )
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="prescriber_enrollments",
    )
    individual_cadence = models.CharField(
        max_length=10, choices=Cadence.choices, default=Cadence.WEEKLY
    )
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="next"
    )
    transfer_kind = models.CharField(max_length=12, choices=TransferKind.choices, blank=True)
    transfer_reason = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-admitted_on", "-id"]
        indexes = [models.Index(fields=["program", "status"], name="enrollment_program_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status="active"),
                name="one_active_enrollment_per_patient",
                violation_error_message="This patient already has an active enrollment.",
            ),
            models.CheckConstraint(
                condition=Q(discharged_on__isnull=True) | Q(discharged_on__gte=F("admitted_on")),
                name="enrollment_discharge_after_admission",
                violation_error_message="The discharge date cannot be before the admission.",
            ),
            models.CheckConstraint(
                condition=Q(status="active", discharged_on__isnull=True)
                | (~Q(status="active") & Q(discharged_on__isnull=False)),
                name="enrollment_status_matches_discharge",
            ),
            models.CheckConstraint(
                condition=Q(weekly_hours_max__gte=F("weekly_hours_min")),
                name="enrollment_hours_min_le_max",
                violation_error_message="The weekly hour ceiling is below the floor.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} in {self.program} from {self.admitted_on}"

    @property
    def is_active(self) -> bool:
        return self.status == EnrollmentStatus.ACTIVE
