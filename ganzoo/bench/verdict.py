"""``ganzoo verdict A B``: do two results directories say the same thing?

    ganzoo verdict results/mnist5k runs/tables/mnist5k          # one line per cell + summary
    ganzoo verdict results/mnist5k rerun/ --json verdict.json   # also machine-readable

Compares two results directories (each with the ``runs.json`` that ``ganzoo table`` writes)
without training anything. For each cell (row x metric): ``d = mean_B - mean_A`` over training
seeds on the metric's comparison scale (log for FID and KID, whose margins are ratios), Welch's
interval of ``d`` and the metric's equivalence margin ``delta`` (its
:class:`~ganzoo.metrics.registry.Measure`, or the ``margins.yaml`` beside A's runs.json). The
verdict (:func:`ganzoo.bench.stats.judge`): REPRODUCED, INCONCLUSIVE (with the seeds per side
that would settle it) or DIFFERENT. G and D steps and images seen are set by the config and
must be equal. Exit status 1 when any cell is DIFFERENT. ``ganzoo reproduce`` and the main
job's closing comparison build the same cells and print the same report.

A ``margins.yaml`` overrides the registry's margins for one table, e.g.::

    fid: {ratio: 1.2}            # FID ratio within 1.2
    code_accuracy: {absolute: 0.02}
    is: {relative: 0.05}
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from ganzoo.atomic import write_text_atomic
from ganzoo.bench.stats import DIFFERENT, INCONCLUSIVE, REPRODUCED, VERDICTS, judge, on_scale
from ganzoo.bench.table import (
    COUNTERS,
    final_metrics,
    fmt,
    load_manifest,
    markdown_table,
    seed_order,
)
from ganzoo.errors import ConfigError
from ganzoo.metrics import builtin  # noqa: F401  (registers the metrics' measures)
from ganzoo.metrics.registry import Margin, measure, measures_in_order
from ganzoo.runs.records import DONE_STATUSES, cost

MARGINS_FILE = "margins.yaml"
INFO = "info"  # a line of the report that is not judged (wall time, a metric with no margin)
RULE = (
    "REPRODUCED when the 90% CI of d = mean_B - mean_A (Welch, over training seeds) lies "
    "inside the margin (two one-sided tests at 5%); DIFFERENT when the 95% CI lies entirely "
    "outside it; INCONCLUSIVE otherwise, with the seeds per side that would settle it at 80% "
    "power; FID and KID on the log scale (margins as ratios); G/D steps and images seen must "
    "be equal"
)


# ------------------------------------------------------------------ inputs
def load_margins(results_dir: str | Path | None) -> dict[str, Margin]:
    """The margins a table overrides (``margins.yaml`` beside its runs.json), by metric."""
    path = Path(results_dir) / MARGINS_FILE if results_dir is not None else None
    if path is None or not path.is_file():
        return {}
    try:
        given = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"verdict: {path} is not YAML ({str(err).splitlines()[0]})") from None
    margins = {}
    for metric, spec in (given.items() if isinstance(given, dict) else [("?", None)]):
        if not isinstance(spec, dict) or len(spec) != 1:
            raise ConfigError(f"verdict: {path}: {metric}: give one of ratio, relative or "
                              "absolute with its value, e.g. `fid: {ratio: 1.15}`")
        (kind, value), = spec.items()
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(f"verdict: {path}: {metric}: {value!r} is not a number")
        try:
            margins[metric] = Margin(kind, float(value))
        except ConfigError as err:
            raise ConfigError(f"verdict: {path}: {metric}: {err}") from None
    return margins


# ------------------------------------------------------------------ cells
@dataclass
class Side:
    """One side of a cell: mean, sample std and count over seeds, which seeds, and the
    values themselves (the finite ones, in seed order)."""

    mean: float | None
    sd: float | None
    n: int
    seeds: list[Any]
    values: list[float]

    @classmethod
    def of(cls, values: list[Any], seeds: list[Any]) -> Side:
        kept = [(float(v), s) for v, s in zip(values, seeds, strict=True) if _number(v)]
        numbers = [v for v, _ in kept]
        sd = statistics.stdev(numbers) if len(numbers) > 1 else None
        mean = statistics.fmean(numbers) if numbers else None
        return cls(mean, sd, len(numbers), [s for _, s in kept], numbers)


@dataclass
class Cell:
    """One line of a verdict. ``d``, ``ci90``, ``ci95`` and ``delta`` are on the comparison
    ``scale`` (``log``: log of the means' ratio; ``linear``; ``exact``: counters)."""

    row: str
    metric: str
    verdict: str
    a: Side | str
    b: Side | str
    scale: str = "linear"
    d: float | None = None
    ci90: tuple[float, float] | None = None
    ci95: tuple[float, float] | None = None
    delta: float | None = None
    n_needed: int | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict != DIFFERENT

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("d", "delta"):
            data[key] = _finite(data[key])
        for key in ("ci90", "ci95"):
            data[key] = None if data[key] is None else [_finite(v) for v in data[key]]
        return data


def by_row(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    rows = dict.fromkeys(e["row"] for e in entries)
    return {row: [e for e in entries if e["row"] == row] for row in rows}


def finished(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("status") == "finished"]


def compared_metrics(entries: list[dict[str, Any]]) -> list[str]:
    """The metrics of a row's finished runs that a verdict compares (no per-class breakdowns)."""
    names = {m for e in finished(entries) for m in final_metrics(e)
             if "_class_" not in m and measure(m).per_run}
    return measures_in_order(names)


def compare_sets(
    a_entries: list[dict[str, Any]], b_entries: list[dict[str, Any]],
    margins: dict[str, Margin] | None = None,
) -> list[Cell]:
    """The cells of every row of ``b_entries`` (runs.json entries or records with a ``row``)
    against the runs of that row in ``a_entries``: status, counters, metrics, wall time."""
    margins = margins or {}
    cells: list[Cell] = []
    for row, new in by_row(b_entries).items():
        old = [e for e in a_entries if e["row"] == row]
        cells.append(status_cell(row, old, new))
        old_done, new_done = finished(old), finished(new)
        for counter in COUNTERS:
            before = [cost(e)[counter] for e in old_done]
            if before and None not in before:
                after = [cost(e)[counter] for e in new_done]
                cells.append(counter_cell(row, counter, old_done, new_done, before, after))
        before, after = set(compared_metrics(old)), set(compared_metrics(new))
        for metric in measures_in_order(before | after):
            if before and metric not in before:  # a column A's table did not have yet
                cells.append(Cell(row, metric, INFO, *_sides(
                    old_done, new_done, lambda e, m=metric: final_metrics(e).get(m)),
                    note="only in B: not compared"))
                continue
            cells.append(metric_cell(row, metric, old_done, new_done, margins.get(metric)))
        cells.append(Cell(row, "wall time s", INFO,
                          *_sides(old, new, lambda e: e.get("wall_time_s"))))
    return cells


def _sides(old: list[dict], new: list[dict], value) -> tuple[Side, Side]:
    """Both sides of a cell whose per-run value is ``value(entry)``."""
    def side(entries: list[dict]) -> Side:
        return Side.of([value(e) for e in entries], [e.get("seed") for e in entries])

    return side(old), side(new)


def status_cell(row: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Cell:
    """DIFFERENT when a B run did not complete or the row finished on one side only."""
    before, after = [e.get("status") for e in old], [e.get("status") for e in new]
    incomplete = sorted({str(s) for s in after if s not in DONE_STATUSES})
    note = "B has " + "/".join(incomplete) + " runs" if incomplete else (
        "finished on one side only" if ("finished" in before) != ("finished" in after) else ""
    )
    return Cell(row, "status", DIFFERENT if note else INFO, _counts(before), _counts(after),
                scale="exact", note=note)


def counter_cell(row: str, counter: str, old: list[dict], new: list[dict], before: list,
                 after: list) -> Cell:
    """G steps, D steps, images seen: set by the config, so every B value must be an A value."""
    same = bool(after) and all(v in before for v in after)
    a = Side.of(before, [e.get("seed") for e in old])
    b = Side.of(after, [e.get("seed") for e in new])
    d = None if a.mean is None or b.mean is None else b.mean - a.mean
    return Cell(row, counter.replace("_", " "), REPRODUCED if same else DIFFERENT, a, b,
                scale="exact", d=d, delta=0.0, note="" if same else "must be equal")


def metric_cell(row: str, metric: str, old: list[dict], new: list[dict],
                override: Margin | None = None) -> Cell:
    a, b = _sides(old, new, lambda e: final_metrics(e).get(metric))
    margin = override or measure(metric).margin
    if a.n == 0 or b.n == 0:
        verdict = DIFFERENT if a.n else INFO
        return Cell(row, metric, verdict, a, b, note=f"no value in {'B' if a.n else 'A'}")
    if margin is None:
        return Cell(row, metric, INFO, a, b, d=b.mean - a.mean, note="no margin declared")
    scale = "log" if margin.log_scale else "linear"
    try:
        left, right = (on_scale(side.values, margin.log_scale) for side in (a, b))
    except ValueError:
        return Cell(row, metric, INCONCLUSIVE, a, b, scale=scale, d=b.mean - a.mean,
                    note="a value <= 0: no log ratio")
    delta = margin.delta(a.mean)
    j = judge(left, right, delta)
    return Cell(row, metric, j.verdict, a, b, scale=scale, d=j.d, ci90=j.ci90, ci95=j.ci95,
                delta=delta, n_needed=j.n_needed, note=j.note)


# ------------------------------------------------------------------ the report
COLUMNS = ["model", "cell", "A mean ± sd (n)", "B mean ± sd (n)", "B vs A [90% CI]", "margin",
           "verdict"]


def cell_texts(c: Cell) -> list[str]:
    """One line of the report (:data:`COLUMNS`), as the printed verdict and the site show it."""
    samples = [_side_text(s, c.metric) for s in (c.a, c.b)]
    return [c.row, c.metric, *samples, _difference(c), _margin(c), _verdict_text(c)]


def render(cells: list[Cell], title: list[str]) -> str:
    """The report: ``title`` lines, one table line per cell, the summary line."""
    lines = [cell_texts(c) for c in cells]
    return "\n".join([*title, "", *markdown_table(COLUMNS, lines), "", summary_line(cells)])


def summary_line(cells: list[Cell]) -> str:
    """``12 REPRODUCED, 50 INCONCLUSIVE, 0 DIFFERENT`` (information lines not counted)."""
    counts = Counter(c.verdict for c in cells)
    return ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)


def seeds_line(a_label: str, a_entries: list[dict], b_label: str, b_entries: list[dict]) -> str:
    """Which seeds each side used, and a warning when B reuses A's."""
    def seeds(entries: list[dict]) -> list[Any]:
        return sorted({e.get("seed") for e in entries}, key=seed_order)

    a, b = seeds(a_entries), seeds(b_entries)
    line = (f"Seeds: A ({a_label}) {', '.join(map(str, a))}; "
            f"B ({b_label}) {', '.join(map(str, b))}")
    shared = [s for s in b if s in a]
    if shared:
        line += (f". B reuses A's seeds {', '.join(map(str, shared))}: on the same CPU type "
                 "that checks determinism, not reproduction (rerun with other seeds)")
    return line


def _side_text(side: Side | str, metric: str) -> str:
    if isinstance(side, str):
        return side
    if side.mean is None:
        return f"— ({side.n})"
    value = _number_text(side.mean, metric)
    spread = "" if side.sd is None else f" ± {_number_text(side.sd, metric)}"
    return f"{value}{spread} ({side.n})"


def _difference(c: Cell) -> str:
    if c.d is None or (isinstance(c.d, float) and math.isnan(c.d)):
        return ""
    if c.scale == "log":
        ratio = f"x{math.exp(c.d):.3f}"
        if c.ci90 is None or math.isnan(c.ci90[0]):
            return ratio
        return f"{ratio} [x{math.exp(c.ci90[0]):.3f}, x{math.exp(c.ci90[1]):.3f}]"
    text = _signed(c.d, c.metric)
    if c.ci90 is None or math.isnan(c.ci90[0]) or c.scale == "exact":
        return text
    return f"{text} [{_signed(c.ci90[0], c.metric)}, {_signed(c.ci90[1], c.metric)}]"


def _margin(c: Cell) -> str:
    if c.scale == "exact" and c.delta is not None:
        return "equal"
    if c.delta is None:
        return ""
    if c.scale == "log":
        return f"x{math.exp(c.delta):.3g}"
    return f"±{_number_text(c.delta, c.metric)}"


def _verdict_text(c: Cell) -> str:
    text = c.verdict
    if c.verdict == INCONCLUSIVE and c.n_needed:
        text += f" (needs {c.n_needed} seeds a side)"
    return text + (f" ({c.note})" if c.note else "")


def _number_text(value: float, metric: str) -> str:
    return fmt(value, metric.replace(" ", "_"))


def _signed(value: float, metric: str) -> str:
    return ("+" if value >= 0 else "-") + _number_text(abs(value), metric)


def _counts(statuses: list[Any]) -> str:
    return ", ".join(f"{n} {s}" for s, n in Counter(map(str, statuses)).items())


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(float(value))


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def report_json(cells: list[Cell], **context: Any) -> dict[str, Any]:
    """The verdict as ``ganzoo verdict --json`` writes it."""
    counts = Counter(c.verdict for c in cells)
    return {**context, "rule": RULE, "summary": {v: counts.get(v, 0) for v in VERDICTS},
            "cells": [c.as_json() for c in cells]}


# ------------------------------------------------------------------ the command
def check_comparable(a: dict[str, Any], b: dict[str, Any], a_dir: Path, b_dir: Path) -> None:
    """One-line errors for result sets a verdict cannot compare."""
    if a.get("benchmark") != b.get("benchmark"):
        raise ConfigError(f"verdict: {a_dir} is benchmark {a.get('benchmark')!r} and {b_dir} is "
                          f"{b.get('benchmark')!r}; compare tables of one benchmark")
    rows_a, rows_b = by_row(a["runs"]), by_row(b["runs"])
    if set(rows_a) != set(rows_b):
        only_a, only_b = sorted(set(rows_a) - set(rows_b)), sorted(set(rows_b) - set(rows_a))
        raise ConfigError(f"verdict: the rows differ: only in A {only_a or 'none'}, only in B "
                          f"{only_b or 'none'}")
    for row in rows_a:
        for label, rows, path in (("A", rows_a, a_dir), ("B", rows_b, b_dir)):
            n = len(finished(rows[row]))
            if n < 2:
                raise ConfigError(f"verdict: {row} has {n} finished run(s) in {label} ({path}); "
                                  "a verdict over seeds needs at least 2 a side")
        # B may add columns (reported, not judged); a column of A that B lacks is an error
        metrics_a, metrics_b = compared_metrics(rows_a[row]), compared_metrics(rows_b[row])
        if set(metrics_a) - set(metrics_b):
            raise ConfigError(
                f"verdict: {row}: the metrics differ: only in A "
                f"{sorted(set(metrics_a) - set(metrics_b))}, only in B "
                f"{sorted(set(metrics_b) - set(metrics_a)) or 'none'}"
            )


def verdict(a_dir: str | Path, b_dir: str | Path,
            json_path: str | Path | None = None) -> tuple[list[Cell], str]:
    """The cells and the printed report of B (``b_dir``) against A (``a_dir``); with
    ``json_path``, the JSON report too (written only when both inputs are valid)."""
    a_dir, b_dir = Path(a_dir), Path(b_dir)
    a, b = load_manifest(a_dir, "verdict"), load_manifest(b_dir, "verdict")
    check_comparable(a, b, a_dir, b_dir)
    margins = load_margins(a_dir)
    cells = compare_sets(a["runs"], b["runs"], margins)
    title = [f"verdict: {b_dir} (B) against {a_dir} (A), benchmark {a.get('benchmark')}",
             seeds_line(str(a_dir), a["runs"], str(b_dir), b["runs"]),
             f"Rule: {RULE}" + (f"; margins from {a_dir / MARGINS_FILE}" if margins else "")]
    report = render(cells, title)
    if json_path is not None:
        data = report_json(cells, a=str(a_dir), b=str(b_dir), benchmark=a.get("benchmark"))
        write_text_atomic(json_path, json.dumps(data, indent=2) + "\n")
    return cells, report
