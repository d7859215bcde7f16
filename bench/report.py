"""What a benchmark hands back, and how it is shown: a table for people, JSON for machines.

Columns: name, n, median ms, p95 ms, queries, and the ratio of the row's median to its baseline's (a row measured in
the same run, at the same n, doing the least work that gives the same answer).
"""

import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

_STARTED = time.perf_counter()


def progress(message: str) -> None:
    """A line on stderr (stdout is kept for the table or the JSON)."""
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least `fraction` of the samples at or below it."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Row:
    name: str
    n: int
    samples_ms: list[float]
    queries: int | None = None
    baseline: str | None = None  # the name of the row with the same n that this one is compared with

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else math.nan

    @property
    def p95_ms(self) -> float:
        return percentile(self.samples_ms, 0.95)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n": self.n,
            "median_ms": round(self.median_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "min_ms": round(min(self.samples_ms), 3) if self.samples_ms else None,
            "mean_ms": round(statistics.fmean(self.samples_ms), 3) if self.samples_ms else None,
            "queries": self.queries,
            "baseline": self.baseline,
            "samples_ms": [round(s, 3) for s in self.samples_ms],
        }


@dataclass
class Report:
    benchmark: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # printed under the table
    figures: dict[str, Any] = field(default_factory=dict)  # derived figures (scaling ratios, plans) for --json

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def row(self, name: str, n: int) -> Row:
        for row in self.rows:
            if row.name == name and row.n == n:
                return row
        raise KeyError(f"No row {name!r} at n={n}.")

    def ratio(self, row: Row) -> float | None:
        """The row's median over its baseline's; None for rows without a baseline."""
        if row.baseline is None:
            return None
        base = self.row(row.baseline, row.n).median_ms
        return row.median_ms / base if base > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for row in self.rows:
            item = row.to_dict()
            ratio = self.ratio(row)
            item["ratio_vs_baseline"] = None if ratio is None else round(ratio, 3)
            rows.append(item)
        return {
            "benchmark": self.benchmark,
            "description": self.description,
            "params": self.params,
            "rows": rows,
            "figures": self.figures,
            "notes": self.notes,
        }


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "nan"
    return f"{value:,.{digits}f}"


def render_table(report: Report) -> str:
    baselines = {(row.baseline, row.n) for row in report.rows if row.baseline is not None}
    header = ["name", "n", "median ms", "p95 ms", "queries", "ratio vs baseline"]
    body = []
    for row in report.rows:
        ratio = report.ratio(row)
        shown = _fmt(ratio) + "x" if ratio is not None else ("(baseline)" if (row.name, row.n) in baselines else "-")
        body.append(
            [
                row.name,
                f"{row.n:,}",
                _fmt(row.median_ms),
                _fmt(row.p95_ms),
                "-" if row.queries is None else str(row.queries),
                shown,
            ]
        )
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    out = [f"{report.benchmark}: {report.description}"]
    if report.params:
        out.append("  " + ", ".join(f"{key}={value}" for key, value in report.params.items()))
    out += ["", line(header), line(["-" * w for w in widths]), *(line(cells) for cells in body)]
    if report.notes:
        out += ["", *report.notes]
    return "\n".join(out)


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str)
