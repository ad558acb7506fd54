"""``openiop select-screens``: one line per site, idempotent, refusing days ahead."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from openiop.cli import main
from openiop.screening.models import DrugScreen, ScreenSelection
from tests.factories_programs import make_program
from tests.factories_screening_select import NOW, TODAY, enrolled_patient, mon_wed_fri


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("select_screens", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_selects_every_site_once_and_says_so_per_site(site, other_site, tom, oscar):
    program = make_program(site)
    for n in range(4):
        enrolled_patient(site, program, tom, f"Line{n}", days=mon_wed_fri(TODAY))
    output, _ = run()
    selected = DrugScreen.objects.filter(site=site).count()
    assert (
        f"Testville Clinic: 2026-03-04: {selected} of 4 patient(s) on site called for a screen"
        " (selected now)." in output
    )
    # Denver's today is Wednesday too at 07:00 there.
    assert "Elsewhere Recovery Center: 2026-03-04: 0 of 0 patient(s)" in output
    assert "Done: 2 site(s)." in output

    again, _ = run()
    assert "(already selected at 08:00 by command line (" in again
    assert ScreenSelection.objects.count() == 2
    assert DrugScreen.objects.filter(site=site).count() == selected


def test_it_runs_one_site_and_a_missed_past_day(site, other_site, tom):
    program = make_program(site)
    yesterday = TODAY - timedelta(1)
    enrolled_patient(site, program, tom, "Past", days=[yesterday])
    output, _ = run("--site", "Testville Clinic", "--date", yesterday.isoformat())
    assert "Testville Clinic: 2026-03-03: " in output and "Elsewhere" not in output
    assert list(ScreenSelection.objects.values_list("site__name", "day")) == [
        ("Testville Clinic", yesterday)
    ]


def test_it_refuses_a_day_ahead_and_exits_non_zero(site):
    with pytest.raises(CommandError, match=r"1 site\(s\) refused"):
        out, err = StringIO(), StringIO()
        try:
            call_command("select_screens", "--date", "2026-03-05", stdout=out, stderr=err)
        finally:
            assert "Testville Clinic: refused. 2026-03-05 is after today" in err.getvalue()
    assert not ScreenSelection.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "tomorrow"], "--date must be a date like 2026-03-02, not 'tomorrow'."),
        (["--date", "2026-02-30"], "--date must be a date like 2026-03-02, not '2026-02-30'."),
        (["--site", "Nowhere"], "No site named 'Nowhere'. Sites: Testville Clinic."),
    ],
)
def test_it_refuses_bad_arguments(site, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert str(caught.value) == message


def test_the_command_line_exits_non_zero_with_one_line(site, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["openiop", "select-screens", "--date", "2099-01-01"])
    assert caught.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("Testville Clinic: refused. 2099-01-01 is after today")
    assert err[-1] == "CommandError: 1 site(s) refused; see above."
