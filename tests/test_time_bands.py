from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.clinical.time_bands import band_for, band_label, psychotherapy_code


@pytest.mark.parametrize(
    ("minutes", "code"),
    [
        (0, None),
        (1, None),
        (15, None),
        (16, "90832"),
        (30, "90832"),
        (37, "90832"),
        (38, "90834"),
        (45, "90834"),
        (52, "90834"),
        (53, "90837"),
        (60, "90837"),
        (240, "90837"),
    ],
)
def test_it_maps_the_boundaries(minutes, code):
    assert psychotherapy_code(minutes) == code


@given(st.integers(min_value=0, max_value=10_000))
def test_it_agrees_with_the_domain_rule_everywhere(minutes):
    if minutes < 16:
        expected = None
    elif minutes <= 37:
        expected = "90832"
    elif minutes <= 52:
        expected = "90834"
    else:
        expected = "90837"
    assert psychotherapy_code(minutes) == expected


@given(st.integers(min_value=0, max_value=10_000))
def test_it_never_lowers_the_code_with_more_time(minutes):
    order = [None, "90832", "90834", "90837"]
    assert order.index(psychotherapy_code(minutes)) <= order.index(psychotherapy_code(minutes + 1))


def test_it_labels_a_band():
    assert band_label(50) == "50 min → 90834"
    assert band_label(16) == "16 min → 90832"
    assert band_label(12) == "12 min → no psychotherapy code (under 16 min)"


def test_it_names_the_band():
    assert band_for(45).name == "Psychotherapy, 45 minutes"
    assert band_for(10) is None


@pytest.mark.parametrize("bad", [-1, -60])
def test_it_refuses_negative_minutes(bad):
    with pytest.raises(ValueError, match="negative"):
        psychotherapy_code(bad)


@pytest.mark.parametrize("bad", [True, 30.0, "30", None])
def test_it_refuses_what_is_not_whole_minutes(bad):
    with pytest.raises(TypeError):
        psychotherapy_code(bad)
