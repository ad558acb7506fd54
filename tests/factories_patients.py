"""make_patient: a registered patient for tests. Every person here is obviously fictional."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from openiop.accounts.models import Site
from openiop.patients.models import Patient
from openiop.patients.services import allocate_mrn


def make_patient(site: Site, **fields: Any) -> Patient:
    """A patient at ``site`` with a real MRN and search keys, written without an audit event.

    Defaults to "Pat Placeholder", born 1990-01-01; any Patient field may be given.
    """
    values: dict[str, Any] = {
        "first_name": "Pat",
        "last_name": "Placeholder",
        "date_of_birth": date(1990, 1, 1),
    }
    values.update(fields)
    with transaction.atomic():
        if "mrn" not in values:
            values["mrn"] = allocate_mrn()
        patient = Patient(site=site, **values)
        patient.refresh_search_keys()
        patient.save()
    return patient
