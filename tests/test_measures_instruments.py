from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.measures.instruments import (
    INSTRUMENT_CODES,
    PCL5_PROBABLE_PTSD_DEFAULT,
    AnswerError,
    FlagCode,
    Instrument,
    Severity,
    UnknownInstrumentError,
    get_instrument,
    pcl5_bands,
    score,
)


def points(instrument: Instrument, number: int, value: int) -> int:
    item = instrument.item(number)
    return (1 - value) if item.reversed else value


def answers_for_total(code: str, total: int) -> dict[int, int]:
    """Answers reaching ``total``: each item in turn takes the most points that still fit."""
    instrument = get_instrument(code)
    answers: dict[int, int] = {}
    left = total
    for item in instrument.items:
        value = max(
            (v for v in item.values if points(instrument, item.number, v) <= left),
            key=lambda v: points(instrument, item.number, v),
        )
        answers[item.number] = value
        left -= points(instrument, item.number, value)
    assert left == 0, f"cannot build {code} total {total}"
    return answers


# Every edge of every band, written out from DOMAIN.md §9 rather than read from the registry.
BAND_EDGES = [
    ("PHQ-9", 0, "minimal"),
    ("PHQ-9", 4, "minimal"),
    ("PHQ-9", 5, "mild"),
    ("PHQ-9", 9, "mild"),
    ("PHQ-9", 10, "moderate"),
    ("PHQ-9", 14, "moderate"),
    ("PHQ-9", 15, "moderately severe"),
    ("PHQ-9", 19, "moderately severe"),
    ("PHQ-9", 20, "severe"),
    ("PHQ-9", 27, "severe"),
    ("GAD-7", 0, "minimal"),
    ("GAD-7", 4, "minimal"),
    ("GAD-7", 5, "mild"),
    ("GAD-7", 9, "mild"),
    ("GAD-7", 10, "moderate"),
    ("GAD-7", 14, "moderate"),
    ("GAD-7", 15, "severe"),
    ("GAD-7", 21, "severe"),
    ("AUDIT", 0, "zone I"),
    ("AUDIT", 7, "zone I"),
    ("AUDIT", 8, "zone II"),
    ("AUDIT", 15, "zone II"),
    ("AUDIT", 16, "zone III"),
    ("AUDIT", 19, "zone III"),
    ("AUDIT", 20, "zone IV"),
    ("AUDIT", 40, "zone IV"),
    ("DAST-10", 0, "none"),
    ("DAST-10", 1, "low"),
    ("DAST-10", 2, "low"),
    ("DAST-10", 3, "moderate"),
    ("DAST-10", 5, "moderate"),
    ("DAST-10", 6, "substantial"),
    ("DAST-10", 8, "substantial"),
    ("DAST-10", 9, "severe"),
    ("DAST-10", 10, "severe"),
    ("PCL-5", 0, "below threshold"),
    ("PCL-5", 32, "below threshold"),
    ("PCL-5", 33, "probable PTSD"),
    ("PCL-5", 80, "probable PTSD"),
]


@pytest.mark.parametrize(("code", "total", "band"), BAND_EDGES, ids=lambda v: str(v))
def test_it_bands_every_edge(code: str, total: int, band: str) -> None:
    scored = score(code, answers_for_total(code, total))
    assert (scored.total, scored.band) == (total, band)


@pytest.mark.parametrize(
    ("threshold", "total", "band"),
    [
        (31, 30, "below threshold"),
        (31, 31, "probable PTSD"),
        (32, 31, "below threshold"),
        (32, 32, "probable PTSD"),
        (33, 32, "below threshold"),
        (33, 33, "probable PTSD"),
    ],
)
def test_it_takes_a_configurable_pcl5_threshold(threshold: int, total: int, band: str) -> None:
    scored = score("PCL-5", answers_for_total("PCL-5", total), pcl5_threshold=threshold)
    assert scored.band == band


def test_it_defaults_the_pcl5_threshold_to_33() -> None:
    assert PCL5_PROBABLE_PTSD_DEFAULT == 33


@pytest.mark.parametrize("threshold", [0, 81, True, 32.5, "33"])
def test_it_refuses_a_pcl5_threshold_off_the_scale(threshold: object) -> None:
    with pytest.raises(ValueError, match="PCL-5 threshold"):
        pcl5_bands(threshold)  # type: ignore[arg-type]


