from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.screening.catalog import SpecimenType, ValidityClass
from openiop.screening.validity import (
    DEFAULT_BOUNDS,
    SpecimenMeasurements,
    ValidityBounds,
    classify_validity,
    severity,
)

V, D, S, A, INV = (
    ValidityClass.VALID,
    ValidityClass.DILUTE,
    ValidityClass.SUBSTITUTED,
    ValidityClass.ADULTERATED,
    ValidityClass.INVALID,
)

# A specimen that passes every check; each case changes one or two measurements.
NORMAL = {
    "temperature_c": "35",
    "temperature_read_after_minutes": "2",
    "creatinine_mg_dl": "80",
    "specific_gravity": "1.015",
    "ph": "6",
    "nitrite_ug_ml": "0",
}


def urine(**changes: str | None) -> SpecimenMeasurements:
    values = {**NORMAL, **changes}
    return SpecimenMeasurements(
        SpecimenType.URINE,
        **{k: None if v is None else Decimal(v) for k, v in values.items()},
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, V),
        # Temperature 32–38 °C inclusive, read within 4 minutes inclusive.
        ({"temperature_c": "32"}, V),
        ({"temperature_c": "31.9"}, INV),
        ({"temperature_c": "38"}, V),
        ({"temperature_c": "38.1"}, INV),
        ({"temperature_c": "31", "temperature_read_after_minutes": "4"}, INV),
        ({"temperature_c": "31", "temperature_read_after_minutes": "4.5"}, V),  # cooled: unknown
        ({"temperature_c": "39", "temperature_read_after_minutes": "10"}, INV),  # too hot anyway
        ({"temperature_c": None, "temperature_read_after_minutes": None}, V),
        # Dilute: creatinine < 20 and SG < 1.003.
        ({"creatinine_mg_dl": "19.9", "specific_gravity": "1.0029"}, D),
        ({"creatinine_mg_dl": "20", "specific_gravity": "1.0029"}, V),
        ({"creatinine_mg_dl": "19.9", "specific_gravity": "1.003"}, V),
        ({"creatinine_mg_dl": "2", "specific_gravity": "1.0011"}, D),
        # Substituted: creatinine < 2 and SG ≤ 1.0010 or ≥ 1.0200.
        ({"creatinine_mg_dl": "1.9", "specific_gravity": "1.0010"}, S),
        ({"creatinine_mg_dl": "1.9", "specific_gravity": "1.0200"}, S),
        ({"creatinine_mg_dl": "0", "specific_gravity": "1.000"}, S),
        ({"creatinine_mg_dl": "2", "specific_gravity": "1.0010"}, INV),  # the two disagree
        ({"creatinine_mg_dl": "1.9", "specific_gravity": "1.0011"}, INV),
        ({"creatinine_mg_dl": "1.9", "specific_gravity": "1.0199"}, INV),
        ({"creatinine_mg_dl": "2", "specific_gravity": "1.0200"}, V),
        # Only one of creatinine and SG measured.
        ({"specific_gravity": None, "creatinine_mg_dl": "19.9"}, D),
        ({"specific_gravity": None, "creatinine_mg_dl": "20"}, V),
        ({"specific_gravity": None, "creatinine_mg_dl": "1.9"}, INV),
        ({"creatinine_mg_dl": None, "specific_gravity": "1.0029"}, D),
        ({"creatinine_mg_dl": None, "specific_gravity": "1.0010"}, INV),
        ({"creatinine_mg_dl": None, "specific_gravity": None}, V),
        # pH (verify): adulterated < 4 or ≥ 11; invalid [4, 4.5) and [9, 11).
        ({"ph": "3.9"}, A),
        ({"ph": "4"}, INV),
        ({"ph": "4.4"}, INV),
        ({"ph": "4.5"}, V),
        ({"ph": "8.9"}, V),
        ({"ph": "9"}, INV),
        ({"ph": "10.9"}, INV),
        ({"ph": "11"}, A),
        # Nitrite µg/mL (verify): invalid ≥ 200, adulterated ≥ 500.
        ({"nitrite_ug_ml": "199"}, V),
        ({"nitrite_ug_ml": "200"}, INV),
        ({"nitrite_ug_ml": "499"}, INV),
        ({"nitrite_ug_ml": "500"}, A),
        # The worst finding wins.
        ({"creatinine_mg_dl": "1", "specific_gravity": "1.000", "ph": "12"}, A),
        ({"creatinine_mg_dl": "10", "specific_gravity": "1.002", "temperature_c": "30"}, INV),
    ],
)
def test_it_classifies_at_every_bound(changes, expected):
    result = classify_validity(urine(**changes))
    assert result.classification is expected
    assert result.checks_apply


