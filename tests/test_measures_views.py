"""The questionnaire screens over HTTP: administer, result, strike, history, due list, program
setup and the chart panel. Responses and database state both asserted."""

from __future__ import annotations

from datetime import date, time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.roles import Role
from openiop.alerts.models import Alert
from openiop.audit.models import AuditEvent
from openiop.lib.dates import at_local
from openiop.measures.models import (
    MeasureResponse,
    MeasureSchedule,
    MeasureStrike,
    ProgramMeasureSettings,
)
from tests.factories import make_user, sign_in
from tests.factories_measures import GAD7_MODERATE, PHQ9_MILD, enrolled, measure, schedule, strike
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 20)


@pytest.fixture(autouse=True)
def now(site):
    moment = at_local(TODAY, time(12, 0), site.time_zone)
    with time_machine.travel(moment, tick=False):
        yield moment


@pytest.fixture
def program(site):
    return make_program(site, name="Adult IOP")


@pytest.fixture
def pat(site, tom, program):
    patient, _ = enrolled(
        site, therapist=tom, program=program, admitted_on=date(2026, 3, 2), last_name="Testcase"
    )
    return patient


@pytest.fixture
def signed_tom(client, site, tom):
    sign_in(client, tom, site=site)
    return client


def phq9_post(values: list[int | None], **extra: str) -> dict[str, str]:
    data = {"instrument": "PHQ-9", "taken_on": "2026-03-19", "respondent": "patient", **extra}
    for n, value in enumerate(values, start=1):
        if value is not None:
            data[f"item_{n}"] = str(value)
    return data


# --- administer ------------------------------------------------------------------------------


