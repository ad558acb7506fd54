from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from openiop.accounts.roles import Role


class SignInForm(AuthenticationForm):
    error_messages = {
        # One message whether or not the user exists (no account enumeration).
        "invalid_login": "The username or password is not correct.",
        "inactive": "The username or password is not correct.",
    }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app, or a recovery code",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="6-digit code shown by your app",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code


class TokenForm(forms.Form):
    name = forms.CharField(
        label="What is this token for?",
        max_length=80,
        help_text="For example “Lab results import” — shown in the list so you can revoke it.",
    )


class StaffForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    credentials = forms.CharField(
        max_length=80, required=False, help_text="Shown on signed notes, e.g. “LCSW, CADC”."
    )
    role = forms.ChoiceField(choices=Role.choices)
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters; the person should change it after first sign-in.",
    )


class SupervisionForm(forms.Form):
    """Clinical supervision of one staff member (issue 4 §7)."""

    is_clinical_supervisor = forms.BooleanField(
        required=False,
        label="Clinical supervisor",
        help_text="May co-sign the notes of supervised clinicians.",
    )
    supervisor = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Not supervised",
        help_text="Notes this person signs wait for this supervisor's co-signature.",
    )

    def __init__(self, *args: Any, supervisors: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["supervisor"]
        field.queryset = supervisors  # type: ignore[attr-defined]
        field.label_from_instance = lambda user: user.signature_name  # type: ignore[attr-defined]
