from __future__ import annotations

from typing import Any

from django import forms

from openiop.accounts.models import Membership, Site
from openiop.audit.models import Action, Outcome
from openiop.audit.queries import DEFAULT_SORT, SORT_CHOICES


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        # ISO only: what <input type="date"> sends, whatever the browser's locale.
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    """The audit screen's and CSV export's filters, read from the query string."""

    date_from = forms.DateField(
        label="From", required=False, input_formats=["%Y-%m-%d"], widget=DateInput()
    )
    date_to = forms.DateField(
        label="To", required=False, input_formats=["%Y-%m-%d"], widget=DateInput()
    )
    user = forms.TypedChoiceField(label="User", required=False, coerce=int, empty_value=None)
    patient = forms.IntegerField(
        label="Patient ID",
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"invalid": "Enter a patient ID: digits only."},
    )
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *Action.choices]
    )
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any outcome"), *Outcome.choices]
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[(key, key) for key in SORT_CHOICES],
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "The list cannot be sorted that way."},
    )

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = (
            Membership.objects.filter(site=site)
            .select_related("user")
            .order_by("user__last_name", "user__first_name", "user__username")
        )
        self.fields["user"].choices = [("", "Anyone")] + [  # type: ignore[attr-defined]
            (str(m.user_id), f"{m.user.display_name} ({m.user.username})") for m in staff
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_to < date_from:
            self.add_error("date_to", "“To” must be on or after “From”.")
        data["sort"] = data.get("sort") or DEFAULT_SORT
        return data

    def applied(self) -> dict[str, str]:
        """The filters in use, as text, for the export's own audit event."""
        return {
            name: str(value)
            for name, value in self.cleaned_data.items()
            if value not in (None, "") and name != "sort"
        }
