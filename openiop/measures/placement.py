"""The placement assessment: which level of care a patient's ratings indicate, a pure core.

DOMAIN.md §3 and §4 (issue 6 point 4). An assessment holds the ASAM edition (3rd or 4th),
the six dimension risk ratings 0–4 (none, mild, moderate, significant, severe) each with a
rationale, the seed's six criteria answered yes / no / unknown, and the contra-indications
that point to a higher level.

ASAM's level-determination rules are licensed text and are not reproduced here. OpenIOP uses
its own transparent **rule table**: plain data a director can edit, stored as JSON. Every rule
is a floor — "when these conditions hold, the patient needs at least this level" — and the
indicated level is the most intensive floor among the rules that fired (the base level when
none fired). Ratings are **never averaged**: a rule looks at single dimensions or counts of
dimensions at or above a rating, so the highest-risk dimensions decide the least intensive
level that is still safe. Conditions only ever test "rating ≥ k", which makes the result
monotone: raising a rating never lowers the indicated level.

The clinician then records the level actually provided; when it differs from the indicated
one, a reason is required (``record_decision``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

DIMENSIONS = (1, 2, 3, 4, 5, 6)
CRITERIA = (1, 2, 3, 4, 5, 6)
EDITIONS = (3, 4)
MAX_RATING = 4

# DOMAIN.md §4: the dimension names differ between editions.
DIMENSION_NAMES: dict[int, dict[int, str]] = {
    3: {
        1: "Acute intoxication / withdrawal potential",
        2: "Biomedical conditions",
        3: "Emotional, behavioral, cognitive conditions",
        4: "Readiness to change",
        5: "Relapse / continued use potential",
        6: "Recovery / living environment",
    },
    4: {
        1: "Intoxication, withdrawal and addiction medications",
        2: "Biomedical conditions",
        3: "Psychiatric and cognitive conditions",
        4: "Substance use-related risks",
        5: "Recovery environment interactions",
        6: "Person-centered considerations",
    },
}

RATING_NAMES = ("none", "mild", "moderate", "significant", "severe")

# DOMAIN.md §3, the seed's criteria, in this project's words.
CRITERION_NAMES: dict[int, str] = {
    1: "has completed detox or a residential/inpatient program (or needs none)",
    2: "needs structured support but not 24/7 monitoring",
    3: "is stable enough to live at home during treatment",
    4: "works, studies or cares for someone and cannot leave home for treatment",
    5: "shows early relapse or returning cravings and needs more support",
    6: "has mental-health needs that call for consistent therapy",
}


class PlacementError(ValueError):
    """An assessment, a rule or a decision that does not make sense; names the field."""


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class ContraIndication(StrEnum):
    """DOMAIN.md §3: findings that point to a level above IOP."""

    MEDICAL_WITHDRAWAL = "medical_withdrawal"  # needs medically managed withdrawal
    IMMINENT_DANGER = "imminent_danger"  # imminent danger to self or others
    UNSAFE_HOME = "unsafe_home"  # home environment unsafe for recovery
    FAILED_IOP = "failed_iop"  # failed at IOP despite adherence

    @property
    def label(self) -> str:
        return _CONTRA_LABELS[self]


_CONTRA_LABELS = {
    ContraIndication.MEDICAL_WITHDRAWAL: "needs medically managed withdrawal",
    ContraIndication.IMMINENT_DANGER: "imminent danger to self or others",
    ContraIndication.UNSAFE_HOME: "home environment unsafe for recovery",
    ContraIndication.FAILED_IOP: "failed at IOP despite adherence",
}


class Tier(IntEnum):
    """The continuum of DOMAIN.md §1 from least to most structured; rules speak in tiers so
    one table serves both editions."""

    OUTPATIENT = 0
    IOP = 1
    PHP = 2
    RESIDENTIAL = 3
    INPATIENT = 4

    @property
    def key(self) -> str:
        return self.name.lower()

    @classmethod
    def from_key(cls, key: str) -> Tier:
        try:
            return cls[str(key).upper()]
        except KeyError:
            names = ", ".join(t.key for t in cls)
            raise PlacementError(f"level {key!r} is not one of {names}") from None


# The code shown for an indicated tier, per edition (DOMAIN.md §1). Residential is a family of
# levels (3.1 / 3.5 / 3.7), so the indication names it "3.x"; the clinician picks one.
INDICATED_CODE: dict[int, dict[Tier, str]] = {
    3: {
        Tier.OUTPATIENT: "1",
        Tier.IOP: "2.1",
        Tier.PHP: "2.5",
        Tier.RESIDENTIAL: "3.x",
        Tier.INPATIENT: "4",
    },
    4: {
        Tier.OUTPATIENT: "1.5",
        Tier.IOP: "2.1",
        Tier.PHP: "2.5",
        Tier.RESIDENTIAL: "3.x",
        Tier.INPATIENT: "4",
    },
}

# Every level code a clinician may record as provided, per edition, with its tier.
LEVEL_CODES: dict[int, dict[str, Tier]] = {
    3: {
        "1": Tier.OUTPATIENT,
        "2.1": Tier.IOP,
        "2.5": Tier.PHP,
        "3.x": Tier.RESIDENTIAL,
        "3.1": Tier.RESIDENTIAL,
        "3.3": Tier.RESIDENTIAL,
        "3.5": Tier.RESIDENTIAL,
        "3.7": Tier.RESIDENTIAL,
        "4": Tier.INPATIENT,
    },
    4: {
        "1.0": Tier.OUTPATIENT,
        "1.5": Tier.OUTPATIENT,
        "1.7": Tier.OUTPATIENT,
        "2.1": Tier.IOP,
        "2.5": Tier.PHP,
        "2.7": Tier.PHP,
        "3.x": Tier.RESIDENTIAL,
        "3.1": Tier.RESIDENTIAL,
        "3.5": Tier.RESIDENTIAL,
        "3.7": Tier.RESIDENTIAL,
        "4": Tier.INPATIENT,
    },
}


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlacementError(f"{name} must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise PlacementError(f"{name} {value} is outside {low}–{high}")
    return value


def _check_edition(edition: object) -> int:
    if isinstance(edition, bool) or edition not in EDITIONS:
        raise PlacementError(f"edition {edition!r} must be 3 or 4")
    return edition  # type: ignore[return-value]


# --- the assessment ---------------------------------------------------------------------


@dataclass(frozen=True)
class DimensionRating:
    rating: int
    rationale: str = ""

    def __post_init__(self) -> None:
        _check_int("rating", self.rating, 0, MAX_RATING)
        if not isinstance(self.rationale, str):
            raise PlacementError("rationale must be text")


@dataclass(frozen=True)
class Assessment:
    """One placement assessment. ``ratings``: the six dimensions D1–D6 in order, each an int
    or a ``DimensionRating``; ``criteria``: the seed's six answers in order (§3), default all
    unknown; ``contraindications``: those found (§3)."""

    edition: int
    ratings: tuple[DimensionRating, ...]
    criteria: tuple[Answer, ...] = (Answer.UNKNOWN,) * 6
    contraindications: frozenset[ContraIndication] = frozenset()

    def __post_init__(self) -> None:
        _check_edition(self.edition)
        ratings = tuple(self.ratings)
        if len(ratings) != len(DIMENSIONS):
            raise PlacementError(f"ratings: expected 6 dimensions, got {len(ratings)}")
        converted = []
        for number, item in zip(DIMENSIONS, ratings, strict=True):
            if isinstance(item, DimensionRating):
                converted.append(item)
                continue
            try:
                converted.append(DimensionRating(item))
            except PlacementError as error:
                raise PlacementError(f"D{number}: {error}") from None
        object.__setattr__(self, "ratings", tuple(converted))
        criteria = tuple(self.criteria)
        if len(criteria) != len(CRITERIA):
            raise PlacementError(f"criteria: expected 6 answers, got {len(criteria)}")
        answers = []
        for number, answer in zip(CRITERIA, criteria, strict=True):
            try:
                answers.append(Answer(answer))
            except ValueError:
                raise PlacementError(
                    f"criterion {number}: {answer!r} is not yes, no or unknown"
                ) from None
        object.__setattr__(self, "criteria", tuple(answers))
        contra = set()
        for code in self.contraindications:
            try:
                contra.add(ContraIndication(code))
            except ValueError:
                raise PlacementError(f"contra-indication {code!r} is unknown") from None
        object.__setattr__(self, "contraindications", frozenset(contra))

    def rating(self, dimension: int) -> int:
        return self.ratings[dimension - 1].rating

    def answer(self, criterion: int) -> Answer:
        return self.criteria[criterion - 1]


# --- the rule table ---------------------------------------------------------------------


class ConditionKind(StrEnum):
    DIMENSION = "dimension"  # one named dimension at or above a rating
    DIMENSIONS = "dimensions"  # at least ``count`` dimensions (any) at or above a rating
    CRITERION = "criterion"  # one of the seed's criteria answered a given way
    CONTRAINDICATION = "contraindication"  # a contra-indication present


@dataclass(frozen=True)
class Condition:
    """One test on an assessment. Fields used per kind:

    - ``dimension``: ``dimension`` (1–6), ``at_least`` (1–4) — "D1 ≥ 3";
    - ``dimensions``: ``count`` (1–6), ``at_least`` (1–4) — "any dimension ≥ 4" is count 1;
    - ``criterion``: ``criterion`` (1–6), ``answer`` — "criterion 3 = no";
    - ``contraindication``: ``code``.
    """

    kind: ConditionKind
    dimension: int | None = None
    count: int | None = None
    at_least: int | None = None
    criterion: int | None = None
    answer: Answer | None = None
    code: ContraIndication | None = None

    def __post_init__(self) -> None:
        try:
            kind = ConditionKind(self.kind)
        except ValueError:
            raise PlacementError(f"condition kind {self.kind!r} is unknown") from None
        object.__setattr__(self, "kind", kind)
        used = _FIELDS[kind]
        for name in ("dimension", "count", "at_least", "criterion", "answer", "code"):
            value = getattr(self, name)
            if name in used and value is None:
                raise PlacementError(f"a {kind.value} condition needs {name}")
            if name not in used and value is not None:
                raise PlacementError(f"a {kind.value} condition takes no {name}")
        if kind is ConditionKind.DIMENSION:
            _check_int("dimension", self.dimension, 1, 6)
        if kind is ConditionKind.DIMENSIONS:
            _check_int("count", self.count, 1, 6)
        if kind in (ConditionKind.DIMENSION, ConditionKind.DIMENSIONS):
            _check_int("at_least", self.at_least, 1, MAX_RATING)
        if kind is ConditionKind.CRITERION:
            _check_int("criterion", self.criterion, 1, 6)
            try:
                object.__setattr__(self, "answer", Answer(self.answer))
            except ValueError:
                raise PlacementError(f"answer {self.answer!r} is not yes, no or unknown") from None
        if kind is ConditionKind.CONTRAINDICATION:
            try:
                object.__setattr__(self, "code", ContraIndication(self.code))
            except ValueError:
                raise PlacementError(f"contra-indication {self.code!r} is unknown") from None

    def holds(self, assessment: Assessment) -> str | None:
        """The evidence in plain words when the condition holds, else None."""
        if self.kind is ConditionKind.DIMENSION:
            assert self.dimension is not None and self.at_least is not None  # noqa: S101
            value = assessment.rating(self.dimension)
            if value >= self.at_least:
                return f"D{self.dimension} rated {value} (≥ {self.at_least})"
            return None
        if self.kind is ConditionKind.DIMENSIONS:
            assert self.count is not None and self.at_least is not None  # noqa: S101
            high = [d for d in DIMENSIONS if assessment.rating(d) >= self.at_least]
            if len(high) >= self.count:
                shown = ", ".join(f"D{d}={assessment.rating(d)}" for d in high)
                return f"{len(high)} dimension(s) rated ≥ {self.at_least}: {shown}"
            return None
        if self.kind is ConditionKind.CRITERION:
            assert self.criterion is not None  # noqa: S101
            if assessment.answer(self.criterion) is self.answer:
                return f"criterion {self.criterion} answered {self.answer}"
            return None
        assert self.code is not None  # noqa: S101
        if self.code in assessment.contraindications:
            return f"contra-indication: {self.code.label}"
        return None

    def describe(self) -> str:
        if self.kind is ConditionKind.DIMENSION:
            return f"D{self.dimension} ≥ {self.at_least}"
        if self.kind is ConditionKind.DIMENSIONS:
            if self.count == 1:
                return f"any dimension ≥ {self.at_least}"
            return f"{self.count} or more dimensions ≥ {self.at_least}"
        if self.kind is ConditionKind.CRITERION:
            return f"criterion {self.criterion} = {self.answer}"
        assert self.code is not None  # noqa: S101
        return f"contra-indication {self.code.value}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value}
        for name in sorted(_FIELDS[self.kind]):
            value = getattr(self, name)
            out[name] = value.value if isinstance(value, StrEnum) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Condition:
        if not isinstance(data, Mapping):
            raise PlacementError("a condition must be an object")
        allowed = {"kind", "dimension", "count", "at_least", "criterion", "answer", "code"}
        extra = set(data) - allowed
        if extra:
            raise PlacementError(f"condition: unknown field(s) {', '.join(sorted(extra))}")
        if "kind" not in data:
            raise PlacementError("condition: kind is required")
        return cls(**data)


_FIELDS: dict[ConditionKind, frozenset[str]] = {
    ConditionKind.DIMENSION: frozenset({"dimension", "at_least"}),
    ConditionKind.DIMENSIONS: frozenset({"count", "at_least"}),
    ConditionKind.CRITERION: frozenset({"criterion", "answer"}),
    ConditionKind.CONTRAINDICATION: frozenset({"code"}),
}


@dataclass(frozen=True)
class Rule:
    """When every condition holds, the patient needs at least ``level``.

    ``editions``: the editions the rule applies to (dimension meanings differ, DOMAIN §4).
    """

    id: str
    description: str
    conditions: tuple[Condition, ...]
    level: Tier
    editions: frozenset[int] = frozenset(EDITIONS)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise PlacementError("rule: id is required")
        if not isinstance(self.description, str) or not self.description.strip():
            raise PlacementError(f"rule {self.id}: description is required")
        conditions = tuple(self.conditions)
        if not conditions:
            raise PlacementError(f"rule {self.id}: at least one condition is required")
        if not all(isinstance(c, Condition) for c in conditions):
            raise PlacementError(f"rule {self.id}: conditions must be Condition objects")
        object.__setattr__(self, "conditions", conditions)
        level = self.level if isinstance(self.level, Tier) else Tier.from_key(self.level)
        object.__setattr__(self, "level", level)
        editions = frozenset(self.editions)
        if not editions:
            raise PlacementError(f"rule {self.id}: editions cannot be empty")
        for edition in editions:
            _check_edition(edition)
        object.__setattr__(self, "editions", editions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "conditions": [c.as_dict() for c in self.conditions],
            "level": self.level.key,
            "editions": sorted(self.editions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        if not isinstance(data, Mapping):
            raise PlacementError("a rule must be an object")
        allowed = {"id", "description", "conditions", "level", "editions"}
        extra = set(data) - allowed
        if extra:
            raise PlacementError(f"rule: unknown field(s) {', '.join(sorted(extra))}")
        for name in ("id", "description", "conditions", "level"):
            if name not in data:
                raise PlacementError(f"rule {data.get('id', '?')}: {name} is required")
        raw = data["conditions"]
        if not isinstance(raw, list | tuple):
            raise PlacementError(f"rule {data['id']}: conditions must be a list")
        try:
            conditions = tuple(Condition.from_dict(c) for c in raw)
        except PlacementError as error:
            raise PlacementError(f"rule {data['id']}: {error}") from None
        editions = data.get("editions", EDITIONS)
        if not isinstance(editions, list | tuple):
            raise PlacementError(f"rule {data['id']}: editions must be a list")
        return cls(
            id=data["id"],
            description=data["description"],
            conditions=conditions,
            level=Tier.from_key(data["level"]),
            editions=frozenset(editions),
        )


def validate_rules(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    """The table as a tuple; raises PlacementError on duplicate ids."""
    table = tuple(rules)
    seen: set[str] = set()
    for rule in table:
        if not isinstance(rule, Rule):
            raise PlacementError("the rule table must hold Rule objects")
        if rule.id in seen:
            raise PlacementError(f"rule id {rule.id!r} appears twice")
        seen.add(rule.id)
    return table


def rules_to_json(rules: Iterable[Rule]) -> str:
    return json.dumps([r.as_dict() for r in validate_rules(rules)], ensure_ascii=False, indent=2)


def rules_from_json(text: str) -> tuple[Rule, ...]:
    """Parse and validate a rule table; raises PlacementError naming the faulty rule/field."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlacementError(f"rule table is not valid JSON: {error}") from None
    if not isinstance(data, list):
        raise PlacementError("rule table must be a list of rules")
    return validate_rules(Rule.from_dict(item) for item in data)


