"""Interpreting a drug screen against the patient's medications, a pure core.

DOMAIN.md §7: expected results follow the active medication list —

- buprenorphine (Suboxone, Sublocade, Brixadi): buprenorphine and norbuprenorphine positive;
  buprenorphine without norbuprenorphine suggests the sample was spiked;
- methadone: methadone and EDDP positive; methadone without EDDP suggests spiking;
- naltrexone: all opioids negative (naltrexone itself needs a specific test);
- any prescribed medicine explains its own class.

Unexpected = a substance not explained by prescriptions, a prescribed medicine missing, an
implausible parent/metabolite pattern, or an invalid specimen. An unexpected presumptive result
is confirmed (LC-MS/MS) and talked through with the patient before any consequence.

``interpret`` takes plain data (catalogue codes, results as entered or imported) and returns
plain data: a verdict and a plain-words reason per analyte, an overall verdict, and the
analytes to send for confirmation. The overall verdict is ``unexpected`` exactly when some
analyte is unexpected or the specimen cannot be interpreted (substituted, adulterated, invalid);
in that last case every analyte is ``inconclusive`` — its result says nothing — and the specimen
is collected again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from openiop.medications.catalog import Medication, get_medication
from openiop.screening.catalog import (
    ANALYTE_CODES,
    Method,
    Outcome,
    ValidityClass,
    Verdict,
    get_analyte,
)
from openiop.screening.validity import ValidityResult

# Parent drug → the metabolite the body makes from it (DOMAIN.md §7). The parent without the
# metabolite suggests the drug was added to the sample; the metabolite without the parent is
# plausible (the parent fell below its cutoff).
METABOLITE_OF: dict[str, str] = {"buprenorphine": "norbuprenorphine", "methadone": "eddp"}
PARENT_OF: dict[str, str] = {metabolite: parent for parent, metabolite in METABOLITE_OF.items()}

_INTERPRETABLE = (ValidityClass.VALID, ValidityClass.DILUTE)


@dataclass(frozen=True)
class AnalyteResult:
    """One analyte's result as entered or imported. ``cutoff`` None: the catalogue default."""

    analyte: str
    method: Method
    result: Outcome
    value: Decimal | None = None
    cutoff: Decimal | None = None

    def __post_init__(self) -> None:
        get_analyte(self.analyte)
        object.__setattr__(self, "method", Method(self.method))
        object.__setattr__(self, "result", Outcome(self.result))
        for name in ("value", "cutoff"):
            raw = getattr(self, name)
            if raw is None:
                continue
            if isinstance(raw, bool) or not isinstance(raw, Decimal | int | float):
                raise TypeError(f"{self.analyte}: {name} must be a number")
            number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
            if not number.is_finite() or number < 0 or (name == "cutoff" and number == 0):
                raise ValueError(f"{self.analyte}: {name} {raw} ng/mL makes no sense")
            object.__setattr__(self, name, number)

    @property
    def effective_cutoff(self) -> Decimal | None:
        return (
            self.cutoff
            if self.cutoff is not None
            else get_analyte(self.analyte).cutoff(self.method)
        )


@dataclass(frozen=True)
class ActiveMedication:
    """A medicine active on the collection date. ``as_needed``: a PRN order, so a negative is
    no sign of missed doses."""

    code: str
    as_needed: bool = False

    def __post_init__(self) -> None:
        get_medication(self.code)


@dataclass(frozen=True)
class AnalyteInterpretation:
    analyte: str
    verdict: Verdict
    reason: str
    result: Outcome  # the result interpreted: the confirmatory one when there is one
    method: Method
    explained_by: tuple[str, ...] = ()  # medication codes
    needs_confirmation: bool = False


@dataclass(frozen=True)
class Interpretation:
    verdict: Verdict  # expected or unexpected, never inconclusive
    validity: ValidityClass
    analytes: tuple[AnalyteInterpretation, ...]  # one per analyte tested, in catalogue order
    confirmation_needed: tuple[str, ...]  # analyte codes to confirm by LC-MS/MS
    notes: tuple[str, ...] = ()
    recollect: bool = False

    @property
    def unexpected(self) -> bool:
        return self.verdict is Verdict.UNEXPECTED

    def for_analyte(self, code: str) -> AnalyteInterpretation:
        for item in self.analytes:
            if item.analyte == code:
                return item
        raise KeyError(f"Analyte {code!r} was not tested on this screen.")


