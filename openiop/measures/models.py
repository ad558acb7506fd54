"""Stored measurement-based care: questionnaire responses, their schedules, placement
assessments with the program's rule table, and step-up / step-down reviews.

The arithmetic lives in the pure cores next to this module (``instruments``, ``placement``,
``review``); these models keep what they computed together with the raw input, who entered it
and when, so a score can always be traced back to the answers that produced it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from openiop.accounts.models import Site
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, Episode, Program


class Respondent(models.TextChoices):
    STAFF = "staff", "Staff (interview)"
    PATIENT = "patient", "Patient (self-report)"


class Occasion(models.TextChoices):
    INTAKE = "intake", "At intake"
    PERIODIC = "periodic", "Scheduled"
    DISCHARGE = "discharge", "At discharge"
    AD_HOC = "ad_hoc", "Unscheduled"


class MeasureResponse(models.Model):
    """One administration of an instrument: raw answers and what the registry computed.

    Append-only (database triggers): a wrong entry is struck (``MeasureStrike``) with a reason
    and a new one entered; it is never edited.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="measures")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, null=True, blank=True, related_name="measures"
    )
    instrument = models.CharField(max_length=12)  # registry code, e.g. "PHQ-9"
    instrument_version = models.CharField(max_length=40)
    # Item number (as a string, JSON keys) → option value, only the items that were asked.
    answers = models.JSONField()
    score = models.IntegerField(null=True, blank=True)  # None for BAM (no total)
    band = models.CharField(max_length=40, blank=True)
    subscales = models.JSONField(default=dict, blank=True)
    # [{"code": ..., "severity": ..., "detail": ...}] as the registry raised them.
    flags = models.JSONField(default=list, blank=True)
    has_safety_flag = models.BooleanField(default=False)
    respondent = models.CharField(
        max_length=8, choices=Respondent.choices, default=Respondent.STAFF
    )
    occasion = models.CharField(max_length=10, choices=Occasion.choices, default=Occasion.AD_HOC)
    taken_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-taken_on", "-recorded_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "instrument", "-taken_on"], name="measure_patient_instr"
            ),
            models.Index(fields=["site", "instrument", "taken_on"], name="measure_site_instr"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} for patient {self.patient_id} on {self.taken_on}"


class MeasureStrike(models.Model):
    """Marks a response entered in error (append-only). Struck responses leave trends, the
    due list, the review engine and the outcomes report; they stay visible, crossed out."""

    response = models.OneToOneField(
        MeasureResponse, on_delete=models.PROTECT, related_name="strike"
    )
    reason = models.CharField(max_length=500)
    struck_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    struck_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"strike of measure {self.response_id}"


