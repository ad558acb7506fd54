from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.medications.catalog import MEDICATION_CODES, UnknownMedicationError, get_medication
from openiop.screening.catalog import (
    ANALYTE_CODES,
    Method,
    Outcome,
    UnknownAnalyteError,
    ValidityClass,
    Verdict,
)
from openiop.screening.interpretation import ActiveMedication, AnalyteResult, interpret
from openiop.screening.validity import SpecimenMeasurements, classify_validity

EXP, UNX, INC = Verdict.EXPECTED, Verdict.UNEXPECTED, Verdict.INCONCLUSIVE


def parse(spec: str) -> list[AnalyteResult]:
    """ "buprenorphine+ norbuprenorphine-! thc?" → results; ! marks confirmatory."""
    signs = {"+": Outcome.POSITIVE, "-": Outcome.NEGATIVE, "?": Outcome.INCONCLUSIVE}
    results = []
    for token in spec.split():
        method = Method.CONFIRMATORY if token.endswith("!") else Method.PRESUMPTIVE
        token = token.rstrip("!")
        results.append(AnalyteResult(token[:-1], method, signs[token[-1]]))
    return results


CASES = [
    # (results, medications, validity, per-analyte verdicts, overall, to confirm, words)
    pytest.param(
        "buprenorphine+ norbuprenorphine+ thc-", ["bup_nx_sl"], "valid",
        {"buprenorphine": EXP, "norbuprenorphine": EXP, "thc": EXP}, EXP, (),
        "explained by buprenorphine/naloxone", id="buprenorphine-as-prescribed",
    ),
    pytest.param(
        "buprenorphine+ norbuprenorphine-", ["bup_nx_sl"], "valid",
        {"buprenorphine": UNX, "norbuprenorphine": UNX}, UNX, ("buprenorphine",),
        "spiking", id="buprenorphine-without-norbuprenorphine",
    ),
    pytest.param(
        "buprenorphine+ norbuprenorphine-", [], "valid",
        {"buprenorphine": UNX, "norbuprenorphine": UNX}, UNX, ("buprenorphine",),
        "spiking", id="spiked-without-a-prescription",
    ),
    pytest.param(
        "buprenorphine- norbuprenorphine+", ["bup_nx_sl"], "valid",
        {"buprenorphine": EXP, "norbuprenorphine": EXP}, EXP, (),
        "below its cutoff", id="metabolite-without-parent-is-plausible",
    ),
    pytest.param(
        "methadone+ eddp+", ["methadone_otp"], "valid",
        {"methadone": EXP, "eddp": EXP}, EXP, (), "methadone", id="methadone-as-prescribed",
    ),
    pytest.param(
        "methadone+ eddp-", ["methadone_otp"], "valid",
        {"methadone": UNX, "eddp": UNX}, UNX, ("methadone",),
        "spiking", id="methadone-without-eddp",
    ),
    pytest.param(
        "methadone- eddp-", ["methadone_otp"], "valid",
        {"methadone": UNX, "eddp": UNX}, UNX, (),
        "Opioid Treatment Program", id="methadone-missing",
    ),
    pytest.param(
        "buprenorphine- norbuprenorphine-", ["bup_nx_sl"], "valid",
        {"buprenorphine": UNX, "norbuprenorphine": UNX}, UNX, (),
        "may not be taken as prescribed", id="sublingual-missing",
    ),
    pytest.param(
        "buprenorphine- norbuprenorphine-", ["sublocade"], "valid",
        {"buprenorphine": UNX, "norbuprenorphine": UNX}, UNX, (),
        "injected in clinic", id="sublocade-missing",
    ),
    pytest.param(
        "buprenorphine- norbuprenorphine-", ["brixadi_weekly"], "valid",
        {"buprenorphine": UNX, "norbuprenorphine": UNX}, UNX, (),
        "overdue", id="brixadi-missing",
    ),
    pytest.param(
        "amphetamines-", ["lisdexamfetamine"], "valid",
        {"amphetamines": UNX}, UNX, (), "Lisdexamfetamine", id="stimulant-missing",
    ),
    pytest.param(
        "benzodiazepines-", [ActiveMedication("alprazolam", as_needed=True)], "valid",
        {"benzodiazepines": EXP}, EXP, (), "as needed", id="prn-negative-is-consistent",
    ),
    pytest.param(
        "benzodiazepines-", ["clonazepam"], "valid",
        {"benzodiazepines": INC}, EXP, (), "immunoassays often miss", id="clonazepam-missed",
    ),
    pytest.param(
        "benzodiazepines-!", ["clonazepam"], "valid",
        {"benzodiazepines": UNX}, UNX, (), "prescribed", id="clonazepam-confirmed-missing",
    ),
    pytest.param(
        "fentanyl+ thc-", ["bup_nx_sl"], "valid",
        {"fentanyl": UNX, "thc": EXP}, UNX, ("fentanyl",),
        "not explained by any active prescription", id="unexplained-positive",
    ),
    pytest.param(
        "fentanyl+!", [], "valid",
        {"fentanyl": UNX}, UNX, (), "not explained", id="confirmed-positive-needs-no-more",
    ),
    pytest.param(
        "fentanyl+ fentanyl-!", [], "valid",
        {"fentanyl": EXP}, EXP, (), "presumptive screen was positive", id="not-confirmed",
    ),
    pytest.param(
        "benzodiazepines+", ["diazepam"], "valid",
        {"benzodiazepines": EXP}, EXP, (), "Diazepam", id="benzodiazepine-prescribed",
    ),
    pytest.param(
        "amphetamines+", ["methylphenidate"], "valid",
        {"amphetamines": UNX}, UNX, ("amphetamines",),
        "Methylphenidate is not an amphetamine", id="methylphenidate-explains-nothing",
    ),
    pytest.param(
        "amphetamines+", ["bupropion"], "valid",
        {"amphetamines": INC}, EXP, ("amphetamines",),
        "false positive", id="bupropion-cross-reaction",
    ),
    pytest.param(
        "amphetamines+!", ["bupropion"], "valid",
        {"amphetamines": UNX}, UNX, (), "not explained", id="cross-reaction-ruled-out",
    ),
    pytest.param(
        "oxycodone+ opiates- thc-", ["vivitrol"], "valid",
        {"oxycodone": UNX, "opiates": EXP, "thc": EXP}, UNX, ("oxycodone",),
        "blockade", id="opioid-on-naltrexone",
    ),
    pytest.param(
        "opiates- fentanyl- 6am-", ["vivitrol"], "valid",
        {"opiates": EXP, "fentanyl": EXP, "6am": EXP}, EXP, (),
        "as expected on Vivitrol", id="naltrexone-all-negative",
    ),
    pytest.param(
        "thc+ buprenorphine+ norbuprenorphine+", ["bup_nx_sl"], "substituted",
        {"thc": INC, "buprenorphine": INC, "norbuprenorphine": INC}, UNX, (),
        "substituted", id="substituted",
    ),
    pytest.param(
        "thc-", [], "adulterated", {"thc": INC}, UNX, (), "adulterated", id="adulterated",
    ),
    pytest.param("", [], "invalid", {}, UNX, (), "invalid", id="invalid-without-results"),
    pytest.param(
        "thc- cocaine+", [], "dilute",
        {"thc": INC, "cocaine": UNX}, UNX, ("cocaine",), "dilute", id="dilute-positive-stands",
    ),
    pytest.param(
        "buprenorphine- norbuprenorphine-", ["bup_nx_sl"], "dilute",
        {"buprenorphine": INC, "norbuprenorphine": INC}, EXP, (),
        "not reliable", id="dilute-missing-medicine",
    ),
    pytest.param(
        "etg?", [], "valid", {"etg": INC}, EXP, (), "no clear result", id="inconclusive-test",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "medications", "validity", "verdicts", "overall", "confirm", "words"), CASES
)
def test_it_interprets_the_cases(spec, medications, validity, verdicts, overall, confirm, words):
    result = interpret(parse(spec), medications, validity)
    assert {item.analyte: item.verdict for item in result.analytes} == verdicts
    assert result.verdict is overall
    assert set(result.confirmation_needed) == set(confirm)
    text = " ".join([item.reason for item in result.analytes] + list(result.notes))
    assert words in text


