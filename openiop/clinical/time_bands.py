"""Psychotherapy time bands (CPT), a pure core.

DOMAIN.md §6: individual psychotherapy is billed by the documented face-to-face time —
90832 for 16–37 minutes, 90834 for 38–52, 90837 for 53 or more. Under 16 minutes no
psychotherapy code is supported (the CPT "more than half of 30 minutes" rule).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TimeBand:
    code: str
    low: int  # minutes, inclusive
    high: int | None  # minutes, inclusive; None: no upper bound
    name: str


BANDS: tuple[TimeBand, ...] = (
    TimeBand("90832", 16, 37, "Psychotherapy, 30 minutes"),
    TimeBand("90834", 38, 52, "Psychotherapy, 45 minutes"),
    TimeBand("90837", 53, None, "Psychotherapy, 60 minutes"),
)
MINIMUM_MINUTES = BANDS[0].low

NO_CODE_MESSAGE = (
    f"Under {MINIMUM_MINUTES} minutes: no psychotherapy code. "
    "The note can be signed but the session is not billable as psychotherapy."
)


def band_for(minutes: int) -> TimeBand | None:
    """The band ``minutes`` of documented time falls in, or None under 16 minutes."""
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise TypeError("minutes must be an int")
    if minutes < 0:
        raise ValueError("minutes cannot be negative")
    for band in BANDS:
        if minutes >= band.low and (band.high is None or minutes <= band.high):
            return band
    return None


def psychotherapy_code(minutes: int) -> str | None:
    """90832 (16–37 min), 90834 (38–52), 90837 (≥ 53), or None under 16 minutes."""
    band = band_for(minutes)
    return band.code if band is not None else None


def band_label(minutes: int) -> str:
    """What the note editor shows next to the times: "50 min → 90834"."""
    code = psychotherapy_code(minutes)
    if code is None:
        return f"{minutes} min → no psychotherapy code (under {MINIMUM_MINUTES} min)"
    return f"{minutes} min → {code}"
