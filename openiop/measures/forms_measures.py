"""Forms of the questionnaire screens. They parse input; the registry and services decide what
is valid (``record_measure`` names the item at fault, and its errors land beside that item)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from openiop.measures import instruments
from openiop.measures.models import Respondent
from openiop.measures.services import (
    EVERY_DAYS_MAX,
    NUMBER_MAX,
    SETTINGS_MAXIMUM,
    SETTINGS_MINIMUM,
    STRIKE_REASON_MAX_LENGTH,
)
from openiop.programs.forms import DateInput


def item_field(number: int) -> str:
    return f"item_{number}"


class AdministerForm(forms.Form):
    """One radio group per item (``item_<n>``), the date taken and who answered."""

    taken_on = forms.DateField(label="Date taken", widget=DateInput)
    respondent = forms.ChoiceField(
        label="Answered by", choices=Respondent.choices, initial=Respondent.STAFF
    )

    def __init__(self, *args: Any, instrument: instruments.Instrument, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        for item in instrument.items:
            self.fields[item_field(item.number)] = forms.TypedChoiceField(
                label=f"{item.number}. {item.text}",
                choices=[(str(option.value), option.label) for option in item.options],
                coerce=int,
                required=False,
                widget=forms.RadioSelect,
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # Every item at fault at once (the registry, which has the last word, stops at the
        # first one): blank questions that are asked, and answers to questions the skip logic
        # leaves out given the gate's answer.
        for item in self.instrument.items:
            name = item_field(item.number)
            if name in self.errors:
                continue
            blank = data.get(name) in (None, "")
            if item.asked_if is None:
                if item.required and blank:
                    self.add_error(name, f"Answer item {item.number}.")
                continue
            gate, opening = item.asked_if
            gate_value = data.get(item_field(gate))
            if gate_value in (None, ""):
                continue
            if gate_value in opening and item.required and blank:
                self.add_error(
                    name, f"Answer item {item.number}: it is asked because of item {gate}."
                )
            elif gate_value not in opening and not blank:
                self.add_error(
                    name, f"Leave item {item.number} blank: the answer to item {gate} skips it."
                )
        return data

    def answers(self) -> dict[int, int]:
        answers = {}
        for item in self.instrument.items:
            value = self.cleaned_data.get(item_field(item.number))
            if value not in (None, ""):
                answers[item.number] = value
        return answers

    def items(self) -> list[dict[str, Any]]:
        """The items with their bound field, for the template's fieldsets."""
        return [
            {"item": item, "field": self[item_field(item.number)]} for item in self.instrument.items
        ]


def apply_measure_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service error ``answers.<n>`` goes beside item n; the others beside their field."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for key, errors in exc.message_dict.items():
        target: str | None = key
        if key.startswith("answers."):
            target = "item_" + key.removeprefix("answers.")
        if target not in form.fields:
            target = None
        for error in errors:
            form.add_error(target, error)


class StrikeForm(forms.Form):
    reason = forms.CharField(
        label="Why is this response struck?",
        max_length=STRIKE_REASON_MAX_LENGTH,
        widget=forms.TextInput,
        help_text="E.g. entered for the wrong patient, or answers keyed in wrongly.",
    )


class ScheduleForm(forms.Form):
    instrument = forms.ChoiceField(
        label="Questionnaire",
        choices=[(code, f"{code} — {i.name}") for code, i in instruments.INSTRUMENTS.items()],
    )
    at_intake = forms.BooleanField(label="At intake", required=False)
    every_days = forms.IntegerField(
        label="Every N days",
        required=False,
        min_value=1,
        max_value=EVERY_DAYS_MAX,
        help_text=f"1–{EVERY_DAYS_MAX} days after the last one; empty for none.",
    )
    at_discharge = forms.BooleanField(label="At discharge", required=False)


# Settings: (field, label, help text) under the three headings of the setup page.
SETTINGS_GROUPS: list[tuple[str, list[tuple[str, str, str]]]] = [
    (
        "Questionnaires",
        [
            (
                "pcl5_threshold",
                "PCL-5: probable PTSD at or above",
                "Total score (0–80) read as probable PTSD. Commonly 31–33; default 33.",
            ),
        ],
    ),
    (
        "Placement",
        [
            (
                "placement_review_days",
                "Reassess placement every (days)",
                "Days between placement reassessments of an active enrollment; default 30.",
            ),
        ],
    ),
    (
        "Step-up / step-down review signals",
        [
            (
                "unexpected_screens",
                "Step up: unexpected screens",
                "Repeated unexpected positive screens recommend a step-up review "
                "(a policy seen in practice: 3 positives → evaluation).",
            ),
            (
                "unexpected_window_days",
                "Step up: counting unexpected screens over (days)",
                "The window those unexpected screens are counted over.",
            ),
            (
                "missed_weeks",
                "Step up: weeks running with missed hours",
                "Closed weeks in a row below the weekly hours floor.",
            ),
            (
                "score_window_days",
                "Step up: worsening-scores window (days)",
                "A PHQ-9 or GAD-7 band up, or a rising craving, within this window.",
            ),
            (
                "craving_rise",
                "Step up: craving rise (points)",
                "How far craving ratings must rise above the first rating in the window.",
            ),
            (
                "craving_sustain",
                "Step up: sustained over (ratings)",
                "How many latest ratings must all stay that high (a sustained rise).",
            ),
            (
                "safety_window_days",
                "Step up: safety flag within (days)",
                "Any high C-SSRS or PHQ-9 item 9 above 0 in this window.",
            ),
            (
                "stable_window_days",
                "Step down: stable window (days)",
                "The window for sustained negative screens and stable scores (e.g. 4 weeks).",
            ),
            (
                "stable_min_screens",
                "Step down: negative screens at least",
                "Screens in the window, none unexpected (0 allows none).",
            ),
            (
                "stable_weeks_met",
                "Step down: weeks with attendance at target",
                "Closed weeks in a row meeting the weekly hours floor.",
            ),
            (
                "stable_min_scores",
                "Step down: stable scores at least",
                "PHQ-9/GAD-7 scores in the window with no band up and no craving rise.",
            ),
            (
                "require_goals_met",
                "Step down: treatment-plan goals met",
                "Require the treatment plan's goals to be met before recommending a step down.",
            ),
        ],
    ),
]


class MeasureSettingsForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for _, fields in SETTINGS_GROUPS:
            for name, label, help_text in fields:
                if name == "require_goals_met":
                    self.fields[name] = forms.BooleanField(
                        label=label, help_text=help_text, required=False
                    )
                    continue
                self.fields[name] = forms.IntegerField(
                    label=label,
                    help_text=help_text,
                    min_value=SETTINGS_MINIMUM[name],
                    max_value=SETTINGS_MAXIMUM.get(name, NUMBER_MAX),
                )

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name, _, _ in fields]) for title, fields in SETTINGS_GROUPS]

    def values(self) -> dict[str, int | bool]:
        return {
            name: self.cleaned_data[name] for _, fields in SETTINGS_GROUPS for name, _, _ in fields
        }
