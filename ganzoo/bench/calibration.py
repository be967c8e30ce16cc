"""``ganzoo calibrate results/mnist5k``: how often the verdict and the groups err, simulated at
a table's own seed spreads.

For every judged cell of the table (a row's metric with a margin ``delta``), ``sigma`` is the
row's sample std over its seeds on the comparison scale. Normal samples with that spread are
compared ``reps`` times per scenario (fixed seed), exactly as :func:`ganzoo.bench.stats.judge`
compares real ones:

- ``P(REPRODUCED | no shift)`` at the seed count :func:`~ganzoo.bench.stats.seeds_needed`
  recommends: the power the formula promises (goal >= 0.80);
- ``P(DIFFERENT | shift 2 delta)`` at 10 seeds a side (goal >= 0.80), and at ``n*``: a cell
  whose spread is large against its margin cannot find a shift of 2 delta at 10 seeds, and
  no rule can; at the seed count that settles equivalence it can;
- ``P(REPRODUCED | shift 2 delta)``, the largest over 2 to 50 seeds a side (goal <= 0.05), and
  at a shift of ``delta`` itself, the worst case two one-sided tests at 5% allow (<= 0.05).

For the significance groups: every row of a headline metric gets the same true mean and its own
spread, at the table's seed count; the family-wise rate of a false separation (any pair
separated) should stay <= 0.05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from ganzoo.bench.stats import (
    ALPHA,
    DIFFERENT,
    POWER,
    REPRODUCED,
    classify,
    holm,
    on_scale,
    seeds_needed,
    welch,
)
from ganzoo.bench.table import final_metrics, load_manifest, markdown_table
from ganzoo.bench.verdict import by_row, compared_metrics, finished, load_margins
from ganzoo.metrics.registry import measure

SHIFTED_N = 10  # seeds a side at which a shift of 2 delta should be found
ANY_N = (2, 3, 5, 10, 20, 50)  # seed counts over which P(REPRODUCED | 2 delta) is maximised


@dataclass(frozen=True)
class CellSpread:
    """A judged cell of a table: its spread over seeds and margin on the comparison scale."""

    row: str
    metric: str
    sigma: float
    delta: float
    n: int


def rate(rng: np.random.Generator, sigma: float, delta: float, n: int, shift: float,
         reps: int, verdict: str) -> float:
    """The share of ``reps`` simulated comparisons (``n`` seeds a side, B shifted by ``shift``)
    whose verdict is ``verdict``."""
    a = rng.normal(0.0, sigma, size=(reps, n))
    b = rng.normal(shift, sigma, size=(reps, n))
    _, _, _, ci90, ci95 = welch(a, b)
    return float(np.mean(classify(ci90, ci95, delta) == verdict))


def false_separation_rate(rng: np.random.Generator, sigmas: list[float], n: int, reps: int,
                          alpha: float = ALPHA) -> float:
    """P(the groups separate any pair) when every row has the same true mean: pairwise Welch
    tests, Holm-adjusted per simulated table."""
    samples = [rng.normal(0.0, s, size=(reps, n)) for s in sigmas]
    pairs = [(i, j) for i in range(len(samples)) for j in range(i + 1, len(samples))]
    pvalues = np.stack(
        [stats.ttest_ind(samples[i], samples[j], axis=-1, equal_var=False).pvalue
         for i, j in pairs], axis=-1)
    return float(np.mean((holm(pvalues) < alpha).any(axis=-1)))


def cell_spreads(manifest: dict[str, Any], results_dir: Path) -> list[CellSpread]:
    """The table's judged cells with a spread: sigma on the comparison scale, delta, n."""
    margins = load_margins(results_dir)
    cells = []
    for row, entries in by_row(manifest["runs"]).items():
        done = finished(entries)
        for metric in compared_metrics(entries):
            margin = margins.get(metric) or measure(metric).margin
            values = np.array([v for v in (final_metrics(e).get(metric) for e in done)
                               if isinstance(v, int | float) and math.isfinite(v)], dtype=float)
            if margin is None or len(values) < 2 or (margin.log_scale and np.any(values <= 0)):
                continue
            sigma = float(np.std(on_scale(values, margin.log_scale), ddof=1))
            if sigma > 0:
                cells.append(CellSpread(row, metric, sigma, margin.delta(values.mean()),
                                        len(values)))
    return cells


