"""Forms of the setup screens. They parse and type input; the services decide what is valid."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError

from openiop.accounts.models import Site, User
from openiop.programs.models import LevelOfCare, Program, Track
from openiop.scheduling.models import DEFAULT_GROUP_CAPACITY, GroupType, Room, Weekday

EDITION_SHORT = {3: "3rd ed.", 4: "4th ed."}

T = TypeVar("T")


class DateInput(forms.DateInput):
    input_type = "date"


class TimeInput(forms.TimeInput):
    input_type = "time"


def _hours_field(label: str, *, required: bool = True, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=Decimal(0),
        max_value=Decimal(168),
        max_digits=5,
        decimal_places=1,
        required=required,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.5", "inputmode": "decimal"}),
    )


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its field when the form has it."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for field, errors in exc.message_dict.items():
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error)


def run_service(
    form: forms.Form,
    call: Callable[[], T],
    *,
    errors: Callable[[Any, ValidationError], None] = apply_errors,
    refusals: tuple[type[Exception], ...] = (),
) -> T | None:
    """Call a service for a valid form: its result, or None once the refusal is on the form.

    A ValidationError goes on through ``errors`` (beside its field where it can); any of
    ``refusals`` becomes an error at the top of the form.
    """
    try:
        return call()
    except ValidationError as exc:
        errors(form, exc)
    except refusals as exc:
        form.add_error(None, str(exc))
    return None


class LevelOfCareForm(forms.Form):
    name = forms.CharField(max_length=100)
    weekly_hours_min = _hours_field("Weekly hour floor")
    weekly_hours_max = _hours_field(
        "Weekly hour ceiling", required=False, help_text="Leave empty for no ceiling."
    )


class ProgramForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For example “Adult IOP”.")
    level_of_care = forms.ModelChoiceField(
        queryset=LevelOfCare.objects.all(), label="Level of care", empty_label="Choose a level"
    )
    weekly_hours_min = _hours_field(
        "Weekly target: at least", help_text="Hours a week; within the level's floor."
    )
    weekly_hours_max = _hours_field(
        "Weekly target: at most", help_text="Within the level's ceiling, if it has one."
    )
    typical_length_weeks = forms.IntegerField(
        label="Typical length (weeks)", min_value=1, max_value=104, initial=12
    )
    # Documentation deadlines (issue 4 §3, §7). Left empty: the default (new program) or
    # the current value (edit).
    plan_initial_due_days = forms.IntegerField(
        required=False,
        label="Initial treatment plan due (days after admission)",
        min_value=1,
        max_value=365,
        initial=7,
        help_text="Between 1 and 365 days; often 7.",
    )
    plan_review_days = forms.IntegerField(
        required=False,
        label="Treatment plan review every (days)",
        min_value=1,
        max_value=365,
        initial=30,
        help_text="Between 1 and 365 days; often 30.",
    )
    note_unsigned_hours = forms.IntegerField(
        required=False,
        label="Notes flagged unsigned after (hours)",
        min_value=1,
        max_value=336,
        initial=24,
        help_text="Hours after the session, 1 to 336 (two weeks); often 24.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["level_of_care"].label_from_instance = lambda level: (
            f"ASAM {level.code} ({EDITION_SHORT.get(level.edition, level.edition)}) — {level.name}"
        )


class TrackForm(forms.Form):
    name = forms.CharField(
        max_length=120, help_text="For example “Evening — Tue/Wed/Thu 18:00–21:00”."
    )
    description = forms.CharField(max_length=300, required=False)


def _staff_label(user: User) -> str:
    return f"{user.display_name}, {user.credentials}" if user.credentials else user.display_name


class GroupSeriesForm(forms.Form):
    track = forms.ModelChoiceField(
        queryset=Track.objects.none(),
        required=False,
        empty_label="No track — a site-wide group (drop-in)",
    )
    group_type = forms.ModelChoiceField(
        queryset=GroupType.objects.filter(is_active=True),
        label="Group type",
        empty_label="Choose a type",
    )
    title = forms.CharField(max_length=120, help_text="Shown on the schedule and roster.")
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int, label="Day")
    start_time = forms.TimeField(label="Starts at", widget=TimeInput())
    duration_minutes = forms.IntegerField(
        label="Length (minutes)", min_value=15, max_value=600, initial=90
    )
    facilitator = forms.ModelChoiceField(
        queryset=User.objects.none(), empty_label="Choose a facilitator"
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.none(), required=False, empty_label="No room"
    )
    capacity = forms.IntegerField(
        min_value=1,
        max_value=500,
        initial=DEFAULT_GROUP_CAPACITY,
        help_text="Seats; 12 is the usual cap for group psychotherapy.",
    )
    starts_on = forms.DateField(label="First day", widget=DateInput())
    ends_on = forms.DateField(
        label="Last day", required=False, widget=DateInput(), help_text="Empty: no end date."
    )
    version = forms.IntegerField(widget=forms.HiddenInput(), required=False)

    def __init__(self, *args: Any, site: Site, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["track"].queryset = Track.objects.filter(
            program__site=site, is_active=True, program__is_active=True
        ).select_related("program")
        self.fields["track"].label_from_instance = lambda t: f"{t.program.name} — {t.name}"
        self.fields["facilitator"].queryset = (
            User.objects.filter(memberships__site=site, is_active=True)
            .order_by("last_name", "first_name", "username")
            .distinct()
        )
        self.fields["facilitator"].label_from_instance = _staff_label
        self.fields["room"].queryset = Room.objects.filter(site=site, is_active=True)
        if editing:
            # The track of a series is fixed: its enrollments' bookings depend on it.
            del self.fields["track"]


class EndSeriesForm(forms.Form):
    ends_on = forms.DateField(
        label="Last day the group meets",
        widget=DateInput(),
        help_text="Later sessions without recorded attendance are cancelled.",
    )


class GroupTypeForm(forms.Form):
    code = forms.SlugField(
        max_length=40, help_text="Short key used by the API, e.g. “anger_management”."
    )
    name = forms.CharField(max_length=80)
    description = forms.CharField(max_length=300, required=False)
    is_active = forms.BooleanField(
        required=False, initial=True, label="In use (offered for new groups)"
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]
        else:
            del self.fields["is_active"]


class RoomForm(forms.Form):
    name = forms.CharField(max_length=80)
    capacity = forms.IntegerField(
        min_value=1, max_value=500, required=False, label="Seats", help_text="Empty: not limited."
    )
    is_active = forms.BooleanField(required=False, initial=True, label="In use")

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["is_active"]


def program_initial(program: Program) -> dict[str, Any]:
    return {
        "name": program.name,
        "level_of_care": program.level_of_care_id,
        "weekly_hours_min": program.weekly_hours_min,
        "weekly_hours_max": program.weekly_hours_max,
        "typical_length_weeks": program.typical_length_weeks,
        "plan_initial_due_days": program.plan_initial_due_days,
        "plan_review_days": program.plan_review_days,
        "note_unsigned_hours": program.note_unsigned_hours,
    }
