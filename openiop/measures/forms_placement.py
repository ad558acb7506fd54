"""Forms of the placement screens. They parse and type input; the services decide what is
valid (a rating's rationale, the reason for a level that differs, the rule table)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from openiop.measures.models import PlacementKind
from openiop.measures.placement import (
    CRITERIA,
    CRITERION_NAMES,
    DIMENSION_NAMES,
    DIMENSIONS,
    INDICATED_CODE,
    LEVEL_CODES,
    MAX_RATING,
    RATING_NAMES,
    Answer,
    Assessment,
    ContraIndication,
    Tier,
)
from openiop.programs.forms import DateInput

ANSWER_CHOICES = [(a.value, a.value.capitalize()) for a in Answer]
RATING_CHOICES = [(str(n), f"{n} {RATING_NAMES[n]}") for n in range(MAX_RATING + 1)]
CONTRA_CHOICES = [(c.value, c.label[:1].upper() + c.label[1:]) for c in ContraIndication]

TIER_NAMES = {
    Tier.OUTPATIENT: "Outpatient",
    Tier.IOP: "Intensive outpatient (IOP)",
    Tier.PHP: "Partial hospitalization / high-intensity outpatient",
    Tier.RESIDENTIAL: "Residential (24-hour)",
    Tier.INPATIENT: "Inpatient, medically managed",
}
# Names of the codes that are not the tier's usual one (DOMAIN.md §1).
CODE_NAMES = {
    (4, "1.0"): "Long-term remission monitoring",
    (4, "1.7"): "Medically managed outpatient",
    (4, "2.7"): "Medically managed intensive outpatient",
    (3, "3.x"): "Residential, level to be chosen",
    (4, "3.x"): "Residential, level to be chosen",
}


TIER_SHORT = {
    Tier.OUTPATIENT: "Outpatient",
    Tier.IOP: "IOP",
    Tier.PHP: "PHP",
    Tier.RESIDENTIAL: "Residential",
    Tier.INPATIENT: "Inpatient",
}


def tier_label(tier: Tier | str, edition: int | None = None) -> str:
    """A rule's level in words with its code: "PHP 2.5"; without an edition, the codes of
    both where they differ ("Outpatient 1 / 1.5")."""
    tier = tier if isinstance(tier, Tier) else Tier.from_key(tier)
    if edition is not None:
        return f"{TIER_SHORT[tier]} {INDICATED_CODE[edition][tier]}"
    codes = dict.fromkeys(INDICATED_CODE[e][tier] for e in (3, 4))
    return f"{TIER_SHORT[tier]} {' / '.join(codes)}"


def level_name(edition: int, code: str) -> str:
    """A level code in words, e.g. "2.1 — Intensive outpatient (IOP)"."""
    tier = LEVEL_CODES.get(edition, {}).get(code)
    if tier is None:
        return code
    return f"{code} — {CODE_NAMES.get((edition, code), TIER_NAMES[tier])}"


def level_choices(edition: int) -> list[tuple[str, str]]:
    return [(code, level_name(edition, code)) for code in LEVEL_CODES[edition]]


def criterion_field(number: int) -> str:
    return f"criterion_{number}"


def rating_field(number: int) -> str:
    return f"rating_{number}"


class PlacementForm(forms.Form):
    """The seed's six criteria, the contra-indications and the six dimension ratings."""

    edition = forms.TypedChoiceField(
        choices=[(3, "3rd edition (2013)"), (4, "4th edition (2023)")],
        coerce=int,
        widget=forms.HiddenInput,
    )
    kind = forms.ChoiceField(label="Kind", choices=PlacementKind.choices)
    assessed_on = forms.DateField(label="Assessed on", widget=DateInput)
    contraindications = forms.MultipleChoiceField(
        label="Contra-indications found",
        choices=CONTRA_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, edition: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.edition_shown = edition
        for number in CRITERIA:
            name = criterion_field(number)
            self.fields[name] = forms.ChoiceField(
                label=f"{number}. The patient {CRITERION_NAMES[number]}",
                choices=ANSWER_CHOICES,
                initial=Answer.UNKNOWN.value,
                widget=forms.RadioSelect,
            )
            self.fields[f"{name}_note"] = forms.CharField(
                label=f"Note on criterion {number}", required=False, max_length=2000
            )
        for number in DIMENSIONS:
            name = rating_field(number)
            self.fields[name] = forms.TypedChoiceField(
                label=f"D{number} {DIMENSION_NAMES[edition][number]}",
                choices=RATING_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": f"Rate dimension {number} (0–{MAX_RATING})."},
            )
            self.fields[f"{name}_rationale"] = forms.CharField(
                label=f"Rationale for D{number}",
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def criteria_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "number": n,
                "answer": self[criterion_field(n)],
                "note": self[f"{criterion_field(n)}_note"],
            }
            for n in CRITERIA
        ]

    def rating_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "number": n,
                "name": DIMENSION_NAMES[self.edition_shown][n],
                "rating": self[rating_field(n)],
                "rationale": self[f"{rating_field(n)}_rationale"],
            }
            for n in DIMENSIONS
        ]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "edition": data["edition"],
            "assessed_on": data["assessed_on"],
            "contraindications": data["contraindications"],
            "criteria": {
                n: (data[criterion_field(n)], data[f"{criterion_field(n)}_note"]) for n in CRITERIA
            },
            "ratings": {
                n: (data[rating_field(n)], data[f"{rating_field(n)}_rationale"]) for n in DIMENSIONS
            },
        }


