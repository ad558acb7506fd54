"""Clinical documentation: notes, treatment plans, relapse-prevention plans, disclosures.

Signed records are immutable in the database itself (see ``triggers.py``): a signed note,
its goal links and its group entries, a signed treatment plan and its problems, goals,
objectives and interventions cannot be updated or deleted, and nothing can be added to them.
Addenda, co-signatures, plan acknowledgements, relapse-prevention plan versions and the
disclosure log are append-only. Writes go through the services of this app.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from openiop.accounts.models import Site
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment
from openiop.scheduling.models import Booking, CurriculumModule, Session


class NoteKind(models.TextChoices):
    # The facilitator's document: the shared part and one entry per booked patient. It is
    # in no patient's chart; signing it makes one GROUP_MEMBER note per patient.
    GROUP = "group", "Group note"
    GROUP_MEMBER = "group_member", "Group note"
    INDIVIDUAL = "individual", "Individual note"


class NoteFormat(models.TextChoices):
    GROUP = "group", "Group"
    DAP = "dap", "DAP"
    BIRP = "birp", "BIRP"
    SOAP = "soap", "SOAP"


# The narrative sections of each format, in the order they are written and printed.
FORMAT_SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    NoteFormat.DAP: (("data", "Data"), ("assessment", "Assessment"), ("plan", "Plan")),
    NoteFormat.BIRP: (
        ("behavior", "Behavior"),
        ("intervention", "Intervention"),
        ("response", "Response"),
        ("plan", "Plan"),
    ),
    NoteFormat.SOAP: (
        ("subjective", "Subjective"),
        ("objective", "Objective"),
        ("assessment", "Assessment"),
        ("plan", "Plan"),
    ),
    # A patient's own part of a group note (DOMAIN.md §6).
    NoteFormat.GROUP: (
        ("participation", "Participation"),
        ("mood", "Mood and affect"),
        ("response", "Response to interventions"),
        ("progress", "Progress toward goals"),
        ("risk", "Risk observations"),
        ("plan", "Plan"),
    ),
}


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class Note(models.Model):
    """A clinical note about one session: a group note, an attendee's part of it, or an
    individual note (DAP, BIRP or SOAP).

    ``sections`` holds the narrative, keyed by the codes of ``FORMAT_SECTIONS``. Once
    signed, ``content_sha256`` is the SHA-256 of the canonical signed content (see
    ``signing.note_content``) and the database refuses any change to the row.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="notes")
    kind = models.CharField(max_length=12, choices=NoteKind.choices)
    format = models.CharField(max_length=8, choices=NoteFormat.choices)
    status = models.CharField(max_length=8, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="notes")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="notes"
    )
    booking = models.ForeignKey(
        Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="notes"
    )
    group_note = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="member_notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_notes"
    )
    # Shared part of a group note (copied into each attendee's note).
    topic = models.CharField(max_length=200, blank=True)
    summary = models.TextField(blank=True)
    interventions = models.TextField(blank=True)
    curriculum_module = models.ForeignKey(
        CurriculumModule, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    participant_count = models.PositiveSmallIntegerField(null=True, blank=True)
    # When the service actually ran and, for a patient, their attendance and minutes.
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    attendance_status = models.CharField(max_length=20, blank=True)
    minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    sections = models.JSONField(default=dict, blank=True)
    # CPT/HCPCS code the documented time supports (90832/90834/90837, 90853 …); set at signing.
    service_code = models.CharField(max_length=10, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Signature. ``signer_name`` keeps the name and credentials as they were when signing.
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    signer_name = models.CharField(max_length=200, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    requires_cosign = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-started_at"], name="note_patient_time"),
            models.Index(fields=["author", "status"], name="note_author_status"),
            # The co-sign queue reads only supervised notes (requires_cosign is set at
            # signing), not the far more numerous notes nobody needs to co-sign.
            models.Index(
                fields=["site", "kind", "signed_at"],
                condition=Q(requires_cosign=True),
                name="note_cosign_queue",
            ),
        ]
        constraints = [
            # One group note per session; one note per patient and session.
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(kind="group"),
                name="note_one_group_note_per_session",
            ),
            models.UniqueConstraint(
                fields=["session", "patient"],
                condition=Q(patient__isnull=False),
                name="note_one_per_patient_and_session",
            ),
            models.CheckConstraint(
                condition=(Q(kind="group") & Q(patient__isnull=True))
                | (~Q(kind="group") & Q(patient__isnull=False)),
                name="note_patient_iff_not_group",
            ),
            models.CheckConstraint(
                condition=Q(kind="group_member", group_note__isnull=False)
                | (~Q(kind="group_member") & Q(group_note__isnull=True)),
                name="note_member_has_group_note",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(signed_at__isnull=False) & Q(signed_by__isnull=False) & ~Q(content_sha256="")),
                name="note_signed_has_signature",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__gt=F("started_at")), name="note_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED


class GroupNoteEntry(models.Model):
    """One booked patient's part of a group note while it is a draft (and the record of it
    once signed). Prefilled from attendance; ``absence_note`` is what absent patients get."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="entries")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    attendance_status = models.CharField(max_length=20)
    minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    participation = models.TextField(blank=True)
    mood = models.TextField(blank=True)
    response = models.TextField(blank=True)
    progress = models.TextField(blank=True)
    risk = models.TextField(blank=True)
    plan = models.TextField(blank=True)
    absence_note = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["note", "patient__last_name", "patient__first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["note", "patient"], name="entry_one_per_patient"),
        ]

    def __str__(self) -> str:
        return f"Entry for patient {self.patient_id} in note {self.note_id}"


class EntryGoal(models.Model):
    """A treatment-plan goal a group-note entry reports progress on."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(GroupNoteEntry, on_delete=models.CASCADE, related_name="goal_links")
    goal = models.ForeignKey("PlanGoal", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "goal"], name="entrygoal_unique"),
        ]

    def __str__(self) -> str:
        return f"Entry {self.entry_id} → goal {self.goal_id}"