def test_it_adds_up_pcl5_clusters() -> None:
    answers = dict.fromkeys(range(1, 21), 0)
    answers.update({1: 4, 5: 1, 6: 2, 7: 3, 8: 1, 14: 2, 15: 3, 20: 4})
    scored = score("PCL-5", answers)
    assert scored.subscales == {"B": 5, "C": 5, "D": 3, "E": 7}
    assert scored.total == 20


def test_it_counts_dast10_item_3_reversed() -> None:
    all_no = dict.fromkeys(range(1, 11), False)
    all_yes = dict.fromkeys(range(1, 11), True)
    assert (score("DAST-10", all_no).total, score("DAST-10", all_no).band) == (1, "low")
    assert (score("DAST-10", all_yes).total, score("DAST-10", all_yes).band) == (9, "severe")
    only_item_3 = {**all_no, 3: True}
    assert (score("DAST-10", only_item_3).total, score("DAST-10", only_item_3).band) == (
        0,
        "none",
    )


def bam_answers(**overrides: int) -> dict[int, int]:
    answers = dict.fromkeys(range(1, 18), 0)
    answers.update({int(k[1:]): v for k, v in overrides.items()})
    return answers


def test_it_adds_up_bam_subscales_without_a_total() -> None:
    answers = bam_answers(
        i1=1, i2=2, i3=3, i4=4, i5=1, i6=2, i7=3, i8=4, i9=1, i10=2, i11=3, i12=4, i13=1,
        i14=4, i15=2, i16=3, i17=4,
    )  # fmt: skip
    scored = score("BAM", answers)
    assert scored.subscales == {
        "use": 4 + 1 + 2,
        "risk": 1 + 2 + 3 + 4 + 3 + 2,
        "protective": 1 + 2 + 4 + 1 + 4 + 3,
    }
    assert scored.total is None
    assert scored.band is None
    assert scored.flags == ()


@pytest.mark.parametrize(("item", "value"), [(7, 4), (17, 4)])
def test_it_keeps_bam_items_7_and_17_out_of_the_subscales(item: int, value: int) -> None:
    assert (
        score("BAM", bam_answers(**{f"i{item}": value})).subscales
        == score("BAM", bam_answers()).subscales
    )


def test_it_lets_bam_item_7_be_left_out_but_not_item_17() -> None:
    answers = bam_answers()
    del answers[7]
    assert score("BAM", answers).subscales == {"use": 0, "risk": 0, "protective": 0}
    del answers[17]
    with pytest.raises(AnswerError, match="BAM item 17: missing") as caught:
        score("BAM", answers)
    assert caught.value.item == 17


def test_it_takes_only_no_or_yes_for_bam_income() -> None:
    with pytest.raises(AnswerError, match="BAM item 14: 2 is not one of the options"):
        score("BAM", bam_answers(i14=2))


def test_it_raises_a_safety_flag_on_phq9_item_9_whatever_the_total() -> None:
    answers = dict.fromkeys(range(1, 10), 0)
    answers[9] = 1
    scored = score("PHQ-9", answers)
    assert (scored.total, scored.band) == (1, "minimal")
    assert [(f.code, f.severity, f.item) for f in scored.flags] == [
        (FlagCode.SAFETY, Severity.HIGH, 9)
    ]
    assert scored.has_safety_flag


def test_it_raises_no_flag_on_a_severe_phq9_with_item_9_at_0() -> None:
    answers = dict.fromkeys(range(1, 10), 3)
    answers[9] = 0
    scored = score("PHQ-9", answers)
    assert (scored.total, scored.band, scored.flags) == (24, "severe", ())


def cssrs(q1: int, q2: int, q3: int | None, q4: int | None, q5: int | None, q6: int):
    answers = {1: q1, 2: q2, 6: q6}
    for number, value in ((3, q3), (4, q4), (5, q5)):
        if value is not None:
            answers[number] = value
    return answers


N = None  # not asked


