from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from openiop.accounts.models import Site
from openiop.patients.models import Patient
from openiop.programs.models import Enrollment, Track

DEFAULT_GROUP_CAPACITY = 12  # Medicare contractor cap for 90853; configurable per series.


class GroupType(models.Model):
    """CBT, DBT, process, skills, … (DOMAIN.md §2). Seeded, editable by directors."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CurriculumModule(models.Model):
    """A life-skills curriculum module a group session teaches (issue 4 §6). Organization-wide."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    """A room at a site; locked while a session is placed in it, to refuse double-booking."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=80)
    capacity = models.PositiveSmallIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="room_site_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class GroupSeries(models.Model):
    """A recurring group: every ``weekday`` at ``start_time`` (the site's local time)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="group_series")
    track = models.ForeignKey(
        Track, on_delete=models.PROTECT, null=True, blank=True, related_name="group_series"
    )
    group_type = models.ForeignKey(GroupType, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=120)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(help_text="Local time at the site.")
    duration_minutes = models.PositiveSmallIntegerField()
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="group_series"
    )
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="group_series"
    )
    capacity = models.PositiveSmallIntegerField(default=DEFAULT_GROUP_CAPACITY)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["weekday", "start_time", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="series_weekday_0_6"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=15, duration_minutes__lte=600),
                name="series_duration_15_600",
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="series_capacity_ge_1"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="series_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_weekday_display()} {self.start_time:%H:%M})"


class IndividualSeries(models.Model):
    """Recurring individual therapy for one enrollment, on its cadence (weekly or biweekly)."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, related_name="individual_series"
    )
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="individual_series"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(help_text="Local time at the site.")
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    interval_weeks = models.PositiveSmallIntegerField(default=1)
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="individual_series"
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_weeks__in=[1, 2]), name="individual_interval_1_or_2"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=15, duration_minutes__lte=180),
                name="individual_duration_15_180",
            ),
        ]

    def __str__(self) -> str:
        return f"Individual therapy for enrollment {self.enrollment_id}"


class SessionKind(models.TextChoices):
    GROUP = "group", "Group"
    INDIVIDUAL = "individual", "Individual"


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"


class Session(models.Model):
    """One occurrence of a group or an individual session. Times are stored in UTC."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="sessions")
    kind = models.CharField(max_length=10, choices=SessionKind.choices)
    group_series = models.ForeignKey(
        GroupSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    individual_series = models.ForeignKey(
        IndividualSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    group_type = models.ForeignKey(
        GroupType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    curriculum_module = models.ForeignKey(
        CurriculumModule,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sessions",
    )
    title = models.CharField(max_length=120)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField()
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="facilitated_sessions"
    )
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    capacity = models.PositiveSmallIntegerField(default=DEFAULT_GROUP_CAPACITY)
    status = models.CharField(
        max_length=10, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["site", "starts_at"], name="session_site_start"),
            models.Index(fields=["facilitator", "starts_at"], name="session_facilitator_start"),
            models.Index(fields=["room", "starts_at"], name="session_room_start"),
        ]
        constraints = [
            # Materializing a series twice never makes two sessions at the same time.
            models.UniqueConstraint(
                fields=["group_series", "starts_at"], name="session_group_series_start_unique"
            ),
            models.UniqueConstraint(
                fields=["individual_series", "starts_at"],
                name="session_individual_series_start_unique",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="session_capacity_ge_1"),
        ]

    def __str__(self) -> str:
        return f"{self.title} at {self.starts_at:%Y-%m-%d %H:%M} UTC"


class BookingKind(models.TextChoices):
    TRACK = "track", "Track schedule"
    DROP_IN = "drop_in", "Drop-in"
    INDIVIDUAL = "individual", "Individual session"


class AttendanceStatus(models.TextChoices):
    """DOMAIN.md §5. "booked" means nothing has been recorded yet."""

    BOOKED = "booked", "Booked"
    PRESENT = "present", "Present"
    LATE = "late", "Late"
    LEFT_EARLY = "left_early", "Left early"
    EXCUSED = "excused", "Excused absence"
    UNEXCUSED = "unexcused", "Unexcused absence"
    NO_SHOW = "no_show", "No-show"
    CANCELLED_BY_CLINIC = "cancelled_by_clinic", "Cancelled by clinic"
    CANCELLED = "cancelled", "Booking cancelled"


# Statuses whose minutes count toward weekly hours.
ATTENDED_STATUSES = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)
# Statuses that hold a seat in the session.
SEAT_STATUSES = (
    AttendanceStatus.BOOKED,
    AttendanceStatus.PRESENT,
    AttendanceStatus.LATE,
    AttendanceStatus.LEFT_EARLY,
    AttendanceStatus.EXCUSED,
    AttendanceStatus.UNEXCUSED,
    AttendanceStatus.NO_SHOW,
)


class Booking(models.Model):
    """A patient's place in a session, and, once recorded, their attendance."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="bookings")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="bookings")
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, null=True, blank=True, related_name="bookings"
    )
    kind = models.CharField(max_length=10, choices=BookingKind.choices)
    status = models.CharField(
        max_length=20, choices=AttendanceStatus.choices, default=AttendanceStatus.BOOKED
    )
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    minutes_attended = models.PositiveSmallIntegerField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session__starts_at", "id"]
        indexes = [
            models.Index(fields=["patient", "status"], name="booking_patient_status"),
            models.Index(fields=["session", "status"], name="booking_session_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "patient"], name="booking_one_per_patient_and_session"
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | Q(checked_in_at__isnull=True)
                | Q(checked_out_at__gte=F("checked_in_at")),
                name="booking_checkout_after_checkin",
            ),
        ]

    def __str__(self) -> str:
        return f"Patient {self.patient_id} in session {self.session_id}: {self.status}"
