"""The demo clinic is repeatable with a seed and loads only once (a clean database)."""

from __future__ import annotations

import random

from openiop.accounts.demo import build_demo
from openiop.clinic.demo import build_demo_clinic
from openiop.patients.models import Patient
from openiop.scheduling.models import Session


def test_it_is_deterministic_and_idempotent(db):
    rng = random.Random(9)
    build_demo(rng=rng)
    first = build_demo_clinic(rng=rng)
    names = list(Patient.objects.order_by("mrn").values_list("first_name", "last_name"))
    again = build_demo_clinic(rng=random.Random(9))
    assert not again.created
    assert Patient.objects.count() == first.patients
    assert Session.objects.count() == first.sessions
    assert names == list(Patient.objects.order_by("mrn").values_list("first_name", "last_name"))
