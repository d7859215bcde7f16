"""Chart geometry for the console's server-side SVG: pure functions from values to coordinates, no Django, no I/O.

Templates draw what these return (rectangles, paths, ticks); nothing is fetched from outside the machine, and the
same numbers are shown beside each chart as a table for screen readers and keyboard users.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from math import ceil, floor, log10

__all__ = [
    "Bar",
    "BarChart",
    "BarGroup",
    "Column",
    "ColumnChart",
    "LineChart",
    "Point",
    "Reference",
    "Series",
    "Tick",
    "column_chart",
    "grouped_bar_chart",
    "line_chart",
]


def _floor_percent(value: float) -> str:
    """0.7996 -> "79.9%": one decimal, truncated, so a value under a threshold never reads as on it."""
    tenths = floor(Decimal(str(value)) * 1000)
    return f"{Decimal(tenths) / 10:.1f}%"


def _floor_amount(value: float) -> str:
    """1199.95 -> "1,199.9": whole numbers as they are, others to one decimal, truncated (never up onto a target)."""
    exact = Decimal(str(value))
    if exact == exact.to_integral_value():
        return f"{exact:,.0f}"
    return f"{Decimal(floor(exact * 10)) / 10:,.1f}"


def _r(value: float) -> float:
    """SVG coordinates to a tenth of a pixel: short markup, no visible difference."""
    return round(value, 1)


@dataclass(frozen=True)
class Tick:
    position: float  # x for a horizontal axis, y for a vertical one
    label: str


@dataclass(frozen=True)
class Reference:
    """A horizontal or vertical rule across the plot (a target, a diagnostic threshold)."""

    position: float
    label: str


# --- sizes for a phone ------------------------------------------------------------------------------------------
# A 390 px phone leaves 340 px for a chart (the page's and the card's padding): drawn 340 units wide, a chart is shown
# at its own scale, so its 13 px text stays 13 px (at least 11 px down to a 330 px wide chart). The wide charts
# (1100 units) would be shrunk to a third there, their text to 4 px. The console draws both and shows one by width.
PHONE_WIDTH = 340.0
PHONE_BARS: dict[str, float | bool] = {
    "width": PHONE_WIDTH,
    "label_width": 12.0,
    "right_pad": 140.0,
    "labels_above": True,
}
PHONE_LINES: dict[str, float | bool] = {
    "width": PHONE_WIDTH,
    "height": 240.0,
    "left_pad": 40.0,
    "right_pad": 12.0,
    "references_inside": True,
    "min_tick_gap": 80.0,
}
PHONE_COLUMNS: dict[str, float] = {"width": PHONE_WIDTH}


# --- grouped horizontal bars (adherence per schedule, one bar per window) -----------------------------------------
@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # index into the chart's series names (the template styles bar-0, bar-1, ...)
    value: float | None  # None: no data for this bar (drawn as a label only)
    label: str  # e.g. "78%" or "no data"
    label_x: float
    label_y: float


@dataclass(frozen=True)
class BarGroup:
    label: str
    label_y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    series: tuple[str, ...]
    groups: tuple[BarGroup, ...]
    x_ticks: tuple[Tick, ...]
    threshold: Reference | None
    legend: tuple[tuple[str, float], ...] = field(default=())  # (series name, x) along the top
    labels_above: bool = False  # each group's label on its own line above its bars (a phone's narrow chart)

    @property
    def empty(self) -> bool:
        return not self.groups


def grouped_bar_chart(
    groups: Sequence[tuple[str, Sequence[float | None]]],
    *,
    series: Sequence[str],
    max_value: float = 1.0,
    threshold: float | None = None,
    threshold_label: str = "",
    width: float = 1100,
    label_width: float = 250,  # a 30-character label at 12 px, right-aligned 8 px before the bars
    bar_height: float = 14,
    bar_gap: float = 3,
    group_gap: float = 14,
    percent: bool = True,
    labels: Sequence[Sequence[str | None]] | None = None,
    labels_above: bool = False,
    right_pad: float = 60.0,
) -> BarChart:
    """One group per row label, one bar per series (values 0..max_value, None for no data). A percentage reads with
    one decimal, truncated (0.7996 -> "79.9%", never "80%"); ``labels``, parallel to ``groups``, replace a bar's
    text where not None (e.g. "79.9% over 229 days")."""
    if max_value <= 0:
        raise ValueError("max_value must be positive")
    for label, values in groups:
        if len(values) != len(series):
            raise ValueError(f"group {label!r} has {len(values)} values for {len(series)} series")
    top, bottom_axis = 44.0, 24.0  # legend, then the threshold's label, above the plot
    left, right = label_width, width - right_pad
    span = right - left
    label_row = 18.0 if labels_above else 0.0  # the group's label above its bars rather than to their left
    group_height = label_row + len(series) * bar_height + (len(series) - 1) * bar_gap
    plot_top = top
    plot_bottom = top + len(groups) * group_height + max(0, len(groups) - 1) * group_gap + 8
    height = plot_bottom + bottom_axis

    def x_of(value: float) -> float:
        return left + span * min(max(value, 0.0), max_value) / max_value

    def fmt(value: float) -> str:
        return _floor_percent(value) if percent else f"{value:g}"

    def tick(value: float) -> str:
        return f"{round(value * 100)}%" if percent else f"{value:g}"  # the axis: whole quarters, exact

    out_groups = []
    y = plot_top + 4
    for group_index, (label, values) in enumerate(groups):
        bars = []
        for index, value in enumerate(values):
            bar_y = y + label_row + index * (bar_height + bar_gap)
            bar_width = 0.0 if value is None else x_of(value) - left
            given = labels[group_index][index] if labels is not None else None
            text = given if given is not None else "no data" if value is None else fmt(value)
            bars.append(
                Bar(
                    x=_r(left),
                    y=_r(bar_y),
                    width=_r(bar_width),
                    height=_r(bar_height),
                    series=index,
                    value=value,
                    label=text,
                    label_x=_r(left + bar_width + 4),
                    label_y=_r(bar_y + bar_height - 3),
                )
            )
        label_y = y + label_row - 5 if labels_above else y + group_height / 2 + 4
        out_groups.append(BarGroup(label=label, label_y=_r(label_y), bars=tuple(bars)))
        y += group_height + group_gap

    steps = 4
    ticks = tuple(Tick(_r(x_of(max_value * i / steps)), tick(max_value * i / steps)) for i in range(steps + 1))
    line = Reference(_r(x_of(threshold)), threshold_label) if threshold is not None else None
    legend_step = min(140.0, max(span, width - left - 8) / max(1, len(series)))
    legend = tuple((name, _r(left + i * legend_step)) for i, name in enumerate(series))
    return BarChart(
        width=_r(width),
        height=_r(height),
        plot_left=_r(left),
        plot_right=_r(right),
        plot_top=_r(plot_top),
        plot_bottom=_r(plot_bottom),
        series=tuple(series),
        groups=tuple(out_groups),
        x_ticks=ticks,
        threshold=line,
        legend=legend,
        labels_above=labels_above,
    )


# --- columns (a week's daily calcium against its target) ----------------------------------------------------------
@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    center: float
    label: str
    value: float | None
    value_label: str
    met: bool | None


@dataclass(frozen=True)
class ColumnChart:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    columns: tuple[Column, ...]
    y_ticks: tuple[Tick, ...]
    target: Reference | None


def _nice_step(span: float, count: int) -> float:
    """A 1-2-5 step giving about `count` intervals over `span`."""
    raw = span / max(1, count)
    magnitude = 10 ** floor(log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def column_chart(
    columns: Sequence[tuple[str, float | None]],
    *,
    target: float | None = None,
    target_label: str = "",
    unit: str = "",
    width: float = 540,
    height: float = 220,
) -> ColumnChart:
    """One column per label (None: nothing to show yet, e.g. a day still ahead), with a target rule."""
    left, right, top, bottom = 52.0, width - 12, 16.0, height - 26
    values = [v for _, v in columns if v is not None]
    top_value = max([*values, target or 0.0, 1.0])
    step = _nice_step(top_value, 4)
    y_max = ceil(top_value * 1.1 / step) * step

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * max(0.0, value) / y_max

    slot = (right - left) / max(1, len(columns))
    col_width = slot * 0.6
    out = []
    for index, (label, value) in enumerate(columns):
        x = left + index * slot + (slot - col_width) / 2
        y = y_of(value) if value is not None else bottom
        out.append(
            Column(
                x=_r(x),
                y=_r(y),
                width=_r(col_width),
                height=_r(bottom - y),
                center=_r(x + col_width / 2),
                label=label,
                value=value,
                value_label="—" if value is None else f"{_floor_amount(value)}{unit}",
                met=None if value is None or target is None else value >= target,
            )
        )
    ticks = []
    tick = 0.0
    while tick <= y_max + 1e-9:
        ticks.append(Tick(_r(y_of(tick)), f"{tick:,.0f}"))
        tick += step
    return ColumnChart(
        width=_r(width),
        height=_r(height),
        plot_left=_r(left),
        plot_right=_r(right),
        plot_top=_r(top),
        plot_bottom=_r(bottom),
        columns=tuple(out),
        y_ticks=tuple(ticks),
        target=Reference(_r(y_of(target)), target_label) if target is not None else None,
    )


# --- lines over dates (T-score trend by site) -----------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    x: float
    y: float
    on: date
    value: float


@dataclass(frozen=True)
class Series:
    name: str
    index: int  # the template styles line-0, line-1, ... (colour and dash pattern, so not by colour alone)
    points: tuple[Point, ...]
    path: str  # SVG path data through the points, in date order


@dataclass(frozen=True)
class LineChart:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    series: tuple[Series, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    references: tuple[Reference, ...]
    references_inside: bool = False  # reference labels above their rule inside the plot (no room on the right)

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


def line_chart(
    series: Mapping[str, Sequence[tuple[date, float]]],
    *,
    references: Sequence[tuple[float, str]] = (),
    y_step: float = 0.5,
    width: float = 1100,
    height: float = 280,
    right_pad: float = 190.0,
    references_inside: bool = False,
    left_pad: float = 56.0,
    min_tick_gap: float = 60.0,
    y_range: tuple[float, float] | None = None,
    y_format: str = "{:+.1f}",
) -> LineChart:
    """Values over dates, one line per series; the y range covers every value and reference, padded half a step
    and rounded to whole steps, with higher values drawn higher. A bounded scale (a 0-10 score) passes its own
    `y_range`; `y_format` formats the y labels (zero reads "0.0" in the default, signed format)."""
    left, right, top, bottom = left_pad, width - right_pad, 14.0, height - 30  # right_pad: the reference labels
    values = [v for rows in series.values() for _, v in rows] + [value for value, _ in references]
    dates = [d for rows in series.values() for d, _ in rows]
    y_low = floor((min(values) - y_step / 2) / y_step) * y_step if values else -1.0
    y_high = ceil((max(values) + y_step / 2) / y_step) * y_step if values else 1.0
    if y_range is not None:
        y_low, y_high = y_range
    first, last = (min(dates), max(dates)) if dates else (date(2000, 1, 1), date(2000, 1, 1))
    days = (last - first).days

    def x_of(day: date) -> float:
        if days == 0:
            return (left + right) / 2
        return left + (right - left) * (day - first).days / days

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * (value - y_low) / (y_high - y_low)

    out = []
    for index, (name, rows) in enumerate(series.items()):
        points = tuple(Point(_r(x_of(d)), _r(y_of(v)), d, v) for d, v in sorted(rows))
        path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points))
        out.append(Series(name=name, index=index, points=points, path=path))

    y_ticks = []
    count = round((y_high - y_low) / y_step)
    every = max(1, ceil(count / 8))  # at most about eight labels
    for i in range(0, count + 1, every):
        value = y_low + i * y_step
        signed_zero = not value and y_format == "{:+.1f}"
        y_ticks.append(Tick(_r(y_of(value)), "0.0" if signed_zero else y_format.format(value)))

    x_ticks: list[Tick] = []
    if dates:
        candidates = [first, *(date(year, 1, 1) for year in range(first.year + 1, last.year + 1)), last]
        for day in candidates:
            x = _r(x_of(day))
            label = str(day.year) if (day.month, day.day) == (1, 1) else f"{day:%b %Y}"
            if all(abs(x - t.position) >= min_tick_gap for t in x_ticks):
                x_ticks.append(Tick(x, label))
    return LineChart(
        width=_r(width),
        height=_r(height),
        plot_left=_r(left),
        plot_right=_r(right),
        plot_top=_r(top),
        plot_bottom=_r(bottom),
        series=tuple(out),
        x_ticks=tuple(x_ticks),
        y_ticks=tuple(y_ticks),
        references=tuple(Reference(_r(y_of(value)), label) for value, label in references),
        references_inside=references_inside,
    )
