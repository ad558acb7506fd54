"""The chart's drug-screen timeline reads each screen's stored verdicts: a prescribed
medicine found is "as expected" and listed neutrally; only unexpected findings are red."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.lib.dates import IsoWeek
from openiop.screening.chart_screens import PRESCRIBED, UNCLEAR, UNEXPECTED, WeekLine, _findings
from openiop.screening.models import DrugScreen
from openiop.screening.services_screens import record_collection, record_results
from tests.factories import make_user, sign_in
from tests.factories_screens import collection, make_screen, negatives, order, screen_case

pytestmark = pytest.mark.django_db

WITH_BUPRENORPHINE = ["buprenorphine", "norbuprenorphine", "fentanyl", "oxycodone", "cocaine"]


@pytest.fixture
def nina(site):
    return make_user("nina", site=site, role=Role.NURSE, first_name="Nina", last_name="Notreal")


@pytest.fixture
def case(site, tom):
    case = screen_case(site, tom)
    order(case.patient, "sublocade", by=case.prescriber, dose="300", dispensing="clinic")
    return case


def _results(screen, by, *, days_ago=0, **positives):
    screen = record_collection(
        screen,
        by=by,
        data=collection(
            collected_at=(timezone.now() - timedelta(days=days_ago, minutes=10)).isoformat()
        ),
        version=screen.version,
    )
    return record_results(
        screen,
        by=by,
        results=negatives(WITH_BUPRENORPHINE, **positives),
        version=screen.version,
    )


def _chart(client, case) -> str:
    sign_in(client, case.therapist, site=case.patient.site)
    return client.get(f"/patients/{case.patient.pk}/").content.decode()


def test_a_patient_on_buprenorphine_showing_it_reads_as_expected(client, case, nina):
    screen = _results(case.screen, nina, buprenorphine="positive", norbuprenorphine="positive")
    assert screen.verdict == "expected"
    body = _chart(client, case)
    assert "100% as expected of 1 screen," in body
    assert 'data-testid="finding-prescribed"' in body
    assert "Buprenorphine — prescribed" in body
    assert 'data-testid="finding-unexpected"' not in body
    assert "text-bg-danger" not in body.split('data-testid="chart-screens"')[1]
    assert "% negative" not in body


def test_an_unexpected_substance_is_red_beside_the_prescribed_one(client, case, nina):
    _results(case.screen, nina, buprenorphine="positive", norbuprenorphine="positive")
    earlier = make_screen(
        case.patient,
        reason="for_cause",
        selected_on=timezone.localdate() - timedelta(days=7),
    )
    earlier = _results(
        earlier,
        nina,
        days_ago=7,
        buprenorphine="positive",
        norbuprenorphine="positive",
        fentanyl="positive",
    )
    assert earlier.verdict == "unexpected"
    body = _chart(client, case)
    assert "50% as expected of 2 screens," in body
    assert body.count('data-testid="finding-unexpected"') == 1
    assert '<span class="badge me-1 text-bg-danger" data-testid="finding-unexpected"' in body
    assert ">Fentanyl</span>" in body
    assert body.count("Buprenorphine — prescribed") == 2  # one per week


def _screen(*analytes: dict) -> DrugScreen:
    return DrugScreen(interpretation={"analytes": list(analytes)})


def _item(code, result, verdict, reason=""):
    return {"analyte": code, "result": result, "verdict": verdict, "reason": reason}


def test_findings_follow_each_analytes_stored_verdict():
    screen = _screen(
        _item("buprenorphine", "positive", "expected", "explained by Sublocade"),
        _item("norbuprenorphine", "negative", "unexpected", "negative although prescribed"),
        _item("amphetamines", "positive", "inconclusive", "may cross-react"),
        _item("cocaine", "positive", "unexpected"),
        _item("thc", "negative", "expected"),
        _item("kratom", "positive", "unexpected"),  # not a catalogue code: skipped
    )
    found = [(f.label, f.kind) for f in _findings(screen)]
    assert found == [
        ("Buprenorphine — prescribed", PRESCRIBED),
        ("Norbuprenorphine not found", UNEXPECTED),
        ("Amphetamines — to confirm", UNCLEAR),
        ("Cocaine", UNEXPECTED),
    ]
    assert _findings(DrugScreen(interpretation={})) == []


def test_a_week_keeps_the_worst_reading_of_each_substance_worst_first():
    line = WeekLine(IsoWeek.of(timezone.localdate()))
    prescribed = _findings(_screen(_item("buprenorphine", "positive", "expected")))
    spiked = _findings(_screen(_item("buprenorphine", "positive", "unexpected")))
    cocaine = _findings(_screen(_item("cocaine", "positive", "unexpected")))
    for finding in [*prescribed, *cocaine, *spiked, *prescribed]:
        line.add(finding)
    assert [(f.name, f.kind) for f in line.ordered_findings] == [
        ("Buprenorphine", UNEXPECTED),
        ("Cocaine", UNEXPECTED),
    ]
