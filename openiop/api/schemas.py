from __future__ import annotations

from datetime import UTC, date, datetime

from ninja import Field, Schema
from pydantic import AwareDatetime, ValidationInfo, field_serializer, field_validator

from openiop.audit.models import Action, Outcome
from openiop.audit.queries import DEFAULT_SORT, SORT_CHOICES, check_sort


class Detail(Schema):
    detail: str


class SiteRole(Schema):
    site_id: int
    site_name: str
    time_zone: str
    role: str


class Me(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    credentials: str
    sites: list[SiteRole]


class FieldError(Schema):
    field: str
    message: str
    type: str


class ValidationErrors(Schema):
    detail: list[FieldError]


class AuditEventFilters(Schema):
    """Query parameters of GET /audit-events. Every filter given must match (AND)."""

    date_from: date | None = Field(
        None, description="First calendar day, in UTC, inclusive (YYYY-MM-DD)."
    )
    date_to: date | None = Field(
        None, description="Last calendar day, in UTC, inclusive (YYYY-MM-DD)."
    )
    since: AwareDatetime | None = Field(
        None, description="ISO 8601 instant with a UTC offset, inclusive."
    )
    until: AwareDatetime | None = Field(
        None, description="ISO 8601 instant with a UTC offset, exclusive."
    )
    site_id: int | None = Field(
        None,
        ge=1,
        description="Only this one of your auditor sites (with its members' site-less events).",
    )
    actor_id: int | None = Field(None, ge=1, description="The acting user's id.")
    username: str | None = Field(
        None,
        min_length=1,
        max_length=150,
        description="Username recorded on the event, any case; finds failed sign-ins too.",
    )
    patient_id: int | None = Field(None, ge=1, le=2**63 - 1)
    action: Action | None = None
    outcome: Outcome | None = None
    sort: str = Field(
        DEFAULT_SORT,
        description=f"One of {', '.join(SORT_CHOICES)}; a leading '-' sorts descending.",
    )
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        return check_sort(value)

    @field_validator("date_to")
    @classmethod
    def _date_to_after_from(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("date_from")
        if value is not None and start is not None and value < start:
            raise ValueError("date_to must be on or after date_from")
        return value

    @field_validator("until")
    @classmethod
    def _until_after_since(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("since")
        if value is not None and start is not None and value <= start:
            raise ValueError("until must be after since")
        return value


class AuditEventOut(Schema):
    id: int
    occurred_at: datetime
    actor_id: int | None
    actor_username: str
    role: str
    site_id: int | None
    action: str
    object_type: str
    object_id: str
    patient_id: int | None
    outcome: str
    detail: str
    ip: str | None
    user_agent: str
    request_id: str

    @field_serializer("occurred_at")
    def _utc_to_the_microsecond(self, value: datetime) -> str:
        # The default JSON encoder rounds to milliseconds; audit trails are matched to the
        # microsecond (the CSV export prints them so too).
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AuditEventPage(Schema):
    count: int = Field(description="How many events match, over all pages.")
    results: list[AuditEventOut]
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")
