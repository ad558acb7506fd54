"""The trends section of the patient chart: PHQ-9 and GAD-7 against their bands, the BAM
subscales and the craving rating over time (issue 6 point 3). Struck responses are left out.
One query, whatever the number of instruments or responses."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.http import HttpRequest

from openiop.accounts.access import current_role
from openiop.accounts.policy import role_may
from openiop.measures.charts import Entry, LineChart, line_chart
from openiop.measures.instruments import BAM, CRAVING, GAD7, PHQ9
from openiop.measures.models import MeasureResponse
from openiop.patients.models import Patient

TRENDED = (PHQ9.code, GAD7.code, BAM.code, CRAVING.code)
# Newest responses read for the trends; years of weekly questionnaires stay under it.
MAX_RESPONSES = 600
BAM_SUBSCALES = (
    ("use", "Use (items 4–6)", 12),
    ("risk", "Risk factors (items 1–3, 8, 11, 15)", 24),
    ("protective", "Protective factors (items 9, 10, 12–14, 16)", 24),
)


def _rows(patient: Patient) -> list[dict[str, Any]]:
    newest = (
        MeasureResponse.objects.filter(patient=patient, instrument__in=TRENDED, strike__isnull=True)
        .order_by("-taken_on", "-recorded_at", "-id")
        .values("id", "instrument", "taken_on", "score", "band", "subscales")[:MAX_RESPONSES]
    )
    return list(reversed(newest))


def trend_charts(rows: list[dict[str, Any]]) -> list[LineChart]:
    """The four charts from stored responses (dicts with id, instrument, taken_on, score,
    band, subscales), oldest first."""
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_code[row["instrument"]].append(row)

    def scores(code: str) -> list[Entry]:
        return [
            Entry(row["taken_on"], row["score"], row["band"], row["id"])
            for row in by_code[code]
            if row["score"] is not None
        ]

    phq9 = line_chart(
        key="phq9",
        title="PHQ-9 depression score",
        description="PHQ-9 totals (0–27) over time against the shaded bands minimal 0–4, "
        "mild 5–9, moderate 10–14, moderately severe 15–19 and severe 20–27.",
        y_label="PHQ-9",
        y_max=27,
        series=[("PHQ-9", scores(PHQ9.code))],
        bands=PHQ9.bands,
    )
    gad7 = line_chart(
        key="gad7",
        title="GAD-7 anxiety score",
        description="GAD-7 totals (0–21) over time against the shaded bands minimal 0–4, "
        "mild 5–9, moderate 10–14 and severe 15–21.",
        y_label="GAD-7",
        y_max=21,
        series=[("GAD-7", scores(GAD7.code))],
        bands=GAD7.bands,
    )
    bam = line_chart(
        key="bam",
        title="BAM subscales",
        description="Brief Addiction Monitor subscales over time: use (0–12), risk factors "
        "(0–24) and protective factors (0–24). Higher use and risk are worse; higher "
        "protective is better. The BAM has no total score.",
        y_label="points",
        y_max=24,
        series=[
            (
                label,
                [
                    Entry(row["taken_on"], int(row["subscales"][name]), "", row["id"])
                    for row in by_code[BAM.code]
                    if name in (row["subscales"] or {})
                ],
            )
            for name, label, _ in BAM_SUBSCALES
        ],
    )
    craving = line_chart(
        key="craving",
        title="Craving",
        description="The craving rating (0 none to 10 the strongest imaginable) over time.",
        y_label="rating",
        y_max=10,
        series=[("Craving", scores(CRAVING.code))],
    )
    return [phq9, gad7, bam, craving]


def panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """What the chart shows in this section, or None when the role may not see measures."""
    if not role_may(current_role(request), "measures.view"):
        return None
    charts = trend_charts(_rows(patient))
    return {
        "patient": patient,
        "charts": charts,
        "is_empty": all(chart.is_empty for chart in charts),
    }