@pytest.mark.parametrize(
    ("answers", "band", "flagged"),
    [
        (cssrs(0, 0, N, N, N, 0), "none", False),
        (cssrs(1, 0, N, N, N, 0), "low", False),
        (cssrs(0, 1, 0, 0, 0, 0), "low", False),
        (cssrs(1, 1, 0, 0, 0, 0), "low", False),
        (cssrs(0, 1, 1, 0, 0, 0), "moderate", True),
        (cssrs(0, 0, N, N, N, 1), "moderate", True),
        (cssrs(0, 1, 0, 1, 0, 0), "high", True),
        (cssrs(0, 1, 0, 0, 1, 0), "high", True),
        (cssrs(0, 0, N, N, N, 2), "high", True),
        (cssrs(1, 1, 1, 1, 1, 2), "high", True),
        ({1: False, 2: True, 3: True, 4: False, 5: False, 6: 0}, "moderate", True),
    ],
)
def test_it_triages_the_cssrs(answers: dict[int, int], band: str, flagged: bool) -> None:
    scored = score("C-SSRS", answers)
    assert scored.band == band
    assert scored.total is None
    assert scored.has_safety_flag is flagged
    assert all(f.severity is Severity.HIGH for f in scored.flags)


@pytest.mark.parametrize(
    ("answers", "item", "words"),
    [
        (cssrs(0, 0, 0, N, N, 0), 3, "must be left unanswered: the answer to item 2 skips it"),
        (cssrs(1, 0, N, N, 1, 0), 5, "must be left unanswered"),
        (cssrs(0, 1, N, 0, 0, 0), 3, "missing answer"),
        (cssrs(0, 1, 0, 0, N, 0), 5, "missing answer"),
        ({1: 0, 2: 0}, 6, "missing answer"),
        ({1: 0, 3: 0, 6: 0}, 2, "missing answer"),
        ({1: 0, 2: 0, 6: True}, 6, "yes/no given"),
        ({1: 0, 2: 0, 6: 3}, 6, "3 is not one of the options"),
    ],
)
def test_it_enforces_the_cssrs_skip_logic(answers: dict[int, int], item: int, words: str) -> None:
    with pytest.raises(AnswerError, match=f"C-SSRS item {item}: {words}") as caught:
        score("C-SSRS", answers)
    assert caught.value.item == item


@pytest.mark.parametrize(
    ("code", "answers", "item", "words"),
    [
        ("PHQ-9", dict.fromkeys(range(1, 9), 0), 9, "missing answer"),
        ("PHQ-9", {**dict.fromkeys(range(1, 10), 0), 4: 4}, 4, "4 is not one of the options"),
        ("PHQ-9", {**dict.fromkeys(range(1, 10), 0), 4: -1}, 4, "not one of the options"),
        ("PHQ-9", {**dict.fromkeys(range(1, 10), 0), 2: True}, 2, "yes/no given"),
        ("PHQ-9", {**dict.fromkeys(range(1, 10), 0), 2: "1"}, 2, "not a whole number"),
        ("AUDIT", {**dict.fromkeys(range(1, 11), 0), 9: 1}, 9, "1 is not one of the options"),
        ("GAD-7", dict.fromkeys(range(1, 9), 0), None, "there is no item 8"),
        ("CRAVING", {1: 11}, 1, "not one of the options"),
        ("CRAVING", {}, 1, "missing answer"),
    ],
)
def test_it_names_the_item_at_fault(
    code: str, answers: dict[int, object], item: int | None, words: str
) -> None:
    with pytest.raises(AnswerError, match=words) as caught:
        score(code, answers)  # type: ignore[arg-type]
    assert caught.value.item == item
    assert isinstance(caught.value, ValueError)


def test_it_refuses_an_unknown_instrument() -> None:
    with pytest.raises(UnknownInstrumentError, match="unknown instrument 'PHQ-8'"):
        score("PHQ-8", {})


def test_it_registers_the_instruments_of_domain_9() -> None:
    shape = {code: len(get_instrument(code).items) for code in INSTRUMENT_CODES}
    assert shape == {
        "PHQ-9": 9,
        "GAD-7": 7,
        "BAM": 17,
        "PCL-5": 20,
        "AUDIT": 10,
        "DAST-10": 10,
        "C-SSRS": 6,
        "CRAVING": 1,
    }
    ranges = {code: get_instrument(code).total_range for code in INSTRUMENT_CODES}
    assert ranges == {
        "PHQ-9": (0, 27),
        "GAD-7": (0, 21),
        "BAM": None,
        "PCL-5": (0, 80),
        "AUDIT": (0, 40),
        "DAST-10": (0, 10),
        "C-SSRS": None,
        "CRAVING": (0, 10),
    }


