from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from openiop.accounts.roles import Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/Chicago).")


class User(AbstractUser):
    """A staff member. Credentials shown on notes (e.g. "LCSW, CADC") live here."""

    credentials = models.CharField(max_length=80, blank=True)
    # Clinical supervision (issue 4 §7): notes signed by a supervised clinician (one with a
    # supervisor) wait for a co-signature by a clinical supervisor.
    is_clinical_supervisor = models.BooleanField(default=False)
    supervisor = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="supervisees"
    )
    # Who disabled the account and when, so a director can see why someone cannot sign in.
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
        ]

    @property
    def display_name(self) -> str:
        full = self.get_full_name()
        return full or self.username

    @property
    def signature_name(self) -> str:
        """Name with credentials, as it appears under a signature: "Tom Fakename, LCSW"."""
        return f"{self.display_name}, {self.credentials}" if self.credentials else self.display_name

    @property
    def is_supervised(self) -> bool:
        return self.supervisor_id is not None


class Site(models.Model):
    """A clinic location. "Today" and "this week" are computed in its time zone."""

    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    address = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role at one site. One role per user and site; the policy table does the rest."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="accounts_membership_one_role"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="accounts_membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.site}"


class UserSession(models.Model):
    """The sessions a user has signed in with, so that disabling a user can end all of them."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A bearer token for /api/v1. Only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, help_text="First characters, to tell tokens apart.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
