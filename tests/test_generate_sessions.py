"""``openiop generate-sessions`` and generate_sessions(): the rolling horizon of group sessions."""

from __future__ import annotations

import threading
import time as clock
from datetime import UTC, date, datetime, time
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from openiop.cli import main
from openiop.scheduling import series as svc
from openiop.scheduling.models import Session
from tests.factories import make_site, make_user
from tests.factories_programs import make_program, make_series, make_track
from tests.factories_scheduling import make_session
from tests.file_database import rerun_on_a_file_database

NOW = datetime(2026, 2, 25, 18, 0, tzinfo=UTC)  # Wednesday Feb 25, noon in Chicago


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def run(*args: str) -> str:
    out = StringIO()
    call_command("generate_sessions", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_horizon_and_then_nothing_more(site, tom, dana, frozen):
    make_series(site, tom, 0, time(9, 0), title="Morning CBT")
    make_series(make_track(make_program(site)), dana, 2, time(18, 0), title="Evening process")
    output = run("--weeks", "2")
    assert (
        "Testville Clinic: 2 group series, 5 session(s) created, 0 already there,"
        " 0 skipped for conflicts" in output
    )
    assert "Done for the next 2 week(s): 5 session(s) created" in output
    again = run("--weeks", "2")
    assert "0 session(s) created, 5 already there" in again
    assert Session.objects.count() == 5


def test_it_uses_eight_weeks_by_default(site, tom, frozen):
    make_series(site, tom, 0, time(9, 0))
    run()
    assert Session.objects.count() == 8  # Mar 2 … Apr 20; Apr 22 is the horizon's end


def test_it_lists_the_conflicts_it_skipped(site, tom, frozen):
    make_session(site, tom, datetime(2026, 3, 2, 15, 0, tzinfo=UTC), 60, title="Family group")
    make_series(site, tom, 0, time(9, 0), title="Morning CBT")
    output = run("--weeks", "2")
    assert "1 skipped for conflicts" in output
    assert (
        "  - Morning CBT on Mon Mar 2: Tom Fakename already leads “Family group” 09:00–10:00"
        " on Mon Mar 2." in output
    )


def test_it_runs_one_site_and_leaves_the_others(site, other_site, tom, oscar, frozen):
    make_series(site, tom, 0, time(9, 0))
    make_series(other_site, oscar, 0, time(9, 0))
    output = run("--weeks", "1", "--site", "Elsewhere Recovery Center")
    assert "Testville Clinic" not in output
    assert list(Session.objects.values_list("site__name", flat=True).distinct()) == [
        "Elsewhere Recovery Center"
    ]


def test_it_skips_series_of_closed_tracks_and_ended_series(site, tom, frozen):
    track = make_track(make_program(site), is_active=False)
    make_series(track, tom, 0, time(9, 0))
    make_series(site, tom, 1, time(9, 0), ends_on=date(2026, 2, 20))
    assert "0 group series" in run("--weeks", "2")
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weeks", "0"], "--weeks must be between 1 and 52, not 0."),
        (["--weeks", "53"], "--weeks must be between 1 and 52, not 53."),
        (["--weeks", "eight"], "--weeks must be a whole number of weeks, not 'eight'."),
        (["--site", "Nowhere"], "No site named 'Nowhere'. Sites: Testville Clinic."),
    ],
)
def test_it_refuses_bad_arguments(site, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert str(caught.value) == message


def test_the_command_line_exits_non_zero_with_one_line(site, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["openiop", "generate-sessions", "--weeks", "-3"])
    assert caught.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == "CommandError: --weeks must be between 1 and 52, not -3."


def test_generate_sessions_rejects_a_bad_horizon(db):
    with pytest.raises(ValueError, match="between 1 and 52"):
        svc.generate_sessions(weeks=0)


# --- Two servers at once ---------------------------------------------------------------------


def test_two_servers_at_once_create_each_session_once(
    request, tmp_path, monkeypatch, transactional_db
):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site("Race Clinic")
    therapist = make_user("theo", site=site, role="therapist", first_name="Theo")
    for weekday in range(5):
        make_series(site, therapist, weekday, time(9, 0), title=f"Group {weekday}")
    real = svc.find_conflicts

    def slow(**kwargs):
        found = real(**kwargs)
        clock.sleep(0.02)  # widen the window between the check and the insert
        return found

    monkeypatch.setattr(svc, "find_conflicts", slow)
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def work(index: int) -> None:
        try:
            barrier.wait()
            results[index] = svc.generate_sessions(weeks=2, today=date(2030, 1, 7))
        except Exception as exc:  # reported below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(r, svc.GenerateSummary) for r in results), results
    created = sum(r.created for r in results)  # type: ignore[union-attr]
    # Mon Jan 7 … Mon Jan 21, 2030: three Mondays, two of each other weekday.
    assert created == 11
    assert Session.objects.count() == 11
    assert sum(r.already_there for r in results) == 11  # type: ignore[union-attr]


def test_it_rolls_individual_therapy_forward(db, site, tom):
    """Recurring individual sessions are extended on the same horizon as the groups."""
    from openiop.scheduling.booking import set_individual_schedule
    from openiop.scheduling.models import Session
    from tests.factories_enrollment import make_enrollment
    from tests.factories_patients import make_patient
    from tests.factories_programs import make_program

    patient = make_patient(site)
    enrollment = make_enrollment(patient, make_program(site), primary_therapist=tom)
    set_individual_schedule(
        enrollment=enrollment, weekday=1, start_time=time(13), duration_minutes=50, by=tom
    )
    before = Session.objects.filter(individual_series__enrollment=enrollment).count()
    out = StringIO()
    call_command("generate_sessions", "--weeks", "12", stdout=out)
    after = Session.objects.filter(individual_series__enrollment=enrollment).count()
    assert after == before + 4
    assert "1 individual schedule(s), 4 individual session(s) booked" in out.getvalue()
    call_command("generate_sessions", "--weeks", "12", stdout=StringIO())
    assert Session.objects.filter(individual_series__enrollment=enrollment).count() == after