@dataclass(frozen=True)
class _Med:
    medication: Medication
    as_needed: bool


def _names(meds: Iterable[_Med]) -> str:
    names = [m.medication.short_name for m in meds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _resolve_medications(medications: Iterable[str | ActiveMedication]) -> tuple[_Med, ...]:
    as_needed: dict[str, bool] = {}
    for item in medications:
        active = ActiveMedication(item) if isinstance(item, str) else item
        get_medication(active.code)
        # Several orders for one medicine: PRN only when every order is PRN.
        as_needed[active.code] = as_needed.get(active.code, True) and active.as_needed
    return tuple(_Med(get_medication(code), prn) for code, prn in as_needed.items())


def _effective_results(
    results: Iterable[AnalyteResult],
) -> dict[str, tuple[AnalyteResult, AnalyteResult | None]]:
    """analyte → (the result to interpret, the presumptive one it overrides if any)."""
    by_key: dict[tuple[str, Method], AnalyteResult] = {}
    for result in results:
        key = (result.analyte, result.method)
        if key in by_key:
            raise ValueError(f"Two {result.method.value} results for {result.analyte}.")
        by_key[key] = result
    effective: dict[str, tuple[AnalyteResult, AnalyteResult | None]] = {}
    for code in ANALYTE_CODES:
        confirmatory = by_key.get((code, Method.CONFIRMATORY))
        presumptive = by_key.get((code, Method.PRESUMPTIVE))
        if confirmatory is not None:
            effective[code] = (confirmatory, presumptive)
        elif presumptive is not None:
            effective[code] = (presumptive, None)
    return effective


def _validity_class(validity: ValidityResult | ValidityClass | str) -> ValidityClass:
    if isinstance(validity, ValidityResult):
        return validity.classification
    return ValidityClass(validity)


def interpret(
    results: Iterable[AnalyteResult],
    medications: Iterable[str | ActiveMedication],
    validity: ValidityResult | ValidityClass | str,
) -> Interpretation:
    """Interpret a screen's results against the medications active on the collection date.

    ``medications`` are catalogue codes or ``ActiveMedication``; ``validity`` the specimen's
    class (or ``classify_validity``'s result). Raises UnknownAnalyteError /
    UnknownMedicationError (KeyErrors naming the code) and ValueError for two results of one
    analyte by the same method.
    """
    validity_class = _validity_class(validity)
    meds = _resolve_medications(medications)
    effective = _effective_results(results)

    if validity_class not in _INTERPRETABLE:
        return _not_interpretable(effective, validity_class)

    dilute = validity_class is ValidityClass.DILUTE
    outcome = {code: pair[0].result for code, pair in effective.items()}
    analytes = tuple(
        _interpret_one(_Case(code, result, presumptive, meds, outcome, dilute))
        for code, (result, presumptive) in effective.items()
    )
    notes = _notes(meds, effective, dilute)
    overall = (
        Verdict.UNEXPECTED
        if any(item.verdict is Verdict.UNEXPECTED for item in analytes)
        else Verdict.EXPECTED
    )
    return Interpretation(
        verdict=overall,
        validity=validity_class,
        analytes=analytes,
        confirmation_needed=tuple(item.analyte for item in analytes if item.needs_confirmation),
        notes=notes,
        recollect=dilute,
    )


def _not_interpretable(
    effective: dict[str, tuple[AnalyteResult, AnalyteResult | None]], validity: ValidityClass
) -> Interpretation:
    reason = (
        f"The specimen is {validity.value}: its results cannot be interpreted. Collect a new "
        "specimen, under direct observation."
    )
    analytes = tuple(
        AnalyteInterpretation(code, Verdict.INCONCLUSIVE, reason, result.result, result.method)
        for code, (result, _) in effective.items()
    )
    return Interpretation(
        verdict=Verdict.UNEXPECTED,
        validity=validity,
        analytes=analytes,
        confirmation_needed=(),
        notes=(reason,),
        recollect=True,
    )


@dataclass(frozen=True)
class _Case:
    """One analyte being interpreted, with what the rules need to look at."""

    code: str
    result: AnalyteResult
    presumptive: AnalyteResult | None  # the presumptive result a confirmation overrides
    meds: tuple[_Med, ...]
    outcome: dict[str, Outcome]  # every analyte's interpreted result on this screen
    dilute: bool

    @property
    def name(self) -> str:
        return get_analyte(self.code).name

    @property
    def is_presumptive(self) -> bool:
        return self.result.method is Method.PRESUMPTIVE

    @property
    def explainers(self) -> tuple[_Med, ...]:
        return tuple(m for m in self.meds if self.code in m.medication.explains)

    @property
    def blockers(self) -> tuple[_Med, ...]:
        return tuple(m for m in self.meds if m.medication.blocks_opioids)

    def verdict(
        self, kind: Verdict, reason: str, *, confirm: bool = False
    ) -> AnalyteInterpretation:
        if self.presumptive is not None and self.presumptive.result is not self.result.result:
            reason += (
                f" (The presumptive screen was {self.presumptive.result.value}; "
                f"confirmation is {self.result.result.value}.)"
            )
        return AnalyteInterpretation(
            analyte=self.code,
            verdict=kind,
            reason=reason,
            result=self.result.result,
            method=self.result.method,
            explained_by=tuple(m.medication.code for m in self.explainers),
            needs_confirmation=confirm,
        )


def _interpret_one(case: _Case) -> AnalyteInterpretation:
    result = case.result
    cutoff = result.effective_cutoff
    if (
        result.value is not None
        and cutoff is not None
        and result.result is not Outcome.INCONCLUSIVE
    ):
        above = result.value >= cutoff
        if above != (result.result is Outcome.POSITIVE):
            relation = "at or above" if above else "below"
            return case.verdict(
                Verdict.INCONCLUSIVE,
                f"{case.name} reported {result.result.value} but the value {result.value} ng/mL "
                f"is {relation} the cutoff {cutoff} ng/mL: check the entry.",
            )
    if result.result is Outcome.INCONCLUSIVE:
        return case.verdict(
            Verdict.INCONCLUSIVE,
            f"{case.name}: the test gave no clear result. Repeat it or send it for confirmation.",
        )
    if result.result is Outcome.POSITIVE:
        return _positive(case)
    return _negative(case)


def _positive(case: _Case) -> AnalyteInterpretation:
    name, confirm = case.name, case.is_presumptive
    metabolite = METABOLITE_OF.get(case.code)
    if metabolite is not None and case.outcome.get(metabolite) is Outcome.NEGATIVE:
        metabolite_name = get_analyte(metabolite).name.lower()
        return case.verdict(
            Verdict.UNEXPECTED,
            f"{name} positive without {metabolite_name}: the body turns {name.lower()} into "
            f"{metabolite_name}, so the parent drug alone suggests it was added to the sample "
            "(spiking). Confirm by LC-MS/MS and talk with the patient.",
            confirm=confirm,
        )
    if case.explainers:
        return case.verdict(
            Verdict.EXPECTED, f"{name} positive: explained by {_names(case.explainers)}."
        )
    if case.blockers and get_analyte(case.code).is_opioid:
        return case.verdict(
            Verdict.UNEXPECTED,
            f"{name} positive while on {_names(case.blockers)}, which should keep every opioid "
            "result negative: opioid use despite the blockade, an overdose risk. Confirm and "
            "talk with the patient.",
            confirm=confirm,
        )
    cross = tuple(m for m in case.meds if case.code in m.medication.cross_reacts)
    if case.is_presumptive and cross:
        return case.verdict(
            Verdict.INCONCLUSIVE,
            f"{name} presumptive positive: {_names(cross)} can cause a false positive on this "
            "kind of test. Confirm by LC-MS/MS before reading it as use.",
            confirm=True,
        )
    reason = f"{name} positive and not explained by any active prescription."
    if case.code == "amphetamines" and any(
        m.medication.code == "methylphenidate" for m in case.meds
    ):
        reason += " Methylphenidate is not an amphetamine and does not cause this result."
    if confirm:
        reason += " Confirm by LC-MS/MS and talk with the patient."
    return case.verdict(Verdict.UNEXPECTED, reason, confirm=confirm)


def _negative(case: _Case) -> AnalyteInterpretation:
    name = case.name
    parent = PARENT_OF.get(case.code)
    if parent is not None and case.outcome.get(parent) is Outcome.POSITIVE:
        parent_name = get_analyte(parent).name.lower()
        return case.verdict(
            Verdict.UNEXPECTED,
            f"{name} negative while {parent_name} is positive: the pattern of a sample with "
            f"{parent_name} added (spiking) rather than taken.",
        )
    expecters = tuple(
        m for m in case.explainers if case.code in m.medication.expected and not m.as_needed
    )
    if expecters:
        return _missing(case, expecters)
    if case.explainers:
        return case.verdict(
            Verdict.EXPECTED,
            f"{name} negative: {_names(case.explainers)} is taken as needed, so a negative is "
            "consistent.",
        )
    if case.dilute:
        return case.verdict(
            Verdict.INCONCLUSIVE,
            f"{name} negative, but the specimen is dilute: a negative is not reliable.",
        )
    if case.blockers and get_analyte(case.code).is_opioid:
        return case.verdict(
            Verdict.EXPECTED, f"{name} negative, as expected on {_names(case.blockers)}."
        )
    return case.verdict(Verdict.EXPECTED, f"{name} negative: nothing prescribed would show here.")


def _missing(case: _Case, expecters: tuple[_Med, ...]) -> AnalyteInterpretation:
    """A negative for what a prescribed medicine should show (DOMAIN.md §7)."""
    name = case.name
    metabolite = METABOLITE_OF.get(case.code)
    if metabolite is not None and case.outcome.get(metabolite) is Outcome.POSITIVE:
        return case.verdict(
            Verdict.EXPECTED,
            f"{name} below its cutoff but {get_analyte(metabolite).name.lower()} positive: "
            f"consistent with taking {_names(expecters)}.",
        )
    verb = "is" if len(expecters) == 1 else "are"
    prescribed = f"{name} negative although {_names(expecters)} {verb} prescribed"
    if case.dilute:
        return case.verdict(
            Verdict.INCONCLUSIVE,
            f"{prescribed}, but the specimen is dilute: a negative is not reliable. Collect again.",
        )
    if case.is_presumptive and all(m.medication.immunoassay_may_miss for m in expecters):
        return case.verdict(
            Verdict.INCONCLUSIVE,
            f"{prescribed}, but immunoassays often miss {_names(expecters)}. Confirm by LC-MS/MS "
            "if adherence is in question.",
        )
    if all(m.medication.injected_in_clinic for m in expecters):
        return case.verdict(
            Verdict.UNEXPECTED,
            f"{prescribed}. It is injected in clinic, so this is not a dose missed at home: "
            "check that the last injection was given and is not overdue, and ask the lab about "
            "its cutoff (low steady levels can fall below it).",
        )
    if all(m.medication.is_external for m in expecters):
        return case.verdict(
            Verdict.UNEXPECTED,
            f"{prescribed} by the Opioid Treatment Program: the patient may not be taking it. "
            "Check with the program (with the patient's consent) and talk with the patient.",
        )
    return case.verdict(
        Verdict.UNEXPECTED,
        f"{prescribed}: the medicine may not be taken as prescribed. Talk with the patient.",
    )


def _notes(
    meds: tuple[_Med, ...],
    effective: dict[str, tuple[AnalyteResult, AnalyteResult | None]],
    dilute: bool,
) -> tuple[str, ...]:
    """What the per-analyte verdicts cannot say: untested analytes, the medication list."""
    notes: list[str] = []
    if dilute:
        notes.append(
            "The specimen is dilute: positives stand, negatives are not reliable. Collect again, "
            "early in the day."
        )
    for med in meds:
        expected = [code for code in ANALYTE_CODES if code in med.medication.expected]
        if expected and not med.as_needed and not any(code in effective for code in expected):
            names = " and ".join(get_analyte(code).name for code in expected)
            notes.append(
                f"{names} not tested: this screen cannot show whether "
                f"{med.medication.short_name} is taken."
            )
        if med.medication.blocks_opioids:
            notes.append(
                f"Naltrexone is not on this panel: {med.medication.short_name} is shown by the "
                "injection record, not by this screen."
            )
    for parent, metabolite in METABOLITE_OF.items():
        if (
            parent in effective
            and effective[parent][0].result is Outcome.POSITIVE
            and (metabolite not in effective)
        ):
            notes.append(
                f"{get_analyte(parent).name} positive and {get_analyte(metabolite).name.lower()} "
                "not tested: spiking cannot be excluded; a confirmation measures both."
            )
    agonists = [m for m in meds if m.medication.explains & {"buprenorphine", "methadone"}]
    if agonists and any(m.medication.blocks_opioids for m in meds):
        notes.append(
            f"Naltrexone and {_names(agonists)} are both on the active list: check the medication "
            "list."
        )
    return tuple(notes)
