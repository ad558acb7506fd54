"""The questionnaires of measurement-based care as a registry in code, and their scoring, a pure
core.

DOMAIN.md §9: raw item answers are stored and scores computed deterministically —

- PHQ-9: 9 items 0–3, total 0–27; bands 0–4 minimal, 5–9 mild, 10–14 moderate, 15–19
  moderately severe, 20–27 severe; item 9 above 0 is a safety alert regardless of the total;
- GAD-7: 7 items 0–3, total 0–21; bands 0–4 minimal, 5–9 mild, 10–14 moderate, 15–21 severe;
- BAM: 17 items, no total; subscales use = 4+5+6, risk = 1+2+3+8+11+15, protective =
  9+10+12+13+14+16; item 7 details substances and item 17 is satisfaction (neither scored);
- PCL-5: 20 items 0–4, total 0–80; clusters B 1–5, C 6–7, D 8–14, E 15–20; probable PTSD at or
  above a configurable threshold (31–33, default 33);
- AUDIT: 10 items, total 0–40; zones 0–7, 8–15, 16–19, 20–40;
- DAST-10: 10 yes/no items, item 3 reversed; 0 none, 1–2 low, 3–5 moderate, 6–8 substantial,
  9–10 severe;
- C-SSRS screener: up to 6 yes/no questions with skip logic; Q1/Q2 yes → low, Q3 → moderate,
  Q4, Q5 or Q6 within 3 months → high, an immediate safety alert;
- craving: one 0–10 rating, trended.

Licences (DOMAIN.md §9): PHQ-9, GAD-7 and AUDIT (WHO) are free to use, PCL-5 is public domain
and BAM comes from the VA, so their item text is shipped. DAST-10 and the C-SSRS have their own
terms: this registry holds only short neutral labels written for this project, and their
``licence_note`` says the official wording must be obtained under those terms.

``score(code, answers)`` takes answers keyed by item number and returns a ``Scored``; answers
that are missing, not an option, or given to a question the skip logic leaves out raise
``AnswerError`` naming the item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

PCL5_PROBABLE_PTSD_DEFAULT = 33  # DOMAIN.md §9: 31–33, configurable


class RiskLevel(StrEnum):
    """The C-SSRS screener's triage levels, in increasing order of risk."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


_RISK_ORDER = list(RiskLevel)


class FlagCode(StrEnum):
    SAFETY = "safety"


