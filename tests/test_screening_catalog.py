from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.screening.catalog import (
    ANALYTE_CODES,
    ANALYTES,
    DEFAULT_PANEL,
    OPIOID_CODES,
    CutoffSource,
    Method,
    PanelEntry,
    UnknownAnalyteError,
    get_analyte,
    is_analyte_code,
)

FIXED_CODES = (
    "thc", "cocaine", "opiates", "hydrocodone", "oxycodone", "6am", "pcp", "fentanyl",
    "amphetamines", "mdma", "buprenorphine", "norbuprenorphine", "methadone", "eddp",
    "benzodiazepines", "barbiturates", "etg",
)  # fmt: skip


def test_it_has_exactly_the_agreed_codes():
    assert ANALYTE_CODES == FIXED_CODES


@pytest.mark.parametrize(
    ("code", "screen", "confirm"),
    [
        ("thc", "50", "15"),
        ("cocaine", "150", "100"),
        ("opiates", "2000", "2000"),
        ("hydrocodone", "300", "100"),
        ("oxycodone", "100", "100"),
        ("6am", "10", "10"),
        ("pcp", "25", "25"),
        ("fentanyl", "1", "1"),
        ("amphetamines", "500", "250"),
        ("mdma", "500", "250"),
        ("methadone", "300", "100"),
    ],
)
def test_it_defaults_to_the_domain_cutoffs(code, screen, confirm):
    analyte = get_analyte(code)
    assert analyte.screen_cutoff == Decimal(screen)
    assert analyte.confirm_cutoff == Decimal(confirm)
    assert analyte.cutoff(Method.PRESUMPTIVE) == Decimal(screen)
    assert analyte.cutoff(Method.CONFIRMATORY) == Decimal(confirm)
    assert analyte.unit == "ng/mL"


def test_it_marks_the_federal_and_the_clinical_cutoffs():
    federal = {a.code for a in ANALYTES if a.cutoff_source is CutoffSource.FEDERAL_WORKPLACE}
    assert federal == set(FIXED_CODES[:10])


def test_it_knows_the_opioids():
    opioids = {
        "opiates", "hydrocodone", "oxycodone", "6am", "fentanyl", "buprenorphine",
        "norbuprenorphine", "methadone", "eddp",
    }  # fmt: skip
    assert opioids == OPIOID_CODES


def test_norbuprenorphine_is_measured_by_confirmation_only():
    assert get_analyte("norbuprenorphine").screen_cutoff is None
    assert get_analyte("norbuprenorphine").confirm_cutoff == Decimal(5)


def test_the_default_panel_covers_the_catalogue():
    assert tuple(entry.analyte for entry in DEFAULT_PANEL) == FIXED_CODES
    for entry in DEFAULT_PANEL:
        assert entry.confirm_cutoff == get_analyte(entry.analyte).confirm_cutoff


def test_a_panel_entry_checks_its_code_and_cutoffs():
    with pytest.raises(UnknownAnalyteError):
        PanelEntry("kratom", Decimal(10), Decimal(5))
    with pytest.raises(ValueError, match="positive"):
        PanelEntry("thc", Decimal(0), Decimal(15))


def test_it_rejects_an_unknown_code_by_name():
    with pytest.raises(KeyError) as excinfo:
        get_analyte("heroin")
    assert "'heroin'" in str(excinfo.value)
    assert "6am" in str(excinfo.value)


@given(st.text(max_size=20))
def test_lookup_and_membership_agree(code):
    if is_analyte_code(code):
        assert get_analyte(code).code == code
    else:
        with pytest.raises(UnknownAnalyteError):
            get_analyte(code)
