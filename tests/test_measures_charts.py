"""The trend charts' geometry: values on a 0–max scale, bands as shaded rows around their
whole-number edges, dates spread across the plot, and the table that repeats the points."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from openiop.measures import charts
from openiop.measures.charts import Entry, line_chart
from openiop.measures.instruments import GAD7, PHQ9

D0 = date(2026, 9, 1)


def phq9(*entries: tuple[int, int, str]) -> charts.LineChart:
    return line_chart(
        key="phq9",
        title="PHQ-9",
        description="",
        y_label="PHQ-9",
        y_max=27,
        series=[("PHQ-9", [Entry(D0 + timedelta(days=d), v, b, d + 1) for d, v, b in entries])],
        bands=PHQ9.bands,
    )


def test_it_places_values_on_the_scale() -> None:
    chart = phq9((0, 0, "minimal"), (14, 27, "severe"))
    low, high = chart.series[0].points
    assert low.y == chart.baseline == charts.TOP + charts.PLOT_H
    assert high.y == charts.TOP
    # 27 would print over 25: the scale's ticks stop at 25
    assert [t.value for t in chart.ticks] == [0, 5, 10, 15, 20, 25]
    bam = line_chart(key="b", title="", description="", y_label="", y_max=24, series=[])
    assert [t.value for t in bam.ticks] == [0, 5, 10, 15, 20, 24]
    assert bam.ticks[-1].y == charts.TOP


def test_it_spreads_dates_across_the_plot_in_date_order() -> None:
    chart = phq9((28, 5, "mild"), (0, 10, "moderate"), (7, 12, "moderate"))
    points = chart.series[0].points
    assert [p.taken_on for p in points] == [D0, D0 + timedelta(days=7), D0 + timedelta(days=28)]
    assert points[0].x == charts.LEFT + 10
    assert points[-1].x == charts.WIDTH - charts.RIGHT - 10
    assert points[0].x < points[1].x < points[2].x
    # a week is a quarter of four weeks
    assert points[1].x - points[0].x == pytest.approx((points[2].x - points[0].x) / 4, abs=0.1)
    assert chart.series[0].polyline.split(" ")[0] == f"{points[0].x},{points[0].y}"


def test_it_centres_a_single_point() -> None:
    (point,) = phq9((0, 9, "mild")).series[0].points
    assert point.x == charts.LEFT + charts.PLOT_W / 2


def test_it_shades_each_band_around_its_whole_number_edges() -> None:
    chart = phq9((0, 4, "minimal"), (1, 5, "mild"))
    assert [(row.name, row.low, row.high) for row in chart.bands] == [
        ("minimal", 0, 4),
        ("mild", 5, 9),
        ("moderate", 10, 14),
        ("moderately severe", 15, 19),
        ("severe", 20, 27),
    ]
    minimal, mild = chart.bands[0], chart.bands[1]
    four, five = chart.series[0].points
    # 4 sits inside the minimal row, 5 inside the mild row, the line between them at 4.5
    assert minimal.y < four.y < minimal.y + minimal.height
    assert mild.y < five.y < mild.y + mild.height
    assert mild.y + mild.height == pytest.approx(minimal.y, abs=0.1)
    assert minimal.y + minimal.height == pytest.approx(chart.baseline, abs=0.1)
    assert chart.bands[-1].y == charts.TOP
    assert len({row.fill for row in chart.bands}) == 5


def test_gad7_has_four_bands_up_to_21() -> None:
    chart = line_chart(
        key="gad7", title="", description="", y_label="", y_max=21, series=[], bands=GAD7.bands
    )
    assert [row.name for row in chart.bands] == ["minimal", "mild", "moderate", "severe"]
    assert chart.bands[-1].high == 21
    assert chart.is_empty
    assert chart.date_labels == ()
    assert chart.latest is None


def test_it_lists_the_points_with_their_band_in_a_table() -> None:
    chart = phq9((7, 16, "moderately severe"), (0, 12, "moderate"))
    assert chart.columns == ("Date", "PHQ-9", "Band")
    assert [(r.taken_on, r.cells) for r in chart.rows] == [
        (D0, ("12", "moderate")),
        (D0 + timedelta(days=7), ("16", "moderately severe")),
    ]
    assert chart.latest is not None and (chart.latest.value, chart.latest.band) == (
        16,
        "moderately severe",
    )


def test_it_lists_several_series_one_row_per_date() -> None:
    chart = line_chart(
        key="bam",
        title="BAM",
        description="",
        y_label="",
        y_max=24,
        series=[
            ("use", [Entry(D0, 3), Entry(D0 + timedelta(days=14), 0)]),
            ("risk", [Entry(D0, 10), Entry(D0 + timedelta(days=14), 8)]),
            ("protective", [Entry(D0 + timedelta(days=14), 20)]),
        ],
    )
    assert chart.columns == ("Date", "use", "risk", "protective")
    assert [(r.taken_on, r.cells) for r in chart.rows] == [
        (D0, ("3", "10", "—")),
        (D0 + timedelta(days=14), ("0", "8", "20")),
    ]
    assert [s.marker for s in chart.series] == ["circle", "square", "diamond"]
    assert len({s.colour for s in chart.series}) == 3
    assert chart.point_count == 5
    assert chart.latest is None  # no single headline number for several series


def test_it_labels_at_most_seven_dates_including_the_first_and_last() -> None:
    chart = phq9(*[(7 * week, 5, "mild") for week in range(20)])
    days = [label.day for label in chart.date_labels]
    assert len(days) == charts.MAX_DATE_LABELS
    assert days[0] == D0 and days[-1] == D0 + timedelta(days=7 * 19)
    assert days == sorted(days)


@pytest.mark.parametrize("value", [-1, 28])
def test_it_refuses_a_value_off_the_scale(value: int) -> None:
    with pytest.raises(ValueError, match=f"PHQ-9 value {value} is outside 0–27"):
        phq9((0, value, "?"))


def test_it_refuses_an_empty_scale() -> None:
    with pytest.raises(ValueError, match="y_max"):
        line_chart(key="x", title="", description="", y_label="", y_max=0, series=[])


def test_it_drops_date_labels_that_would_overlap_but_keeps_the_newest() -> None:
    chart = phq9((0, 5, "mild"), (1, 5, "mild"), (2, 5, "mild"), (60, 5, "mild"))
    days = [label.day for label in chart.date_labels]
    assert days[0] == D0 and days[-1] == D0 + timedelta(days=60)
    xs = [label.x for label in chart.date_labels]
    assert all(b - a >= charts.MIN_LABEL_GAP for a, b in itertools.pairwise(xs))
    close = phq9((0, 5, "mild"), (59, 5, "mild"), (60, 5, "mild"))
    assert [label.day for label in close.date_labels] == [D0, D0 + timedelta(days=60)]