def test_it_offers_a_picker_without_instrument(signed_tom, pat):
    page = signed_tom.get(reverse("measure-new", args=[pat.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    for code in ("PHQ-9", "GAD-7", "BAM", "PCL-5", "AUDIT", "DAST-10", "C-SSRS", "CRAVING"):
        assert f'data-testid="pick-{code}"' in body


def test_it_answers_422_for_an_unknown_instrument(signed_tom, pat):
    page = signed_tom.get(reverse("measure-new", args=[pat.pk]) + "?instrument=NOPE")
    assert page.status_code == 422
    assert "There is no questionnaire “NOPE”" in page.content.decode()


def test_it_shows_every_item_with_radio_options_in_fieldsets(signed_tom, pat):
    page = signed_tom.get(reverse("measure-new", args=[pat.pk]) + "?instrument=PHQ-9")
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count("<fieldset") == 9
    assert body.count('type="radio" name="item_9"') == 4
    assert '<label class="form-check-label" for="item_9_3">Nearly every day</label>' in body
    assert "9. Thoughts that you would be better off dead" in body
    assert 'data-testid="skip-note"' not in body


def test_cssrs_form_explains_the_skip_logic(signed_tom, pat):
    page = signed_tom.get(reverse("measure-new", args=[pat.pk]) + "?instrument=C-SSRS")
    body = page.content.decode()
    assert body.count("<fieldset") == 6
    assert 'data-testid="skip-note"' in body
    assert "asked only if item 2 is “Yes”" in body


def test_it_saves_and_redirects_to_the_result(signed_tom, pat, tom):
    page = signed_tom.post(
        reverse("measure-new", args=[pat.pk]) + "?instrument=PHQ-9", phq9_post(PHQ9_MILD)
    )
    response = MeasureResponse.objects.get()
    assert page.status_code == 302
    assert page.url == reverse("measure-detail", args=[response.pk])
    assert (response.score, response.band, response.respondent) == (7, "mild", "patient")
    assert response.taken_on == date(2026, 3, 19)
    assert response.recorded_by == tom
    assert AuditEvent.objects.filter(object_type="measure", action="create").count() == 1


def test_it_refuses_missing_items_naming_each_and_saves_nothing(signed_tom, pat):
    values = [1, 1, None, 1, 1, 1, 1, None, 1]
    page = signed_tom.post(reverse("measure-new", args=[pat.pk]), phq9_post(values))
    body = page.content.decode()
    assert page.status_code == 422
    assert "Answer item 3." in body and "Answer item 8." in body
    assert 'id="item-3-error"' in body
    assert 'name="item_1" id="item_1_1" value="1" checked' in body  # answers kept
    assert not MeasureResponse.objects.exists()


def test_it_refuses_an_answer_outside_the_options(signed_tom, pat):
    page = signed_tom.post(reverse("measure-new", args=[pat.pk]), phq9_post([1] * 8 + [7]))
    assert page.status_code == 422
    assert 'id="item-9-error"' in page.content.decode()
    assert not MeasureResponse.objects.exists()


def test_it_refuses_a_date_in_the_future(signed_tom, pat):
    page = signed_tom.post(
        reverse("measure-new", args=[pat.pk]), phq9_post(PHQ9_MILD, taken_on="2026-03-21")
    )
    assert page.status_code == 422
    assert "cannot be in the future" in page.content.decode()
    assert not MeasureResponse.objects.exists()


@pytest.mark.parametrize(
    ("answers", "item"),
    [
        ({"1": "1", "2": "1", "4": "0", "5": "0", "6": "0"}, 3),  # Q2 yes, Q3 left blank
        ({"1": "0", "2": "0", "3": "1", "6": "0"}, 3),  # Q2 no, Q3 answered anyway
        ({"1": "0", "3": "0"}, 2),  # Q2 blank
    ],
)
def test_cssrs_skip_logic_errors_name_the_item(signed_tom, pat, answers, item):
    data = {"instrument": "C-SSRS", "taken_on": "2026-03-19", "respondent": "staff"}
    data.update({f"item_{k}": v for k, v in answers.items()})
    page = signed_tom.post(reverse("measure-new", args=[pat.pk]), data)
    assert page.status_code == 422
    assert f'id="item-{item}-error"' in page.content.decode()
    assert not MeasureResponse.objects.exists()


def test_cssrs_with_q2_no_saves_without_q3_to_q5(signed_tom, pat):
    data = {"instrument": "C-SSRS", "taken_on": "2026-03-19", "respondent": "staff"}
    data.update({"item_1": "1", "item_2": "0", "item_6": "0"})
    page = signed_tom.post(reverse("measure-new", args=[pat.pk]), data)
    assert page.status_code == 302
    assert MeasureResponse.objects.get().answers == {"1": 1, "2": 0, "6": 0}


def test_other_sites_patients_are_404(client, other_site, oscar, pat):
    sign_in(client, oscar, site=other_site)
    assert client.get(reverse("measure-new", args=[pat.pk])).status_code == 404
    page = client.post(reverse("measure-new", args=[pat.pk]), phq9_post(PHQ9_MILD))
    assert page.status_code == 404
    assert not MeasureResponse.objects.exists()


# --- result and strike -----------------------------------------------------------------------


def test_the_result_shows_score_answers_and_the_safety_box(signed_tom, pat, tom, dana):
    response = measure(pat, "PHQ-9", [2, 1, 0, 0, 0, 0, 0, 0, 2], by=tom, taken_on=TODAY)
    page = signed_tom.get(reverse("measure-detail", args=[response.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert '<dd data-testid="measure-score"><strong>5</strong></dd>' in body
    assert '<dd data-testid="measure-band">Mild</dd>' in body
    assert 'data-testid="measure-safety"' in body
    assert "Dana Testperson, Tom Fakename" in body
    assert "More than half the days <span" in body  # item 1 and 9 labels
    assert "Tom Fakename, Mar 20, 2026" in body
    assert AuditEvent.objects.filter(
        object_type="measure", action="view", patient_id=pat.pk
    ).exists()


def test_the_result_shows_bam_subscales(signed_tom, pat, tom):
    answers = [1, 2, 3, 4, 0, 1, None, 2, 3, 1, 2, 4, 0, 4, 1, 2, 3]
    response = measure(pat, "BAM", answers, by=tom, taken_on=TODAY)
    body = signed_tom.get(reverse("measure-detail", args=[response.pk])).content.decode()
    assert '<dd data-testid="measure-subscale-use">5</dd>' in body
    assert '<dd data-testid="measure-subscale-risk">11</dd>' in body
    assert '<dd data-testid="measure-subscale-protective">14</dd>' in body
    assert 'data-testid="measure-score"' not in body
    assert 'data-testid="measure-safety"' not in body


def test_a_response_of_another_site_is_404(client, other_site, oscar, pat, tom):
    response = measure(pat, by=tom, taken_on=TODAY)
    sign_in(client, oscar, site=other_site)
    assert client.get(reverse("measure-detail", args=[response.pk])).status_code == 404
    page = client.post(reverse("measure-strike", args=[response.pk]), {"reason": "x"})
    assert page.status_code == 404
    assert not MeasureStrike.objects.exists()


def test_it_strikes_with_a_reason_once(signed_tom, pat, tom):
    response = measure(pat, by=tom, taken_on=TODAY)
    url = reverse("measure-strike", args=[response.pk])
    page = signed_tom.post(url, {"reason": ""})
    assert page.status_code == 422
    assert not MeasureStrike.objects.exists()
    page = signed_tom.post(url, {"reason": "wrong patient"})
    assert page.status_code == 302
    assert MeasureStrike.objects.get().reason == "wrong patient"
    body = signed_tom.get(reverse("measure-detail", args=[response.pk])).content.decode()
    assert 'data-testid="measure-struck"' in body
    assert 'data-testid="measure-strike"' not in body  # no second strike form
    page = signed_tom.post(url, {"reason": "again"})
    assert page.status_code == 422
    assert "already struck" in page.content.decode()
    assert MeasureStrike.objects.count() == 1


# --- history ---------------------------------------------------------------------------------


def test_history_filters_and_crosses_out_struck(signed_tom, pat, tom):
    old = measure(pat, by=tom, taken_on=date(2026, 3, 3))
    measure(pat, by=tom, taken_on=date(2026, 3, 10))
    measure(pat, "GAD-7", GAD7_MODERATE, by=tom, taken_on=date(2026, 3, 4))
    strike(old, by=tom)
    url = reverse("patient-measures", args=[pat.pk])
    body = signed_tom.get(url).content.decode()
    assert body.count('data-testid="history-row"') == 3
    assert body.count('data-struck="true"') == 1
    body = signed_tom.get(url + "?instrument=GAD-7").content.decode()
    assert body.count('data-testid="history-row"') == 1
    assert "GAD-7" in body
    page = signed_tom.get(url + "?instrument=NOPE")
    assert page.status_code == 422


def test_history_empty_state(signed_tom, pat):
    body = signed_tom.get(reverse("patient-measures", args=[pat.pk])).content.decode()
    assert 'data-testid="history-empty"' in body


def test_history_query_count_does_not_grow(signed_tom, pat, tom):
    url = reverse("patient-measures", args=[pat.pk])
    measure(pat, by=tom, taken_on=date(2026, 3, 3))
    with CaptureQueriesContext(connection) as small:
        signed_tom.get(url)
    for day in range(4, 14):
        strike(measure(pat, by=tom, taken_on=date(2026, 3, day)), by=tom)
    with CaptureQueriesContext(connection) as large:
        signed_tom.get(url)
    assert len(small) == len(large)


# --- due list --------------------------------------------------------------------------------


def test_the_due_list_puts_mine_first_and_highlights_overdue(signed_tom, site, tom, program):
    other_therapist = make_user("theo", site=site, role=Role.THERAPIST, first_name="Theo")
    schedule(program, "PHQ-9", every_days=7)
    theirs, _ = enrolled(
        site, therapist=other_therapist, program=program, admitted_on=TODAY, last_name="Aaron"
    )
    mine, _ = enrolled(
        site, therapist=tom, program=program, admitted_on=date(2026, 3, 2), last_name="Zulu"
    )
    page = signed_tom.get(reverse("measures-due"))
    body = page.content.decode()
    assert page.status_code == 200
    assert body.index("Zulu") < body.index("Aaron")
    assert body.count('data-overdue="true"') == 1  # Zulu's intake of Mar 2
    assert f"{reverse('measure-new', args=[mine.pk])}?instrument=PHQ-9" in body
    events = AuditEvent.objects.filter(object_type="measures_due_list")
    assert sorted(e.patient_id for e in events) == sorted([mine.pk, theirs.pk])
    assert {(e.actor_id, e.action, e.detail) for e in events} == {(tom.pk, "view", "all: page 1")}
    body = signed_tom.get(reverse("measures-due") + "?show=mine").content.decode()
    assert "Zulu" in body and "Aaron" not in body


def test_the_due_list_has_an_empty_state(signed_tom):
    body = signed_tom.get(reverse("measures-due")).content.decode()
    assert 'data-testid="due-empty"' in body
    event = AuditEvent.objects.get(object_type="measures_due_list")
    assert (event.patient_id, event.detail) == (None, "all: page 1")


def test_the_due_list_refuses_a_bad_filter(signed_tom):
    assert signed_tom.get(reverse("measures-due") + "?show=nobody").status_code == 422


def test_the_due_list_query_count_is_constant(signed_tom, site, tom, program):
    schedule(program, "PHQ-9", every_days=7)
    schedule(program, "GAD-7")

    def run() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert signed_tom.get(reverse("measures-due")).status_code == 200
        return len(queries)

    for n in range(3):
        enrolled(site, therapist=tom, program=program, last_name=f"Small{n}")
    small = run()
    for n in range(9):
        enrolled(site, program=program, last_name=f"Large{n}")
    assert run() == small


# --- program setup ---------------------------------------------------------------------------


@pytest.fixture
def signed_dana(client, site, dana):
    sign_in(client, dana, site=site)
    return client


def test_setup_adds_edits_and_removes_schedules(signed_dana, program):
    url = reverse("setup-measures", args=[program.pk])
    assert 'data-testid="schedule-empty"' in signed_dana.get(url).content.decode()
    add = reverse("setup-measure-schedule-add", args=[program.pk])
    page = signed_dana.post(add, {"instrument": "PHQ-9", "at_intake": "on", "every_days": "14"})
    assert page.status_code == 302
    row = MeasureSchedule.objects.get()
    assert (row.instrument, row.at_intake, row.every_days, row.at_discharge) == (
        "PHQ-9",
        True,
        14,
        False,
    )
    page = signed_dana.post(add, {"instrument": "PHQ-9", "at_intake": "on"})
    assert page.status_code == 422
    assert "already has a schedule for PHQ-9" in page.content.decode()
    edit = reverse("setup-measure-schedule-edit", args=[row.pk])
    page = signed_dana.post(
        edit, {f"s{row.pk}-instrument": "PHQ-9", f"s{row.pk}-at_discharge": "on"}
    )
    assert page.status_code == 302
    row.refresh_from_db()
    assert (row.at_intake, row.every_days, row.at_discharge) == (False, None, True)
    page = signed_dana.post(reverse("setup-measure-schedule-remove", args=[row.pk]))
    assert page.status_code == 302
    assert not MeasureSchedule.objects.exists()
    assert AuditEvent.objects.filter(object_type="measure_schedule").count() == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"instrument": "GAD-7", "every_days": "0"}, "greater than or equal to 1"),
        ({"instrument": "GAD-7", "every_days": "366"}, "less than or equal to 365"),
        ({"instrument": "GAD-7"}, "Choose at least one"),
        ({"instrument": "NOPE", "at_intake": "on"}, "Select a valid choice"),
    ],
)
def test_setup_refuses_bad_schedules(signed_dana, program, data, message):
    page = signed_dana.post(reverse("setup-measure-schedule-add", args=[program.pk]), data)
    assert page.status_code == 422
    assert message in page.content.decode()
    assert not MeasureSchedule.objects.exists()


def test_setup_edit_refuses_bad_every_days(signed_dana, program):
    row = schedule(program, "PHQ-9", every_days=14)
    page = signed_dana.post(
        reverse("setup-measure-schedule-edit", args=[row.pk]),
        {f"s{row.pk}-instrument": "PHQ-9", f"s{row.pk}-every_days": "400"},
    )
    assert page.status_code == 422
    row.refresh_from_db()
    assert row.every_days == 14


def settings_post(version: int, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "version": version,
        "pcl5_threshold": 31,
        "placement_review_days": 30,
        "unexpected_screens": 3,
        "unexpected_window_days": 30,
        "missed_weeks": 2,
        "score_window_days": 28,
        "craving_rise": 2,
        "craving_sustain": 2,
        "safety_window_days": 14,
        "stable_window_days": 28,
        "stable_min_screens": 0,
        "stable_weeks_met": 4,
        "stable_min_scores": 2,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_setup_saves_settings_with_optimistic_locking(signed_dana, program):
    url = reverse("setup-measures", args=[program.pk])
    body = signed_dana.get(url).content.decode()
    for heading in ("Questionnaires", "Placement", "Step-up / step-down review signals"):
        assert f">{heading}</legend>" in body
    assert signed_dana.post(url, settings_post(1)).status_code == 302
    stored = ProgramMeasureSettings.objects.get(program=program)
    assert (stored.pcl5_threshold, stored.stable_min_screens, stored.version) == (31, 0, 2)
    assert stored.require_goals_met is False  # unchecked box
    stale = signed_dana.post(url, settings_post(1, pcl5_threshold=40))
    assert stale.status_code == 422
    assert "changed since the page was loaded" in stale.content.decode()
    stored.refresh_from_db()
    assert stored.pcl5_threshold == 31
    assert signed_dana.post(url, settings_post(2, require_goals_met="on")).status_code == 302
    stored.refresh_from_db()
    assert (stored.require_goals_met, stored.version) == (True, 3)


@pytest.mark.parametrize(
    "overrides",
    [
        {"unexpected_screens": 0},
        {"stable_min_screens": -1},
        {"pcl5_threshold": 81},
        {"missed_weeks": "two"},
        {"craving_rise": None},
    ],
)
def test_setup_refuses_bad_settings(signed_dana, program, overrides):
    page = signed_dana.post(
        reverse("setup-measures", args=[program.pk]), settings_post(1, **overrides)
    )
    assert page.status_code == 422
    assert 'data-testid="settings-errors"' in page.content.decode()
    assert not ProgramMeasureSettings.objects.exists()


def test_setup_of_another_sites_program_is_404(client, other_site, oscar, program):
    sign_in(client, oscar, site=other_site)
    assert client.get(reverse("setup-measures", args=[program.pk])).status_code == 404


def test_the_program_page_links_to_the_setup(signed_dana, program):
    body = signed_dana.get(reverse("setup-program-detail", args=[program.pk])).content.decode()
    assert reverse("setup-measures", args=[program.pk]) in body


# --- chart panel -----------------------------------------------------------------------------


def test_the_chart_shows_due_and_recent(signed_tom, pat, tom, program):
    schedule(program, "PHQ-9", every_days=7)
    schedule(program, "GAD-7")
    struck = measure(pat, by=tom, taken_on=date(2026, 3, 2))
    strike(struck, by=tom)
    measure(pat, by=tom, taken_on=date(2026, 3, 10))
    body = signed_tom.get(reverse("patient-chart", args=[pat.pk])).content.decode()
    assert 'data-testid="chart-measures"' in body
    assert body.count('data-testid="chart-measure-due"') == 2  # GAD-7 intake, PHQ-9 periodic
    assert body.count('data-testid="chart-measure"') == 2
    assert "text-decoration-line-through" in body


def test_the_chart_panel_is_hidden_without_measures_view(client, site, pat):
    clerk = make_user("fran", site=site, role=Role.FRONT_DESK)
    sign_in(client, clerk, site=site)
    body = client.get(reverse("patient-chart", args=[pat.pk])).content.decode()
    assert 'data-testid="chart-measures"' not in body


def test_the_chart_panel_adds_constant_queries(signed_tom, pat, tom, program):
    url = reverse("patient-chart", args=[pat.pk])
    schedule(program, "PHQ-9", every_days=7)
    measure(pat, by=tom, taken_on=date(2026, 3, 2))
    with CaptureQueriesContext(connection) as small:
        signed_tom.get(url)
    for day in range(3, 19):
        measure(pat, "GAD-7", GAD7_MODERATE, by=tom, taken_on=date(2026, 3, day))
    schedule(program, "GAD-7", every_days=7)
    with CaptureQueriesContext(connection) as large:
        signed_tom.get(url)
    mine = [q for q in large.captured_queries if "measures_measure" in q["sql"]]
    assert len(small) == len(large)
    assert mine  # the panel did query


def test_a_patient_without_enrollment_has_no_due_items(signed_tom, site, tom):
    loner = make_patient(site, first_name="Lone")
    body = signed_tom.get(reverse("patient-chart", args=[loner.pk])).content.decode()
    assert 'data-testid="chart-measures-empty"' in body
    assert not Alert.objects.exists()


def test_cssrs_errors_name_every_item_at_fault_at_once(signed_tom, pat):
    data = {"instrument": "C-SSRS", "taken_on": "2026-03-19", "respondent": "staff"}
    data.update({"item_1": "1", "item_2": "1"})
    body = signed_tom.post(reverse("measure-new", args=[pat.pk]), data).content.decode()
    for item in (3, 4, 5, 6):
        assert f'id="item-{item}-error"' in body
    assert "Answer item 3: it is asked because of item 2." in body
    data = {"instrument": "C-SSRS", "taken_on": "2026-03-19", "respondent": "staff"}
    data.update({"item_1": "0", "item_2": "0", "item_4": "1", "item_5": "0"})
    body = signed_tom.post(reverse("measure-new", args=[pat.pk]), data).content.decode()
    assert "Leave item 4 blank: the answer to item 2 skips it." in body
    assert "Leave item 5 blank" in body
    assert 'id="item-6-error"' in body
    assert not MeasureResponse.objects.exists()