def placement_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service error on the form field it names: "ratings.3" → the D3 rating."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for key, messages in exc.message_dict.items():
        group, _, number = key.partition(".")
        target: str | None = key
        if group == "ratings" and number:
            target = rating_field(int(number)) if number.isdigit() else None
        elif group == "criteria" and number:
            target = criterion_field(int(number)) if number.isdigit() else None
        if target not in form.fields:
            target = None
        for message in messages:
            form.add_error(target, message)


class DecisionForm(forms.Form):
    """The level of care provided (the edition's levels) and the reason when it differs."""

    provided_level = forms.ChoiceField(label="Level of care provided")
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when the level provided differs from the level indicated.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, edition: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provided_level"].choices = level_choices(edition)  # type: ignore[attr-defined]


class RuleTableForm(forms.Form):
    """The table as JSON, and a sample assessment to try a draft on before saving it."""

    rules = forms.CharField(
        label="Rule table (JSON)",
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "font-monospace"}),
        strip=False,
    )
    note = forms.CharField(
        label="What changed and why",
        required=False,
        max_length=300,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    try_edition = forms.TypedChoiceField(
        label="Edition",
        choices=[(3, "3rd"), (4, "4th")],
        coerce=int,
        required=False,
        empty_value=3,
    )
    try_contraindications = forms.MultipleChoiceField(
        label="Contra-indications",
        choices=CONTRA_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for number in DIMENSIONS:
            self.fields[f"try_rating_{number}"] = forms.TypedChoiceField(
                label=f"D{number}",
                choices=RATING_CHOICES,
                coerce=int,
                required=False,
                empty_value=0,
                initial="0",
            )
        for number in CRITERIA:
            self.fields[f"try_criterion_{number}"] = forms.ChoiceField(
                label=f"Criterion {number}",
                choices=ANSWER_CHOICES,
                required=False,
                initial=Answer.UNKNOWN.value,
            )

    def sample_fields(self) -> dict[str, list[Any]]:
        return {
            "ratings": [self[f"try_rating_{n}"] for n in DIMENSIONS],
            "criteria": [self[f"try_criterion_{n}"] for n in CRITERIA],
        }

    def sample(self) -> Assessment:
        """The sample assessment (call after ``is_valid``)."""
        data = self.cleaned_data
        return Assessment(
            edition=data.get("try_edition") or 3,
            ratings=tuple(data.get(f"try_rating_{n}") or 0 for n in DIMENSIONS),
            criteria=tuple(
                data.get(f"try_criterion_{n}") or Answer.UNKNOWN.value for n in CRITERIA
            ),
            contraindications=frozenset(
                ContraIndication(c) for c in data.get("try_contraindications", [])
            ),
        )


class ResetRulesForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