@pytest.mark.parametrize("code", INSTRUMENT_CODES)
def test_it_numbers_items_and_options_cleanly(code: str) -> None:
    instrument = get_instrument(code)
    assert [item.number for item in instrument.items] == list(range(1, len(instrument.items) + 1))
    for item in instrument.items:
        assert item.text
        assert len(set(item.values)) == len(item.values) >= 2
        assert all(option.label for option in item.options)
    bands = instrument.bands
    if bands:
        assert (bands[0].low, bands[-1].high) == instrument.total_range
        assert all(a.high + 1 == b.low for a, b in itertools.pairwise(bands))


@pytest.mark.parametrize("code", ["DAST-10", "C-SSRS"])
def test_it_ships_only_labels_for_licensed_instruments(code: str) -> None:
    instrument = get_instrument(code)
    assert "official wording" in instrument.licence_note
    for item in instrument.items:
        assert item.text.startswith(f"Q{item.number} ")
        assert len(item.text) <= 60


# ---- properties ----


@st.composite
def valid_answers(draw: st.DrawFn, code: str) -> dict[int, int]:
    instrument = get_instrument(code)
    answers: dict[int, int] = {}
    for item in instrument.items:
        if item.asked_if is not None and answers.get(item.asked_if[0]) not in item.asked_if[1]:
            continue
        if not item.required and draw(st.booleans()):
            continue
        answers[item.number] = draw(st.sampled_from(item.values))
    return answers


any_instrument = st.sampled_from(INSTRUMENT_CODES).flatmap(
    lambda code: st.tuples(st.just(code), valid_answers(code))
)


@given(any_instrument)
def test_property_totals_stay_in_range_and_scoring_is_deterministic(
    drawn: tuple[str, dict[int, int]],
) -> None:
    code, answers = drawn
    scored = score(code, answers)
    total_range = get_instrument(code).total_range
    if total_range is None:
        assert scored.total is None
    else:
        assert scored.total is not None
        assert total_range[0] <= scored.total <= total_range[1]
    assert score(code, dict(reversed(list(answers.items())))) == scored


MONOTONE = ["PHQ-9", "GAD-7", "AUDIT", "PCL-5"]


@given(
    st.sampled_from(MONOTONE).flatmap(
        lambda code: st.tuples(st.just(code), valid_answers(code), st.integers(1, 20))
    )
)
def test_property_raising_one_answer_raises_the_total_and_never_lowers_the_band(
    drawn: tuple[str, dict[int, int], int],
) -> None:
    code, answers, pick = drawn
    instrument = get_instrument(code)
    item = instrument.items[(pick - 1) % len(instrument.items)]
    higher = [v for v in item.values if v > answers[item.number]]
    before = score(code, answers)
    bands = (
        [b.name for b in pcl5_bands()] if code == "PCL-5" else [b.name for b in instrument.bands]
    )
    for value in higher:
        after = score(code, {**answers, item.number: value})
        assert after.total is not None and before.total is not None
        assert after.total == before.total + value - answers[item.number]
        assert bands.index(after.band) >= bands.index(before.band)


@given(valid_answers("PHQ-9"))
def test_property_phq9_safety_flag_iff_item_9_above_0(answers: dict[int, int]) -> None:
    assert score("PHQ-9", answers).has_safety_flag is (answers[9] > 0)


@given(valid_answers("BAM"))
def test_property_bam_has_subscales_and_no_total(answers: dict[int, int]) -> None:
    scored = score("BAM", answers)
    assert scored.total is None and scored.band is None
    assert set(scored.subscales) == {"use", "risk", "protective"}
    assert 0 <= scored.subscales["use"] <= 12
    assert 0 <= scored.subscales["risk"] <= 24
    assert 0 <= scored.subscales["protective"] <= 24
    assert scored.subscales["use"] == answers[4] + answers[5] + answers[6]


@given(valid_answers("C-SSRS"))
def test_property_cssrs_high_iff_q4_q5_or_recent_q6(answers: dict[int, int]) -> None:
    scored = score("C-SSRS", answers)
    high = answers.get(4) == 1 or answers.get(5) == 1 or answers[6] == 2
    assert (scored.band == "high") is high
    assert scored.has_safety_flag is (scored.band in ("moderate", "high"))
    assert (scored.band == "none") is (not any(answers.values()))


# ---- gaps: scales without bands, subscale ranges, skip logic with yes/no, wording ----


