"""Specimen validity, a pure core.

DOMAIN.md §7 gives the default bounds: temperature 32–38 °C read within 4 minutes of
collection; dilute when creatinine < 20 mg/dL and specific gravity < 1.003; substituted when
creatinine < 2 mg/dL and specific gravity ≤ 1.0010 or ≥ 1.0200; an abnormal pH means
adulterated or invalid. The pH bounds are marked "(verify)" there, because the federal
guidelines moved them between editions; the nitrite bounds are not in DOMAIN.md and come from the
same federal guidelines (HHS Mandatory Guidelines, urine: nitrite ≥ 500 µg/mL adulterated,
200–500 invalid), so they are marked "(verify)" as well. Every bound is a field of
``ValidityBounds`` so a program can change it.

The federal guidelines also call a specimen **invalid** when creatinine and specific gravity
disagree (creatinine < 2 with a normal specific gravity, or specific gravity ≤ 1.0010 with
creatinine ≥ 2); this module does the same. When only one of the two was measured (clinic cups
often read one), that one decides on its own and the reasons say what was missing.

Temperature: a specimen cools after collection, which is why it must be read within 4 minutes.
A reading taken later is therefore not used to call the specimen too cold; a late reading that is
*too hot* still counts, since cooling cannot explain it.

Oral fluid and breath alcohol have no urine validity checks: they are valid by this module, and
urine measurements given for them are rejected as bad input.

Numbers may be ``Decimal``, ``int`` or ``float``; floats are read through their shortest
decimal form, so ``1.003`` is exactly the bound 1.003.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import ClassVar

from openiop.screening.catalog import SpecimenType, ValidityClass

Number = Decimal | int | float

# From good to bad. Classification reports the worst class any check reached, and this order is
# what "never more valid" means in the tests.
SEVERITY: tuple[ValidityClass, ...] = (
    ValidityClass.VALID,
    ValidityClass.DILUTE,
    ValidityClass.INVALID,
    ValidityClass.SUBSTITUTED,
    ValidityClass.ADULTERATED,
)


def severity(validity: ValidityClass) -> int:
    """0 for valid up to 4 for adulterated (see ``SEVERITY``)."""
    return SEVERITY.index(ValidityClass(validity))


def _dec(value: Number, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise TypeError(f"{name} must be a number")
    result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number")
    return result


@dataclass(frozen=True)
class ValidityBounds:
    """The configurable bounds, with DOMAIN.md §7 (and HHS, for nitrite) as defaults.

    Fields named in ``TO_VERIFY`` are "(verify)": sources disagree, show that in the settings.
    """

    temperature_min_c: Decimal = Decimal("32")  # inclusive
    temperature_max_c: Decimal = Decimal("38")  # inclusive
    temperature_read_within_minutes: Decimal = Decimal("4")  # inclusive
    dilute_creatinine_below: Decimal = Decimal("20")  # mg/dL
    dilute_specific_gravity_below: Decimal = Decimal("1.003")
    substituted_creatinine_below: Decimal = Decimal("2")  # mg/dL
    substituted_specific_gravity_at_most: Decimal = Decimal("1.0010")
    substituted_specific_gravity_at_least: Decimal = Decimal("1.0200")
    # pH (verify): adulterated below 4 or from 11; invalid from 4 to below 4.5 and from 9 to
    # below 11 (HHS 2008; the 2017 edition moved the upper invalid bound to 9.5).
    ph_adulterated_below: Decimal = Decimal("4")
    ph_invalid_below: Decimal = Decimal("4.5")
    ph_invalid_at_or_above: Decimal = Decimal("9")
    ph_adulterated_at_or_above: Decimal = Decimal("11")
    # Nitrite, µg/mL (verify): not in DOMAIN.md; HHS values.
    nitrite_invalid_at_or_above: Decimal = Decimal("200")
    nitrite_adulterated_at_or_above: Decimal = Decimal("500")

    TO_VERIFY: ClassVar[frozenset[str]] = frozenset(
        {
            "ph_adulterated_below",
            "ph_invalid_below",
            "ph_invalid_at_or_above",
            "ph_adulterated_at_or_above",
            "nitrite_invalid_at_or_above",
            "nitrite_adulterated_at_or_above",
        }
    )

    def __post_init__(self) -> None:
        for bound in fields(self):
            object.__setattr__(self, bound.name, _dec(getattr(self, bound.name), bound.name))
        ordered = [
            ("temperature_min_c", "temperature_max_c"),
            ("substituted_creatinine_below", "dilute_creatinine_below"),
            ("substituted_specific_gravity_at_most", "dilute_specific_gravity_below"),
            ("dilute_specific_gravity_below", "substituted_specific_gravity_at_least"),
            ("ph_adulterated_below", "ph_invalid_below"),
            ("ph_invalid_below", "ph_invalid_at_or_above"),
            ("ph_invalid_at_or_above", "ph_adulterated_at_or_above"),
            ("nitrite_invalid_at_or_above", "nitrite_adulterated_at_or_above"),
        ]
        for low, high in ordered:
            if not getattr(self, low) <= getattr(self, high):
                raise ValueError(f"{low} must not exceed {high}")
        if self.temperature_read_within_minutes < 0:
            raise ValueError("temperature_read_within_minutes cannot be negative")


DEFAULT_BOUNDS = ValidityBounds()


@dataclass(frozen=True)
class SpecimenMeasurements:
    """What the collector and the cup or lab measured. None: not measured."""

    specimen: SpecimenType
    temperature_c: Number | None = None
    temperature_read_after_minutes: Number | None = None
    creatinine_mg_dl: Number | None = None
    specific_gravity: Number | None = None
    ph: Number | None = None
    nitrite_ug_ml: Number | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "specimen", SpecimenType(self.specimen))
        plausible = {
            "temperature_c": (Decimal(0), Decimal(100)),
            "temperature_read_after_minutes": (Decimal(0), None),
            "creatinine_mg_dl": (Decimal(0), None),
            "specific_gravity": (Decimal(1), Decimal(2)),
            "ph": (Decimal(0), Decimal(14)),
            "nitrite_ug_ml": (Decimal(0), None),
        }
        for name, (low, high) in plausible.items():
            raw = getattr(self, name)
            if raw is None:
                continue
            value = _dec(raw, name)
            if value < low or (high is not None and value > high):
                upper = f" to {high}" if high is not None else " or more"
                raise ValueError(f"{name} {value} makes no sense (expected {low}{upper})")
            object.__setattr__(self, name, value)
        if self.specimen is not SpecimenType.URINE:
            urine_only = ("creatinine_mg_dl", "specific_gravity", "ph", "nitrite_ug_ml")
            given = [name for name in urine_only if getattr(self, name) is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)} apply to urine only, not to {self.specimen.value}"
                )


@dataclass(frozen=True)
class ValidityResult:
    """The class and, in plain words, why. ``temperature_verified`` is False when no usable
    temperature was read (missing, or read too late to show a cold specimen)."""

    classification: ValidityClass
    reasons: tuple[str, ...] = ()
    temperature_verified: bool = True
    checks_apply: bool = True  # False for oral fluid and breath alcohol

    @property
    def is_interpretable(self) -> bool:
        """Valid or dilute: results can be read (a dilute specimen's negatives are weak)."""
        return self.classification in (ValidityClass.VALID, ValidityClass.DILUTE)

    @property
    def negatives_reliable(self) -> bool:
        return self.classification is ValidityClass.VALID


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def classify_validity(
    measurements: SpecimenMeasurements, bounds: ValidityBounds = DEFAULT_BOUNDS
) -> ValidityResult:
    """Classify a specimen as valid, dilute, substituted, adulterated or invalid (DOMAIN.md §7).

    Returns the worst class any check reached and one plain-words reason per finding.
    """
    if measurements.specimen is not SpecimenType.URINE:
        kind = measurements.specimen.value.replace("_", " ")
        return ValidityResult(
            ValidityClass.VALID,
            (f"No urine validity checks apply to {kind}.",),
            temperature_verified=False,
            checks_apply=False,
        )

    found: list[tuple[ValidityClass, str]] = []
    notes: list[str] = []
    temperature_verified = _check_temperature(measurements, bounds, found, notes)
    _check_creatinine_and_gravity(measurements, bounds, found, notes)
    _check_ph(measurements, bounds, found)
    _check_nitrite(measurements, bounds, found)

    worst = max((cls for cls, _ in found), key=severity, default=ValidityClass.VALID)
    reasons = tuple(reason for _, reason in found) + tuple(notes)
    return ValidityResult(worst, reasons, temperature_verified=temperature_verified)


def _check_temperature(
    m: SpecimenMeasurements,
    b: ValidityBounds,
    found: list[tuple[ValidityClass, str]],
    notes: list[str],
) -> bool:
    if m.temperature_c is None:
        notes.append("Temperature not read: the specimen's temperature is not verified.")
        return False
    t = _dec(m.temperature_c, "temperature_c")
    minutes = m.temperature_read_after_minutes
    late = minutes is not None and _dec(minutes, "minutes") > b.temperature_read_within_minutes
    low, high = _fmt(b.temperature_min_c), _fmt(b.temperature_max_c)
    if t > b.temperature_max_c:
        found.append(
            (
                ValidityClass.INVALID,
                f"Temperature {_fmt(t)} °C is above {high} °C: possible tampering; collect a new "
                "specimen under direct observation.",
            )
        )
        return True
    if minutes is None:
        notes.append("The time the temperature was read is not recorded.")
    if late:
        within = _fmt(b.temperature_read_within_minutes)
        notes.append(
            f"Temperature read {_fmt(_dec(minutes, 'minutes'))} minutes after collection (must "
            f"be within {within}): a cool reading cannot be checked."
        )
        return t >= b.temperature_min_c
    if t < b.temperature_min_c:
        found.append(
            (
                ValidityClass.INVALID,
                f"Temperature {_fmt(t)} °C is outside {low}–{high} °C: possible substitution; "
                "collect a new specimen under direct observation.",
            )
        )
    return True


def _check_creatinine_and_gravity(
    m: SpecimenMeasurements,
    b: ValidityBounds,
    found: list[tuple[ValidityClass, str]],
    notes: list[str],
) -> None:
    creat = None if m.creatinine_mg_dl is None else _dec(m.creatinine_mg_dl, "creatinine")
    sg = None if m.specific_gravity is None else _dec(m.specific_gravity, "specific gravity")
    if creat is None and sg is None:
        notes.append("Creatinine and specific gravity not measured: dilution not checked.")
        return

    creat_very_low = creat is not None and creat < b.substituted_creatinine_below
    creat_low = creat is not None and creat < b.dilute_creatinine_below
    sg_extreme = sg is not None and (
        sg <= b.substituted_specific_gravity_at_most
        or sg >= b.substituted_specific_gravity_at_least
    )
    sg_very_low = sg is not None and sg <= b.substituted_specific_gravity_at_most
    sg_low = sg is not None and sg < b.dilute_specific_gravity_below
    c_txt = f"creatinine {_fmt(creat)} mg/dL" if creat is not None else ""
    s_txt = f"specific gravity {_fmt(sg)}" if sg is not None else ""

    if creat is not None and sg is not None:
        if creat_very_low and sg_extreme:
            found.append(
                (
                    ValidityClass.SUBSTITUTED,
                    f"Substituted: {c_txt} and {s_txt} are not those of human urine.",
                )
            )
        elif creat_very_low:
            found.append(
                (
                    ValidityClass.INVALID,
                    f"Invalid: {c_txt} is below {_fmt(b.substituted_creatinine_below)} but "
                    f"{s_txt} is normal; the two disagree.",
                )
            )
        elif sg_very_low:
            found.append(
                (
                    ValidityClass.INVALID,
                    f"Invalid: {s_txt} is at most {_fmt(b.substituted_specific_gravity_at_most)} "
                    f"but {c_txt} is not that low; the two disagree.",
                )
            )
        elif creat_low and sg_low:
            found.append(
                (
                    ValidityClass.DILUTE,
                    f"Dilute: {c_txt} and {s_txt}; negative results are not reliable.",
                )
            )
        return

    missing = "specific gravity" if sg is None else "creatinine"
    present = c_txt or s_txt
    if creat_very_low or sg_very_low:
        found.append(
            (
                ValidityClass.INVALID,
                f"Invalid: {present} suggests a substituted specimen; {missing} was not "
                "measured to tell.",
            )
        )
    elif creat_low or sg_low:
        found.append(
            (
                ValidityClass.DILUTE,
                f"Dilute: {present} ({missing} not measured); negative results are not reliable.",
            )
        )
    else:
        notes.append(f"{missing.capitalize()} not measured; {present} is normal.")


def _check_ph(
    m: SpecimenMeasurements, b: ValidityBounds, found: list[tuple[ValidityClass, str]]
) -> None:
    if m.ph is None:
        return
    ph = _dec(m.ph, "ph")
    if ph < b.ph_adulterated_below or ph >= b.ph_adulterated_at_or_above:
        found.append(
            (
                ValidityClass.ADULTERATED,
                f"Adulterated: pH {_fmt(ph)} is outside what urine can be "
                f"({_fmt(b.ph_adulterated_below)} to below {_fmt(b.ph_adulterated_at_or_above)}).",
            )
        )
    elif ph < b.ph_invalid_below or ph >= b.ph_invalid_at_or_above:
        found.append(
            (
                ValidityClass.INVALID,
                f"Invalid: pH {_fmt(ph)} is abnormal (normal {_fmt(b.ph_invalid_below)} to below "
                f"{_fmt(b.ph_invalid_at_or_above)}); the specimen may have been tampered with.",
            )
        )


def _check_nitrite(
    m: SpecimenMeasurements, b: ValidityBounds, found: list[tuple[ValidityClass, str]]
) -> None:
    if m.nitrite_ug_ml is None:
        return
    nitrite = _dec(m.nitrite_ug_ml, "nitrite")
    if nitrite >= b.nitrite_adulterated_at_or_above:
        found.append(
            (
                ValidityClass.ADULTERATED,
                f"Adulterated: nitrite {_fmt(nitrite)} µg/mL (an adulterant) is at or above "
                f"{_fmt(b.nitrite_adulterated_at_or_above)} µg/mL.",
            )
        )
    elif nitrite >= b.nitrite_invalid_at_or_above:
        found.append(
            (
                ValidityClass.INVALID,
                f"Invalid: nitrite {_fmt(nitrite)} µg/mL is at or above "
                f"{_fmt(b.nitrite_invalid_at_or_above)} µg/mL; possible adulteration.",
            )
        )
