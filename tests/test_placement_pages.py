"""The placement pages: new assessment, detail with the decision, history, the chart panel."""

from __future__ import annotations

import re
from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.measures.chart_placement import panel
from openiop.measures.models import PlacementAssessment
from tests.factories import make_user, sign_in
from tests.factories_patients import make_patient
from tests.factories_placement import enrolled, make_placement

NOW = "2026-03-02 14:00:00+00:00"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def enrollment(site):
    return enrolled(site)


@pytest.fixture
def signed_in(client, site, tom):
    sign_in(client, tom, site=site)
    return client


def _form(values=(0, 0, 0, 2, 0, 0), **extra):
    data = {"edition": "3", "kind": "intake", "assessed_on": "2026-03-02"}
    for n in range(1, 7):
        data[f"criterion_{n}"] = "yes"
        data[f"criterion_{n}_note"] = ""
        data[f"rating_{n}"] = str(values[n - 1])
        data[f"rating_{n}_rationale"] = "Seen at intake." if values[n - 1] >= 2 else ""
    data.update(extra)
    return data


# --- new -----------------------------------------------------------------------------------


def test_it_shows_the_editions_dimension_names(signed_in, enrollment):
    url = f"/patients/{enrollment.patient_id}/placement/new/"
    third = signed_in.get(url).content.decode()
    assert "Readiness to change" in third
    assert "Substance use-related risks" not in third
    fourth = signed_in.get(url + "?edition=4").content.decode()
    assert "Substance use-related risks" in fourth
    assert "Readiness to change" not in fourth
    assert 'name="edition" value="4"' in fourth
    assert "has completed detox" in third
    assert "Imminent danger to self or others" in third


def test_it_records_and_shows_the_indication(signed_in, enrollment):
    response = signed_in.post(
        f"/patients/{enrollment.patient_id}/placement/new/", _form((0, 0, 3, 2, 0, 0))
    )
    placement = PlacementAssessment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/placements/{placement.pk}/"
    assert placement.indicated_level == "2.5"
    body = signed_in.get(response["Location"]).content.decode()
    assert 'data-testid="indicated-level">2.5<' in body
    assert re.search(r'data-testid="fired-psychiatric-significant" data-deciding="true"', body)
    assert 'data-testid="fired-any-moderate">' in body  # fired, not deciding
    assert "D3 rated 3 (≥ 3)" in body
    # The chart marks D3 (behind the deciding rule) and not D4.
    assert '<g data-dimension="3" data-deciding="true">' in body
    assert '<g data-dimension="4">' in body
    assert "average" not in body.lower().replace("are not averaged", "")
    assert 'data-testid="decision-form"' in body


def test_it_shows_errors_beside_the_fields(signed_in, enrollment):
    data = _form((0, 0, 0, 2, 0, 0))
    data["rating_4_rationale"] = ""
    del data["rating_2"]
    data["criterion_3"] = "perhaps"
    response = signed_in.post(f"/patients/{enrollment.patient_id}/placement/new/", data)
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-testid="error-rating_2"' in body
    assert 'data-testid="error-criterion_3"' in body
    assert not PlacementAssessment.objects.exists()
    # The service's own check (a rationale for a rating ≥ 2) lands on the D4 rating.
    data = _form((0, 0, 0, 2, 0, 0))
    data["rating_4_rationale"] = " "
    response = signed_in.post(f"/patients/{enrollment.patient_id}/placement/new/", data)
    assert response.status_code == 422
    match = re.search(r'data-testid="error-rating_4">([^<]+)<', response.content.decode())
    assert match and "needs one" in match.group(1)
    assert not PlacementAssessment.objects.exists()


def test_a_future_date_is_refused(signed_in, enrollment):
    response = signed_in.post(
        f"/patients/{enrollment.patient_id}/placement/new/", _form(assessed_on="2026-03-09")
    )
    assert response.status_code == 422
    assert "cannot be in the future" in response.content.decode()


