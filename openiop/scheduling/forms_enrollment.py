"""Forms of the admission, discharge, transfer and individual-therapy screens.

They only parse: every rule lives in the services, whose ``ValidationError``s are put back on
these forms' fields by ``add_service_errors``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from openiop.accounts.models import Site, User
from openiop.programs.enrollment import PRESCRIBER_ROLES, THERAPIST_ROLES
from openiop.programs.models import Cadence, DischargeReason, Program, Track, TransferKind
from openiop.scheduling.booking import INDIVIDUAL_ROLES
from openiop.scheduling.models import Room, Weekday

SELECT = {"class": "form-select"}
INPUT = {"class": "form-control"}


class StaffChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.display_name}{f', {obj.credentials}' if obj.credentials else ''}"


def staff_of(site: Site, roles: frozenset[str]) -> Any:
    return (
        User.objects.filter(is_active=True, memberships__site=site, memberships__role__in=roles)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def programs_of(site: Site) -> Any:
    return Program.objects.filter(site=site, is_active=True).select_related("level_of_care")


def tracks_of(program: Program | None) -> Any:
    if program is None:
        return Track.objects.none()
    return Track.objects.filter(program=program, is_active=True).order_by("name")


class ProgramChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Program) -> str:
        return f"{obj.name} — {obj.level_of_care.name} (ASAM {obj.level_of_care.code})"


class TrackChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Track) -> str:
        return obj.name


def _hours(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0,
        max_value=168,
        decimal_places=1,
        widget=forms.NumberInput(attrs={**INPUT, "step": "0.5", "inputmode": "decimal"}),
        help_text="Empty: the program's default.",
    )


class _ProgramTrackForm(forms.Form):
    """Program, a track of it, target hours and care team; shared by admission and transfer."""

    program = ProgramChoice(queryset=Program.objects.none(), widget=forms.Select(attrs=SELECT))
    track = TrackChoice(
        queryset=Track.objects.none(), required=False, widget=forms.Select(attrs=SELECT)
    )
    weekly_hours_min = _hours("Weekly target, floor (h)")
    weekly_hours_max = _hours("Weekly target, ceiling (h)")
    primary_therapist = StaffChoice(
        queryset=User.objects.none(),
        required=False,
        empty_label="— none yet —",
        widget=forms.Select(attrs=SELECT),
    )
    prescriber = StaffChoice(
        queryset=User.objects.none(),
        required=False,
        empty_label="— none —",
        widget=forms.Select(attrs=SELECT),
    )
    individual_cadence = forms.ChoiceField(
        label="Individual therapy", choices=Cadence.choices, widget=forms.Select(attrs=SELECT)
    )

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = site
        self.fields["program"].queryset = programs_of(site)
        self.fields["primary_therapist"].queryset = staff_of(site, THERAPIST_ROLES)
        self.fields["prescriber"].queryset = staff_of(site, PRESCRIBER_ROLES)
        self.chosen_program = self._chosen_program()
        self.fields["track"].queryset = tracks_of(self.chosen_program)
        if self.chosen_program is None:
            self.fields["track"].empty_label = "— choose a program first —"
        elif self.fields["track"].queryset.exists():
            self.fields["track"].empty_label = "— choose a track —"
        else:
            self.fields["track"].empty_label = "— no track —"
        if self.chosen_program is not None and not self.is_bound:
            self.initial.setdefault("weekly_hours_min", self.chosen_program.weekly_hours_min)
            self.initial.setdefault("weekly_hours_max", self.chosen_program.weekly_hours_max)

    def _chosen_program(self) -> Program | None:
        raw = self.data.get("program") if self.is_bound else self.initial.get("program")
        if isinstance(raw, Program):
            return raw
        try:
            return programs_of(self.site).filter(pk=int(raw)).first() if raw else None
        except (TypeError, ValueError):
            return None


class AdmissionForm(_ProgramTrackForm):
    admitted_on = forms.DateField(
        label="Admission date", widget=forms.DateInput(attrs={**INPUT, "type": "date"})
    )
    field_order = [
        "program",
        "track",
        "admitted_on",
        "weekly_hours_min",
        "weekly_hours_max",
        "primary_therapist",
        "prescriber",
        "individual_cadence",
    ]


class TransferForm(_ProgramTrackForm):
    on = forms.DateField(
        label="Effective on", widget=forms.DateInput(attrs={**INPUT, "type": "date"})
    )
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[("", "Work it out from the levels of care"), *TransferKind.choices],
        widget=forms.Select(attrs=SELECT),
    )
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={**INPUT, "rows": 2}),
        help_text="Recorded on both enrollments (DOMAIN.md §10: a clinician decides and says why).",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
    # The level review this transfer accepts (openiop.measures.services_reviews), if any.
    review = forms.IntegerField(required=False, widget=forms.HiddenInput)
    review_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    field_order = [
        "program",
        "track",
        "on",
        "kind",
        "reason",
        "weekly_hours_min",
        "weekly_hours_max",
        "primary_therapist",
        "prescriber",
        "individual_cadence",
    ]


class DischargeForm(forms.Form):
    discharged_on = forms.DateField(
        label="Discharge date", widget=forms.DateInput(attrs={**INPUT, "type": "date"})
    )
    reason = forms.ChoiceField(
        choices=[("", "— choose —"), *DischargeReason.choices], widget=forms.Select(attrs=SELECT)
    )
    note = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={**INPUT, "rows": 3})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


def _rooms(site: Site) -> Any:
    return Room.objects.filter(site=site, is_active=True).order_by("name")


class IndividualScheduleForm(forms.Form):
    weekday = forms.TypedChoiceField(
        label="Day", coerce=int, choices=Weekday.choices, widget=forms.Select(attrs=SELECT)
    )
    start_time = forms.TimeField(
        label="Starts at", widget=forms.TimeInput(attrs={**INPUT, "type": "time"})
    )
    duration_minutes = forms.IntegerField(
        label="Minutes",
        initial=50,
        min_value=15,
        max_value=180,
        widget=forms.NumberInput(attrs={**INPUT, "inputmode": "numeric"}),
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.none(),
        required=False,
        empty_label="— no room —",
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = _rooms(site)


class IndividualSessionForm(forms.Form):
    therapist = StaffChoice(queryset=User.objects.none(), widget=forms.Select(attrs=SELECT))
    day = forms.DateField(label="Date", widget=forms.DateInput(attrs={**INPUT, "type": "date"}))
    start_time = forms.TimeField(
        label="Starts at", widget=forms.TimeInput(attrs={**INPUT, "type": "time"})
    )
    duration_minutes = forms.IntegerField(
        label="Minutes",
        initial=50,
        min_value=15,
        max_value=180,
        widget=forms.NumberInput(attrs={**INPUT, "inputmode": "numeric"}),
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.none(),
        required=False,
        empty_label="— no room —",
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["therapist"].queryset = staff_of(site, INDIVIDUAL_ROLES)
        self.fields["room"].queryset = _rooms(site)


# Service field names that differ from the form's.
_FORM_FIELD = {
    "patient_id": None,
    "therapist_id": "therapist",
    "room_id": "room",
    "starts_at": "start_time",
    "enrollment": None,
    "session": None,
}


def mark_invalid(form: forms.Form) -> None:
    """Give fields with errors Bootstrap's red outline and aria-invalid."""
    for name in form.errors:
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            if "is-invalid" not in attrs.get("class", ""):
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"id_{name}-error"


def add_service_errors(
    form: forms.Form, exc: ValidationError, renames: dict[str, str] | None = None
) -> None:
    """Put a service's ValidationError on the form: beside the field, or at the top."""
    names = {**_FORM_FIELD, **(renames or {})}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        name = names.get(field, field)
        form.add_error(name if name in form.fields else None, messages)
    mark_invalid(form)
