"""``openiop review-levels``: one line per site, idempotent, bad arguments refused."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from openiop.alerts.models import Alert
from openiop.measures.models import LevelReview
from tests.factories_measures import enrolled
from tests.factories_reviews import screen_on, today_at

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("review_levels", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def flagged(site, tom):
    today = today_at(site)
    patient, _ = enrolled(site, therapist=tom, admitted_on=today - timedelta(days=40))
    for days in (20, 10, 2):
        screen_on(patient, today - timedelta(days=days), unexpected=True)
    return patient


def test_it_reviews_every_site_and_says_what_it_did(flagged, site, other_site):
    out = _run()

    today = today_at(site).isoformat()
    assert (
        f"Testville Clinic: {today}: 1 enrollment(s) reviewed, 1 review(s) raised, 1 alert(s),"
        " 0 closed" in out
    )
    assert "Elsewhere Recovery Center:" in out and "0 enrollment(s) reviewed" in out
    assert "Done: 2 site(s), 1 enrollment(s), 1 review(s) raised." in out
    assert LevelReview.objects.count() == 1


def test_it_raises_nothing_the_second_time(flagged):
    _run()

    out = _run()

    assert "0 review(s) raised, 0 alert(s)" in out
    assert (LevelReview.objects.count(), Alert.objects.count()) == (1, 1)


def test_it_runs_one_site_on_a_given_day(flagged, site):
    day = (today_at(site) - timedelta(days=25)).isoformat()

    out = _run("--site", "Testville Clinic", "--date", day)

    assert f"Testville Clinic: {day}: 1 enrollment(s) reviewed, 1 review(s) raised" in out
    assert "Elsewhere" not in out
    # On that day no screen had been collected yet: only the hours (none booked) counted.
    assert [s["code"] for s in LevelReview.objects.get().signals] == ["missed_hours"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "--date must be a date like 2026-03-02"),
        (["--date", "yesterday"], "--date must be a date like 2026-03-02"),
        (["--site", "Nowhere"], "No site named 'Nowhere'. Sites: Testville Clinic"),
        (["--date", "2999-01-01"], "is after the site's today"),
    ],
)
def test_it_refuses_bad_arguments(site, args, message):
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert not LevelReview.objects.exists()