def _dim(dimension: int, at_least: int) -> Condition:
    return Condition(ConditionKind.DIMENSION, dimension=dimension, at_least=at_least)


def _dims(count: int, at_least: int) -> Condition:
    return Condition(ConditionKind.DIMENSIONS, count=count, at_least=at_least)


def _crit(criterion: int, answer: Answer) -> Condition:
    return Condition(ConditionKind.CRITERION, criterion=criterion, answer=answer)


def _contra(code: ContraIndication) -> Condition:
    return Condition(ConditionKind.CONTRAINDICATION, code=code)


# OpenIOP's default table, written for this project (not ASAM's criteria). Directors edit it.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("any-severe", "Any dimension rated severe: refer to a 24-hour level.",
         (_dims(1, 4),), Tier.RESIDENTIAL),
    Rule("withdrawal-severe", "Severe withdrawal risk: medically managed inpatient care.",
         (_dim(1, 4),), Tier.INPATIENT),
    Rule("biomedical-severe", "Severe biomedical condition: medically managed inpatient care.",
         (_dim(2, 4),), Tier.INPATIENT),
    Rule("psychiatric-severe", "Severe psychiatric risk: medically managed inpatient care.",
         (_dim(3, 4),), Tier.INPATIENT),
    Rule("withdrawal-first", "Significant withdrawal risk: withdrawal management at a 24-hour "
         "level first.", (_dim(1, 3),), Tier.RESIDENTIAL),
    Rule("biomedical-significant", "Significant biomedical condition: daily structure (PHP).",
         (_dim(2, 3),), Tier.PHP),
    Rule("psychiatric-significant", "Significant psychiatric risk: daily structure (PHP).",
         (_dim(3, 3),), Tier.PHP),
    Rule("psychiatric-and-environment", "Significant psychiatric risk and an unsafe recovery "
         "environment: a 24-hour level.", (_dim(3, 3), _dim(6, 3)), Tier.RESIDENTIAL,
         frozenset({3})),
    Rule("psychiatric-and-environment-4th", "Significant psychiatric risk and an unsafe "
         "recovery environment: a 24-hour level.", (_dim(3, 3), _dim(5, 3)), Tier.RESIDENTIAL,
         frozenset({4})),
    Rule("several-significant", "Two or more dimensions rated significant: daily structure "
         "(PHP).", (_dims(2, 3),), Tier.PHP),
    Rule("any-moderate", "Any dimension rated moderate: structured outpatient care (IOP).",
         (_dims(1, 2),), Tier.IOP),
    Rule("relapse-signs", "Early relapse or returning cravings (criterion 5): at least IOP.",
         (_crit(5, Answer.YES),), Tier.IOP),
    Rule("mental-health-needs", "Mental-health needs calling for consistent therapy "
         "(criterion 6): at least IOP.", (_crit(6, Answer.YES),), Tier.IOP),
    Rule("detox-not-done", "Detox or a 24-hour program not completed and needed (criterion 1 "
         "= no): a 24-hour level first.", (_crit(1, Answer.NO),), Tier.RESIDENTIAL),
    Rule("needs-24-7", "Needs 24/7 monitoring (criterion 2 = no): a 24-hour level.",
         (_crit(2, Answer.NO),), Tier.RESIDENTIAL),
    Rule("not-stable-at-home", "Not stable enough to live at home (criterion 3 = no): a "
         "24-hour level.", (_crit(3, Answer.NO),), Tier.RESIDENTIAL),
    Rule("medical-withdrawal", "Needs medically managed withdrawal: inpatient care.",
         (_contra(ContraIndication.MEDICAL_WITHDRAWAL),), Tier.INPATIENT),
    Rule("imminent-danger", "Imminent danger to self or others: inpatient care now.",
         (_contra(ContraIndication.IMMINENT_DANGER),), Tier.INPATIENT),
    Rule("unsafe-home", "Home unsafe for recovery: a 24-hour level.",
         (_contra(ContraIndication.UNSAFE_HOME),), Tier.RESIDENTIAL),
    Rule("failed-iop", "Did not improve at IOP despite adherence: daily structure (PHP).",
         (_contra(ContraIndication.FAILED_IOP),), Tier.PHP),
)  # fmt: skip