class NoteGoal(models.Model):
    """The golden thread: a patient note's progress section addresses this plan goal."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="goal_links")
    goal = models.ForeignKey("PlanGoal", on_delete=models.PROTECT, related_name="note_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["note", "goal"], name="notegoal_unique"),
        ]

    def __str__(self) -> str:
        return f"Note {self.note_id} → goal {self.goal_id}"


class Addendum(models.Model):
    """A signed correction or late entry to a signed note. Append-only; the note stays."""

    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField(max_length=200)
    text = models.TextField()
    signed_at = models.DateTimeField()
    content_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["signed_at", "id"]
        verbose_name_plural = "addenda"

    def __str__(self) -> str:
        return f"Addendum #{self.pk} to note {self.note_id}"


class Cosignature(models.Model):
    """A supervisor's co-signature of a supervised clinician's signed note. Append-only."""

    note = models.OneToOneField(Note, on_delete=models.PROTECT, related_name="cosignature")
    cosigner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signer_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    content_sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"Co-signature of note {self.note_id}"


# --- Treatment plans -------------------------------------------------------------------


class PlanKind(models.TextChoices):
    INITIAL = "initial", "Initial plan"
    REVIEW = "review", "Plan review"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class TreatmentPlan(models.Model):
    """One version of a patient's treatment plan in an enrollment's episode.

    Problems → goals → measurable objectives and interventions. A review makes a new version
    (a copy of the latest signed one) that is edited and signed in turn; signed versions are
    immutable. The current plan is the latest signed version.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_plans")
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, related_name="treatment_plans"
    )
    number = models.PositiveSmallIntegerField(help_text="Version number for this patient.")
    kind = models.CharField(max_length=8, choices=PlanKind.choices)
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="next_version"
    )
    status = models.CharField(max_length=8, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    summary = models.TextField(
        blank=True, help_text="Presenting problems, strengths and needs in brief."
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    signer_name = models.CharField(max_length=200, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    # Set at signing from the program's review interval.
    review_due_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["patient", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "number"], name="plan_patient_number"),
            # At most one draft per patient at a time.
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="draft"), name="plan_one_draft"
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(signed_at__isnull=False) & Q(signed_by__isnull=False) & ~Q(content_sha256="")),
                name="plan_signed_has_signature",
            ),
        ]

    def __str__(self) -> str:
        return f"Treatment plan v{self.number} of patient {self.patient_id}"


class PlanProblem(models.Model):
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="problems")
    position = models.PositiveSmallIntegerField(default=0)
    statement = models.TextField()

    class Meta:
        ordering = ["plan", "position", "id"]

    def __str__(self) -> str:
        return self.statement