class Severity(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


@dataclass(frozen=True)
class Option:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    """One question. ``asked_if`` is skip logic: the question is asked only when the answer to
    item ``asked_if[0]`` is one of ``asked_if[1]``; otherwise it must be left unanswered.
    ``reversed`` items (DAST-10 item 3) score 1 for "no" and 0 for "yes". ``scored`` False: the
    answer is stored but counts toward no total (BAM items 7 and 17)."""

    number: int
    text: str
    options: tuple[Option, ...]
    required: bool = True
    asked_if: tuple[int, frozenset[int]] | None = None
    reversed: bool = False
    scored: bool = True

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(option.value for option in self.options)

    @property
    def is_yes_no(self) -> bool:
        return self.values == (0, 1)


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    name: str


@dataclass(frozen=True)
class Subscale:
    name: str
    items: tuple[int, ...]


@dataclass(frozen=True)
class RiskRule:
    """The answer to ``item`` being one of ``values`` puts the result at least at ``level``."""

    item: int
    values: frozenset[int]
    level: RiskLevel


@dataclass(frozen=True)
class Instrument:
    """One questionnaire. ``has_total`` False: subscales only (BAM). ``risk_rules``: the band is
    the highest risk level whose rule matches (C-SSRS); ``safety_levels`` are the levels that
    raise a safety flag. ``safety_items``: an answer above 0 to one of these raises a safety
    flag whatever the total (PHQ-9 item 9)."""

    code: str
    name: str
    version: str
    instructions: str
    items: tuple[Item, ...]
    licence_note: str
    has_total: bool = True
    bands: tuple[Band, ...] = ()
    subscales: tuple[Subscale, ...] = ()
    risk_rules: tuple[RiskRule, ...] = ()
    safety_levels: frozenset[RiskLevel] = frozenset()
    safety_items: tuple[int, ...] = ()

    def item(self, number: int) -> Item:
        for item in self.items:
            if item.number == number:
                return item
        raise KeyError(number)

    @property
    def total_range(self) -> tuple[int, int] | None:
        if not self.has_total:
            return None
        scored = [item for item in self.items if item.scored]
        return (
            sum(min(_item_score(item, v) for v in item.values) for item in scored),
            sum(max(_item_score(item, v) for v in item.values) for item in scored),
        )


@dataclass(frozen=True)
class Flag:
    code: FlagCode
    severity: Severity
    reason: str
    item: int | None = None


@dataclass(frozen=True)
class Scored:
    """A scored response. ``answers`` are the validated raw answers in item order; ``band`` is
    the band's name as in DOMAIN.md §9 (or the C-SSRS risk level), None when the instrument has
    no bands (BAM, craving)."""

    code: str
    version: str
    answers: tuple[tuple[int, int], ...]
    total: int | None
    band: str | None
    subscales: dict[str, int] = field(default_factory=dict)
    flags: tuple[Flag, ...] = ()

    @property
    def has_safety_flag(self) -> bool:
        return any(flag.code is FlagCode.SAFETY for flag in self.flags)


class UnknownInstrumentError(KeyError):
    """An instrument code that is not in the registry."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return f"unknown instrument {self.code!r}"


class AnswerError(ValueError):
    """An answer set that cannot be scored; ``item`` names the question at fault."""

    def __init__(self, code: str, item: int | None, message: str) -> None:
        where = f"{code} item {item}" if item is not None else code
        super().__init__(f"{where}: {message}")
        self.code = code
        self.item = item


def _item_score(item: Item, value: int) -> int:
    return (1 - value) if item.reversed else value


def _options(*labels: str, start: int = 0, step: int = 1) -> tuple[Option, ...]:
    return tuple(Option(start + i * step, label) for i, label in enumerate(labels))


_YES_NO = (Option(0, "No"), Option(1, "Yes"))
_FREQUENCY_2W = _options(
    "Not at all", "Several days", "More than half the days", "Nearly every day"
)
_PCL5_OPTIONS = _options("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely")
# BAM counts days in the past 30 and scores them in five steps (BAM manual, VA).
_BAM_DAYS = _options("0 days", "1–3 days", "4–8 days", "9–15 days", "16–30 days")
_BAM_AMOUNT = _options("Not at all", "Slightly", "Moderately", "Considerably", "Extremely")
_AUDIT_OFTEN = _options("Never", "Less than monthly", "Monthly", "Weekly", "Daily or almost daily")
_AUDIT_INJURY = (
    Option(0, "No"),
    Option(2, "Yes, but not in the last year"),
    Option(4, "Yes, during the last year"),
)


def _items(texts: list[str], options: tuple[Option, ...]) -> tuple[Item, ...]:
    return tuple(Item(n, text, options) for n, text in enumerate(texts, start=1))


PHQ9 = Instrument(
    code="PHQ-9",
    name="Patient Health Questionnaire-9",
    version="Kroenke 2001",
    instructions="Over the last 2 weeks, how often have you been bothered by any of the following "
    "problems?",
    items=_items(
        [
            "Little interest or pleasure in doing things",
            "Feeling down, depressed, or hopeless",
            "Trouble falling or staying asleep, or sleeping too much",
            "Feeling tired or having little energy",
            "Poor appetite or overeating",
            "Feeling bad about yourself — or that you are a failure or have let yourself or your "
            "family down",
            "Trouble concentrating on things, such as reading the newspaper or watching television",
            "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
            "being so fidgety or restless that you have been moving around a lot more than usual",
            "Thoughts that you would be better off dead or of hurting yourself in some way",
        ],
        _FREQUENCY_2W,
    ),
    licence_note="Free to use; no permission required (Pfizer).",
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 19, "moderately severe"),
        Band(20, 27, "severe"),
    ),
    safety_items=(9,),
)

GAD7 = Instrument(
    code="GAD-7",
    name="Generalized Anxiety Disorder-7",
    version="Spitzer 2006",
    instructions="Over the last 2 weeks, how often have you been bothered by the following "
    "problems?",
    items=_items(
        [
            "Feeling nervous, anxious or on edge",
            "Not being able to stop or control worrying",
            "Worrying too much about different things",
            "Trouble relaxing",
            "Being so restless that it is hard to sit still",
            "Becoming easily annoyed or irritable",
            "Feeling afraid as if something awful might happen",
        ],
        _FREQUENCY_2W,
    ),
    licence_note="Free to use; no permission required (Pfizer).",
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 21, "severe"),
    ),
)

_BAM_TEXTS: list[tuple[str, tuple[Option, ...]]] = [
    (
        "In the past 30 days, would you say your physical health has been:",
        _options("Excellent", "Very good", "Good", "Fair", "Poor"),
    ),
    (
        "In the past 30 days, how many nights did you have trouble falling asleep or staying "
        "asleep?",
        _BAM_DAYS,
    ),
    (
        "In the past 30 days, how many days have you felt depressed, anxious, angry or very upset "
        "throughout most of the day?",
        _BAM_DAYS,
    ),
    ("In the past 30 days, how many days did you drink ANY alcohol?", _BAM_DAYS),
    (
        "In the past 30 days, how many days did you have at least 5 drinks (if you are a man) or "
        "at least 4 drinks (if you are a woman)? One drink is one shot of hard liquor (1.5 oz.), a "
        "12-ounce can or bottle of beer, or a 5-ounce glass of wine.",
        _BAM_DAYS,
    ),
    (
        "In the past 30 days, how many days did you use any illegal or street drugs or abuse any "
        "prescription medications?",
        _BAM_DAYS,
    ),
    (
        "In the past 30 days, how many days did you use any of the following drugs: marijuana, "
        "sedatives or tranquilizers, cocaine or crack, other stimulants, opiates, inhalants, "
        "other drugs?",
        _BAM_DAYS,
    ),
    (
        "In the past 30 days, how much were you bothered by cravings or urges to drink alcohol or "
        "use drugs?",
        _BAM_AMOUNT,
    ),
    (
        "How confident are you in your ability to be completely abstinent (clean) from alcohol and "
        "drugs in the next 30 days?",
        _BAM_AMOUNT,
    ),
    (
        "In the past 30 days, how many days did you attend self-help meetings like AA or NA to "
        "support your recovery?",
        _BAM_DAYS,
    ),
    (
        "In the past 30 days, how many days were you in any situations or with any people that "
        "might put you at an increased risk for using alcohol or drugs (i.e., around risky "
        '"people, places or things")?',
        _BAM_DAYS,
    ),
    ("Does your religion or spirituality help support your recovery?", _BAM_AMOUNT),
    (
        "In the past 30 days, how many days did you spend much of the time at work, school, or "
        "doing volunteer work?",
        _BAM_DAYS,
    ),
    (
        "Do you have enough income (from legal sources) to pay for necessities such as housing, "
        "transportation, food and clothing for yourself and your dependents?",
        (Option(0, "No"), Option(4, "Yes")),
    ),
    (
        "In the past 30 days, how much have you been bothered by arguments or problems getting "
        "along with any family members or friends?",
        _BAM_AMOUNT,
    ),
    (
        "In the past 30 days, how many days were you in contact or spent time with any family "
        "members or friends who are supportive of your recovery?",
        _BAM_DAYS,
    ),
    ("How satisfied are you with your progress toward achieving your recovery goals?", _BAM_AMOUNT),
]

BAM = Instrument(
    code="BAM",
    name="Brief Addiction Monitor",
    version="VA 2010",
    instructions="Answer each question about the time shown in it.",
    items=tuple(
        Item(n, text, options, required=n != 7, scored=n not in (7, 17))
        for n, (text, options) in enumerate(_BAM_TEXTS, start=1)
    ),
    licence_note="Developed by the U.S. Department of Veterans Affairs; free to use.",
    has_total=False,
    subscales=(
        Subscale("use", (4, 5, 6)),
        Subscale("risk", (1, 2, 3, 8, 11, 15)),
        Subscale("protective", (9, 10, 12, 13, 14, 16)),
    ),
)

PCL5 = Instrument(
    code="PCL-5",
    name="PTSD Checklist for DSM-5",
    version="2013",
    instructions="In the past month, how much were you bothered by:",
    items=_items(
        [
            "Repeated, disturbing, and unwanted memories of the stressful experience?",
            "Repeated, disturbing dreams of the stressful experience?",
            "Suddenly feeling or acting as if the stressful experience were actually happening "
            "again (as if you were actually back there reliving it)?",
            "Feeling very upset when something reminded you of the stressful experience?",
            "Having strong physical reactions when something reminded you of the stressful "
            "experience (for example, heart pounding, trouble breathing, sweating)?",
            "Avoiding memories, thoughts, or feelings related to the stressful experience?",
            "Avoiding external reminders of the stressful experience (for example, people, "
            "places, conversations, activities, objects, or situations)?",
            "Trouble remembering important parts of the stressful experience?",
            "Having strong negative beliefs about yourself, other people, or the world (for "
            "example, having thoughts such as: I am bad, there is something seriously wrong "
            "with me, no one can be trusted, the world is completely dangerous)?",
            "Blaming yourself or someone else for the stressful experience or what happened "
            "after it?",
            "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
            "Loss of interest in activities that you used to enjoy?",
            "Feeling distant or cut off from other people?",
            "Trouble experiencing positive feelings (for example, being unable to feel "
            "happiness or have loving feelings for people close to you)?",
            "Irritable behavior, angry outbursts, or acting aggressively?",
            "Taking too many risks or doing things that could cause you harm?",
            'Being "superalert" or watchful or on guard?',
            "Feeling jumpy or easily startled?",
            "Having difficulty concentrating?",
            "Trouble falling or staying asleep?",
        ],
        _PCL5_OPTIONS,
    ),
    licence_note="Public domain (U.S. Department of Veterans Affairs, National Center for PTSD).",
    subscales=(
        Subscale("B", (1, 2, 3, 4, 5)),
        Subscale("C", (6, 7)),
        Subscale("D", (8, 9, 10, 11, 12, 13, 14)),
        Subscale("E", (15, 16, 17, 18, 19, 20)),
    ),
)

AUDIT = Instrument(
    code="AUDIT",
    name="Alcohol Use Disorders Identification Test",
    version="WHO 2001",
    instructions="Questions about your use of alcoholic beverages during this past year.",
    items=(
        Item(
            1,
            "How often do you have a drink containing alcohol?",
            _options(
                "Never",
                "Monthly or less",
                "2 to 4 times a month",
                "2 to 3 times a week",
                "4 or more times a week",
            ),
        ),
        Item(
            2,
            "How many drinks containing alcohol do you have on a typical day when you are "
            "drinking?",
            _options("1 or 2", "3 or 4", "5 or 6", "7, 8, or 9", "10 or more"),
        ),
        Item(3, "How often do you have six or more drinks on one occasion?", _AUDIT_OFTEN),
        Item(
            4,
            "How often during the last year have you found that you were not able to stop "
            "drinking once you had started?",
            _AUDIT_OFTEN,
        ),
        Item(
            5,
            "How often during the last year have you failed to do what was normally "
            "expected from you because of drinking?",
            _AUDIT_OFTEN,
        ),
        Item(
            6,
            "How often during the last year have you needed a first drink in the morning "
            "to get yourself going after a heavy drinking session?",
            _AUDIT_OFTEN,
        ),
        Item(
            7,
            "How often during the last year have you had a feeling of guilt or remorse "
            "after drinking?",
            _AUDIT_OFTEN,
        ),
        Item(
            8,
            "How often during the last year have you been unable to remember what happened "
            "the night before because you had been drinking?",
            _AUDIT_OFTEN,
        ),
        Item(
            9, "Have you or someone else been injured as a result of your drinking?", _AUDIT_INJURY
        ),
        Item(
            10,
            "Has a relative or friend or a doctor or another health worker been concerned "
            "about your drinking or suggested you cut down?",
            _AUDIT_INJURY,
        ),
    ),
    licence_note="World Health Organization; free to use.",
    bands=(
        Band(0, 7, "zone I"),
        Band(8, 15, "zone II"),
        Band(16, 19, "zone III"),
        Band(20, 40, "zone IV"),
    ),
)

_DAST_LABELS = [
    "Used drugs other than for medical reasons",
    "Used more than one drug at a time",
    "Always able to stop when wanted (reversed)",
    "Blackouts or flashbacks from drug use",
    "Felt bad or guilty about drug use",
    "Family member complained about drug use",
    "Neglected family because of drug use",
    "Illegal activities to obtain drugs",
    "Withdrawal symptoms when stopping",
    "Medical problems from drug use",
]

DAST10 = Instrument(
    code="DAST-10",
    name="Drug Abuse Screening Test, 10 items",
    version="Skinner 1982",
    instructions="Past 12 months. Labels only: read the official wording to the patient.",
    items=tuple(
        Item(n, f"Q{n} {label}", _YES_NO, reversed=n == 3)
        for n, label in enumerate(_DAST_LABELS, start=1)
    ),
    licence_note="DAST-10 © Harvey A. Skinner; it has its own terms of use. These are short "
    "labels written for this project, not the test's wording: obtain the official wording "
    "under its terms before administering it.",
    bands=(
        Band(0, 0, "none"),
        Band(1, 2, "low"),
        Band(3, 5, "moderate"),
        Band(6, 8, "substantial"),
        Band(9, 10, "severe"),
    ),
)

_AFTER_Q2_YES = (2, frozenset({1}))

CSSRS = Instrument(
    code="C-SSRS",
    name="Columbia-Suicide Severity Rating Scale, screener",
    version="screen",
    instructions="Q1–Q5 ask about the past month. Ask Q3–Q5 only when Q2 is yes. Labels only: "
    "read the official wording to the patient.",
    items=(
        Item(1, "Q1 wish to be dead", _YES_NO),
        Item(2, "Q2 thoughts of killing oneself", _YES_NO),
        Item(3, "Q3 thought of a method", _YES_NO, asked_if=_AFTER_Q2_YES),
        Item(4, "Q4 some intention of acting", _YES_NO, asked_if=_AFTER_Q2_YES),
        Item(5, "Q5 worked out a plan, with intent", _YES_NO, asked_if=_AFTER_Q2_YES),
        Item(
            6,
            "Q6 suicidal behaviour (preparation or attempt), and when",
            (
                Option(0, "No"),
                Option(1, "Yes, more than 3 months ago"),
                Option(2, "Yes, within the past 3 months"),
            ),
        ),
    ),
    licence_note="C-SSRS © The Research Foundation for Mental Hygiene; it has its own terms of "
    "use. These are short labels written for this project, not the scale's wording: obtain "
    "the official wording under its terms before administering it.",
    has_total=False,
    # Q6 more than 3 months ago sits at moderate, as on the screener's triage.
    risk_rules=(
        RiskRule(1, frozenset({1}), RiskLevel.LOW),
        RiskRule(2, frozenset({1}), RiskLevel.LOW),
        RiskRule(3, frozenset({1}), RiskLevel.MODERATE),
        RiskRule(6, frozenset({1}), RiskLevel.MODERATE),
        RiskRule(4, frozenset({1}), RiskLevel.HIGH),
        RiskRule(5, frozenset({1}), RiskLevel.HIGH),
        RiskRule(6, frozenset({2}), RiskLevel.HIGH),
    ),
    # Issue 6, point 2: moderate or high risk raises a high-severity alert at once.
    safety_levels=frozenset({RiskLevel.MODERATE, RiskLevel.HIGH}),
)

CRAVING = Instrument(
    code="CRAVING",
    name="Craving rating",
    version="1",
    instructions="Written for this project.",
    items=(
        Item(
            1,
            "At its strongest in the past 24 hours, how strong was your craving to drink "
            "alcohol or use drugs?",
            tuple(
                Option(n, {0: "0 — none", 10: "10 — the strongest imaginable"}.get(n, str(n)))
                for n in range(11)
            ),
        ),
    ),
    licence_note="Written for this project.",
)

INSTRUMENTS: dict[str, Instrument] = {
    instrument.code: instrument
    for instrument in (PHQ9, GAD7, BAM, PCL5, AUDIT, DAST10, CSSRS, CRAVING)
}
INSTRUMENT_CODES: tuple[str, ...] = tuple(INSTRUMENTS)


def get_instrument(code: str) -> Instrument:
    try:
        return INSTRUMENTS[code]
    except KeyError:
        raise UnknownInstrumentError(code) from None


def pcl5_bands(threshold: int = PCL5_PROBABLE_PTSD_DEFAULT) -> tuple[Band, ...]:
    """PCL-5 has one cut: probable PTSD at or above ``threshold`` (DOMAIN.md §9: 31–33)."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= 80:
        raise ValueError(f"PCL-5 threshold {threshold!r} must be a whole number from 1 to 80")
    return (Band(0, threshold - 1, "below threshold"), Band(threshold, 80, "probable PTSD"))


def _is_asked(item: Item, answers: Mapping[int, int]) -> bool:
    if item.asked_if is None:
        return True
    gate, values = item.asked_if
    return answers.get(gate) in values


def _validate(instrument: Instrument, answers: Mapping[int, int | bool]) -> dict[int, int]:
    code = instrument.code
    numbers = {item.number for item in instrument.items}
    for number in answers:
        if isinstance(number, bool) or not isinstance(number, int) or number not in numbers:
            raise AnswerError(code, None, f"there is no item {number!r}")
    clean: dict[int, int] = {}
    # Items in order, so a gate (C-SSRS Q2) is validated before the questions it opens.
    for item in instrument.items:
        if item.number not in answers:
            if item.required and _is_asked(item, clean):
                raise AnswerError(code, item.number, "missing answer")
            continue
        if not _is_asked(item, clean):
            gate = item.asked_if[0] if item.asked_if else None
            raise AnswerError(
                code, item.number, f"must be left unanswered: the answer to item {gate} skips it"
            )
        raw = answers[item.number]
        if isinstance(raw, bool):
            if not item.is_yes_no:
                raise AnswerError(
                    code, item.number, "yes/no given to a question with other options"
                )
            value = int(raw)
        elif isinstance(raw, int):
            value = raw
        else:
            raise AnswerError(code, item.number, f"answer {raw!r} is not a whole number")
        if value not in item.values:
            options = ", ".join(str(v) for v in item.values)
            raise AnswerError(code, item.number, f"{value} is not one of the options ({options})")
        clean[item.number] = value
    return clean


def _band(bands: tuple[Band, ...], total: int) -> str:
    for band in bands:
        if band.low <= total <= band.high:
            return band.name
    raise AssertionError(f"no band holds {total}")  # the registry's bands cover every total


def score(
    code: str,
    answers: Mapping[int, int | bool],
    *,
    pcl5_threshold: int = PCL5_PROBABLE_PTSD_DEFAULT,
) -> Scored:
    """Validate ``answers`` (item number → option value; True/False for yes/no questions) and
    score them. Raises ``UnknownInstrumentError`` for an unknown code and ``AnswerError`` (a
    ValueError naming the item) for a missing answer, a value that is not an option, an unknown
    item, or an answer to a question the skip logic leaves out."""
    instrument = get_instrument(code)
    clean = _validate(instrument, answers)
    points = {
        number: _item_score(instrument.item(number), value) for number, value in clean.items()
    }
    total: int | None = None
    if instrument.has_total:
        total = sum(points[item.number] for item in instrument.items if item.scored)
    subscales = {
        subscale.name: sum(points[n] for n in subscale.items) for subscale in instrument.subscales
    }
    bands = pcl5_bands(pcl5_threshold) if instrument is PCL5 else instrument.bands
    band: str | None = _band(bands, total) if bands and total is not None else None
    flags: list[Flag] = []
    for number in instrument.safety_items:
        if clean.get(number, 0) > 0:
            flags.append(
                Flag(FlagCode.SAFETY, Severity.HIGH, f"item {number} answered above 0", number)
            )
    if instrument.risk_rules:
        level = RiskLevel.NONE
        for rule in instrument.risk_rules:
            if clean.get(rule.item) in rule.values and (
                _RISK_ORDER.index(rule.level) > _RISK_ORDER.index(level)
            ):
                level = rule.level
        band = level.value
        if level in instrument.safety_levels:
            flags.append(Flag(FlagCode.SAFETY, Severity.HIGH, f"{level.value} suicide risk"))
    return Scored(
        code=instrument.code,
        version=instrument.version,
        answers=tuple(sorted(clean.items())),
        total=total,
        band=band,
        subscales=subscales,
        flags=tuple(flags),
    )
