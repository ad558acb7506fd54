"""The medication catalogue, a pure core.

DOMAIN.md §8 lists the medicines an IOP tracks: buprenorphine (sublingual, Sublocade, Brixadi
weekly and monthly), Vivitrol (naltrexone), methadone (only dispensed by a certified Opioid
Treatment Program, so recorded as external), the naloxone rescue kit, and psychiatric medicines
of which stimulants and benzodiazepines change the expected drug screen.

For each medicine the catalogue says which screening analytes (``openiop.screening.catalog``
codes) it explains (DOMAIN.md §7: "any prescribed medicine explains its own class"), which of
them should be present when it is taken as prescribed, whether it blocks opioids (naltrexone),
and which presumptive (immunoassay) results it is commonly reported to cause falsely — those
cross-reactions depend on the kit (verify against the lab's package insert), so they only ever
make a presumptive result *inconclusive, to confirm*, never expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MedicationClass(StrEnum):
    MOUD = "moud"  # medication for opioid use disorder (agonist / partial agonist)
    NALTREXONE = "naltrexone"
    RESCUE = "rescue"
    PSYCHIATRIC = "psychiatric"


class Route(StrEnum):
    SUBLINGUAL = "sublingual"
    SUBCUTANEOUS = "subcutaneous"
    INTRAMUSCULAR = "intramuscular"
    ORAL = "oral"
    INTRANASAL = "intranasal"


class Dispensing(StrEnum):
    """Who hands the medicine over (issue 5 §6 and the API's ``dispensing``)."""

    CLINIC = "clinic"
    PHARMACY = "pharmacy"
    EXTERNAL_OTP = "external_otp"


@dataclass(frozen=True)
class Medication:
    """One catalogue entry.

    - ``explains``: analyte codes a positive of which this medicine accounts for;
    - ``expected``: analyte codes that should be positive when it is taken as prescribed
      (a subset of ``explains``); empty when the standard panel cannot show it;
    - ``immunoassay_may_miss``: the class immunoassay often misses this medicine (clonazepam's
      7-aminoclonazepam, lorazepam's glucuronide), so a presumptive negative proves nothing;
    - ``cross_reacts``: presumptive false positives commonly reported (verify per kit).
    """

    code: str
    name: str
    medication_class: MedicationClass
    form: str
    route: Route
    injected_in_clinic: bool
    explains: frozenset[str] = frozenset()
    expected: frozenset[str] = frozenset()
    blocks_opioids: bool = False
    default_dispensing: Dispensing = Dispensing.PHARMACY
    immunoassay_may_miss: bool = False
    cross_reacts: frozenset[str] = frozenset()
    short: str = ""  # the name inside a sentence, when ``name`` is long

    def __post_init__(self) -> None:
        if not self.expected <= self.explains:
            raise ValueError(f"{self.code}: every expected analyte must also be explained")

    @property
    def short_name(self) -> str:
        return self.short or self.name

    @property
    def is_external(self) -> bool:
        """Dispensed outside the clinic by an Opioid Treatment Program (methadone)."""
        return self.default_dispensing is Dispensing.EXTERNAL_OTP


_BUP = frozenset({"buprenorphine", "norbuprenorphine"})
_METHADONE = frozenset({"methadone", "eddp"})
_BENZO = frozenset({"benzodiazepines"})
_AMPH = frozenset({"amphetamines"})

_MOUD = MedicationClass.MOUD
_PSY = MedicationClass.PSYCHIATRIC

MEDICATIONS: tuple[Medication, ...] = (
    Medication(
        "bup_nx_sl",
        "Buprenorphine/naloxone (Suboxone), sublingual",
        _MOUD,
        "sublingual film or tablet, daily",
        Route.SUBLINGUAL,
        injected_in_clinic=False,
        explains=_BUP,
        expected=_BUP,
        short="buprenorphine/naloxone (Suboxone)",
    ),
    Medication(
        "sublocade",
        "Sublocade (buprenorphine extended-release), monthly",
        _MOUD,
        "subcutaneous injection, monthly (≥ 26 days apart)",
        Route.SUBCUTANEOUS,
        injected_in_clinic=True,
        explains=_BUP,
        expected=_BUP,
        default_dispensing=Dispensing.CLINIC,
        short="Sublocade",
    ),
    Medication(
        "brixadi_weekly",
        "Brixadi (buprenorphine extended-release), weekly",
        _MOUD,
        "subcutaneous injection, weekly (±2 days)",
        Route.SUBCUTANEOUS,
        injected_in_clinic=True,
        explains=_BUP,
        expected=_BUP,
        default_dispensing=Dispensing.CLINIC,
        short="Brixadi weekly",
    ),
    Medication(
        "brixadi_monthly",
        "Brixadi (buprenorphine extended-release), monthly",
        _MOUD,
        "subcutaneous injection, monthly (±7 days)",
        Route.SUBCUTANEOUS,
        injected_in_clinic=True,
        explains=_BUP,
        expected=_BUP,
        default_dispensing=Dispensing.CLINIC,
        short="Brixadi monthly",
    ),
    Medication(
        "vivitrol",
        "Vivitrol (naltrexone extended-release)",
        MedicationClass.NALTREXONE,
        "380 mg intramuscular injection every 4 weeks, alternating buttocks",
        Route.INTRAMUSCULAR,
        injected_in_clinic=True,
        # Naltrexone itself needs a specific test (DOMAIN.md §7): nothing on the panel shows it.
        blocks_opioids=True,
        default_dispensing=Dispensing.CLINIC,
        short="Vivitrol (naltrexone)",
    ),
    Medication(
        "methadone_otp",
        "Methadone (dispensed by an Opioid Treatment Program)",
        _MOUD,
        "oral liquid or tablet, daily, dispensed by a certified OTP",
        Route.ORAL,
        injected_in_clinic=False,
        explains=_METHADONE,
        expected=_METHADONE,
        default_dispensing=Dispensing.EXTERNAL_OTP,
        short="methadone",
    ),
    Medication(
        "naloxone_kit",
        "Naloxone rescue kit",
        MedicationClass.RESCUE,
        "nasal spray or injection, for an overdose",
        Route.INTRANASAL,
        injected_in_clinic=False,
        short="the naloxone kit",
    ),
    Medication(
        "sertraline",
        "Sertraline",
        _PSY,
        "oral tablet",
        Route.ORAL,
        injected_in_clinic=False,
        cross_reacts=_BENZO,
    ),
    Medication("escitalopram", "Escitalopram", _PSY, "oral tablet", Route.ORAL, False),
    Medication(
        "bupropion",
        "Bupropion",
        _PSY,
        "oral tablet",
        Route.ORAL,
        injected_in_clinic=False,
        cross_reacts=_AMPH,
    ),
    Medication(
        "trazodone",
        "Trazodone",
        _PSY,
        "oral tablet",
        Route.ORAL,
        injected_in_clinic=False,
        # Its metabolite m-CPP is reported to trigger amphetamine and MDMA immunoassays.
        cross_reacts=frozenset({"amphetamines", "mdma"}),
    ),
    Medication("prazosin", "Prazosin", _PSY, "oral capsule", Route.ORAL, False),
    Medication("hydroxyzine", "Hydroxyzine", _PSY, "oral tablet or capsule", Route.ORAL, False),
    Medication("gabapentin", "Gabapentin", _PSY, "oral capsule or tablet", Route.ORAL, False),
    Medication(
        "clonazepam",
        "Clonazepam",
        _PSY,
        "oral tablet",
        Route.ORAL,
        injected_in_clinic=False,
        explains=_BENZO,
        expected=_BENZO,
        immunoassay_may_miss=True,
    ),
    Medication(
        "lorazepam",
        "Lorazepam",
        _PSY,
        "oral tablet",
        Route.ORAL,
        injected_in_clinic=False,
        explains=_BENZO,
        expected=_BENZO,
        immunoassay_may_miss=True,
    ),
    Medication(
        "alprazolam",
        "Alprazolam",
        _PSY,
        "oral tablet",
        Route.ORAL,
        injected_in_clinic=False,
        explains=_BENZO,
        expected=_BENZO,
    ),
    Medication(
        "diazepam",
        "Diazepam",
        _PSY,
        "oral tablet",
        Route.ORAL,
        injected_in_clinic=False,
        explains=_BENZO,
        expected=_BENZO,
    ),
    # Methylphenidate is not an amphetamine: the standard panel shows nothing, and it does not
    # explain an amphetamine positive.
    Medication("methylphenidate", "Methylphenidate", _PSY, "oral tablet", Route.ORAL, False),
    Medication(
        "amphetamine_salts",
        "Mixed amphetamine salts",
        _PSY,
        "oral tablet or capsule",
        Route.ORAL,
        injected_in_clinic=False,
        explains=_AMPH,
        expected=_AMPH,
    ),
    Medication(
        "lisdexamfetamine",
        "Lisdexamfetamine",
        _PSY,
        "oral capsule",
        Route.ORAL,
        injected_in_clinic=False,
        explains=_AMPH,
        expected=_AMPH,
    ),
)

_BY_CODE: dict[str, Medication] = {medication.code: medication for medication in MEDICATIONS}
MEDICATION_CODES: tuple[str, ...] = tuple(_BY_CODE)


class UnknownMedicationError(KeyError):
    """A medication code that is not in the catalogue."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return f"Unknown medication code {self.code!r}; known codes: {', '.join(MEDICATION_CODES)}."


def is_medication_code(code: object) -> bool:
    return isinstance(code, str) and code in _BY_CODE


def get_medication(code: str) -> Medication:
    """The catalogue entry for ``code``; raises UnknownMedicationError (a KeyError) naming it."""
    try:
        return _BY_CODE[code]
    except (KeyError, TypeError):
        raise UnknownMedicationError(code) from None


def medications_in_class(medication_class: MedicationClass) -> tuple[Medication, ...]:
    return tuple(m for m in MEDICATIONS if m.medication_class is medication_class)