def test_it_explains_in_plain_words():
    result = classify_validity(urine(creatinine_mg_dl="15", specific_gravity="1.002"))
    assert result.reasons == (
        "Dilute: creatinine 15 mg/dL and specific gravity 1.002; negative results are not "
        "reliable.",
    )
    assert result.is_interpretable
    assert not result.negatives_reliable


def test_a_valid_specimen_has_no_finding():
    result = classify_validity(urine())
    assert result.reasons == ()
    assert result.negatives_reliable
    assert result.temperature_verified


def test_it_names_each_finding():
    result = classify_validity(urine(temperature_c="30", ph="9.2", nitrite_ug_ml="600"))
    assert result.classification is A
    assert not result.is_interpretable
    text = " ".join(result.reasons)
    assert "Temperature 30 °C is outside 32–38 °C" in text
    assert "pH 9.2" in text
    assert "nitrite 600 µg/mL" in text


def test_it_says_when_the_temperature_is_not_verified():
    late = classify_validity(urine(temperature_c="30", temperature_read_after_minutes="7"))
    assert not late.temperature_verified
    assert any("7 minutes after collection" in reason for reason in late.reasons)
    missing = classify_validity(urine(temperature_c=None))
    assert not missing.temperature_verified
    assert any("not read" in reason for reason in missing.reasons)


def test_it_says_what_was_not_measured():
    result = classify_validity(urine(specific_gravity=None, creatinine_mg_dl="1"))
    assert any("specific gravity was not measured" in reason for reason in result.reasons)


@pytest.mark.parametrize("specimen", [SpecimenType.ORAL_FLUID, SpecimenType.BREATH_ALCOHOL])
def test_other_specimens_have_no_urine_checks(specimen):
    result = classify_validity(SpecimenMeasurements(specimen, temperature_c=20))
    assert result.classification is V
    assert not result.checks_apply
    with pytest.raises(ValueError, match="urine only"):
        SpecimenMeasurements(specimen, creatinine_mg_dl=1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("creatinine_mg_dl", -1),
        ("specific_gravity", Decimal("0.99")),
        ("ph", 15),
        ("nitrite_ug_ml", -5),
        ("temperature_read_after_minutes", -1),
        ("temperature_c", 150),
    ],
)
def test_it_rejects_values_that_make_no_sense(field, value):
    with pytest.raises(ValueError, match=field):
        SpecimenMeasurements(SpecimenType.URINE, **{field: value})


def test_it_rejects_a_non_number():
    with pytest.raises(TypeError):
        SpecimenMeasurements(SpecimenType.URINE, ph="6")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SpecimenMeasurements(SpecimenType.URINE, ph=True)


def test_the_bounds_are_configurable():
    lenient = ValidityBounds(dilute_creatinine_below=Decimal(10))
    measured = urine(creatinine_mg_dl="15", specific_gravity="1.002")
    assert classify_validity(measured).classification is D
    assert classify_validity(measured, lenient).classification is V
    later_ph = ValidityBounds(ph_invalid_at_or_above=Decimal("9.5"))
    assert classify_validity(urine(ph="9.2"), later_ph).classification is V


def test_the_bounds_mark_what_to_verify_and_stay_ordered():
    assert "ph_invalid_at_or_above" in ValidityBounds.TO_VERIFY
    assert "nitrite_adulterated_at_or_above" in ValidityBounds.TO_VERIFY
    assert "dilute_creatinine_below" not in ValidityBounds.TO_VERIFY
    assert DEFAULT_BOUNDS.temperature_read_within_minutes == 4
    with pytest.raises(ValueError, match="ph_invalid_below"):
        ValidityBounds(ph_invalid_below=Decimal(10))


def test_floats_hit_the_bounds_exactly():
    # 1.003 as a float is a hair below 1.003; the bound must still be "not below 1.003".
    at_high = SpecimenMeasurements(SpecimenType.URINE, creatinine_mg_dl=1.9, specific_gravity=1.02)
    assert classify_validity(at_high).classification is S
    as_float = SpecimenMeasurements(
        SpecimenType.URINE, creatinine_mg_dl=19.9, specific_gravity=1.003
    )
    assert classify_validity(as_float).classification is V


