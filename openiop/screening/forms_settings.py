"""Forms of the screening settings. They parse and type input; the services decide what is
valid (services_settings.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from openiop.screening.catalog import ANALYTES
from openiop.screening.models import SPECIMEN_CHOICES, Panel
from openiop.screening.services_settings import BOUND_LABELS, BOUND_NAMES
from openiop.screening.validity import ValidityBounds


def _count(label: str, high: int, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=high,
        initial=0,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class PhaseForm(forms.Form):
    label = forms.CharField(label="Name", max_length=80, help_text="For example “Early treatment”.")
    from_day = forms.IntegerField(
        label="From day after admission",
        min_value=0,
        max_value=3650,
        help_text="0 is the day of admission. The phase lasts until the next phase starts.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    per_week = _count("At least, per week", 7, "Screens each Monday–Sunday week; 0: no minimum.")
    per_month = _count("At least, per month", 31, "Screens each calendar month; 0: no minimum.")
    extra_chance_percent = forms.DecimalField(
        label="Extra chance on any on-site day (%)",
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=4,
        decimal_places=1,
        required=False,
        initial=Decimal(0),
        help_text="Above 0 there is no safe day after a screen: the minimum becomes a floor.",
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        percent = data.pop("extra_chance_percent") or Decimal(0)
        data["extra_chance"] = percent / 100
        return data


class PanelForm(forms.Form):
    """The panel and one row per catalogue analyte: on the panel or not, and its cutoffs."""

    name = forms.CharField(max_length=120, help_text="The test kit or lab, e.g. “Cup 12 (urine)”.")
    specimen = forms.ChoiceField(choices=SPECIMEN_CHOICES)
    description = forms.CharField(max_length=300, required=False)
    is_default = forms.BooleanField(
        required=False, label="Default panel for this specimen (replaces the current default)"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="In use")

    HEAD = ("name", "specimen", "description")

    def __init__(self, *args: Any, panel: Panel | None = None, **kwargs: Any) -> None:
        lines = {line.analyte: line for line in panel.analytes.all()} if panel else {}
        initial = kwargs.pop("initial", None) or {}
        for analyte in ANALYTES:
            line = lines.get(analyte.code)
            initial.setdefault(f"{analyte.code}_on", line is not None if panel else True)
            initial.setdefault(
                f"{analyte.code}_screen", line.screen_cutoff if line else analyte.screen_cutoff
            )
            initial.setdefault(
                f"{analyte.code}_confirm", line.confirm_cutoff if line else analyte.confirm_cutoff
            )
        super().__init__(*args, initial=initial, **kwargs)
        for analyte in ANALYTES:
            self.fields[f"{analyte.code}_on"] = forms.BooleanField(
                required=False, label=f"{analyte.name} on this panel"
            )
            for kind, label in (("screen", "screening"), ("confirm", "confirmation")):
                self.fields[f"{analyte.code}_{kind}"] = forms.CharField(
                    required=False,
                    label=f"{analyte.name} {label} cutoff (ng/mL)",
                    max_length=20,
                    widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "analyte": analyte,
                "on": self[f"{analyte.code}_on"],
                "screen": self[f"{analyte.code}_screen"],
                "confirm": self[f"{analyte.code}_confirm"],
            }
            for analyte in ANALYTES
        ]

    def service_data(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        data = {name: self.cleaned_data[name] for name in (*self.HEAD, "is_default", "is_active")}
        lines = [
            {
                "analyte": analyte.code,
                "screen_cutoff": self.cleaned_data[f"{analyte.code}_screen"].strip(),
                "confirm_cutoff": self.cleaned_data[f"{analyte.code}_confirm"].strip(),
            }
            for analyte in ANALYTES
            if self.cleaned_data[f"{analyte.code}_on"]
        ]
        return data, lines


class ValidityForm(forms.Form):
    """One field per bound of ``ValidityBounds``; empty means the default."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = ValidityBounds()
        for name in BOUND_NAMES:
            value = getattr(default, name)
            label = BOUND_LABELS[name]
            if name in ValidityBounds.TO_VERIFY:
                label = f"{label} (verify)"
            self.fields[name] = forms.DecimalField(
                label=label,
                required=False,
                max_digits=8,
                decimal_places=4,
                min_value=Decimal(0),
                help_text=f"Default {format(value.normalize(), 'f')}. Empty: the default.",
                widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            )

    def bound_fields(self) -> list[dict[str, Any]]:
        return [
            {"field": self[name], "verify": name in ValidityBounds.TO_VERIFY}
            for name in BOUND_NAMES
        ]
