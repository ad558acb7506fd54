"""The analyte catalogue and the codes drug screening shares, a pure core.

DOMAIN.md §7: the panel and its cutoffs depend on the lab and the test kit, so every cutoff
here is a **default** that a panel may override. The federal workplace cutoffs (ng/mL,
screen/confirm) are the reference for THC, cocaine, opiates, hydrocodone, oxycodone,
6-acetylmorphine, PCP, fentanyl, amphetamines and MDMA. Clinical panels add buprenorphine,
norbuprenorphine, methadone, EDDP, benzodiazepines, barbiturates and alcohol (EtG); federal rules
set no cutoff for those, so the values below are common clinical-lab values, chosen and
documented here (``CutoffSource.CLINICAL_COMMON``) — check them against the lab's kit.

The cutoffs are for **urine**. Oral-fluid kits use much lower cutoffs (e.g. THC a few ng/mL):
a program screening oral fluid configures its own panel.

Codes are plain strings so that rows, forms, the API and the lab CSV all use the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

NG_PER_ML = "ng/mL"


class SpecimenType(StrEnum):
    """What was collected (issue 5 §3)."""

    URINE = "urine"
    ORAL_FLUID = "oral_fluid"
    BREATH_ALCOHOL = "breath_alcohol"


class Method(StrEnum):
    """Presumptive (immunoassay: cup, dipstick, lab screen) or confirmatory (LC-MS/MS, GC-MS)."""

    PRESUMPTIVE = "presumptive"
    CONFIRMATORY = "confirmatory"


class Outcome(StrEnum):
    """What the test said for one analyte."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    INCONCLUSIVE = "inconclusive"


class ValidityClass(StrEnum):
    """Specimen validity classes (DOMAIN.md §7), from best to worst."""

    VALID = "valid"
    DILUTE = "dilute"
    SUBSTITUTED = "substituted"
    ADULTERATED = "adulterated"
    INVALID = "invalid"


class Verdict(StrEnum):
    """An analyte's interpretation against the medication list (DOMAIN.md §7)."""

    EXPECTED = "expected"
    UNEXPECTED = "unexpected"
    INCONCLUSIVE = "inconclusive"


class DrugClass(StrEnum):
    CANNABINOID = "cannabinoid"
    STIMULANT = "stimulant"
    OPIOID = "opioid"
    HALLUCINOGEN = "hallucinogen"
    SEDATIVE = "sedative"
    ALCOHOL = "alcohol"


class CutoffSource(StrEnum):
    FEDERAL_WORKPLACE = "federal_workplace"  # HHS Mandatory Guidelines, via DOMAIN.md §7
    CLINICAL_COMMON = "clinical_common"  # a common clinical-lab value; no federal cutoff


@dataclass(frozen=True)
class Analyte:
    """One line of a screening panel.

    ``screen_cutoff`` is the presumptive (immunoassay) cutoff, ``confirm_cutoff`` the
    confirmatory (LC-MS/MS) one, both in ``unit``. ``screen_cutoff`` is None when the analyte is
    normally measured only by confirmatory testing (norbuprenorphine).
    """

    code: str
    name: str
    detects: str
    drug_class: DrugClass
    screen_cutoff: Decimal | None
    confirm_cutoff: Decimal
    cutoff_source: CutoffSource
    unit: str = NG_PER_ML

    @property
    def is_opioid(self) -> bool:
        return self.drug_class is DrugClass.OPIOID

    def cutoff(self, method: Method) -> Decimal | None:
        """The default cutoff for ``method``."""
        return self.screen_cutoff if method is Method.PRESUMPTIVE else self.confirm_cutoff


def _d(value: str) -> Decimal:
    return Decimal(value)


_FED = CutoffSource.FEDERAL_WORKPLACE
_CLIN = CutoffSource.CLINICAL_COMMON