creatinine = st.decimals(min_value=0, max_value=400, places=1)
gravity = st.decimals(min_value="1.000", max_value="1.040", places=4)
ph = st.decimals(min_value=0, max_value=14, places=1)
nitrite = st.decimals(min_value=0, max_value=1000, places=0)
temperature = st.decimals(min_value=20, max_value=45, places=1)
minutes = st.decimals(min_value=0, max_value=10, places=1)


def maybe(strategy):
    return st.none() | strategy


@st.composite
def specimens(draw):
    return SpecimenMeasurements(
        SpecimenType.URINE,
        temperature_c=draw(maybe(temperature)),
        temperature_read_after_minutes=draw(maybe(minutes)),
        creatinine_mg_dl=draw(maybe(creatinine)),
        specific_gravity=draw(maybe(gravity)),
        ph=draw(maybe(ph)),
        nitrite_ug_ml=draw(maybe(nitrite)),
    )


def with_(specimen: SpecimenMeasurements, **changes) -> SpecimenMeasurements:
    values = {
        "temperature_c": specimen.temperature_c,
        "temperature_read_after_minutes": specimen.temperature_read_after_minutes,
        "creatinine_mg_dl": specimen.creatinine_mg_dl,
        "specific_gravity": specimen.specific_gravity,
        "ph": specimen.ph,
        "nitrite_ug_ml": specimen.nitrite_ug_ml,
    }
    return SpecimenMeasurements(specimen.specimen, **{**values, **changes})


def rank(specimen: SpecimenMeasurements) -> int:
    return severity(classify_validity(specimen).classification)


@given(specimens(), creatinine, creatinine)
def test_lowering_creatinine_never_makes_a_specimen_more_valid(specimen, a, b):
    low, high = min(a, b), max(a, b)
    assert rank(with_(specimen, creatinine_mg_dl=low)) >= rank(
        with_(specimen, creatinine_mg_dl=high)
    )


@given(specimens(), nitrite, nitrite)
def test_raising_nitrite_never_makes_a_specimen_more_valid(specimen, a, b):
    low, high = min(a, b), max(a, b)
    assert rank(with_(specimen, nitrite_ug_ml=high)) >= rank(with_(specimen, nitrite_ug_ml=low))


normal_gravity = st.decimals(min_value="1.000", max_value="1.0199", places=4)


@given(specimens(), normal_gravity, normal_gravity)
def test_lowering_gravity_never_makes_a_specimen_more_valid(specimen, a, b):
    # Below 1.0200: a very high specific gravity is itself a sign of substitution.
    low, high = min(a, b), max(a, b)
    assert rank(with_(specimen, specific_gravity=low)) >= rank(
        with_(specimen, specific_gravity=high)
    )


@given(specimens())
def test_a_measurement_never_makes_a_specimen_more_valid_than_it_was_without_it(specimen):
    for field in ("ph", "nitrite_ug_ml"):
        assert rank(specimen) >= rank(with_(specimen, **{field: None}))


@given(specimens())
def test_every_finding_has_a_reason(specimen):
    result = classify_validity(specimen)
    if result.classification is not V:
        assert any(
            reason.startswith(result.classification.value.capitalize()) or "°C" in reason
            for reason in result.reasons
        )
    assert result.is_interpretable == (result.classification in (V, D))


@given(specimens())
def test_it_agrees_with_the_domain_rule_for_substitution(specimen):
    c, sg = specimen.creatinine_mg_dl, specimen.specific_gravity
    result = classify_validity(specimen).classification
    if (
        c is not None
        and sg is not None
        and c < 2
        and (sg <= Decimal("1.0010") or sg >= Decimal("1.02"))
    ):
        assert result in (S, A)
    elif result is S:
        pytest.fail("substituted without the substitution criteria")


@given(specimens())
def test_it_agrees_with_the_domain_rule_for_dilution(specimen):
    c, sg = specimen.creatinine_mg_dl, specimen.specific_gravity
    result = classify_validity(specimen).classification
    if result is D:
        assert (c is None or c < 20) and (sg is None or sg < Decimal("1.003"))
        assert c is not None or sg is not None
