from __future__ import annotations

from django.db import models

from openiop.accounts.models import Site


class Patient(models.Model):
    """A person in treatment. Never deleted: a patient who leaves becomes inactive.

    ``site`` is where the patient is registered; staff see the patients of their sites.
    ``version`` implements optimistic locking: an edit names the version it read, and a stale
    one is refused (HTTP 409 / a form message) instead of overwriting someone else's change.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=20, unique=True)
    first_name = models.CharField("legal first name", max_length=100)
    last_name = models.CharField("legal last name", max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    pronouns = models.CharField(max_length=40, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=30, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    primary_language = models.CharField(max_length=60, default="English")
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    # Lower-cased copies for prefix search with an index (LIKE 'abc%' on PostgreSQL needs
    # the pattern-ops indexes added in the migration; SQLite uses the plain ones).
    first_name_key = models.CharField(max_length=100, editable=False, db_index=True)
    last_name_key = models.CharField(max_length=100, editable=False, db_index=True)
    preferred_name_key = models.CharField(max_length=100, editable=False, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["site", "last_name_key"], name="patient_site_last"),
            models.Index(fields=["date_of_birth"], name="patient_dob"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(version__gte=1), name="patient_version_ge_1"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        """Preferred first name when there is one, then the legal last name."""
        return f"{self.preferred_name or self.first_name} {self.last_name}"

    @property
    def legal_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def refresh_search_keys(self) -> None:
        self.first_name_key = self.first_name.strip().lower()
        self.last_name_key = self.last_name.strip().lower()
        self.preferred_name_key = self.preferred_name.strip().lower()


class MrnSequence(models.Model):
    """One row holding the last MRN number issued; locked while a new one is taken."""

    last_value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"MRN sequence at {self.last_value}"