def calibrate(results_dir: str | Path, reps: int = 2000, seed: int = 0) -> str:
    """The calibration report of the table in ``results_dir`` (see the module docstring)."""
    results_dir = Path(results_dir)
    manifest = load_manifest(results_dir, "calibrate")
    cells = cell_spreads(manifest, results_dir)
    rng = np.random.default_rng(seed)
    keys = ("power", "found", "found_star", "false_any", "false_edge")
    lines, summary = [], {k: [] for k in keys}
    for c in cells:
        n_star = seeds_needed(c.sigma, c.delta)
        power = rate(rng, c.sigma, c.delta, n_star, 0.0, reps, REPRODUCED)
        found = rate(rng, c.sigma, c.delta, SHIFTED_N, 2 * c.delta, reps, DIFFERENT)
        found_star = rate(rng, c.sigma, c.delta, n_star, 2 * c.delta, reps, DIFFERENT)
        false_any = max(rate(rng, c.sigma, c.delta, n, 2 * c.delta, reps, REPRODUCED)
                        for n in ANY_N)
        false_edge = rate(rng, c.sigma, c.delta, n_star, c.delta, reps, REPRODUCED)
        values = (power, found, found_star, false_any, false_edge)
        for key, value in zip(keys, values, strict=True):
            summary[key].append(value)
        lines.append([c.row, c.metric, f"{c.sigma:.4g}", f"{c.delta:.4g}", n_star,
                      *(f"{v:.3f}" for v in values)])
    columns = ["model", "metric", "sigma", "delta", "n*", "P(REPRODUCED | 0, n*)",
               f"P(DIFFERENT | 2δ, n={SHIFTED_N})", "P(DIFFERENT | 2δ, n*)",
               "max_n P(REPRODUCED | 2δ)", "P(REPRODUCED | δ, n*)"]
    se = math.sqrt(0.25 / reps)
    out = [
        f"calibrate: {results_dir} ({len(cells)} judged cells with a spread; {reps} simulated "
        f"comparisons per cell and scenario, seed {seed}; Monte Carlo SE <= {se:.3f})",
        "sigma: the row's std over seeds on the comparison scale (log for FID and KID); "
        "delta: the margin on that scale; n*: seeds per side the formula recommends",
        "", *markdown_table(columns, lines), "",
        summary_line("P(REPRODUCED | no shift, n*)", summary["power"], f">= {POWER:.2f}"),
        summary_line(f"P(DIFFERENT | shift 2 delta, n = {SHIFTED_N})", summary["found"], ">= 0.80"),
        summary_line("P(DIFFERENT | shift 2 delta, n*)", summary["found_star"], ">= 0.80"),
        summary_line(f"P(REPRODUCED | shift 2 delta), max over n in {ANY_N}",
                     summary["false_any"], f"<= {ALPHA:.2f}"),
        summary_line("P(REPRODUCED | shift delta, n*) (TOST's worst case)", summary["false_edge"],
                     f"<= {ALPHA:.2f}"),
    ]
    out += group_lines(manifest, cells, rng, reps)
    return "\n".join(out)


def group_lines(manifest: dict[str, Any], cells: list[CellSpread], rng: np.random.Generator,
                reps: int) -> list[str]:
    """False separation rates of the groups, per headline metric of the table."""
    lines = []
    for metric in dict.fromkeys(c.metric for c in cells):
        if not measure(metric).headline:
            continue
        spreads = [c for c in cells if c.metric == metric]
        if len(spreads) < 2:
            continue
        n = min(c.n for c in spreads)
        fwer = false_separation_rate(rng, [c.sigma for c in spreads], n, reps)
        lines.append(f"groups {metric}: P(any false separation | no true difference) = "
                     f"{fwer:.3f} over {len(spreads)} rows at n = {n} (goal <= {ALPHA:.2f}, "
                     "family-wise)")
    return lines


def summary_line(name: str, values: list[float], goal: str) -> str:
    if not values:
        return f"{name}: no cell"
    array = np.array(values)
    met = int(np.sum(_meets(array, goal)))
    return (f"{name}: min {array.min():.3f}, median {np.median(array):.3f}, max {array.max():.3f}"
            f" over {len(array)} cells; goal {goal}: met by {met}/{len(array)}")


def _meets(values: np.ndarray, goal: str) -> np.ndarray:
    sign, bound = goal.split()
    return values >= float(bound) if sign == ">=" else values <= float(bound)
