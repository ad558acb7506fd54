"""Forms of the group room: one roster row, and a session's cancellation."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms

from openiop.lib.dates import at_local, zone
from openiop.scheduling.attendance import ABSENT_STATUSES, RECORDABLE_STATUSES, AttendanceEntry
from openiop.scheduling.models import AttendanceStatus, Session


class AttendanceRowForm(forms.Form):
    """What one tap on a roster row posts: the status tapped plus the row's times and minutes.

    Times are the site's wall-clock times ("09:20") on the day the session starts. An absence
    tapped on a row that had times or minutes clears them, as a person tapping "No-show" means.
    """

    # Bounded so a tampered id is a form error, never a database integer overflow.
    booking = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in RECORDABLE_STATUSES],
        error_messages={"required": "Tap one of the attendance buttons."},
    )
    checked_in_at = forms.TimeField(
        label="Check-in", required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    checked_out_at = forms.TimeField(
        label="Check-out", required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    minutes = forms.IntegerField(label="Minutes", required=False, min_value=0, max_value=1440)

    def __init__(self, *args: Any, session: Session, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = session

    def _instant(self, clock: time | None) -> datetime | None:
        if clock is None:
            return None
        tz_name = self.session.site.time_zone
        start = self.session.starts_at.astimezone(zone(tz_name))
        moment = at_local(start.date(), clock, tz_name)
        # A group running past midnight: a clock time well before the start means the next day.
        if moment < self.session.starts_at - timedelta(hours=12):
            moment = at_local(start.date() + timedelta(days=1), clock, tz_name)
        return moment

    def entry(self) -> AttendanceEntry:
        data = self.cleaned_data
        absent = data["status"] in ABSENT_STATUSES
        return AttendanceEntry(
            booking_id=data["booking"],
            version=data["version"],
            status=AttendanceStatus(data["status"]),
            minutes=None if absent else data.get("minutes"),
            checked_in_at=None if absent else self._instant(data.get("checked_in_at")),
            checked_out_at=None if absent else self._instant(data.get("checked_out_at")),
        )


class CancelSessionForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        help_text="Shown on the roster and to the patients' therapists, e.g. “Thanksgiving”.",
        error_messages={"required": "Say why the session is cancelled."},
    )
