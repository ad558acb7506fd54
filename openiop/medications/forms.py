"""Forms of the medications page. They parse and type what the page posts; the services decide
what is valid and their field errors land back on these forms."""

from __future__ import annotations

from typing import Any

from django import forms

from openiop.accounts.models import User
from openiop.medications import schedule
from openiop.medications.catalog import MEDICATIONS, MedicationClass
from openiop.medications.models import DISPENSING_CHOICES, ROUTE_CHOICES, MedicationOrder
from openiop.medications.services import DOSE_UNITS

_CLASS_LABELS = {
    MedicationClass.MOUD: "Medications for opioid use disorder",
    MedicationClass.NALTREXONE: "Naltrexone",
    MedicationClass.RESCUE: "Overdose rescue",
    MedicationClass.PSYCHIATRIC: "Psychiatric medications",
}


def _medication_choices() -> list[Any]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for medication in MEDICATIONS:
        label = _CLASS_LABELS[medication.medication_class]
        groups.setdefault(label, []).append((medication.code, medication.name))
    return [("", "Choose a medication…"), *groups.items()]


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"


class OrderForm(forms.Form):
    medication = forms.ChoiceField(choices=_medication_choices)
    dose = forms.CharField(max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    dose_unit = forms.ChoiceField(label="Unit", choices=[(u, u) for u in DOSE_UNITS], initial="mg")
    route = forms.ChoiceField(
        choices=[("", "The medication's usual route"), *ROUTE_CHOICES], required=False
    )
    frequency = forms.CharField(
        max_length=80, help_text="For example “daily”, “every 28 days” or “at bedtime”."
    )
    started_on = forms.DateField(label="Starts", widget=DateInput)
    ended_on = forms.DateField(label="Ends", required=False, widget=DateInput)
    prescriber_id = forms.TypedChoiceField(label="Prescriber", coerce=int, required=False)
    dispensing = forms.ChoiceField(choices=DISPENSING_CHOICES)
    external_prescriber = forms.CharField(
        label="Outside program or prescriber",
        max_length=200,
        required=False,
        help_text="Required for methadone: the opioid treatment program that dispenses it.",
    )
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea({"rows": 2}))

    def __init__(self, *args: Any, prescribers: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["prescriber_id"].choices = [
            ("", "— (outside prescriber, or me)"),
            *((str(u.pk), u.signature_name) for u in prescribers),
        ]
        self.medication_groups = _medication_choices()[1:]


class StopForm(forms.Form):
    ended_on = forms.DateField(label="Last day", widget=DateInput)
    version = forms.IntegerField(widget=forms.HiddenInput)


class DoseForm(forms.Form):
    """A dose of one in-clinic order. ``acknowledged`` carries the digest of the warnings the
    nurse was shown; ``confirm`` is the box ticked to say they were read."""

    given_at = forms.CharField(
        label="Given at",
        widget=DateTimeLocalInput,
        required=False,
    )
    dose = forms.CharField(
        max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    injection_site = forms.ChoiceField(label="Injection site", required=False)
    lot = forms.CharField(label="Lot number", max_length=60, required=False)
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea({"rows": 2}))
    acknowledged = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label="I have read the warnings above and the dose was given as recorded.",
        required=False,
    )

    def __init__(self, *args: Any, order: MedicationOrder, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"dose-{order.pk}")
        super().__init__(*args, **kwargs)
        self.order = order
        if schedule.is_injectable(order.medication):
            sites = schedule.rule_for(order.medication).sites
            self.fields["injection_site"].choices = [
                ("", "Choose the site…"),
                *((s, schedule.site_label(s).capitalize()) for s in sites),
            ]
        else:
            del self.fields["injection_site"]

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "confirm"}
        data["order_id"] = self.order.pk
        # Only a ticked box passes the acknowledgement on.
        if not self.cleaned_data.get("confirm"):
            data["acknowledged"] = ""
        return data
