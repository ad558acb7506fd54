from __future__ import annotations

from typing import Any

from django import forms

from openiop.scheduling.models import CurriculumModule


class CurriculumModuleForm(forms.Form):
    code = forms.SlugField(max_length=40, help_text="Short key used by the API, e.g. “anger”.")
    name = forms.CharField(max_length=80)
    description = forms.CharField(max_length=300, required=False)
    sort_order = forms.IntegerField(
        min_value=0,
        max_value=32767,
        initial=100,
        label="Position",
        help_text="Modules are listed from the lowest number up.",
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="In use (offered for sessions, shown on charts)"
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]
        else:
            del self.fields["is_active"]


class SessionModuleForm(forms.Form):
    """The module a group session teaches; empty clears it."""

    curriculum_module = forms.ModelChoiceField(
        queryset=CurriculumModule.objects.all(),
        required=False,
        label="Curriculum module",
        empty_label="No module",
    )