class MeasureSchedule(models.Model):
    """When a program gives an instrument: at intake, every N days, at discharge."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="measure_schedules")
    instrument = models.CharField(max_length=12)
    at_intake = models.BooleanField(default=True)
    every_days = models.PositiveSmallIntegerField(null=True, blank=True)
    at_discharge = models.BooleanField(default=False)

    class Meta:
        ordering = ["program_id", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "instrument"], name="measure_schedule_once_per_program"
            ),
            models.CheckConstraint(
                condition=Q(every_days__isnull=True) | Q(every_days__gte=1),
                name="measure_schedule_every_days_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} in program {self.program_id}"


class ProgramMeasureSettings(models.Model):
    """A program's settings for measurement-based care and level reviews (DOMAIN.md §9–§10).

    The review fields mirror ``openiop.measures.review.ReviewPolicy``; a program without a row
    uses the policy's defaults.
    """

    program = models.OneToOneField(
        Program, on_delete=models.PROTECT, related_name="measure_settings"
    )
    placement_review_days = models.PositiveSmallIntegerField(default=30)
    pcl5_threshold = models.PositiveSmallIntegerField(default=33)
    unexpected_screens = models.PositiveSmallIntegerField(default=3)
    unexpected_window_days = models.PositiveSmallIntegerField(default=30)
    missed_weeks = models.PositiveSmallIntegerField(default=2)
    score_window_days = models.PositiveSmallIntegerField(default=28)
    craving_rise = models.PositiveSmallIntegerField(default=2)
    craving_sustain = models.PositiveSmallIntegerField(default=2)
    safety_window_days = models.PositiveSmallIntegerField(default=14)
    stable_window_days = models.PositiveSmallIntegerField(default=28)
    stable_min_screens = models.PositiveSmallIntegerField(default=2)
    stable_weeks_met = models.PositiveSmallIntegerField(default=4)
    stable_min_scores = models.PositiveSmallIntegerField(default=2)
    require_goals_met = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"measure settings of program {self.program_id}"


class PlacementRuleTable(models.Model):
    """One version of a program's placement rule table (JSON of ``placement.Rule``s).

    Append-only: editing the table adds the next version; assessments point at the version
    they were decided with. A program without a row uses ``placement.DEFAULT_RULES``.
    """

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="rule_tables")
    version = models.PositiveIntegerField()
    rules = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["program_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["program", "version"], name="rule_table_version_once"),
        ]

    def __str__(self) -> str:
        return f"rule table v{self.version} of program {self.program_id}"


class PlacementKind(models.TextChoices):
    INTAKE = "intake", "Intake"
    REASSESSMENT = "reassessment", "Reassessment"


class PlacementAssessment(models.Model):
    """The seed's six criteria and the six dimension ratings, the indication the rule table
    gave, and the clinician's decision (level provided, reason when it differs).

    The assessment part is written once; the decision is added once (same or a later call).
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="placements")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="placements"
    )
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, null=True, blank=True, related_name="placements"
    )
    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=PlacementKind.choices)
    edition = models.PositiveSmallIntegerField()
    # {"1": {"answer": "yes", "note": ""}, … "6": …}
    criteria = models.JSONField()
    # {"1": {"rating": 2, "rationale": "…"}, … "6": …}
    ratings = models.JSONField()
    contraindications = models.JSONField(default=list, blank=True)
    rule_table = models.ForeignKey(
        PlacementRuleTable, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    indicated_tier = models.CharField(max_length=12)  # placement.Tier key
    indicated_level = models.CharField(max_length=10)  # code, e.g. "2.1" or "3.x"
    # [{"rule_id", "description", "level", "evidence"}]
    fired_rules = models.JSONField(default=list)
    deciding_rules = models.JSONField(default=list)  # rule ids
    notes = models.JSONField(default=list, blank=True)
    assessed_on = models.DateField()
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    provided_level = models.CharField(max_length=10, blank=True)
    provided_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-assessed_on", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-assessed_on"], name="placement_patient_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(provided_level="") | Q(decided_at__isnull=False),
                name="placement_decision_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"placement of patient {self.patient_id} on {self.assessed_on}"


class ReviewDirection(models.TextChoices):
    STEP_UP = "step_up", "Step up"
    STEP_DOWN = "step_down", "Step down"


class ReviewState(models.TextChoices):
    OPEN = "open", "Recommended"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"
    CLOSED = "closed", "Closed (enrollment ended)"


class LevelReview(models.Model):
    """A "review recommended" raised by the engine for one enrollment, with the signals that
    made it, and the clinician's decision.

    ``fingerprint`` is a digest of the signals' codes and evidence dates: the engine raises at
    most one review per enrollment, direction and fingerprint, so running it again (nightly,
    or on each new result) changes nothing until the evidence does.
    """

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, related_name="level_reviews"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="level_reviews")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=10, choices=ReviewDirection.choices)
    # [{"code": ..., "evidence": ..., "dates": ["2026-11-02", ...]}]
    signals = models.JSONField()
    fingerprint = models.CharField(max_length=64)
    trigger = models.CharField(max_length=20)  # nightly, measure, screen, week
    created_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=ReviewState.choices, default=ReviewState.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    transfer = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["site", "state", "-created_at"], name="review_site_state"),
            models.Index(fields=["patient", "-created_at"], name="review_patient_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "direction", "fingerprint"], name="review_once_per_evidence"
            ),
            # Two runs racing with different evidence still leave one open review.
            models.UniqueConstraint(
                fields=["enrollment", "direction"],
                condition=Q(state="open"),
                name="review_one_open_per_direction",
            ),
            models.CheckConstraint(
                condition=Q(state="open") | Q(decided_at__isnull=False),
                name="review_decided_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} review of enrollment {self.enrollment_id} ({self.state})"
