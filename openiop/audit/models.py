from __future__ import annotations

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    VIEW = "view", "View"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    EXPORT = "export", "Export"
    PRINT = "print", "Print"
    LOGIN = "login", "Sign-in"
    LOGOUT = "logout", "Sign-out"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    ACCESS_DENIED = "access_denied", "Access denied"
    BREAK_GLASS = "break_glass", "Emergency access"
    MFA_ENROLLED = "mfa_enrolled", "Second factor enrolled"
    TOKEN_CREATED = "token_created", "API token created"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    USER_DISABLED = "user_disabled", "User disabled"
    USER_ENABLED = "user_enabled", "User re-enabled"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


class AuditEvent(models.Model):
    """One thing someone did or tried. Append-only: the database rejects UPDATE and DELETE."""

    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=True,
    )
    # Kept as text too: the username at the time, and what a failed sign-in typed.
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, blank=True)
    site = models.ForeignKey(
        "accounts.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    detail = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["site", "-occurred_at"], name="audit_site_time"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_username} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        # The database triggers are the real guard; this gives the ORM a clear error first.
        if self.pk is not None and not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]
