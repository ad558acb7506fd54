"""Two API calls racing to run the same day's selection (PostgreSQL: two servers at once).

Both answer the same selection; exactly one says it drew it (201, ``created: true``) and the
other 200. The service's own race (and its SQLite variant) is tested in
tests/test_screening_select_concurrency.py; this is the API's ``created`` flag under a race.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.lib.dates import local_today
from openiop.screening import services_selection
from openiop.screening.models import DrugScreen, ScreenSelection
from tests.factories import make_site, make_user
from tests.factories_programs import make_program
from tests.factories_screening_select import enrolled_patient, mon_wed_fri

PAUSE = 0.3


def test_racing_calls_answer_one_selection_and_one_creation(monkeypatch, transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("two servers racing is a PostgreSQL deployment")
    site = make_site("Race Clinic")
    therapist = make_user("theo", site=site, role=Role.THERAPIST, first_name="Theo")
    program = make_program(site)
    today = local_today(site.time_zone)
    for n in range(6):
        enrolled_patient(
            site, program, therapist, f"Racer{n}", days=[*mon_wed_fri(today, 2), today]
        )
    callers = [
        make_user(name, site=site, role=Role.NURSE, first_name=name.title())
        for name in ("nina", "nell")
    ]
    secrets = [create_api_token(user=user, name="race").secret for user in callers]
    real = services_selection.select_screens
    computed: list[int] = []

    def slow_select(*args, **kwargs):
        chosen = real(*args, **kwargs)
        computed.append(1)
        time.sleep(PAUSE)  # both calls are inside the service before either commits
        return chosen

    monkeypatch.setattr(services_selection, "select_screens", slow_select)
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []

    def call(secret: str) -> None:
        try:
            barrier.wait()
            response = Client().post(
                "/api/v1/screens/select",
                {"site_id": site.pk, "date": today.isoformat()},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(secret,)) for secret in secrets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(computed) == 2, "both calls drew a selection: they raced"
    assert sorted(status for status, _ in answers) == [200, 201]
    assert len({body["id"] for _, body in answers}) == 1
    assert sorted(body["created"] for _, body in answers) == [False, True]
    assert ScreenSelection.objects.count() == 1
    assert DrugScreen.objects.count() == len(answers[0][1]["selected"])
