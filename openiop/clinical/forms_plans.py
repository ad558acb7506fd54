"""Forms of the plan screens. They parse and type input; the services decide what is valid."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from openiop.accounts.models import User
from openiop.clinical.models import ObjectiveStatus
from openiop.clinical.plans import SHORT_MAX_LENGTH, STATEMENT_MAX_LENGTH, SUMMARY_MAX_LENGTH
from openiop.clinical.relapse_prevention import SECTION_MAX_LENGTH, SECTIONS


class DateInput(forms.DateInput):
    input_type = "date"


def _text_area(rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput(), min_value=1)


class SummaryForm(VersionForm):
    summary = forms.CharField(
        label="Summary",
        required=False,
        max_length=SUMMARY_MAX_LENGTH,
        widget=_text_area(3),
        help_text="Presenting problems, strengths and needs in brief.",
    )


class ProblemForm(VersionForm):
    statement = forms.CharField(
        label="Problem", max_length=STATEMENT_MAX_LENGTH, widget=_text_area(2)
    )


class GoalForm(VersionForm):
    statement = forms.CharField(
        label="Goal",
        max_length=STATEMENT_MAX_LENGTH,
        widget=_text_area(2),
        help_text="In the patient's words where possible.",
    )


class ObjectiveForm(VersionForm):
    statement = forms.CharField(
        label="Measurable objective",
        max_length=STATEMENT_MAX_LENGTH,
        widget=_text_area(2),
        help_text="Who does what, how much, by when.",
    )
    target_date = forms.DateField(label="Target date", widget=DateInput())
    status = forms.ChoiceField(choices=ObjectiveStatus.choices, initial=ObjectiveStatus.OPEN)


class InterventionForm(VersionForm):
    modality = forms.CharField(
        label="Intervention", max_length=SHORT_MAX_LENGTH, help_text="e.g. CBT group."
    )
    frequency = forms.CharField(
        label="Frequency", max_length=SHORT_MAX_LENGTH, help_text="e.g. 3 times a week."
    )
    responsible = forms.ModelChoiceField(
        queryset=User.objects.none(), label="Responsible", empty_label="Choose a staff member"
    )

    def __init__(self, *args: Any, staff: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.fields["responsible"].queryset = staff
        self.fields["responsible"].label_from_instance = lambda u: u.signature_name


ITEM_FORMS: dict[str, type[VersionForm]] = {
    "problem": ProblemForm,
    "goal": GoalForm,
    "objective": ObjectiveForm,
    "intervention": InterventionForm,
}


def item_form(kind: str, *args: Any, staff: Any = None, **kwargs: Any) -> VersionForm:
    form_class = ITEM_FORMS[kind]
    if form_class is InterventionForm:
        return InterventionForm(*args, staff=staff, **kwargs)
    return form_class(*args, **kwargs)


class AcknowledgeForm(forms.Form):
    typed_name = forms.CharField(
        label="Patient's name, typed by the patient",
        max_length=200,
        help_text="Their legal or preferred name, as on the chart.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class RelapsePreventionForm(forms.Form):
    based_on = forms.IntegerField(widget=forms.HiddenInput(), required=False, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, label, help_text in SECTIONS:
            self.fields[code] = forms.CharField(
                label=label,
                required=False,
                max_length=SECTION_MAX_LENGTH,
                help_text=help_text,
                widget=_text_area(3),
            )


def supports_from_post(data: Any) -> list[dict[str, str]]:
    """The sober-support rows of a posted form, in order (blank rows kept for their index)."""
    names = data.getlist("support_name")
    phones = data.getlist("support_phone")
    relationships = data.getlist("support_relationship")
    count = max(len(names), len(phones), len(relationships))

    def at(values: list[str], index: int) -> str:
        return values[index] if index < len(values) else ""

    return [
        {
            "name": at(names, index),
            "phone": at(phones, index),
            "relationship": at(relationships, index),
        }
        for index in range(count)
    ]


def apply_errors(form: forms.Form, exc: ValidationError) -> dict[str, list[str]]:
    """Put a service's errors on the form's fields; return those that name no field."""
    rest: dict[str, list[str]] = {}
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return rest
    for key, messages in exc.message_dict.items():
        if key in form.fields or key == "__all__":
            for message in messages:
                form.add_error(None if key == "__all__" else key, message)
        else:
            rest[key] = messages
    return rest