def test_it_says_what_a_dilute_specimen_means():
    result = interpret(parse("thc-"), [], ValidityClass.DILUTE)
    assert result.recollect
    assert "negatives are not reliable" in result.notes[0]
    assert result.for_analyte("thc").reason == (
        "Cannabis (THC) negative, but the specimen is dilute: a negative is not reliable."
    )


def test_it_takes_the_validity_result_itself():
    validity = classify_validity(
        SpecimenMeasurements("urine", creatinine_mg_dl=1, specific_gravity=Decimal("1.0005"))
    )
    result = interpret(parse("thc-"), [], validity)
    assert result.validity is ValidityClass.SUBSTITUTED
    assert result.unexpected
    assert result.recollect


def test_it_notes_what_was_not_tested():
    result = interpret(parse("buprenorphine+ thc-"), ["methadone_otp"], "valid")
    assert any("spiking cannot be excluded" in note for note in result.notes)
    assert any("cannot show whether methadone is taken" in note for note in result.notes)
    vivitrol = interpret(parse("thc-"), ["vivitrol", "bup_nx_sl"], "valid")
    assert any("injection record" in note for note in vivitrol.notes)
    assert any("both on the active list" in note for note in vivitrol.notes)


def test_it_checks_the_value_against_the_cutoff():
    entered = AnalyteResult("thc", Method.PRESUMPTIVE, Outcome.POSITIVE, value=Decimal(20))
    result = interpret([entered], [], "valid").for_analyte("thc")
    assert result.verdict is INC
    assert "below the cutoff 50 ng/mL" in result.reason
    own_cutoff = AnalyteResult("thc", "presumptive", "positive", value=20, cutoff=20)
    assert interpret([own_cutoff], [], "valid").for_analyte("thc").verdict is UNX