class PlanGoal(models.Model):
    """A goal. ``thread`` is shared by the copies of this goal in later plan versions, so the
    golden thread (notes that addressed it) follows the goal across reviews."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="goals")
    problem = models.ForeignKey(PlanProblem, on_delete=models.CASCADE, related_name="goals")
    position = models.PositiveSmallIntegerField(default=0)
    statement = models.TextField()
    thread = models.UUIDField(default=uuid.uuid4, db_index=True)

    class Meta:
        ordering = ["plan", "problem__position", "position", "id"]

    def __str__(self) -> str:
        return self.statement


class ObjectiveStatus(models.TextChoices):
    OPEN = "open", "In progress"
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    DISCONTINUED = "discontinued", "Discontinued"


class PlanObjective(models.Model):
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="objectives")
    goal = models.ForeignKey(PlanGoal, on_delete=models.CASCADE, related_name="objectives")
    position = models.PositiveSmallIntegerField(default=0)
    statement = models.TextField(help_text="Measurable: who does what, how much, by when.")
    target_date = models.DateField()
    status = models.CharField(
        max_length=12, choices=ObjectiveStatus.choices, default=ObjectiveStatus.OPEN
    )

    class Meta:
        ordering = ["plan", "goal", "position", "id"]

    def __str__(self) -> str:
        return self.statement


class PlanIntervention(models.Model):
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="interventions")
    goal = models.ForeignKey(PlanGoal, on_delete=models.CASCADE, related_name="interventions")
    position = models.PositiveSmallIntegerField(default=0)
    modality = models.CharField(max_length=120, help_text="e.g. CBT group, individual therapy.")
    frequency = models.CharField(max_length=120, help_text="e.g. 3 times a week.")
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["plan", "goal", "position", "id"]

    def __str__(self) -> str:
        return f"{self.modality}, {self.frequency}"


class PlanAcknowledgement(models.Model):
    """The patient's acknowledgement of a signed plan: their typed name and the time."""

    plan = models.OneToOneField(
        TreatmentPlan, on_delete=models.PROTECT, related_name="acknowledgement"
    )
    typed_name = models.CharField(max_length=200)
    acknowledged_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Acknowledgement of plan {self.plan_id}"


# --- Relapse-prevention plans ------------------------------------------------------------


class RelapsePreventionPlan(models.Model):
    """One version of a patient's relapse-prevention plan. Every save is a new version;
    versions are append-only. ``supports`` is a list of {"name", "phone", "relationship"}."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="relapse_prevention_plans"
    )
    number = models.PositiveSmallIntegerField()
    triggers = models.TextField(blank=True)
    warning_signs = models.TextField(blank=True)
    high_risk_situations = models.TextField(blank=True)
    coping_strategies = models.TextField(blank=True)
    craving_plan = models.TextField(blank=True)
    supports = models.JSONField(default=list, blank=True)
    emergency_steps = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "number"], name="rpp_patient_number"),
        ]

    def __str__(self) -> str:
        return f"Relapse-prevention plan v{self.number} of patient {self.patient_id}"


# --- Disclosure log (42 CFR Part 2, DOMAIN.md §11) ---------------------------------------


class DocumentKind(models.TextChoices):
    ATTENDANCE_LETTER = "attendance_letter", "Attendance verification letter"
    TREATMENT_PLAN = "treatment_plan", "Treatment plan"
    DISCHARGE_SUMMARY = "discharge_summary", "Discharge summary"
    RELAPSE_PREVENTION_PLAN = "relapse_prevention_plan", "Relapse-prevention plan"
    CLINICAL_NOTE = "clinical_note", "Clinical note"


class DisclosureBasis(models.TextChoices):
    PATIENT_CONSENT = "patient_consent", "Patient's written consent (§2.31)"
    PATIENT_REQUEST = "patient_request", "Given to the patient at their request"
    COURT_ORDER = "court_order", "Court order (§2.61 ff.)"
    MEDICAL_EMERGENCY = "medical_emergency", "Medical emergency (§2.51)"


class Disclosure(models.Model):
    """One disclosure of a patient's record: what, to whom, why, by whom, when. Append-only."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="disclosures")
    document = models.CharField(max_length=30, choices=DocumentKind.choices)
    description = models.CharField(max_length=300)
    recipient = models.CharField(max_length=200)
    purpose = models.CharField(max_length=300)
    basis = models.CharField(max_length=20, choices=DisclosureBasis.choices)
    disclosed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    disclosed_at = models.DateTimeField()
    content_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the PDF given out.")

    class Meta:
        ordering = ["-disclosed_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-disclosed_at"], name="disclosure_patient_time"),
            models.Index(fields=["site", "-disclosed_at"], name="disclosure_site_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_document_display()} for {self.recipient}"