# --- the indication ---------------------------------------------------------------------


@dataclass(frozen=True)
class FiredRule:
    rule_id: str
    description: str
    level: Tier
    evidence: tuple[str, ...]  # one plain-words line per condition


@dataclass(frozen=True)
class Indication:
    edition: int
    tier: Tier
    fired: tuple[FiredRule, ...]  # in table order
    deciding: tuple[str, ...]  # ids of the fired rules that set the tier
    unknown_criteria: tuple[int, ...] = ()  # criteria still answered "unknown"
    notes: tuple[str, ...] = field(default=())

    @property
    def level(self) -> str:
        return INDICATED_CODE[self.edition][self.tier]

    @property
    def referral(self) -> bool:
        """A 24-hour level: outside an outpatient program, so a referral."""
        return self.tier >= Tier.RESIDENTIAL


def indicate(
    assessment: Assessment,
    rules: Sequence[Rule] = DEFAULT_RULES,
    *,
    base: Tier = Tier.OUTPATIENT,
) -> Indication:
    """The least intensive level every fired rule allows: the most intensive floor among them,
    ``base`` when none fired. Never an average of ratings (DOMAIN.md §4)."""
    table = validate_rules(rules)
    base = Tier(base)
    fired = []
    for rule in table:
        if assessment.edition not in rule.editions:
            continue
        evidence = [condition.holds(assessment) for condition in rule.conditions]
        if all(line is not None for line in evidence):
            fired.append(
                FiredRule(rule.id, rule.description, rule.level, tuple(e for e in evidence if e))
            )
    tier = max([base, *(f.level for f in fired)])
    deciding = tuple(f.rule_id for f in fired if f.level == tier)
    unknown = tuple(c for c in CRITERIA if assessment.answer(c) is Answer.UNKNOWN)
    notes = []
    if not fired:
        notes.append("No rule fired: the base level applies.")
    if unknown:
        shown = ", ".join(str(c) for c in unknown)
        notes.append(f"Criteria not yet answered: {shown}; the indication may change.")
    return Indication(assessment.edition, tier, tuple(fired), deciding, unknown, tuple(notes))


# --- the clinician's decision -----------------------------------------------------------


@dataclass(frozen=True)
class LevelDecision:
    edition: int
    indicated: str
    provided: str
    reason: str

    @property
    def differs(self) -> bool:
        return LEVEL_CODES[self.edition][self.provided] != LEVEL_CODES[self.edition].get(
            self.indicated
        )


_ORDINAL = {3: "3rd", 4: "4th"}


def record_decision(indication: Indication, provided: str, reason: str = "") -> LevelDecision:
    """The level provided against the level indicated. A reason is required when they differ
    (DOMAIN.md §4); a residential code such as "3.5" matches an indicated "3.x"."""
    codes = LEVEL_CODES[indication.edition]
    if provided not in codes:
        shown = ", ".join(codes)
        raise PlacementError(
            f"provided level {provided!r} is not a level of the "
            f"{_ORDINAL[indication.edition]} edition ({shown})"
        )
    reason = (reason or "").strip()
    decision = LevelDecision(indication.edition, indication.level, provided, reason)
    if codes[provided] != indication.tier and not reason:
        raise PlacementError(
            f"reason is required: level {provided} provided, {indication.level} indicated"
        )
    return decision
