"""Chart geometry (apps/console/charts.py): pure, so checked exhaustively on numbers, no browser needed."""

from datetime import date
from itertools import pairwise

import pytest

from apps.console.charts import column_chart, grouped_bar_chart, line_chart


def test_bars_are_proportional_to_values_and_the_threshold_sits_at_its_value() -> None:
    chart = grouped_bar_chart(
        [("Letrozole", [1.0, 0.5, None]), ("Alendronate", [0.0, 0.8, 0.25])],
        series=["90 days", "180 days", "365 days"],
        threshold=0.8,
        threshold_label="80% adherent",
    )
    span = chart.plot_right - chart.plot_left
    full, half, missing = chart.groups[0].bars
    assert full.width == pytest.approx(span, abs=0.1)
    assert half.width == pytest.approx(span / 2, abs=0.1)
    assert (missing.value, missing.width, missing.label) == (None, 0.0, "no data")
    assert chart.groups[1].bars[0].width == 0.0 and chart.groups[1].bars[0].label == "0.0%"
    assert chart.groups[1].bars[1].label == "80.0%"
    assert chart.threshold is not None
    assert chart.threshold.position == pytest.approx(chart.plot_left + 0.8 * span, abs=0.1)
    assert [t.label for t in chart.x_ticks] == ["0%", "25%", "50%", "75%", "100%"]


@pytest.mark.parametrize(
    ("value", "label"), [(0.7996, "79.9%"), (0.79999, "79.9%"), (0.8, "80.0%"), (0.299, "29.9%"), (0.29, "29.0%")]
)
def test_a_bar_label_is_truncated_never_rounded_onto_the_threshold(value: float, label: str) -> None:
    # Issue 11: 79.96% must not read 80%, nor 80.0%.
    chart = grouped_bar_chart([("Letrozole", [value])], series=["90 days"], threshold=0.8)
    assert chart.groups[0].bars[0].label == label


def test_given_bar_labels_replace_the_value_text() -> None:
    chart = grouped_bar_chart(
        [("Letrozole", [0.799, None])], series=["90 days", "365 days"], labels=[["79.9% over 229 days", "not active"]]
    )
    assert [b.label for b in chart.groups[0].bars] == ["79.9% over 229 days", "not active"]


def test_a_column_value_is_truncated_never_rounded_onto_the_target() -> None:
    chart = column_chart([("Mon", 1199.95), ("Tue", 1200.0), ("Wed", None)], target=1200, unit=" mg")
    assert [c.value_label for c in chart.columns] == ["1,199.9 mg", "1,200 mg", "—"]
    assert [c.met for c in chart.columns] == [False, True, None]


def test_bars_stay_inside_the_plot_and_groups_do_not_overlap() -> None:
    chart = grouped_bar_chart([(f"Schedule {i}", [1.4, -0.2]) for i in range(5)], series=["a", "b"], max_value=1.0)
    previous_bottom = 0.0
    for group in chart.groups:
        for bar in group.bars:
            assert chart.plot_left <= bar.x and bar.x + bar.width <= chart.plot_right + 0.1
            assert chart.plot_top <= bar.y and bar.y + bar.height <= chart.plot_bottom
        assert group.bars[0].y >= previous_bottom
        previous_bottom = group.bars[-1].y + group.bars[-1].height
    assert chart.height > chart.plot_bottom  # room for the axis labels


def test_bar_chart_refuses_mismatched_groups_and_reports_empty() -> None:
    with pytest.raises(ValueError, match="2 values for 3 series"):
        grouped_bar_chart([("x", [0.1, 0.2])], series=["a", "b", "c"])
    assert grouped_bar_chart([], series=["a"]).empty


