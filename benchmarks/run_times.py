"""Run wall times of results tables side by side (issue [5/6]'s main-job comparison): each
row's mean run wall time (``wall_time_s`` in the table's ``runs.json``, from the start of its
fit to its end, evaluation included) and the sum over all runs, for each table given, with
each table's ratio to the first.

    .venv/bin/python benchmarks/run_times.py BEFORE_TABLE AFTER_TABLE [MORE ...]

A table is a directory holding ``runs.json`` (``results/mnist5k``, ``runs/tables/mnist5k``).
Rows are matched by their ``row`` in it, the variant's name, so tables whose labels differ by
their ``+tokens`` (levers, precision) line up.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def walls(table: Path) -> dict[str, list[float]]:
    """Each row's run wall times (s) in ``table/runs.json``."""
    rows: dict[str, list[float]] = {}
    for run in json.loads((table / "runs.json").read_text())["runs"]:
        rows.setdefault(run["row"], []).append(float(run["wall_time_s"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+", type=Path)
    tables = parser.parse_args().tables
    found = [walls(t) for t in tables]
    names = [t.as_posix() for t in tables]
    print("| row | " + " | ".join(f"s a run: {n}" for n in names) + " | ratio to the first |")
    print("|---|" + "---|" * len(names) + "---|")
    for row in found[0]:
        means = [statistics.mean(f[row]) if row in f else float("nan") for f in found]
        ratios = ", ".join(f"{m / means[0]:.2f}" for m in means[1:])
        print(f"| {row} | " + " | ".join(f"{m:.0f}" for m in means) + f" | {ratios} |")
    sums = [sum(sum(v) for v in f.values()) for f in found]
    counts = [sum(len(v) for v in f.values()) for f in found]
    ratios = ", ".join(f"{s / sums[0]:.3f}" for s in sums[1:])
    print("| summed over the runs | " + " | ".join(
        f"{s:,.0f} ({c} runs)" for s, c in zip(sums, counts, strict=True)) + f" | {ratios} |")


if __name__ == "__main__":
    main()
