"""Forms of the issue-a-document screen and the disclosure log's filters.

They only parse: the rules (a signed plan, a discharged enrollment, a sane date range …)
live in ``disclosures.issue_document``, whose field errors are put back on these fields.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from openiop.clinical.disclosures import CLINICAL_NOTE, DOCUMENT_LABELS
from openiop.clinical.documents.discharge import discharged_enrollments
from openiop.clinical.documents.layout import fmt_date, fmt_time
from openiop.clinical.documents.note import note_label, signed_notes_of
from openiop.clinical.models import DisclosureBasis, DocumentKind, PlanStatus, TreatmentPlan
from openiop.patients.models import Patient

INPUT = {"class": "form-control"}
SELECT = {"class": "form-select"}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        # ISO only: what <input type="date"> sends, whatever the browser's locale.
        super().__init__(format="%Y-%m-%d", attrs=INPUT)


def _date(label: str, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label, required=required, input_formats=["%Y-%m-%d"], widget=DateInput()
    )


class IssueDocumentForm(forms.Form):
    """Recipient, purpose and basis, plus the fields the chosen kind of document needs."""

    recipient = forms.CharField(
        label="Given to",
        max_length=200,
        widget=forms.TextInput(attrs={**INPUT, "autocomplete": "off"}),
        help_text="A person or organization: “Acme Widgets HR”, “County Drug Court”, the patient.",
    )
    purpose = forms.CharField(
        label="Purpose",
        max_length=300,
        widget=forms.TextInput(attrs={**INPUT, "autocomplete": "off"}),
        help_text="What it is for, as the consent or order states it.",
    )
    basis = forms.ChoiceField(
        label="Basis of disclosure",
        choices=[("", "Choose…"), *DisclosureBasis.choices],
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, kind: str, patient: Patient, today: date, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.patient = patient
        self.empty_reason = ""
        if kind == DocumentKind.ATTENDANCE_LETTER:
            self.fields["start_on"] = _date("First day")
            self.fields["end_on"] = _date("Last day")
            self.initial.setdefault("start_on", today - timedelta(days=27))
            self.initial.setdefault("end_on", today)
        elif kind == DocumentKind.TREATMENT_PLAN:
            plans = TreatmentPlan.objects.filter(
                patient=patient, status=PlanStatus.SIGNED
            ).order_by("-number")
            choices = [
                (str(p.pk), f"Version {p.number} ({p.get_kind_display().lower()}), signed "
                 f"{fmt_time(p.signed_at, patient.site.time_zone)}")
                for p in plans
            ]  # fmt: skip
            self.fields["plan"] = forms.TypedChoiceField(
                label="Plan version", choices=choices, coerce=int, widget=forms.Select(attrs=SELECT)
            )
            if not choices:
                self.empty_reason = "This patient has no signed treatment plan yet."
        elif kind == DocumentKind.DISCHARGE_SUMMARY:
            choices = [
                (str(e.pk), f"{e.program.name}, {fmt_date(e.admitted_on)} – "
                 f"{fmt_date(e.discharged_on)}")
                for e in discharged_enrollments(patient.pk)
            ]  # fmt: skip
            self.fields["enrollment"] = forms.TypedChoiceField(
                label="Enrollment", choices=choices, coerce=int, widget=forms.Select(attrs=SELECT)
            )
            self.fields["aftercare"] = forms.CharField(
                label="Recommendations and aftercare",
                max_length=5000,
                widget=forms.Textarea(attrs={**INPUT, "rows": 6}),
                help_text="Printed as written: referrals, follow-up appointments, supports.",
            )
            if not choices:
                self.empty_reason = "This patient has no discharged enrollment."
        elif kind == CLINICAL_NOTE:
            time_zone = patient.site.time_zone
            choices = [(str(n.pk), note_label(n, time_zone)) for n in signed_notes_of(patient.pk)]
            self.fields["note"] = forms.TypedChoiceField(
                label="Note", choices=choices, coerce=int, widget=forms.Select(attrs=SELECT)
            )
            if not choices:
                self.empty_reason = "This patient has no signed note yet."
        if kind == DocumentKind.RELAPSE_PREVENTION_PLAN and "recipient" not in self.initial:
            self.initial.update(
                recipient=patient.display_name,
                purpose="Patient's own copy",
                basis=DisclosureBasis.PATIENT_REQUEST,
            )

    @property
    def title(self) -> str:
        return DOCUMENT_LABELS[self.kind]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        names = {"plan": "plan_id", "enrollment": "enrollment_id", "note": "note_id"}
        extra = {
            names.get(name, name): data[name]
            for name in ("start_on", "end_on", "plan", "enrollment", "note", "aftercare")
            if name in data
        }
        return {
            "kind": self.kind,
            "recipient": data["recipient"],
            "purpose": data["purpose"],
            "basis": data["basis"],
            **extra,
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        for field, messages in exc.message_dict.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)


class DisclosureFilterForm(forms.Form):
    """The disclosure log's filters, read from the query string."""

    date_from = _date("From", required=False)
    date_to = _date("To", required=False)
    kind = forms.ChoiceField(
        label="Document",
        required=False,
        choices=[("", "Any document"), *DOCUMENT_LABELS.items()],
        widget=forms.Select(attrs=SELECT),
    )
    mrn = forms.CharField(
        label="Patient MRN",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={**INPUT, "autocomplete": "off"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_to < date_from:
            self.add_error("date_to", "“To” must be on or after “From”.")
        return data

    def applied(self) -> dict[str, str]:
        return {
            name: str(value) for name, value in self.cleaned_data.items() if value not in (None, "")
        }
