"""Forms of the individual-note editor, the start page and the addendum box."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django import forms

from openiop.clinical.individual_notes import INDIVIDUAL_FORMATS, MAX_SECTION_LENGTH
from openiop.clinical.models import FORMAT_SECTIONS, NoteFormat, PlanGoal
from openiop.clinical.signing import ADDENDUM_MAX_LENGTH
from openiop.lib.dates import at_local

FORMAT_CHOICES = [(f.value, f.label) for f in NoteFormat if f in INDIVIDUAL_FORMATS]
FORMAT_HELP = {
    NoteFormat.DAP: "Data, Assessment, Plan",
    NoteFormat.BIRP: "Behavior, Intervention, Response, Plan",
    NoteFormat.SOAP: "Subjective, Objective, Assessment, Plan",
}
# What each section asks for, shown under its label.
SECTION_HINTS = {
    "data": "What the client said and what you observed.",
    "assessment": "Your clinical reading: progress, risk, mental status.",
    "plan": "Next steps, homework, next session.",
    "behavior": "Presentation and what the client reported.",
    "intervention": "What you did: techniques, modality.",
    "response": "How the client responded to the interventions.",
    "subjective": "The client's own account, in their words where useful.",
    "objective": "Observations: affect, appearance, behaviour, screens.",
}


class StartNoteForm(forms.Form):
    format = forms.ChoiceField(choices=FORMAT_CHOICES, widget=forms.RadioSelect, initial="dap")


class FormatForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    format = forms.ChoiceField(choices=FORMAT_CHOICES)


class IndividualNoteForm(forms.Form):
    """The whole draft as the editor shows it: sections, the session's start and end clock
    times (on the session's day at the site) and the goals addressed."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    started_at = forms.TimeField(
        label="Started", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    ended_at = forms.TimeField(
        label="Ended", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    goal_ids = forms.TypedMultipleChoiceField(
        label="Treatment-plan goals addressed",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        note_format: str,
        goals: list[PlanGoal],
        day: date,
        time_zone: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.day, self.time_zone = day, time_zone
        self.section_codes = [code for code, _ in FORMAT_SECTIONS[note_format]]
        for code, label in FORMAT_SECTIONS[note_format]:
            self.fields[code] = forms.CharField(
                label=label,
                required=False,
                strip=False,
                max_length=MAX_SECTION_LENGTH,
                help_text=SECTION_HINTS.get(code, ""),
                widget=forms.Textarea(attrs={"rows": 5}),
            )
        self.fields["goal_ids"].choices = [(goal.pk, goal.statement) for goal in goals]

    def sections(self) -> list[forms.BoundField]:
        return [self[code] for code in self.section_codes]

    def _moment(self, clock: time) -> datetime:
        return at_local(self.day, clock, self.time_zone)

    def service_data(self) -> dict[str, Any]:
        """What ``update_individual_note`` takes, from the cleaned form."""
        data: dict[str, Any] = {code: self.cleaned_data[code] for code in self.section_codes}
        data["started_at"] = self._moment(self.cleaned_data["started_at"])
        data["ended_at"] = self._moment(self.cleaned_data["ended_at"])
        data["goal_ids"] = self.cleaned_data["goal_ids"]
        return data


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Addendum",
        max_length=ADDENDUM_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="A dated, signed correction or late entry. The original note stays as signed.",
    )
