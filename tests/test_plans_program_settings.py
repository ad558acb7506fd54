"""The program form's documentation deadlines: plan due, review interval, unsigned notes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from openiop.programs.models import Program
from tests.factories import sign_in
from tests.factories_programs import level_of_care, make_program


@pytest.fixture
def director(client, dana, site):
    sign_in(client, dana, site=site)
    return client


def _data(program, **changes):
    data = {
        "name": program.name,
        "level_of_care": program.level_of_care_id,
        "weekly_hours_min": "9",
        "weekly_hours_max": "12",
        "typical_length_weeks": "12",
        "plan_initial_due_days": "10",
        "plan_review_days": "90",
        "note_unsigned_hours": "48",
    }
    data.update(changes)
    return data


def test_a_director_sets_the_deadlines(director, site):
    program = make_program(site)
    url = reverse("setup-program-edit", args=[program.pk])
    html = director.get(url).content.decode()
    assert 'name="plan_review_days"' in html and 'value="30"' in html
    assert director.post(url, _data(program)).status_code == 302
    program.refresh_from_db()
    assert (program.plan_initial_due_days, program.plan_review_days) == (10, 90)
    assert program.note_unsigned_hours == 48
    detail = director.get(reverse("setup-program-detail", args=[program.pk])).content.decode()
    assert "plan reviewed every 90 days" in detail


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("plan_initial_due_days", "0", "greater than or equal to 1"),
        ("plan_review_days", "366", "less than or equal to 365"),
        ("note_unsigned_hours", "337", "less than or equal to 336"),
        ("plan_review_days", "often", "Enter a whole number"),
    ],
)
def test_it_refuses_deadlines_out_of_range(director, site, field, value, message):
    program = make_program(site)
    url = reverse("setup-program-edit", args=[program.pk])
    response = director.post(url, _data(program, **{field: value}))
    assert response.status_code == 422
    assert message in response.content.decode()
    program.refresh_from_db()
    assert (program.plan_initial_due_days, program.plan_review_days) == (7, 30)


def test_empty_deadlines_keep_the_defaults_on_create(director, site):
    data = {
        "name": "Evening IOP",
        "level_of_care": level_of_care("2.1").pk,
        "weekly_hours_min": "9",
        "weekly_hours_max": "12",
        "typical_length_weeks": "12",
    }
    assert director.post(reverse("setup-program-create"), data).status_code == 302
    program = Program.objects.get(name="Evening IOP")
    assert (program.plan_initial_due_days, program.plan_review_days) == (7, 30)
    assert program.note_unsigned_hours == 24


def test_the_service_refuses_out_of_range_deadlines(site, dana):
    from django.core.exceptions import ValidationError

    from openiop.programs.services import update_program

    program = make_program(site)
    with pytest.raises(ValidationError) as exc:
        update_program(
            program=program,
            level_of_care=program.level_of_care,
            name=program.name,
            weekly_hours_min=program.weekly_hours_min,
            weekly_hours_max=program.weekly_hours_max,
            typical_length_weeks=12,
            plan_review_days=400,
            by=dana,
        )
    assert list(exc.value.message_dict) == ["plan_review_days"]
