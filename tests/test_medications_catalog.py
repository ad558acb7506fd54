from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.medications.catalog import (
    MEDICATION_CODES,
    MEDICATIONS,
    Dispensing,
    MedicationClass,
    UnknownMedicationError,
    get_medication,
    is_medication_code,
    medications_in_class,
)
from openiop.screening.catalog import ANALYTE_CODES

FIXED_CODES = {
    "bup_nx_sl", "sublocade", "brixadi_weekly", "brixadi_monthly", "vivitrol", "methadone_otp",
    "naloxone_kit", "sertraline", "escitalopram", "bupropion", "trazodone", "prazosin",
    "hydroxyzine", "gabapentin", "clonazepam", "lorazepam", "alprazolam", "diazepam",
    "methylphenidate", "amphetamine_salts", "lisdexamfetamine",
}  # fmt: skip


def test_it_has_exactly_the_agreed_codes():
    assert set(MEDICATION_CODES) == FIXED_CODES
    assert len(MEDICATION_CODES) == len(MEDICATIONS)


@pytest.mark.parametrize(
    ("code", "explains", "in_clinic", "blocks"),
    [
        ("bup_nx_sl", {"buprenorphine", "norbuprenorphine"}, False, False),
        ("sublocade", {"buprenorphine", "norbuprenorphine"}, True, False),
        ("brixadi_weekly", {"buprenorphine", "norbuprenorphine"}, True, False),
        ("brixadi_monthly", {"buprenorphine", "norbuprenorphine"}, True, False),
        ("vivitrol", set(), True, True),
        ("methadone_otp", {"methadone", "eddp"}, False, False),
        ("naloxone_kit", set(), False, False),
        ("clonazepam", {"benzodiazepines"}, False, False),
        ("alprazolam", {"benzodiazepines"}, False, False),
        ("amphetamine_salts", {"amphetamines"}, False, False),
        ("lisdexamfetamine", {"amphetamines"}, False, False),
        ("methylphenidate", set(), False, False),
        ("sertraline", set(), False, False),
    ],
)
def test_it_knows_what_each_medicine_explains(code, explains, in_clinic, blocks):
    medication = get_medication(code)
    assert medication.explains == explains
    assert medication.injected_in_clinic is in_clinic
    assert medication.blocks_opioids is blocks


def test_it_records_methadone_as_external():
    assert get_medication("methadone_otp").is_external
    assert get_medication("methadone_otp").default_dispensing is Dispensing.EXTERNAL_OTP
    assert not get_medication("bup_nx_sl").is_external


def test_it_classes_the_medicines():
    assert {m.code for m in medications_in_class(MedicationClass.NALTREXONE)} == {"vivitrol"}
    assert {m.code for m in medications_in_class(MedicationClass.RESCUE)} == {"naloxone_kit"}
    moud = {m.code for m in medications_in_class(MedicationClass.MOUD)}
    assert moud == {"bup_nx_sl", "sublocade", "brixadi_weekly", "brixadi_monthly", "methadone_otp"}


def test_every_analyte_it_names_is_in_the_analyte_catalogue():
    for medication in MEDICATIONS:
        assert medication.expected <= medication.explains
        assert medication.explains <= set(ANALYTE_CODES)
        assert medication.cross_reacts <= set(ANALYTE_CODES)
        assert not medication.cross_reacts & medication.explains


def test_it_rejects_an_unknown_code_by_name():
    with pytest.raises(KeyError) as excinfo:
        get_medication("suboxone")
    assert isinstance(excinfo.value, UnknownMedicationError)
    assert "'suboxone'" in str(excinfo.value)
    assert "bup_nx_sl" in str(excinfo.value)


@given(st.text(max_size=20))
def test_lookup_and_membership_agree(code):
    if is_medication_code(code):
        assert get_medication(code).code == code
    else:
        with pytest.raises(UnknownMedicationError):
            get_medication(code)


def test_it_has_a_short_name_for_sentences():
    assert get_medication("sublocade").short_name == "Sublocade"
    assert get_medication("methadone_otp").short_name == "methadone"
    assert get_medication("sertraline").short_name == "Sertraline"
