"""Drug screening over the API: the analyte catalogue, the day's random selection, a patient's
screens recorded with their results and read back with their interpretation.

Every read and write of a patient's screens reaches the patient through ``patients.access``
and is audited; the writes are the services of ``openiop.screening.services_selection`` and
``openiop.screening.services_screens``. A selection is only ever run or read for today or a
past day: nothing here tells anyone about a future screen.
"""

# No ``from __future__ import annotations`` here: django-ninja reads the operations'
# annotations at import time.

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from openiop.api.auth import api_guard
from openiop.api.schemas import Detail
from openiop.screening.catalog import ANALYTES, Analyte

router = Router(tags=["screening"])


# --- Catalogue ---------------------------------------------------------------------------


class AnalyteOut(Schema):
    code: str = Field(description='Send it as a result\'s `analyte` ("buprenorphine").')
    name: str
    detects: str
    drug_class: str = Field(
        description="cannabinoid, stimulant, opioid, hallucinogen, sedative or alcohol"
    )
    unit: str = Field(description="The unit of `value` and the cutoffs: ng/mL.")
    screen_cutoff: float | None = Field(
        description="Default presumptive (immunoassay) cutoff; null: confirmatory only."
    )
    confirm_cutoff: float = Field(description="Default confirmatory (LC-MS/MS) cutoff.")
    cutoff_source: str = Field(description="federal_workplace or clinical_common")


def _analyte_out(analyte: Analyte) -> dict[str, Any]:
    return {
        "code": analyte.code,
        "name": analyte.name,
        "detects": analyte.detects,
        "drug_class": analyte.drug_class.value,
        "unit": analyte.unit,
        "screen_cutoff": None if analyte.screen_cutoff is None else float(analyte.screen_cutoff),
        "confirm_cutoff": float(analyte.confirm_cutoff),
        "cutoff_source": analyte.cutoff_source.value,
    }


ANALYTE_LIST = [_analyte_out(analyte) for analyte in ANALYTES]


@router.get(
    "/screens/analytes",
    response={200: list[AnalyteOut], 401: Detail, 403: Detail},
    summary="The analyte catalogue: every code a result's `analyte` accepts",
    auth=api_guard("screens.view"),
)
def list_analytes(request: HttpRequest) -> list[dict[str, Any]]:
    return ANALYTE_LIST