@pytest.mark.parametrize("rating", [0, 1, 5, 9, 10])
def test_craving_is_its_own_total_without_a_band(rating: int) -> None:
    scored = score("CRAVING", {1: rating})
    assert (scored.total, scored.band, scored.subscales, scored.flags) == (rating, None, {}, ())


def test_bam_subscales_span_0_to_12_and_0_to_24() -> None:
    lowest = score("BAM", bam_answers())
    assert lowest.subscales == {"use": 0, "risk": 0, "protective": 0}
    highest = score("BAM", dict.fromkeys(range(1, 18), 4))
    assert highest.subscales == {"use": 12, "risk": 24, "protective": 24}


@pytest.mark.parametrize(
    ("item", "subscale"),
    [(4, "use"), (5, "use"), (6, "use"), (1, "risk"), (2, "risk"), (3, "risk"), (8, "risk"),
     (11, "risk"), (15, "risk"), (9, "protective"), (10, "protective"), (12, "protective"),
     (13, "protective"), (14, "protective"), (16, "protective")],
)  # fmt: skip
def test_each_bam_item_counts_in_exactly_its_subscale(item: int, subscale: str) -> None:
    scored = score("BAM", bam_answers(**{f"i{item}": 4}))
    expected = {"use": 0, "risk": 0, "protective": 0, subscale: 4}
    assert scored.subscales == expected


def test_pcl5_clusters_add_up_to_the_total_at_the_top() -> None:
    scored = score("PCL-5", dict.fromkeys(range(1, 21), 4))
    assert scored.subscales == {"B": 20, "C": 8, "D": 28, "E": 24}
    assert (scored.total, scored.band) == (80, "probable PTSD")


@pytest.mark.parametrize(
    ("answers", "band"),
    [
        ({1: True, 2: True, 3: False, 4: False, 5: False, 6: 0}, "low"),
        ({1: False, 2: True, 3: False, 4: True, 5: False, 6: 0}, "high"),
        ({1: True, 2: False, 6: 1}, "moderate"),
    ],
)
def test_a_yes_to_cssrs_q2_given_as_true_opens_q3_to_q5(answers: dict, band: str) -> None:
    assert score("C-SSRS", answers).band == band


def test_cssrs_q2_given_as_false_closes_q3_to_q5() -> None:
    with pytest.raises(AnswerError, match="C-SSRS item 4: must be left unanswered") as caught:
        score("C-SSRS", {1: True, 2: False, 4: False, 6: 0})
    assert caught.value.item == 4


def test_audit_items_9_and_10_score_0_2_or_4() -> None:
    audit = get_instrument("AUDIT")
    for number in (9, 10):
        assert [(o.value, o.label) for o in audit.item(number).options] == [
            (0, "No"),
            (2, "Yes, but not in the last year"),
            (4, "Yes, during the last year"),
        ]
    answers = {**dict.fromkeys(range(1, 11), 0), 9: 2, 10: 4}
    assert score("AUDIT", answers).total == 6


# The wording checked against published copies (docs/measures-api.md says where from).
@pytest.mark.parametrize(
    ("code", "number", "text"),
    [
        ("PHQ-9", 1, "Little interest or pleasure in doing things"),
        (
            "PHQ-9",
            9,
            "Thoughts that you would be better off dead or of hurting yourself in some way",
        ),
        ("GAD-7", 1, "Feeling nervous, anxious or on edge"),
        ("GAD-7", 7, "Feeling afraid as if something awful might happen"),
        ("AUDIT", 3, "How often do you have six or more drinks on one occasion?"),
        ("PCL-5", 17, 'Being "superalert" or watchful or on guard?'),
        ("PCL-5", 20, "Trouble falling or staying asleep?"),
    ],
)
def test_it_ships_the_published_wording(code: str, number: int, text: str) -> None:
    assert get_instrument(code).item(number).text == text


def test_it_ships_the_published_answer_labels() -> None:
    frequency = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
    for code in ("PHQ-9", "GAD-7"):
        for item in get_instrument(code).items:
            assert [o.label for o in item.options] == frequency
            assert item.values == (0, 1, 2, 3)
    for item in get_instrument("PCL-5").items:
        assert [o.label for o in item.options] == [
            "Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"
        ]  # fmt: skip
    assert [o.label for o in get_instrument("AUDIT").item(1).options] == [
        "Never", "Monthly or less", "2 to 4 times a month", "2 to 3 times a week",
        "4 or more times a week",
    ]  # fmt: skip