def test_lines_go_up_for_higher_values_in_date_order_with_references_inside() -> None:
    chart = line_chart(
        {
            "Lumbar spine": [(date(2026, 3, 2), -2.4), (date(2022, 3, 1), -1.6), (date(2024, 3, 4), -2.1)],
            "Femoral neck": [(date(2022, 3, 1), -1.2), (date(2026, 3, 2), -1.8)],
        },
        references=[(-1.5, "-1.5"), (-2.0, "-2.0")],
    )
    spine, neck = chart.series
    assert [p.on for p in spine.points] == [date(2022, 3, 1), date(2024, 3, 4), date(2026, 3, 2)]
    assert spine.points[0].x == chart.plot_left and spine.points[-1].x == chart.plot_right
    assert spine.points[0].y < spine.points[1].y < spine.points[2].y  # falling T-score: drawn lower and lower
    assert spine.path.startswith(f"M{spine.points[0].x},{spine.points[0].y} L")
    assert neck.points[0].y < spine.points[0].y  # -1.2 above -1.6
    for ref in chart.references:
        assert chart.plot_top <= ref.position <= chart.plot_bottom
    upper, lower = chart.references
    assert upper.position < lower.position  # -1.5 above -2.0
    assert [t.label for t in chart.x_ticks] == ["Mar 2022", "2023", "2024", "2025", "2026", "Mar 2026"][
        : len(chart.x_ticks)
    ]
    labels = [t.label for t in chart.y_ticks]
    assert labels[0] == "-3.0" and labels[-1] == "-0.5"  # -2.4 and -1.2, padded half a step, whole steps


def test_x_ticks_never_crowd_each_other() -> None:
    chart = line_chart({"s": [(date(2025, 12, 20), -1.0), (date(2026, 1, 10), -1.1)]})
    positions = [t.position for t in chart.x_ticks]
    assert all(b - a >= 60 for a, b in pairwise(positions))


def test_a_single_reading_is_centred_and_no_reading_is_empty() -> None:
    chart = line_chart({"Total hip": [(date(2025, 1, 28), -0.8)]})
    [point] = chart.series[0].points
    assert point.x == pytest.approx((chart.plot_left + chart.plot_right) / 2, abs=0.1)
    assert chart.plot_top < point.y < chart.plot_bottom
    assert not chart.empty
    assert line_chart({}).empty and line_chart({"x": []}).empty


def test_columns_mark_days_on_target_and_leave_future_days_blank() -> None:
    chart = column_chart([("Mon", 1300.0), ("Tue", 600.0), ("Wed", None)], target=1200, unit=" mg")
    mon, tue, wed = chart.columns
    assert (mon.met, tue.met, wed.met) == (True, False, None)
    assert mon.height > tue.height > 0 and wed.height == 0
    assert tue.height == pytest.approx(mon.height * 600 / 1300, abs=0.2)
    assert chart.target is not None and chart.plot_top <= chart.target.position <= chart.plot_bottom
    assert mon.y < chart.target.position < tue.y  # above and below the target rule
    assert chart.y_ticks[0].label == "0" and float(chart.y_ticks[-1].label.replace(",", "")) >= 1300
    assert mon.value_label == "1,300 mg" and wed.value_label == "—"


def test_the_phone_bar_chart_puts_each_label_above_its_bars_inside_a_phone_width() -> None:
    from apps.console.charts import PHONE_BARS, PHONE_WIDTH

    chart = grouped_bar_chart(
        [("Letrozole 2.5 mg", [1.0, 0.5, 0.8]), ("Alendronate 70 mg", [0.2, None, 0.9])],
        series=["90 days", "180 days", "365 days"],
        threshold=0.8,
        **PHONE_BARS,  # type: ignore[arg-type]
    )
    assert chart.width == PHONE_WIDTH and chart.labels_above
    for group in chart.groups:
        assert group.label_y < group.bars[0].y  # the label's baseline is above the first bar
    first, second = chart.groups
    assert first.bars[-1].y + first.bars[-1].height < second.label_y - 12  # no overlap with the next group's label
    assert chart.plot_right <= PHONE_WIDTH - 130  # room after a full bar for "100.0% over 229 days"