def test_an_invisible_patient_is_404(client, other_site, oscar, enrollment, tom):
    placement = make_placement(enrollment.patient, tom)
    sign_in(client, oscar, site=other_site)
    pid = enrollment.patient_id
    assert client.get(f"/patients/{pid}/placement/new/").status_code == 404
    assert client.get(f"/patients/{pid}/placements/").status_code == 404
    assert client.get(f"/placements/{placement.pk}/").status_code == 404
    assert client.get("/placements/999999/").status_code == 404
    response = client.post(
        f"/placements/{placement.pk}/decision/", {"provided_level": "1", "version": 1}
    )
    assert response.status_code == 404
    placement.refresh_from_db()
    assert placement.provided_level == ""


# --- the decision --------------------------------------------------------------------------


def test_the_override_needs_a_reason_then_shows_read_only(signed_in, enrollment, tom):
    placement = make_placement(enrollment.patient, tom, (0, 0, 0, 2, 0, 0))
    url = f"/placements/{placement.pk}/decision/"
    response = signed_in.post(url, {"provided_level": "2.5", "reason": "", "version": 1})
    assert response.status_code == 422
    assert 'data-testid="error-reason"' in response.content.decode()
    placement.refresh_from_db()
    assert placement.provided_level == ""
    response = signed_in.post(
        url, {"provided_level": "2.5", "reason": "No ride on group days.", "version": 1}
    )
    assert response.status_code == 302
    body = signed_in.get(f"/placements/{placement.pk}/").content.decode()
    summary = re.search(r'data-testid="decision-summary">(.+?)</p>', body).group(1)
    assert re.sub(r"<[^>]+>", "", summary) == (
        "Indicated 2.1 — provided 2.5 — reason: No ride on group days."
    )
    assert "Tom Fakename" in body
    assert 'data-testid="decision-form"' not in body
    again = signed_in.post(url, {"provided_level": "1", "reason": "x", "version": 2})
    assert again.status_code == 409
    placement.refresh_from_db()
    assert placement.provided_level == "2.5"


def test_a_stale_decision_form_is_a_conflict(signed_in, enrollment, tom):
    placement = make_placement(enrollment.patient, tom, (0, 0, 0, 2, 0, 0))
    response = signed_in.post(
        f"/placements/{placement.pk}/decision/", {"provided_level": "2.1", "version": 0}
    )
    assert response.status_code == 409
    assert "changed since you opened it" in response.content.decode()


def test_an_unknown_level_is_refused(signed_in, enrollment, tom):
    placement = make_placement(enrollment.patient, tom, (0, 0, 0, 2, 0, 0), edition=4)
    response = signed_in.post(
        f"/placements/{placement.pk}/decision/", {"provided_level": "3.3", "version": 1}
    )
    assert response.status_code == 422  # 3.3 is a 3rd-edition level only
    placement.refresh_from_db()
    assert placement.provided_level == ""


def test_a_nurse_reads_but_cannot_decide(client, site, enrollment, tom):
    nurse = make_user("nia", site=site, role=Role.NURSE, first_name="Nia")
    placement = make_placement(enrollment.patient, tom, (0, 0, 0, 2, 0, 0))
    sign_in(client, nurse, site=site)
    body = client.get(f"/placements/{placement.pk}/").content.decode()
    assert 'data-testid="indicated-level">2.1<' in body
    assert 'data-testid="decision-form"' not in body
    response = client.post(
        f"/placements/{placement.pk}/decision/", {"provided_level": "2.1", "version": 1}
    )
    assert response.status_code == 403


# --- history -------------------------------------------------------------------------------


def _history_queries(client, patient):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/patients/{patient.pk}/placements/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_history_lists_newest_first_in_constant_queries(signed_in, enrollment, tom):
    patient = enrollment.patient
    _, body = _history_queries(signed_in, patient)
    assert 'data-testid="placement-empty"' in body
    make_placement(patient, tom, (0, 0, 0, 2, 0, 0), assessed_on=date(2026, 1, 5))
    small, _ = _history_queries(signed_in, patient)
    for day in range(6, 16):
        make_placement(
            patient, tom, (0, 0, 0, 3, 3, 0), assessed_on=date(2026, 1, day), provided_level="2.5"
        )
    large, body = _history_queries(signed_in, patient)
    assert small == large
    assert body.index("Jan 15, 2026") < body.index("Jan 5, 2026")
    assert body.count('data-testid="placement-row-') == 11
    event = AuditEvent.objects.filter(detail="placement history").latest("pk")
    assert event.patient_id == patient.pk


