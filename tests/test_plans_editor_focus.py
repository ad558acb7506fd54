"""The draft editor for the keyboard: where the focus goes after each change, and where the
reasons a signature was refused appear. htmx focuses the ``autofocus`` element of what it
swaps in, so each answer must carry exactly one, on the right element."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from openiop.clinical.models import TreatmentPlan
from tests.factories import sign_in
from tests.factories_clinical import make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def enrollment(site, tom):
    patient = make_patient(site, first_name="Robin", last_name="Planfake")
    return make_enrollment(
        patient,
        make_program(site),
        admitted_on=timezone.localdate() - timedelta(days=5),
        primary_therapist=tom,
    )


@pytest.fixture
def patient(enrollment):
    return enrollment.patient


@pytest.fixture
def draft(client, site, tom, patient):
    sign_in(client, tom, site=site)
    assert client.post(f"/patients/{patient.pk}/plan/start/").status_code == 302
    return TreatmentPlan.objects.get(patient=patient)


def focused(html: str) -> str:
    """The one element that carries autofocus, as its opening tag."""
    tags = re.findall(r"<[a-z]+\b[^>]*\sautofocus\b[^>]*>", html)
    assert len(tags) == 1, tags
    return tags[0]


def post(client, patient, path, data, **headers):
    return client.post(f"/patients/{patient.pk}/plan/draft/{path}", data, **headers)


def test_each_addition_moves_the_focus_to_what_the_new_item_needs(client, patient, draft, tom):
    r = post(client, patient, "problem/add/", {"version": 1, "statement": "Alcohol"}, **HTMX)
    problem = draft.problems.get()
    html = r.content.decode()
    assert f'id="add-goal-{problem.pk}-statement"' in focused(html)
    # The form that holds it is open.
    assert re.search(r'<details class="plan-add" open>\s*<summary id="more-goal-', html)

    r = post(
        client,
        patient,
        "goal/add/",
        {"version": 2, "parent": problem.pk, "statement": "Stay sober"},
        **HTMX,
    )
    goal = draft.goals.get()
    assert f'id="add-objective-{goal.pk}-statement"' in focused(r.content.decode())

    objective = {
        "parent": goal.pk,
        "statement": "Attend 3 groups a week",
        "target_date": "2026-09-01",
        "status": "open",
    }
    r = post(client, patient, "objective/add/", {"version": 3, **objective}, **HTMX)
    # The goal has no intervention yet: its form opens, focused on the first field.
    assert f'id="add-intervention-{goal.pk}-modality"' in focused(r.content.decode())

    intervention = {
        "parent": goal.pk,
        "modality": "CBT group",
        "frequency": "3 times a week",
        "responsible": tom.pk,
    }
    r = post(client, patient, "intervention/add/", {"version": 4, **intervention}, **HTMX)
    tag = focused(r.content.decode())
    assert f'id="more-intervention-{goal.pk}"' in tag
    assert "Add another intervention to goal 1.1" in r.content.decode()

    # A second objective: the goal has an intervention, so the focus stays on its list.
    r = post(client, patient, "objective/add/", {"version": 5, **objective}, **HTMX)
    assert f'id="more-objective-{goal.pk}"' in focused(r.content.decode())


def test_a_refused_item_focuses_its_first_wrong_field(client, patient, enrollment, tom):
    plan = make_plan(patient, enrollment, tom, signed=False)
    goal = plan.goals.first()
    sign_in(client, tom)
    r = post(
        client,
        patient,
        "objective/add/",
        {"version": plan.version, "parent": goal.pk, "statement": "Walk daily", "target_date": ""},
        **HTMX,
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert f'id="add-objective-{goal.pk}-target"' in focused(html)
    # What was typed stays, in the open form.
    assert "Walk daily</textarea>" in html


def test_edit_focuses_the_form_and_saving_returns_to_the_edit_button(
    client, patient, enrollment, tom
):
    plan = make_plan(patient, enrollment, tom, signed=False)
    intervention = plan.interventions.first()
    sign_in(client, tom)
    url = f"intervention/{intervention.pk}/"
    r = client.get(f"/patients/{patient.pk}/plan/draft/{url}", **HTMX)
    assert f'id="intervention-{intervention.pk}-modality"' in focused(r.content.decode())
    r = post(
        client,
        patient,
        url,
        {
            "version": plan.version,
            "modality": "MI individual",
            "frequency": "weekly",
            "responsible": tom.pk,
        },
        **HTMX,
    )
    assert r.status_code == 200
    tag = focused(r.content.decode())
    assert f'id="edit-intervention-{intervention.pk}"' in tag
    assert 'aria-label="Edit intervention 1.1.1"' in tag


def test_removing_an_item_focuses_the_list_it_was_in(client, patient, enrollment, tom):
    plan = make_plan(patient, enrollment, tom, signed=False)
    objective = plan.objectives.first()
    sign_in(client, tom)
    r = post(
        client, patient, f"objective/{objective.pk}/remove/", {"version": plan.version}, **HTMX
    )
    assert r.status_code == 200
    assert f'id="more-objective-{objective.goal_id}"' in focused(r.content.decode())


def test_saving_the_summary_says_so_and_keeps_the_focus(client, patient, draft):
    r = client.post(
        f"/patients/{patient.pk}/plan/draft/", {"version": 1, "summary": "Strengths"}, **HTMX
    )
    html = r.content.decode()
    assert 'id="plan-summary"' in focused(html)
    assert "Summary saved." in html
    # Not on the next answer: the message is about that one save.
    draft.refresh_from_db()
    r = post(client, patient, "problem/add/", {"version": 2, "statement": "Alcohol"}, **HTMX)
    assert "Summary saved." not in r.content.decode()


def test_a_refused_signature_lists_the_gaps_by_the_sign_button(client, patient, draft):
    post(client, patient, "problem/add/", {"version": 1, "statement": "Alcohol"}, **HTMX)
    problem = draft.problems.get()
    post(
        client,
        patient,
        "goal/add/",
        {"version": 2, "parent": problem.pk, "statement": "Stay sober"},
        **HTMX,
    )
    goal = draft.goals.get()
    r = post(client, patient, "sign/", {"version": 3}, **HTMX)
    assert r.status_code == 422
    html = r.content.decode()
    assert 'id="plan-missing"' in focused(html)
    sign_card = html[html.index('data-testid="plan-sign-card"') :]
    assert 'data-testid="plan-missing"' in sign_card
    assert f'<a href="#more-objective-{goal.pk}">Goal 1.1 (Stay sober) has no measurable' in html
    assert f'<a href="#more-intervention-{goal.pk}">Goal 1.1 (Stay sober) has no intervention' in (
        html
    )
    # An empty draft points at the problem form.
    other = post(client, patient, "problem/" + str(problem.pk) + "/remove/", {"version": 3}, **HTMX)
    assert other.status_code == 200
    r = post(client, patient, "sign/", {"version": 4}, **HTMX)
    assert '<a href="#add-problem-statement">Add at least one problem.</a>' in r.content.decode()


def test_a_stale_change_focuses_the_message(client, patient, draft):
    r = post(client, patient, "problem/add/", {"version": 7, "statement": "Late"}, **HTMX)
    assert r.status_code == 409
    assert 'id="plan-draft-problem"' in focused(r.content.decode())


def test_the_full_page_has_no_autofocus(client, patient, draft):
    html = client.get(f"/patients/{patient.pk}/plan/draft/").content.decode()
    assert " autofocus" not in html


def test_a_goal_no_note_addressed_says_so_plainly(client, site, tom, patient, enrollment):
    make_plan(patient, enrollment, tom)
    sign_in(client, tom, site=site)
    html = client.get(f"/patients/{patient.pk}/plan/").content.decode()
    assert "No signed note has reported progress on this goal yet." in html
    assert "0 signed notes" not in html


def test_an_added_sober_support_row_takes_the_focus(client, site, tom, patient):
    sign_in(client, tom, site=site)
    r = client.get(f"/patients/{patient.pk}/relapse-prevention/edit/?add_row=2", **HTMX)
    assert 'id="support-2-name"' in focused(r.content.decode())
    # The form itself opens without a focused row.
    html = client.get(f"/patients/{patient.pk}/relapse-prevention/edit/").content.decode()
    assert " autofocus" not in html
