"""Registration and edit forms. They parse input; the services apply the clinic's rules."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from openiop.accounts.models import Site
from openiop.patients.models import Patient
from openiop.patients.services import birth_date_error, phone_error

DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y"]

# Offered as suggestions; any language may be typed.
COMMON_LANGUAGES = [
    "English",
    "Spanish",
    "Chinese",
    "Vietnamese",
    "Tagalog",
    "Arabic",
    "French",
    "Korean",
    "Russian",
    "Haitian Creole",
    "Portuguese",
    "American Sign Language",
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PhoneInput(forms.TextInput):
    input_type = "tel"


def _text(label: str, *, required: bool = False, autocomplete: str = "off", **kwargs: Any) -> Any:
    max_length = kwargs.pop("max_length")
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete}),
        **kwargs,
    )


def _max(name: str) -> int:
    return Patient._meta.get_field(name).max_length  # type: ignore[return-value]


class PatientForm(forms.Form):
    """The fields of ``services.EDITABLE_FIELDS``, in the order of the form's sections."""

    # Identity
    first_name = _text("Legal first name", required=True, max_length=_max("first_name"))
    last_name = _text("Legal last name", required=True, max_length=_max("last_name"))
    preferred_name = _text(
        "Preferred name",
        max_length=_max("preferred_name"),
        help_text="What the patient likes to be called, if not the legal first name.",
    )
    date_of_birth = forms.DateField(
        label="Date of birth",
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD or MM/DD/YYYY."},
    )
    pronouns = _text("Pronouns", max_length=_max("pronouns"), help_text="For example she/her.")
    # Contact
    phone = forms.CharField(
        label="Phone", required=False, max_length=_max("phone"), widget=PhoneInput()
    )
    email = forms.EmailField(label="Email", required=False, max_length=_max("email"))
    # Address
    address_line1 = _text("Street address", max_length=_max("address_line1"))
    address_line2 = _text("Apartment, suite, unit", max_length=_max("address_line2"))
    city = _text("City", max_length=_max("city"))
    state = _text("State", max_length=_max("state"))
    postal_code = _text("ZIP code", max_length=_max("postal_code"))
    # Emergency contact
    emergency_contact_name = _text("Name", max_length=_max("emergency_contact_name"))
    emergency_contact_phone = forms.CharField(
        label="Phone",
        required=False,
        max_length=_max("emergency_contact_phone"),
        widget=PhoneInput(),
    )
    emergency_contact_relationship = _text(
        "Relationship",
        max_length=_max("emergency_contact_relationship"),
        help_text="For example sister, partner, sponsor.",
    )
    # Language
    primary_language = forms.CharField(
        label="Primary language",
        max_length=_max("primary_language"),
        initial="English",
        widget=forms.TextInput(attrs={"list": "language-options", "autocomplete": "off"}),
        help_text="Offer an interpreter when this is not English.",
    )

    def __init__(self, *args: Any, site: Site | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = site
        self.fields["first_name"].error_messages["required"] = (
            "Enter the patient's legal first name."
        )
        self.fields["last_name"].error_messages["required"] = "Enter the patient's legal last name."
        self.fields["date_of_birth"].error_messages["required"] = "Enter the date of birth."
        self.fields["primary_language"].error_messages["required"] = (
            "Enter the patient's primary language."
        )

    # The services check these again; checking here too shows every problem in one round.
    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        problem = birth_date_error(born, self.site)
        if problem:
            raise ValidationError(problem)
        return born

    def clean_phone(self) -> str:
        return self._phone("phone")

    def clean_emergency_contact_phone(self) -> str:
        return self._phone("emergency_contact_phone")

    def _phone(self, name: str) -> str:
        value = self.cleaned_data[name].strip()
        problem = phone_error(value)
        if problem:
            raise ValidationError(problem)
        return value

    def patient_fields(self) -> dict[str, Any]:
        """The cleaned values the services take (without the version)."""
        return {name: self.cleaned_data[name] for name in PatientForm.base_fields}

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError beside the fields it names."""
        for name, messages in error.message_dict.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)


class PatientEditForm(PatientForm):
    """The registration form plus the version the editor read (optimistic locking)."""

    version = forms.IntegerField(
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={
            "required": "This form is missing its version; reload the page and edit again.",
            "invalid": "This form is missing its version; reload the page and edit again.",
        },
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A hidden field's error would be invisible beside it; show it at the top instead.
        if "version" in self.errors:
            for message in self.errors.pop("version"):
                self.add_error(None, message)
        return cleaned


def initial_for(patient: Patient) -> dict[str, Any]:
    initial = {name: getattr(patient, name) for name in PatientForm.base_fields}
    # The shared _field.html prints the value as-is; a date input needs ISO, not "April 2, 1988".
    initial["date_of_birth"] = patient.date_of_birth.isoformat()
    initial["version"] = patient.version
    return initial