# --- chart panel ---------------------------------------------------------------------------


def test_the_chart_panel(signed_in, enrollment, tom):
    patient = enrollment.patient
    body = signed_in.get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="chart-placement-empty"' in body
    # Never assessed: due at admission (Jan 5), so overdue.
    assert "Placement overdue since Jan 5, 2026" in body
    assert f'href="/patients/{patient.pk}/placement/new/"' in body
    make_placement(patient, tom, (0, 0, 0, 2, 0, 0), assessed_on=date(2026, 2, 20))
    body = signed_in.get(f"/patients/{patient.pk}/").content.decode()
    assert "Next reassessment Mar 22, 2026" in body
    levels = re.search(r'data-testid="chart-placement-levels">(.+?)</p>', body).group(1)
    assert "Indicated <strong>2.1</strong>" in levels
    assert "level provided not recorded" in levels


def test_the_chart_panel_adds_two_queries(rf, site, tom, enrollment):
    make_placement(enrollment.patient, tom, (0, 0, 0, 2, 0, 0))
    request = rf.get("/")
    request.user = tom
    request.membership = tom.memberships.get()
    patient = type(enrollment.patient).objects.select_related("site").get(pk=enrollment.patient_id)
    with CaptureQueriesContext(connection) as queries:
        result = panel(request, patient)
    assert len(queries) == 2
    assert result["latest"].indicated_level == "2.1"
    assert result["new_url"] == f"/patients/{patient.pk}/placement/new/"


def test_the_chart_panel_is_hidden_without_placement_view(rf, site, enrollment):
    clerk = make_user("fran", site=site, role=Role.FRONT_DESK)
    request = rf.get("/")
    request.user = clerk
    request.membership = clerk.memberships.get()
    assert panel(request, enrollment.patient) is None


def test_unenrolled_patients_have_no_due_date(signed_in, site):
    patient = make_patient(site, first_name="Una", last_name="Walkinfake")
    body = signed_in.get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="chart-placement"' in body
    assert 'data-testid="chart-placement-due"' not in body
    assert 'data-testid="chart-placement-next"' not in body


def test_a_residential_code_for_an_indicated_3x_is_not_a_difference(signed_in, enrollment, tom):
    same = make_placement(enrollment.patient, tom, (3, 0, 0, 0, 0, 0), provided_level="3.7")
    other = make_placement(
        enrollment.patient, tom, (0, 0, 0, 2, 0, 0), provided_level="1", reason="Works nights."
    )
    body = signed_in.get(f"/patients/{enrollment.patient_id}/placements/").content.decode()
    same_row = re.search(rf'data-testid="placement-row-{same.pk}">(.+?)</tr>', body, re.S)
    other_row = re.search(rf'data-testid="placement-row-{other.pk}">(.+?)</tr>', body, re.S)
    assert "differs" not in same_row.group(1)
    assert "differs" in other_row.group(1)
    detail = signed_in.get(f"/placements/{same.pk}/").content.decode()
    assert "at least <strong>Residential 3.x</strong>" in detail


def _page_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_detail_page_runs_constant_queries(signed_in, enrollment, tom):
    few = make_placement(enrollment.patient, tom, (0, 0, 0, 0, 0, 0))
    many = make_placement(
        enrollment.patient,
        tom,
        (4, 4, 4, 4, 4, 4),
        contraindications=["imminent_danger", "unsafe_home", "failed_iop"],
        provided_level="4",
    )
    assert len(many.fired_rules) > 10
    assert _page_queries(signed_in, f"/placements/{few.pk}/") == _page_queries(
        signed_in, f"/placements/{many.pk}/"
    )
