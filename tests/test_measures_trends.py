"""The chart's questionnaire trends and its safety banner, read through the chart page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertKind, AlertState
from openiop.lib.dates import local_today
from openiop.measures import chart_safety, chart_trends
from tests.factories import make_user, sign_in
from tests.factories_measures import PHQ9_ITEM9, enrolled, measure, strike

pytestmark = pytest.mark.django_db

BAM_ZERO = [0] * 17


def phq9_total(total: int) -> list[int]:
    """PHQ-9 answers with item 9 at 0 reaching ``total`` (at most 24)."""
    answers = []
    for _ in range(8):
        answers.append(min(3, total))
        total -= answers[-1]
    return [*answers, 0]


@pytest.fixture
def case(site, tom, dana):
    patient, _ = enrolled(site, therapist=tom, first_name="Wren", last_name="Trendfake")
    return patient


@pytest.fixture
def today(case) -> date:
    return local_today(case.site.time_zone)


def chart(client, user, patient) -> str:
    sign_in(client, user, site=patient.site)
    response = client.get(f"/patients/{patient.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def section(body: str, testid: str) -> str:
    start = body.index(f'data-testid="{testid}"')
    return body[start : body.index("</figure>", start)]


def points(fragment: str) -> list[tuple[str, str, str]]:
    return re.findall(
        r'data-point data-date="([\d-]+)" data-value="(\d+)"(?: data-band-name="([^"]+)")?',
        fragment,
    )


def test_it_draws_phq9_and_gad7_against_their_bands(client, case, tom, today):
    measure(case, "PHQ-9", phq9_total(16), by=tom, taken_on=today - timedelta(days=28))
    measure(case, "PHQ-9", phq9_total(9), by=tom, taken_on=today - timedelta(days=14))
    measure(case, "PHQ-9", phq9_total(4), by=tom, taken_on=today)
    measure(case, "GAD-7", [3, 3, 3, 3, 3, 0, 0], by=tom, taken_on=today)
    body = chart(client, tom, case)
    phq = section(body, "trend-phq9")
    assert points(phq) == [
        ((today - timedelta(days=28)).isoformat(), "16", "moderately severe"),
        ((today - timedelta(days=14)).isoformat(), "9", "mild"),
        (today.isoformat(), "4", "minimal"),
    ]
    assert re.findall(r'data-band="([^"]+)"', phq) == [
        "minimal",
        "mild",
        "moderate",
        "moderately severe",
        "severe",
    ]
    assert "moderately severe 15–19" in phq
    assert '<polyline points="' in phq
    assert 'role="img"' in phq and "<desc id=" in phq
    assert "Latest" in phq and "<strong>4</strong> (minimal)" in phq
    gad = section(body, "trend-gad7")
    assert points(gad) == [(today.isoformat(), "15", "severe")]
    assert re.findall(r'data-band="([^"]+)"', gad) == ["minimal", "mild", "moderate", "severe"]
    # one point: no line
    assert "<polyline" not in gad
    # the table repeats the points with their band
    table = phq[phq.index('data-testid="trend-phq9-table"') :]
    assert "<td>16</td><td>moderately severe</td>" in table
    assert "style=" not in body.split('data-testid="chart-trends"')[1].split("</section>")[0]


def test_it_leaves_struck_responses_out(client, case, tom, today):
    kept = measure(case, "PHQ-9", phq9_total(10), by=tom, taken_on=today - timedelta(days=7))
    wrong = measure(case, "PHQ-9", phq9_total(22), by=tom, taken_on=today)
    strike(wrong, by=tom)
    phq = section(chart(client, tom, case), "trend-phq9")
    assert points(phq) == [(kept.taken_on.isoformat(), "10", "moderate")]
    assert "<td>22</td>" not in phq


def test_it_draws_the_bam_subscales_and_craving(client, case, tom, today):
    first = list(BAM_ZERO)
    first[3], first[4], first[5] = 4, 3, 2  # use = 9
    first[0], first[1] = 2, 1  # risk = 3
    first[8], first[15] = 4, 3  # protective = 7
    measure(case, "BAM", first, by=tom, taken_on=today - timedelta(days=30))
    measure(case, "BAM", BAM_ZERO, by=tom, taken_on=today)
    measure(case, "CRAVING", [7], by=tom, taken_on=today - timedelta(days=2))
    measure(case, "CRAVING", [3], by=tom, taken_on=today)
    body = chart(client, tom, case)
    bam = section(body, "trend-bam")
    parts = bam.split('<g data-series="')[1:]
    series = [(part[: part.index('"')], part) for part in parts]
    assert [name for name, _ in series] == [
        "Use (items 4–6)",
        "Risk factors (items 1–3, 8, 11, 15)",
        "Protective factors (items 9, 10, 12–14, 16)",
    ]
    assert [v for _, v, _ in points(series[0][1])] == ["9", "0"]
    assert [v for _, v, _ in points(series[1][1])] == ["3", "0"]
    assert [v for _, v, _ in points(series[2][1])] == ["7", "0"]
    assert "data-band=" not in bam  # the BAM has no bands
    craving = section(body, "trend-craving")
    assert [v for _, v, _ in points(craving)] == ["7", "3"]
    assert 'data-testid="trend-phq9-empty"' in body
    assert 'data-testid="trends-empty"' not in body


def test_it_says_so_when_there_is_nothing_to_draw(client, case, tom):
    body = chart(client, tom, case)
    assert 'data-testid="trends-empty"' in body
    assert '<svg width="100%"' not in body


def test_roles_without_measures_view_see_no_trends_and_no_banner(client, case, tom, site, today):
    measure(case, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=today)
    desk = make_user("fran", site=site, role=Role.FRONT_DESK)
    body = chart(client, desk, case)
    assert 'data-testid="chart-trends"' not in body
    assert 'data-testid="safety-banner"' not in body
    assert "item 9" not in body


def test_the_trends_cost_one_query_whatever_the_history(rf, case, tom, today):
    def count(n: int) -> int:
        for day in range(n):
            measure(case, "PHQ-9", phq9_total(day % 20), by=tom, taken_on=today - timedelta(day))
            measure(case, "BAM", BAM_ZERO, by=tom, taken_on=today - timedelta(day))
            measure(case, "CRAVING", [day % 11], by=tom, taken_on=today - timedelta(day))
        request = rf.get("/")
        request.user = tom
        request.membership = tom.memberships.get()
        with CaptureQueriesContext(connection) as queries:
            panel = chart_trends.panel(request, case)
        assert panel is not None
        return len(queries)

    assert count(1) == 1
    assert count(12) == 1


# ---- the safety banner ----


def banner_part(body: str) -> str:
    return body[: body.index('data-testid="chart-name"')]


def test_a_phq9_item_9_answer_puts_a_red_banner_above_the_chart(client, case, tom, dana, today):
    response = measure(case, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=today)
    body = chart(client, tom, case)
    top = banner_part(body)
    assert top.count('data-testid="safety-banner"') == 1
    assert 'class="alert alert-danger' in top and 'role="alert"' in top
    assert f'data-evidence="measure-{response.pk}"' in top
    assert "PHQ-9 item 9 answered 1" in top
    assert "Several days" in top  # what was answered, in words
    assert today.isoformat() in top  # when
    alerted = re.search(r'data-testid="safety-alerted">([^<]*)<', top).group(1)
    assert "Tom Fakename" in alerted and "Dana Testperson" in alerted
    tom_copy = Alert.objects.get(assignee=tom, kind=AlertKind.SAFETY, evidence_id=response.pk)
    assert f'action="/alerts/{tom_copy.pk}/acknowledge/"' in top
    assert f'name="version" value="{tom_copy.version}"' in top
    assert f'name="next" value="/patients/{case.pk}/"' in top
    assert '<textarea class="form-control mb-2" id="safety-action-' in top
    assert 'name="action"' in top
    assert re.search(r'<label[^>]+for="safety-action-\d+"', top)


def test_a_director_acts_on_their_own_copy(client, case, tom, dana, today):
    response = measure(case, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=today)
    top = banner_part(chart(client, dana, case))
    dana_copy = Alert.objects.get(assignee=dana, kind=AlertKind.SAFETY, evidence_id=response.pk)
    assert f'action="/alerts/{dana_copy.pk}/acknowledge/"' in top


def test_a_high_cssrs_raises_a_banner_and_a_low_one_none(client, case, tom, today):
    measure(case, "C-SSRS", [1, 0, None, None, None, 0], by=tom, taken_on=today)
    assert 'data-testid="safety-banner"' not in chart(client, tom, case)
    measure(case, "C-SSRS", [1, 1, 1, 1, 0, 0], by=tom, taken_on=today)
    top = banner_part(chart(client, tom, case))
    assert top.count('data-testid="safety-banner"') == 1
    assert "high suicide risk" in top


def test_the_banner_goes_once_any_copy_is_acknowledged(client, case, tom, dana, today):
    first = measure(case, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=today - timedelta(days=1))
    second = measure(case, "PHQ-9", [0, 0, 0, 0, 0, 0, 0, 0, 2], by=tom, taken_on=today)
    top = banner_part(chart(client, tom, case))
    assert re.findall(r'data-evidence="measure-(\d+)"', top) == [str(second.pk), str(first.pk)]
    Alert.objects.filter(assignee=dana, kind=AlertKind.SAFETY, evidence_id=first.pk).update(
        state=AlertState.ACKNOWLEDGED, acknowledged_at=timezone.now(), acknowledged_by=dana
    )
    top = banner_part(chart(client, tom, case))
    assert re.findall(r'data-evidence="measure-(\d+)"', top) == [str(second.pk)]
    Alert.objects.filter(kind=AlertKind.SAFETY, evidence_id=second.pk).update(
        state=AlertState.RESOLVED, resolved_at=timezone.now(), resolved_by=tom
    )
    assert 'data-testid="safety-banner"' not in chart(client, tom, case)


def test_it_shows_only_this_patients_safety_alerts(client, case, tom, site, today):
    program = case.enrollments.get().program
    other, _ = enrolled(
        site, therapist=tom, program=program, first_name="Ash", last_name="Otherfake"
    )
    measure(other, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=today)
    assert 'data-testid="safety-banner"' not in chart(client, tom, case)
    assert Alert.objects.filter(patient=other, kind=AlertKind.SAFETY).count() == 2


def test_the_banner_costs_one_query_whatever_the_alerts(rf, case, tom, dana, site, today):
    def count() -> tuple[int, int]:
        request = rf.get("/")
        request.user = tom
        request.membership = tom.memberships.get()
        with CaptureQueriesContext(connection) as queries:
            panel = chart_safety.panel(request, case)
        return len(queries), len(panel["banners"]) if panel else 0

    assert count() == (1, 0)
    measure(case, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=today)
    assert count() == (1, 1)
    for _ in range(5):
        measure(case, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=today)
    make_user("dora", site=site, role=Role.DIRECTOR)
    measure(case, "C-SSRS", [1, 1, 1, 1, 1, 2], by=tom, taken_on=today)
    assert count() == (1, 7)


def test_acknowledging_from_the_banner_returns_to_the_chart_without_it(
    client, case, tom, dana, today
):
    response = measure(case, "PHQ-9", PHQ9_ITEM9, by=tom, taken_on=today)
    chart(client, tom, case)
    mine = Alert.objects.get(assignee=tom, kind=AlertKind.SAFETY, evidence_id=response.pk)
    url = f"/alerts/{mine.pk}/acknowledge/"
    chart_url = f"/patients/{case.pk}/"
    refused = client.post(url, {"version": mine.version, "next": chart_url, "action": " "})
    assert refused.status_code == 422
    assert 'data-testid="safety-banner"' in chart(client, tom, case)
    done = client.post(
        url, {"version": mine.version, "next": chart_url, "action": "Called the patient back."}
    )
    assert (done.status_code, done["Location"]) == (302, chart_url)
    assert 'data-testid="safety-banner"' not in chart(client, tom, case)
    assert 'data-testid="safety-banner"' not in chart(client, dana, case)