ANALYTES: tuple[Analyte, ...] = (
    Analyte("thc", "Cannabis (THC)", "THC-COOH", DrugClass.CANNABINOID, _d("50"), _d("15"), _FED),
    Analyte(
        "cocaine", "Cocaine", "benzoylecgonine", DrugClass.STIMULANT, _d("150"), _d("100"), _FED
    ),
    Analyte(
        "opiates",
        "Opiates (codeine/morphine)",
        "codeine, morphine",
        DrugClass.OPIOID,
        _d("2000"),
        _d("2000"),
        _FED,
    ),
    Analyte(
        "hydrocodone",
        "Hydrocodone/hydromorphone",
        "hydrocodone, hydromorphone",
        DrugClass.OPIOID,
        _d("300"),
        _d("100"),
        _FED,
    ),
    Analyte(
        "oxycodone",
        "Oxycodone/oxymorphone",
        "oxycodone, oxymorphone",
        DrugClass.OPIOID,
        _d("100"),
        _d("100"),
        _FED,
    ),
    Analyte(
        "6am",
        "Heroin (6-acetylmorphine)",
        "6-acetylmorphine",
        DrugClass.OPIOID,
        _d("10"),
        _d("10"),
        _FED,
    ),
    Analyte(
        "pcp",
        "Phencyclidine (PCP)",
        "phencyclidine",
        DrugClass.HALLUCINOGEN,
        _d("25"),
        _d("25"),
        _FED,
    ),
    Analyte(
        "fentanyl", "Fentanyl", "fentanyl, norfentanyl", DrugClass.OPIOID, _d("1"), _d("1"), _FED
    ),
    Analyte(
        "amphetamines",
        "Amphetamines",
        "amphetamine, methamphetamine",
        DrugClass.STIMULANT,
        _d("500"),
        _d("250"),
        _FED,
    ),
    Analyte("mdma", "MDMA (ecstasy)", "MDMA, MDA", DrugClass.STIMULANT, _d("500"), _d("250"), _FED),
    Analyte(
        "buprenorphine",
        "Buprenorphine",
        "buprenorphine",
        DrugClass.OPIOID,
        _d("10"),
        _d("5"),
        _CLIN,
    ),
    Analyte(
        "norbuprenorphine",
        "Norbuprenorphine",
        "norbuprenorphine (buprenorphine's metabolite)",
        DrugClass.OPIOID,
        None,
        _d("5"),
        _CLIN,
    ),
    Analyte("methadone", "Methadone", "methadone", DrugClass.OPIOID, _d("300"), _d("100"), _CLIN),
    Analyte(
        "eddp",
        "EDDP (methadone metabolite)",
        "EDDP (methadone's metabolite)",
        DrugClass.OPIOID,
        _d("100"),
        _d("100"),
        _CLIN,
    ),
    Analyte(
        "benzodiazepines",
        "Benzodiazepines",
        "oxazepam, nordiazepam and related metabolites",
        DrugClass.SEDATIVE,
        _d("300"),
        _d("100"),
        _CLIN,
    ),
    Analyte(
        "barbiturates",
        "Barbiturates",
        "butalbital, phenobarbital and related",
        DrugClass.SEDATIVE,
        _d("200"),
        _d("100"),
        _CLIN,
    ),
    Analyte(
        "etg",
        "Alcohol (EtG)",
        "ethyl glucuronide",
        DrugClass.ALCOHOL,
        _d("500"),
        _d("250"),
        _CLIN,
    ),
)

_BY_CODE: dict[str, Analyte] = {analyte.code: analyte for analyte in ANALYTES}
ANALYTE_CODES: tuple[str, ...] = tuple(_BY_CODE)
OPIOID_CODES: frozenset[str] = frozenset(a.code for a in ANALYTES if a.is_opioid)


class UnknownAnalyteError(KeyError):
    """An analyte code that is not in the catalogue."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return f"Unknown analyte code {self.code!r}; known codes: {', '.join(ANALYTE_CODES)}."


def is_analyte_code(code: object) -> bool:
    return isinstance(code, str) and code in _BY_CODE


def get_analyte(code: str) -> Analyte:
    """The catalogue entry for ``code``; raises UnknownAnalyteError (a KeyError) naming it."""
    try:
        return _BY_CODE[code]
    except (KeyError, TypeError):
        raise UnknownAnalyteError(code) from None


@dataclass(frozen=True)
class PanelEntry:
    """An analyte on a panel with the cutoffs that panel (kit or lab) uses."""

    analyte: str
    screen_cutoff: Decimal | None
    confirm_cutoff: Decimal

    def __post_init__(self) -> None:
        get_analyte(self.analyte)
        for cutoff in (self.screen_cutoff, self.confirm_cutoff):
            if cutoff is not None and not cutoff > 0:
                raise ValueError(f"{self.analyte}: a cutoff must be a positive number")


def default_panel() -> tuple[PanelEntry, ...]:
    """Every catalogue analyte with its default cutoffs (issue 5 §1: the seeded panel)."""
    return tuple(PanelEntry(a.code, a.screen_cutoff, a.confirm_cutoff) for a in ANALYTES)


DEFAULT_PANEL: tuple[PanelEntry, ...] = default_panel()