def test_it_rejects_bad_input_by_name():
    with pytest.raises(UnknownAnalyteError, match="'kratom'"):
        AnalyteResult("kratom", Method.PRESUMPTIVE, Outcome.POSITIVE)
    with pytest.raises(UnknownMedicationError, match="'suboxone'"):
        interpret([], ["suboxone"], "valid")
    with pytest.raises(ValueError, match="positivish"):
        AnalyteResult("thc", Method.PRESUMPTIVE, "positivish")
    with pytest.raises(ValueError, match="ng/mL makes no sense"):
        AnalyteResult("thc", Method.PRESUMPTIVE, Outcome.POSITIVE, value=Decimal(-3))
    with pytest.raises(ValueError, match="Two presumptive results for thc"):
        interpret(parse("thc+ thc-"), [], "valid")
    with pytest.raises(ValueError):
        interpret([], [], "clean")
    with pytest.raises(KeyError, match="not tested"):
        interpret([], [], "valid").for_analyte("thc")


# Properties ------------------------------------------------------------------------------

result_st = st.builds(
    AnalyteResult,
    analyte=st.sampled_from(ANALYTE_CODES),
    method=st.sampled_from(Method),
    result=st.sampled_from(Outcome),
)
results_st = st.lists(result_st, max_size=12, unique_by=lambda r: (r.analyte, r.method))
medication_st = st.builds(
    ActiveMedication, code=st.sampled_from(MEDICATION_CODES), as_needed=st.booleans()
)
medications_st = st.lists(medication_st, max_size=4)
validity_st = st.sampled_from(ValidityClass)
interpretable_st = st.sampled_from([ValidityClass.VALID, ValidityClass.DILUTE])


def verdicts(interpretation):
    return {item.analyte: item for item in interpretation.analytes}


