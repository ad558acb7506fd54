"""The plan screen, the draft editor, the chart section and the relapse-prevention pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from openiop.audit.models import AuditEvent
from openiop.clinical.models import (
    Note,
    NoteGoal,
    PlanAcknowledgement,
    PlanStatus,
    RelapsePreventionPlan,
    TreatmentPlan,
)
from openiop.clinical.plans import start_review
from tests.factories import sign_in
from tests.factories_clinical import held_individual, make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_patients import make_patient
from tests.factories_programs import make_program


@pytest.fixture
def enrollment(site, tom):
    patient = make_patient(site, first_name="Robin", last_name="Planfake")
    return make_enrollment(
        patient,
        make_program(site),
        admitted_on=timezone.localdate() - timedelta(days=20),
        primary_therapist=tom,
    )


@pytest.fixture
def patient(enrollment):
    return enrollment.patient


def _signed_note(site, tom, patient, goal, *, days_ago=2):
    session, booking = held_individual(site, tom, patient, ago_hours=24 * days_ago)
    note = Note.objects.create(
        site=site,
        kind="individual",
        format="dap",
        session=session,
        patient=patient,
        booking=booking,
        author=tom,
        started_at=session.starts_at,
        ended_at=session.ends_at,
        sections={"data": "d", "assessment": "a", "plan": "p"},
    )
    NoteGoal.objects.create(note=note, goal=goal)
    Note.objects.filter(pk=note.pk).update(
        status="signed",
        signed_at=timezone.now(),
        signed_by=tom,
        signer_name=tom.signature_name,
        content_sha256="0" * 64,
    )
    return note


def test_the_plan_screen_shows_goals_and_their_golden_thread_across_versions(
    client, site, tom, enrollment, patient, django_assert_max_num_queries
):
    first = make_plan(patient, enrollment, tom, goals=("Stay sober", "Find work"))
    sober = first.goals.get(statement="Stay sober")
    _signed_note(site, tom, patient, sober, days_ago=3)
    review = start_review(enrollment, author=tom)
    review_goal = review.goals.get(statement="Stay sober")
    TreatmentPlan.objects.filter(pk=review.pk).update(
        status="signed",
        signed_at=timezone.now(),
        signed_by=tom,
        signer_name=tom.signature_name,
        content_sha256="0" * 64,
        review_due_on=timezone.localdate() + timedelta(days=30),
    )
    _signed_note(site, tom, patient, review_goal, days_ago=1)
    sign_in(client, tom, site=site)
    with django_assert_max_num_queries(25):
        response = client.get(f"/patients/{patient.pk}/plan/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Version 2" in html
    assert f'data-goal="{review_goal.pk}"' in html
    assert "2 signed notes addressed this goal" in html
    assert "Last addressed yesterday" in html
    assert "Never addressed" in html  # "Find work"
    assert AuditEvent.objects.filter(
        patient_id=patient.pk, object_type="treatment_plan", action="view", actor=tom
    ).exists()


def test_the_plan_screen_has_constant_queries(client, site, tom, enrollment, patient):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plan = make_plan(patient, enrollment, tom, goals=("One",))
    _signed_note(site, tom, patient, plan.goals.get())
    sign_in(client, tom, site=site)
    with CaptureQueriesContext(connection) as small:
        client.get(f"/patients/{patient.pk}/plan/")
    bigger = make_plan(patient, enrollment, tom, goals=("A", "B", "C", "D", "E"))
    for goal in bigger.goals.all():
        _signed_note(site, tom, patient, goal, days_ago=4)
        _signed_note(site, tom, patient, goal, days_ago=5)
    with CaptureQueriesContext(connection) as large:
        response = client.get(f"/patients/{patient.pk}/plan/")
    assert response.content.decode().count('data-testid="plan-goal"') == 5
    assert len(large) == len(small)


def test_a_patient_of_another_site_is_not_found(client, other_site, oscar, patient):
    sign_in(client, oscar, site=other_site)
    for url in (
        f"/patients/{patient.pk}/plan/",
        f"/patients/{patient.pk}/relapse-prevention/",
        f"/patients/{patient.pk}/plan/draft/",
    ):
        assert client.get(url).status_code == 404
    assert client.post(f"/patients/{patient.pk}/plan/start/").status_code == 404
    assert not TreatmentPlan.objects.exists()


def test_a_version_of_another_patient_is_not_found(client, site, tom, enrollment, patient):
    other = make_patient(site, first_name="Other", last_name="Person")
    other_plan = make_plan(other, make_enrollment(other, make_program(site, name="B")), tom)
    sign_in(client, tom, site=site)
    assert client.get(f"/patients/{patient.pk}/plan/versions/{other_plan.pk}/").status_code == 404
    url = f"/patients/{patient.pk}/plan/versions/{other_plan.pk}/print/"
    assert client.get(url).status_code == 404


def test_the_due_banner_shows_an_overdue_initial_plan(client, site, tom, patient):
    sign_in(client, tom, site=site)
    html = client.get(f"/patients/{patient.pk}/plan/").content.decode()
    assert 'data-testid="plan-due-banner" data-state="overdue"' in html
    assert "Initial treatment plan: overdue by 13 days" in html
    assert 'data-testid="plan-start"' in html


def test_writing_and_signing_a_plan_through_the_pages(client, site, tom, patient):
    sign_in(client, tom, site=site)
    base = f"/patients/{patient.pk}/plan"
    assert client.post(f"{base}/start/").status_code == 302
    plan = TreatmentPlan.objects.get(patient=patient)
    htmx = {"HTTP_HX_REQUEST": "true"}
    r = client.post(f"{base}/draft/problem/add/", {"version": 1, "statement": "Alcohol"}, **htmx)
    assert r.status_code == 200
    assert 'id="plan-draft"' in r.content.decode()
    assert "<html" not in r.content.decode()
    problem = plan.problems.get()
    client.post(
        f"{base}/draft/goal/add/",
        {"version": 2, "parent": problem.pk, "statement": "Stay sober"},
        **htmx,
    )
    goal = plan.goals.get()
    # Signing now names what is missing.
    r = client.post(f"{base}/draft/sign/", {"version": 3}, **htmx)
    assert r.status_code == 422
    assert 'data-missing="problems[0].goals[0].objectives"' in r.content.decode()
    r = client.post(
        f"{base}/draft/objective/add/",
        {
            "version": 3,
            "parent": goal.pk,
            "statement": "Attend 3 groups a week",
            "target_date": "2026-09-01",
            "status": "open",
        },
        **htmx,
    )
    assert r.status_code == 200
    r = client.post(
        f"{base}/draft/intervention/add/",
        {
            "version": 4,
            "parent": goal.pk,
            "modality": "CBT group",
            "frequency": "3 times a week",
            "responsible": tom.pk,
        },
    )
    assert r.status_code == 302
    r = client.post(f"{base}/draft/sign/", {"version": 5}, **htmx)
    assert r.status_code == 204
    assert r["HX-Redirect"] == f"{base}/"
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SIGNED
    html = client.get(f"{base}/").content.decode()
    assert "Signed by <strong>Tom Fakename, LCSW</strong>" in html
    assert 'data-testid="plan-start-review"' in html


def test_a_stale_edit_answers_409_with_the_draft(client, site, tom, enrollment, patient):
    plan = make_plan(patient, enrollment, tom, signed=False)
    sign_in(client, tom, site=site)
    r = client.post(
        f"/patients/{patient.pk}/plan/draft/problem/add/",
        {"version": plan.version + 5, "statement": "Late"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 409
    assert "Someone changed this draft" in r.content.decode()
    assert plan.problems.count() == 2


def test_a_bad_item_answers_422_naming_the_field(client, site, tom, enrollment, patient):
    plan = make_plan(patient, enrollment, tom, signed=False)
    goal = plan.goals.first()
    sign_in(client, tom, site=site)
    r = client.post(
        f"/patients/{patient.pk}/plan/draft/objective/add/",
        {"version": plan.version, "parent": goal.pk, "statement": "x", "target_date": "soon"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert "is-invalid" in html
    assert "Enter a valid date." in html
    assert plan.objectives.count() == 2


def test_an_unknown_kind_is_not_found(client, site, tom, enrollment, patient):
    make_plan(patient, enrollment, tom, signed=False)
    sign_in(client, tom, site=site)
    r = client.post(f"/patients/{patient.pk}/plan/draft/menace/add/", {"version": 1})
    assert r.status_code == 404


def test_editing_an_item_inline(client, site, tom, enrollment, patient):
    plan = make_plan(patient, enrollment, tom, signed=False)
    goal = plan.goals.first()
    sign_in(client, tom, site=site)
    url = f"/patients/{patient.pk}/plan/draft/goal/{goal.pk}/"
    r = client.get(url, HTTP_HX_REQUEST="true")
    assert f'id="goal-{goal.pk}-statement"' in r.content.decode()
    r = client.post(
        url,
        {"version": plan.version, "statement": "Stay sober one day at a time"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    goal.refresh_from_db()
    assert goal.statement == "Stay sober one day at a time"
    r = client.post(
        f"/patients/{patient.pk}/plan/draft/goal/{goal.pk}/remove/",
        {"version": plan.version + 1},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    assert plan.goals.count() == 1


def test_acknowledging_on_the_plan_screen(client, site, tom, enrollment, patient):
    plan = make_plan(patient, enrollment, tom)
    sign_in(client, tom, site=site)
    url = f"/patients/{patient.pk}/plan/versions/{plan.pk}/acknowledge/"
    r = client.post(url, {"typed_name": "Somebody Else"})
    assert r.status_code == 422
    assert "does not match" in r.content.decode()
    r = client.post(url, {"typed_name": "robin planfake"})
    assert r.status_code == 302
    assert PlanAcknowledgement.objects.get(plan=plan).typed_name == "robin planfake"
    html = client.get(f"/patients/{patient.pk}/plan/").content.decode()
    assert "typed “robin planfake”" in html


def test_the_print_view_is_audited_as_a_print(client, site, tom, enrollment, patient):
    plan = make_plan(patient, enrollment, tom)
    sign_in(client, tom, site=site)
    r = client.get(f"/patients/{patient.pk}/plan/versions/{plan.pk}/print/")
    assert r.status_code == 200
    assert "data-print" in r.content.decode()
    assert AuditEvent.objects.filter(patient_id=patient.pk, action="print").exists()


def test_the_chart_section(client, site, tom, enrollment, patient, django_assert_max_num_queries):
    plan = make_plan(patient, enrollment, tom, goals=("Stay sober", "Find work"))
    _signed_note(site, tom, patient, plan.goals.get(statement="Stay sober"), days_ago=2)
    sign_in(client, tom, site=site)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="chart-plans"' in html
    assert "2 goals, 1 never addressed in a note" in html
    assert "addressed 2 days ago" in html
    assert "Next review" in html


def test_the_chart_section_offers_the_initial_plan(client, site, tom, patient):
    sign_in(client, tom, site=site)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="chart-plan-start"' in html
    assert "Initial plan overdue by 13 days" in html


def test_the_chart_section_is_hidden_from_front_desk(client, site, patient):
    from openiop.accounts.roles import Role
    from tests.factories import make_user

    fran = make_user("fran", site=site, role=Role.FRONT_DESK)
    sign_in(client, fran, site=site)
    assert (
        'data-testid="chart-plans"' not in client.get(f"/patients/{patient.pk}/").content.decode()
    )


# --- Relapse-prevention pages --------------------------------------------------------------


def _rpp_post(**extra):
    data = {
        "based_on": 0,
        "triggers": "Payday",
        "warning_signs": "",
        "high_risk_situations": "",
        "coping_strategies": "Call Sam",
        "craving_plan": "",
        "emergency_steps": "Call 988",
        "support_name": ["Sam Sponsorfake", ""],
        "support_phone": ["555-010-0142", ""],
        "support_relationship": ["Sponsor", ""],
    }
    data.update(extra)
    return data


def test_saving_relapse_prevention_versions(client, site, tom, patient):
    sign_in(client, tom, site=site)
    url = f"/patients/{patient.pk}/relapse-prevention/edit/"
    assert client.get(url).status_code == 200
    assert client.post(url, _rpp_post()).status_code == 302
    r = client.post(url, _rpp_post(based_on=1, triggers="Payday; old friends"))
    assert r.status_code == 302
    assert list(
        RelapsePreventionPlan.objects.filter(patient=patient).values_list("number", flat=True)
    ) == [2, 1]
    html = client.get(f"/patients/{patient.pk}/relapse-prevention/").content.decode()
    assert "Version 2</a> by Tom Fakename" in html
    assert "Version 1</a> by Tom Fakename" in html
    r = client.get(f"/patients/{patient.pk}/relapse-prevention/v1/print/")
    assert r.status_code == 200
    assert "My relapse-prevention plan" in r.content.decode()
    assert "555-010-0142" in r.content.decode()


def test_a_concurrent_relapse_prevention_save_is_refused(client, site, tom, patient):
    sign_in(client, tom, site=site)
    url = f"/patients/{patient.pk}/relapse-prevention/edit/"
    client.post(url, _rpp_post())
    r = client.post(url, _rpp_post(triggers="Something else"))
    assert r.status_code == 409
    assert "saved version 1 of this plan while you were editing" in r.content.decode()
    assert "Something else" in r.content.decode()
    assert RelapsePreventionPlan.objects.count() == 1


def test_a_support_without_phone_is_refused(client, site, tom, patient):
    sign_in(client, tom, site=site)
    url = f"/patients/{patient.pk}/relapse-prevention/edit/"
    r = client.post(url, _rpp_post(support_phone=["", ""]))
    assert r.status_code == 422
    assert "Give a phone number" in r.content.decode()
    assert not RelapsePreventionPlan.objects.exists()


def test_adding_a_support_row_with_htmx(client, site, tom, patient):
    sign_in(client, tom, site=site)
    r = client.get(
        f"/patients/{patient.pk}/relapse-prevention/edit/?add_row=3", HTTP_HX_REQUEST="true"
    )
    html = r.content.decode()
    assert 'id="support-3-name"' in html
    assert "add_row=4" in html
