"""Due dates of treatment plans: the pure rules, the query and the worklist panel."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from openiop.accounts.models import Membership
from openiop.clinical.models import PlanKind
from openiop.clinical.plan_due import (
    DueState,
    describe,
    due_state,
    initial_due_on,
    next_due,
    plans_due,
    review_due_on,
    worklist_panel,
)
from tests.factories_clinical import make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

TODAY = date(2026, 3, 10)


def test_it_makes_the_initial_plan_due_days_after_admission():
    assert initial_due_on(date(2026, 3, 2), 7) == date(2026, 3, 9)
    assert review_due_on(date(2026, 3, 9), 30) == date(2026, 4, 8)


def test_it_picks_initial_until_a_version_is_signed():
    assert next_due(admitted_on=date(2026, 3, 2), initial_due_days=7, last_review_due_on=None) == (
        PlanKind.INITIAL,
        date(2026, 3, 9),
    )
    assert next_due(
        admitted_on=date(2026, 3, 2), initial_due_days=7, last_review_due_on=date(2026, 4, 1)
    ) == (PlanKind.REVIEW, date(2026, 4, 1))


@pytest.mark.parametrize(
    ("offset", "state"),
    [
        (-30, DueState.OVERDUE),
        (-1, DueState.OVERDUE),
        (0, DueState.DUE),
        (1, DueState.DUE),
        (7, DueState.DUE),
        (8, DueState.NOT_YET),
        (60, DueState.NOT_YET),
    ],
)
def test_it_tells_due_from_overdue_at_the_boundaries(offset, state):
    assert due_state(TODAY + timedelta(days=offset), TODAY) == state


def test_it_describes_the_due_date():
    assert describe(TODAY, TODAY) == "Due today"
    assert describe(TODAY + timedelta(days=1), TODAY) == "Due in 1 day"
    assert describe(TODAY + timedelta(days=3), TODAY) == "Due in 3 days"
    assert describe(TODAY - timedelta(days=1), TODAY) == "Overdue by 1 day"
    assert describe(TODAY - timedelta(days=12), TODAY) == "Overdue by 12 days"


@pytest.fixture
def caseload(site, tom, dana):
    """Four of Tom's patients (one without a plan past due, one due, one reviewed, one of
    Dana's) and a discharged one."""
    program = make_program(site)
    program.plan_initial_due_days = 7
    program.save()
    late = make_patient(site, first_name="Late", last_name="Testplan")
    make_enrollment(late, program, admitted_on=TODAY - timedelta(days=10), primary_therapist=tom)
    soon = make_patient(site, first_name="Soon", last_name="Testplan")
    make_enrollment(soon, program, admitted_on=TODAY - timedelta(days=2), primary_therapist=tom)
    reviewed = make_patient(site, first_name="Done", last_name="Testplan")
    e = make_enrollment(
        reviewed, program, admitted_on=TODAY - timedelta(days=20), primary_therapist=tom
    )
    make_plan(reviewed, e, tom, review_due_on=TODAY + timedelta(days=25))
    review_due = make_patient(site, first_name="Review", last_name="Testplan")
    e = make_enrollment(
        review_due, program, admitted_on=TODAY - timedelta(days=40), primary_therapist=tom
    )
    make_plan(review_due, e, tom, review_due_on=TODAY - timedelta(days=1))
    make_plan(review_due, e, tom, signed=False)
    danas = make_patient(site, first_name="Other", last_name="Caseload")
    make_enrollment(danas, program, admitted_on=TODAY - timedelta(days=30), primary_therapist=dana)
    gone = make_patient(site, first_name="Gone", last_name="Testplan")
    make_enrollment(
        gone,
        program,
        admitted_on=TODAY - timedelta(days=60),
        discharged_on=TODAY - timedelta(days=5),
        status="discharged",
        primary_therapist=tom,
    )
    return {"late": late, "soon": soon, "review": review_due, "danas": danas}


def test_it_lists_due_and_overdue_plans_of_one_therapist(caseload, site, tom):
    items = plans_due(site, therapist=tom, today=TODAY)
    assert [(i.patient.first_name, i.kind, i.state, i.has_draft) for i in items] == [
        ("Late", PlanKind.INITIAL, DueState.OVERDUE, False),
        ("Review", PlanKind.REVIEW, DueState.OVERDUE, True),
        ("Soon", PlanKind.INITIAL, DueState.DUE, False),
    ]
    everyone = plans_due(site, today=TODAY)
    assert {i.patient.first_name for i in everyone} == {"Review", "Late", "Soon", "Other"}


def test_it_lists_in_one_query(caseload, site, tom, django_assert_num_queries):
    with django_assert_num_queries(1):
        plans_due(site, therapist=tom, today=TODAY)


def test_it_lists_nothing_of_another_site(caseload, other_site, tom):
    assert plans_due(other_site, therapist=tom, today=TODAY) == []


def _request(user, site):
    request = RequestFactory().get("/documentation/")
    request.user = user
    request.membership = Membership.objects.filter(user=user, site=site).first()
    return request


def test_the_worklist_panel_renders_the_therapists_plans(caseload, site, tom, time_machine):
    time_machine.move_to("2026-03-10 15:00:00+00:00")
    panel = worklist_panel(_request(tom, site))
    assert panel is not None
    assert panel["overdue_count"] == 2
    assert panel["due_count"] == 1
    html = render_to_string("clinical/_worklist_plans.html", {"panel": panel})
    assert "Late Testplan" in html
    assert "Overdue by 3 days" in html
    assert "Other" not in html


def test_the_worklist_panel_is_none_without_plans_view(site, audrey):
    assert worklist_panel(_request(audrey, site)) is None


def test_the_worklist_panel_has_an_empty_state(site, tom, time_machine):
    time_machine.move_to("2026-03-10 15:00:00+00:00")
    html = render_to_string(
        "clinical/_worklist_plans.html", {"panel": worklist_panel(_request(tom, site))}
    )
    assert "No treatment plans of your patients are due" in html