@given(results_st, medications_st, interpretable_st, st.sampled_from(MEDICATION_CODES))
def test_adding_a_prescription_never_turns_an_expected_positive_unexpected(
    results, medications, validity, added
):
    before = verdicts(interpret(results, medications, validity))
    after = verdicts(interpret(results, [*medications, added], validity))
    for code, item in before.items():
        if item.result is Outcome.POSITIVE and item.verdict is EXP:
            assert after[code].verdict is EXP


@given(results_st, medications_st, interpretable_st)
def test_a_prescription_that_explains_a_positive_makes_it_expected_unless_spiked(
    results, medications, validity
):
    before = verdicts(interpret(results, medications, validity))
    for code, item in before.items():
        if item.result is not Outcome.POSITIVE:
            continue
        explaining = [m for m in MEDICATION_CODES if code in get_medication(m).explains]
        if not explaining:
            continue
        after = verdicts(interpret(results, [*medications, explaining[0]], validity))[code]
        assert after.verdict is EXP or "spiking" in after.reason


@given(
    results_st,
    medications_st,
    st.sampled_from([ValidityClass.INVALID, ValidityClass.SUBSTITUTED, ValidityClass.ADULTERATED]),
)
def test_a_specimen_that_cannot_be_read_is_never_expected(results, medications, validity):
    result = interpret(results, medications, validity)
    assert result.verdict is UNX
    assert result.recollect
    assert result.confirmation_needed == ()
    assert all(item.verdict is INC for item in result.analytes)


@given(results_st, medications_st, validity_st)
def test_overall_is_unexpected_iff_an_analyte_is_or_the_specimen_cannot_be_read(
    results, medications, validity
):
    result = interpret(results, medications, validity)
    readable = validity in (ValidityClass.VALID, ValidityClass.DILUTE)
    any_unexpected = any(item.verdict is UNX for item in result.analytes)
    assert result.unexpected == (any_unexpected or not readable)
    if readable:
        assert result.unexpected == any_unexpected
    assert result.verdict in (EXP, UNX)


@given(results_st, medications_st, validity_st)
def test_every_analyte_tested_has_one_verdict_and_a_reason(results, medications, validity):
    result = interpret(results, medications, validity)
    assert [item.analyte for item in result.analytes] == [
        code for code in ANALYTE_CODES if code in {r.analyte for r in results}
    ]
    assert all(item.reason for item in result.analytes)


@given(results_st, medications_st, interpretable_st)
def test_confirmation_is_asked_for_every_unexpected_presumptive_positive_and_nothing_else(
    results, medications, validity
):
    result = interpret(results, medications, validity)
    for item in result.analytes:
        if item.analyte in result.confirmation_needed:
            assert item.method is Method.PRESUMPTIVE and item.result is Outcome.POSITIVE
            assert item.verdict is not EXP
        elif item.method is Method.PRESUMPTIVE and item.result is Outcome.POSITIVE:
            assert item.verdict is not UNX


@given(results_st, interpretable_st)
def test_without_prescriptions_no_positive_is_expected(results, validity):
    for item in interpret(results, [], validity).analytes:
        if item.result is Outcome.POSITIVE:
            assert item.verdict is not EXP


@given(results_st, medications_st)
def test_dilution_changes_no_positive_and_never_calls_a_plain_negative_unexpected(
    results, medications
):
    valid = verdicts(interpret(results, medications, ValidityClass.VALID))
    dilute = verdicts(interpret(results, medications, ValidityClass.DILUTE))
    for code, item in dilute.items():
        if item.result is Outcome.POSITIVE:
            assert item.verdict is valid[code].verdict
        elif item.result is Outcome.NEGATIVE and item.verdict is UNX:
            assert "spiking" in item.reason  # only a metabolite missing beside its parent


@given(results_st, medications_st, interpretable_st)
def test_order_of_inputs_does_not_matter(results, medications, validity):
    forward = interpret(results, medications, validity)
    backward = interpret(list(reversed(results)), list(reversed(medications)), validity)
    assert forward.verdict is backward.verdict
    assert [(i.analyte, i.verdict) for i in forward.analytes] == [
        (i.analyte, i.verdict) for i in backward.analytes
    ]
