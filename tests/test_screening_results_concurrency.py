"""Results of one screen recorded at once on separate connections (SQLite file and
PostgreSQL): one wins, the others get a conflict, the alerts exist once per person; raising
the same alert at once leaves one."""

from __future__ import annotations

from openiop.alerts.models import Alert, AlertKind
from openiop.alerts.services import raise_alert
from openiop.screening.models import ScreenResult
from openiop.screening.services_screens import ScreenConflict, record_collection, record_results
from tests.factories import make_site, make_user
from tests.factories_patients import make_patient
from tests.factories_screens import collection, negatives, screen_case
from tests.file_database import rerun_on_a_file_database
from tests.test_patients_concurrency import _in_threads

THREADS = 4


def test_concurrent_results_of_one_screen_keep_one(request, tmp_path, transactional_db):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site()
    therapist = make_user("tom", site=site, role="therapist")
    nurse = make_user("nina", site=site, role="nurse")
    case = screen_case(site, therapist)
    screen = record_collection(case.screen, by=nurse, data=collection(), version=1)

    def save(index: int) -> None:
        record_results(
            screen, by=nurse, results=negatives(cocaine="positive"), version=screen.version
        )

    errors = _in_threads(save, THREADS)
    assert len(errors) == THREADS - 1
    assert all(isinstance(error, ScreenConflict) for error in errors), errors
    assert ScreenResult.objects.filter(screen=screen).count() == 12
    assert Alert.objects.filter(evidence_id=screen.pk).count() == 2


def test_concurrent_raises_leave_one_alert_per_person(request, tmp_path, transactional_db):
    if rerun_on_a_file_database(request, tmp_path):
        return
    site = make_site()
    therapist = make_user("tom", site=site, role="therapist")
    prescriber = make_user("priya", site=site, role="prescriber")
    patient = make_patient(site, first_name="Race", last_name="Alertcase")

    def raise_it(index: int) -> None:
        raise_alert(
            site=site,
            patient=patient,
            kind=AlertKind.UNEXPECTED_SCREEN,
            severity="high",
            title="Unexpected drug screen",
            evidence_type="drug_screen",
            evidence_id=77,
            assignees=[therapist, prescriber],
        )

    errors = _in_threads(raise_it, THREADS)
    assert errors == []
    assert Alert.objects.filter(evidence_id=77).count() == 2
