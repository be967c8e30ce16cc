"""Results tables from run records: ``ganzoo table runs/mnist5k`` -> ``results/mnist5k/``.

Writes ``table.md`` (a header with command, date, commit, machine, versions, protocol and budget;
one row per variant, i.e. per set of runs that differ only in ``seed_everything``: metrics and
cost as ``mean ± std`` over seeds with ``n``; then every run), ``table.csv`` (``<metric>_mean``,
``_std``, ``_n``), ``curves.csv`` with its plots (toy data: modes covered and HQ share versus
epoch), ``grids/<row>.png`` (each row's best run: lowest FID, or most modes covered),
``grids_over_time/<row>.png`` (that run's periodic grids side by side) and ``runs.json`` (what
``ganzoo reproduce`` re-runs). pandas groups, aggregates and writes the CSV files and the W&B
table; the markdown is written here, unpadded (``to_markdown`` pads every cell to its column's
width, which would rewrite every line of the committed tables).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganzoo.atomic import atomic_path, write_text_atomic
from ganzoo.bench import protocol, recipe
from ganzoo.bench.stats import (
    ALPHA,
    BOOTSTRAP_FROM,
    mean_interval,
    on_scale,
    rank_text,
    significance_groups,
)
from ganzoo.errors import ConfigError
from ganzoo.metrics import builtin  # noqa: F401  (registers the metrics' measures)
from ganzoo.metrics.registry import METRICS, measure, measures_in_order
from ganzoo.models.legacy import upgrade_config
from ganzoo.plotting import pyplot
from ganzoo.runs.naming import NOT_IN_NAME, is_under, sanitize
from ganzoo.runs.records import DONE_STATUSES, cost, git_info, write_json_atomic

NOT_IN_ROW = (*NOT_IN_NAME, "seed_everything")  # runs differing only in these share a row
# The cost of a row, beside its metrics: set by the budget (counters) or measured.
COST_TITLES = {"g_steps": "G steps", "d_steps": "D steps", "images_seen": "images seen",
               "wall_time_s": "wall time", "images_per_s": "images/s"}
COST, COUNTERS = tuple(COST_TITLES), ("g_steps", "d_steps", "images_seen")
# (metric, x axis, file, log scale): the curves written from the evaluation histories, as
# the metrics' measures ask for them. The toy metrics run against epochs: every run of a toy
# table sees the same real images per epoch, while its G steps differ with n_critic.
CURVES = tuple((m.name, x, f"{m.name}_vs_{x.removesuffix('_s')}.png", m.log_scale)
               for spec in METRICS.values() for m in spec.measures for x in m.curves)
AXIS_TITLES = {"g_steps": "generator steps", "wall_time_s": "wall time (s), evaluation included",
               "epoch": "epochs (passes over the training split in D steps)"}
GRIDS_OVER_TIME = 6  # snapshots per row in grids_over_time/<row>.png
MANIFEST_KEYS = ("run_name", "run_dir", "variant", "status", "seed", "config", "argv", "final",
                 "best", "wall_time_s", "progress", "git", "versions", "device", "started_at",
                 "ended_at")


# ------------------------------------------------------------------ loading and grouping
def find_records(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every record.json under ``paths`` (run or benchmark directories, or record files)."""
    records = []
    for path in map(Path, paths):
        for file in [path] if path.is_file() else sorted(path.rglob("record.json")):
            try:
                record = json.loads(file.read_text())
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as err:  # JSONDecodeError is a ValueError
                print(f"ganzoo table: warning: skipping {file}: unreadable run record ({err}); "
                      "rerun that run or delete its directory", file=sys.stderr)
                continue
            record.setdefault("run_dir", str(file.parent))
            records.append(record)
    return records


def final_metrics(record: dict[str, Any]) -> dict[str, float]:
    """The final evaluation's values over which seeds vary (not the spreads inside one
    evaluation, such as ``is_std``)."""
    metrics = (record.get("final") or {}).get("metrics") or {}
    numbers = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    return {k: v for k, v in numbers.items() if measure(k).per_run}


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (not ``pandas.json_normalize``: it turns None
    into NaN and, beside a NaN, ints into floats, which would change the row labels)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def row_labels(done: list[dict[str, Any]]) -> list[str]:
    """Each run's row: its variant, plus the config values that tell rows of one variant apart
    (``DCGAN (lr_g=0.001)``). A key whose value a strict majority of the variant's runs share
    (a baseline with one-setting departures, as in a mode-collapse table) is shown only on
    the runs that depart from it; a key with no such value (a search over equal groups) is
    shown on every run."""
    configs = [flatten(r.get("config") or {}) for r in done]
    idents = [{k: v for k, v in c.items() if not is_under(k, NOT_IN_ROW)} for c in configs]
    labels = [r.get("variant", "?") for r in done]
    for variant in set(labels):
        members = [i for i, label in enumerate(labels) if label == variant]
        keys = {k for i in members for k in idents[i]}
        shown: dict[int, list[str]] = {i: [] for i in members}
        for key in sorted(keys):
            values = {i: json.dumps(idents[i].get(key), default=str) for i in members}
            counts = pd.Series(list(values.values())).value_counts()
            if len(counts) == 1:
                continue
            baseline = counts.index[0] if counts.iloc[0] * 2 > len(members) else None
            for i in members:
                if values[i] != baseline:
                    shown[i].append(f"{key.rsplit('.', 1)[-1]}={label_value(idents[i].get(key))}")
        for i, parts in shown.items():
            if parts:
                labels[i] = f"{variant} ({', '.join(parts)})"
    return labels


def label_value(value: Any) -> str:
    """A config value as a row label shows it: an object chosen by ``class_path`` as its class
    name with its arguments (``SpectralNorm(power_iterations=1)``), a list of them joined by
    ``+`` (``none`` when empty)."""
    if isinstance(value, list | tuple) and all(isinstance(v, dict) and "class_path" in v
                                               for v in value):
        return "+".join(map(label_value, value)) or "none"
    if isinstance(value, dict) and "class_path" in value:
        args = ", ".join(f"{k}={v}" for k, v in (value.get("init_args") or {}).items())
        return f"{value['class_path'].rsplit('.', 1)[-1]}({args})"
    return str(value)


def load_runs(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One line per finished or diverged run in table order: ``model`` (its row), ``status``,
    ``seed``, ``run``, ``record``, its cost and final metrics."""
    done = [r for r in records if r.get("status") in DONE_STATUSES]
    lines = [
        {"model": label, "status": r["status"], "seed": r.get("seed"), "run": r.get("run_name"),
         "record": r, **cost(r), **final_metrics(r)}
        for r, label in zip(done, row_labels(done), strict=True)
    ]
    empty = ["model", "status", "seed", "run", "record", *COST]
    frame = pd.DataFrame(lines or None, columns=None if lines else empty)
    order = frame.assign(seed_order=frame.seed.map(seed_order), run_order=frame.run.fillna(""))
    return frame.loc[order.sort_values(["model", "seed_order", "run_order"]).index]


def seed_order(seed: Any) -> tuple[bool, float, str]:
    """Sort key of seeds: numbers by value (2 before 10), then anything else as text."""
    try:
        value = float(seed)
    except (TypeError, ValueError):  # None, or a seed that is not a number
        value = math.nan
    return (math.isnan(value), 0.0 if math.isnan(value) else value, str(seed))


def metric_names(runs: pd.DataFrame, details: bool = True) -> list[str]:
    """The metric columns in table order; per-class breakdowns (``fid_class_3``) only with
    ``details`` (the CSV and W&B table, not the markdown)."""
    fixed = {"model", "status", "seed", "run", "record", *COST}
    names = {c for c in runs.columns if c not in fixed and (details or "_class_" not in c)}
    return measures_in_order(names)


def headline_metrics(runs: pd.DataFrame) -> list[str]:
    """The table's headline metrics (ranked and grouped), the first one ordering the rows."""
    return [m for m in metric_names(runs, details=False) if measure(m).headline]


def row_stats(runs: pd.DataFrame, columns: list[str],
              intervals: Iterable[str] = ()) -> pd.DataFrame:
    """Per row (index ``model``): ``n_finished``, ``n_diverged``, ``status`` and over its
    finished runs ``<column>_mean``, ``_std`` (sample std) and ``_n`` (NaN left out); for the
    ``intervals`` columns also ``_ci_low`` and ``_ci_high``, the 95% interval of the mean over
    seeds (:func:`ganzoo.bench.stats.mean_interval`)."""
    finished = runs[runs.status == "finished"][["model", *columns]]
    finished = finished.astype(dict.fromkeys(columns, float))
    stats = finished.groupby("model").agg(["mean", "std", "count"])
    stats.columns = [f"{column}_{agg.replace('count', 'n')}" for column, agg in stats.columns]
    bounds = {}
    for column in intervals:
        ci = finished.groupby("model")[column].apply(lambda v: mean_interval(v.dropna()))
        bounds[f"{column}_ci_low"], bounds[f"{column}_ci_high"] = ci.str[0], ci.str[1]
    stats = pd.concat([stats, pd.DataFrame(bounds, index=stats.index)], axis=1).copy()
    counts = pd.DataFrame(
        {f"n_{s}": runs[runs.status == s].model.value_counts() for s in DONE_STATUSES}
    )
    stats = counts.join(stats).reindex(runs.model.unique()).rename_axis("model")
    counts = [c for c in stats.columns if c.endswith("_n") or c.startswith("n_")]
    stats = stats.fillna(dict.fromkeys(counts, 0)).astype(dict.fromkeys(counts, int)).copy()
    return stats.assign(status=stats.n_finished.map(lambda n: "finished" if n else "diverged"))


def seed_values(runs: pd.DataFrame, metric: str) -> dict[str, np.ndarray]:
    """Per row with at least one, the finite final values of ``metric`` of its finished runs."""
    finished = runs[runs.status == "finished"]
    values = {}
    for row, group in finished.groupby("model", sort=False):
        column = pd.to_numeric(group.get(metric, pd.Series(dtype=float)), errors="coerce")
        column = column[np.isfinite(column)]
        if len(column):
            values[row] = column.to_numpy(dtype=float)
    return values


def comparison_scale(values: np.ndarray, metric: str) -> np.ndarray:
    """``values`` on the metric's comparison scale (:func:`ganzoo.bench.stats.on_scale`: log
    for FID and KID), linear where a value is not positive."""
    return on_scale(values, measure(metric).log_scale and bool(np.all(values > 0)))


def best_first(values: dict[str, np.ndarray], metric: str) -> list[str]:
    """The rows of ``values`` from the best mean of ``metric`` to the worst (stable)."""
    sign = -1.0 if measure(metric).higher_is_better else 1.0
    return sorted(values, key=lambda row: sign * float(np.mean(values[row])))


def rank_rows(runs: pd.DataFrame) -> tuple[list[str], dict[str, dict[str, tuple[str, str]]]]:
    """The table's row order (best first by the first headline metric; rows without it after,
    in their order) and, per headline metric that two or more rows have, each row's
    significance letters and rank (:func:`ganzoo.bench.stats.significance_groups`)."""
    groups: dict[str, dict[str, tuple[str, str]]] = {}
    order: list[str] = []
    for metric in headline_metrics(runs):
        values = seed_values(runs, metric)
        ranked = best_first(values, metric)
        order = order or ranked
        if len(ranked) < 2:
            continue
        found = significance_groups([comparison_scale(values[row], metric) for row in ranked])
        groups[metric] = {row: (found.letters[i], rank_text(found.ranks[i]))
                          for i, row in enumerate(ranked)}
    rows = list(runs.model.unique())
    order = order + [row for row in rows if row not in order]
    supervised = conditional_rows(runs)  # the label-supervised rows: a block of their own, last
    return [r for r in order if r not in supervised] + [r for r in order if r in supervised], groups


def row_config(runs: pd.DataFrame, row: str) -> dict[str, Any]:
    """The recorded config of ``row``'s first run, in today's layout."""
    record = runs.loc[runs.model == row, "record"].iloc[0]
    return upgrade_config((record or {}).get("config") or {})


def conditional_rows(runs: pd.DataFrame) -> set[str]:
    return {row for row in runs.model.unique() if recipe.is_conditional(row_config(runs, row))}


def recipes(runs: pd.DataFrame) -> dict[str, list[recipe.Extra]]:
    """Each row's differences from its variant's paper recipe (:mod:`ganzoo.bench.recipe`)."""
    return {row: recipe.extras(row_config(runs, row)) for row in runs.model.unique()}


def shown_label(row: str, extras: list[recipe.Extra]) -> str:
    """The row label as tables show it: the row, then ``+token`` per extra of its recipe."""
    return " ".join([row, *(f"+{e.token}" for e in extras)])


def recipe_notes(runs: pd.DataFrame) -> list[str]:
    """The footnotes of the recipe tokens (each once), and what the conditional block is."""
    notes: dict[str, str] = {}
    papers: dict[str, list[str]] = {}
    for extras in recipes(runs).values():
        for e in extras:
            notes.setdefault(e.token, e.note)
            if e.paper and e.paper not in papers.setdefault(e.token, []):
                papers[e.token].append(e.paper)
    lines = [f"- `+{token}`: {note}" + (f" (the paper recipes: {', '.join(papers[token])})"
                                        if papers.get(token) else "")
             for token, note in notes.items()]
    if conditional_rows(runs):
        lines.append("- Rows below the unconditional ones are label-supervised (they train on "
                     "the class labels): read them against each other.")
    return lines


# ------------------------------------------------------------------ formatting
def fmt(value: float | None, metric: str) -> str:
    """A value as its column prints it: the metric's declared format (one rule per column)."""
    if value is None or pd.isna(value):
        return "—"
    if metric == "wall_time_s":
        return f"{value:.0f}s" if value < 600 else f"{value / 60:.1f}min"
    if metric in COUNTERS or metric == "images_per_s":
        return f"{value:,.0f}"
    return format(value, measure(metric).format)


def mean_std(mean: Any, std: Any, metric: str, number: Callable = fmt) -> str:
    """``mean ± std``, the mean alone for one value or a constant counter."""
    if pd.isna(mean) or pd.isna(std) or (metric in COUNTERS and std == 0):
        return number(mean, metric)
    return f"{number(mean, metric)} ± {number(std, metric)}"


def mean_ci(stats: pd.Series, metric: str) -> str:
    """``mean [low, high]`` (the 95% interval over seeds), the mean alone for one seed."""
    mean, low, high = (stats.get(f"{metric}_{k}") for k in ("mean", "ci_low", "ci_high"))
    if low is None or pd.isna(low) or pd.isna(high):
        return fmt(mean, metric)
    return f"{fmt(mean, metric)} [{fmt(low, metric)}, {fmt(high, metric)}]"


def cell(stats: pd.Series, metric: str) -> str:
    """A row's cell over its finished runs, ``diverged`` when all its runs diverged: metrics
    with their interval, cost as mean ± std."""
    if not stats["n_finished"]:
        return "diverged" if stats["n_diverged"] else "—"
    if metric in COST:
        return mean_std(stats[f"{metric}_mean"], stats[f"{metric}_std"], metric)
    return mean_ci(stats, metric)


def markdown_table(columns: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    """The lines of a markdown table, cells unpadded."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]


@dataclass(frozen=True)
class Summary:
    """The main table of ``table.md`` (the report's table and the W&B display table show
    the same cells): ``columns`` (titles), ``keys`` (what each column holds: ``rank``,
    ``model``, a metric, ``<metric>_group``, a cost column, ``n``), and per row in table order
    (``rows``: labels) its ``cells`` (text) and ``values`` (sort keys: the mean of a metric or
    cost, the row's position for the rank, None where there is no value)."""

    columns: list[str]
    keys: list[str]
    rows: list[str]
    cells: list[list[str]]
    values: list[list[Any]]
    metrics: list[str]
    groups: dict[str, dict[str, tuple[str, str]]]
    stats: pd.DataFrame


def summary_table(runs: pd.DataFrame) -> Summary:
    """The main table (:class:`Summary`): per row its rank, the metrics with their 95%
    intervals and significance letters, the cost and n."""
    metrics = metric_names(runs, details=False)
    stats = row_stats(runs, [*metrics, *COST], intervals=metrics)
    order, groups = rank_rows(runs)
    primary = next(iter(groups), None)
    keys = ["rank", "model"]
    for metric in metrics:
        keys += [metric, f"{metric}_group"] if metric in groups else [metric]
    keys += [*COST, "n"]
    titles = {"rank": "rank", "model": "model", "n": "n", **COST_TITLES}
    for metric in metrics:
        titles[metric], titles[f"{metric}_group"] = measure(metric).label, f"{measure(metric).label} group"
    cells, values = [], []
    extras = recipes(runs)
    for position, label in enumerate(order, start=1):
        s = stats.loc[label]
        rank = (groups[primary][label][1] if primary and label in groups[primary] else
                str(position) if s["n_finished"] else "—")
        line, keyed = [rank, shown_label(label, extras[label])], [position, label]
        for metric in metrics:
            line.append(cell(s, metric))
            keyed.append(_value(s[f"{metric}_mean"]) if s["n_finished"] else None)
            if metric in groups:
                letters = groups[metric].get(label, ("—",))[0]
                line.append(letters)
                keyed.append(None if letters == "—" else letters)
        line += [*(cell(s, c) for c in COST), count_cell(s)]
        keyed += [*(_value(s[f"{c}_mean"]) if s["n_finished"] else None for c in COST),
                  int(s["n_finished"])]
        cells.append(line)
        values.append(keyed)
    return Summary([titles[k] for k in keys], keys, order, cells, values, metrics, groups, stats)


def _value(number: Any) -> float | None:
    """A finite mean as a sort key; None for a missing or infinite one."""
    return None if number is None or pd.isna(number) or not math.isfinite(number) else float(number)


def render_markdown(benchmark: str, runs: pd.DataFrame, records: list[dict[str, Any]],
                    command: str, notes: list[str] | None = None) -> str:
    summary = summary_table(runs)
    metrics, groups, order = summary.metrics, summary.groups, summary.rows
    titles = [measure(m).label for m in metrics]
    main = markdown_table(summary.columns, summary.cells)
    position = {label: i for i, label in enumerate(order)}
    ordered = runs.assign(row_order=runs.model.map(position)).sort_values("row_order", kind="stable")
    every = [
        [run["model"], run["seed"], run["status"],
         *("diverged" if run["status"] == "diverged" else fmt(run.get(m), m) for m in metrics),
         *(fmt(run[c], c) for c in ("g_steps", "wall_time_s", "images_per_s")), run["run"]]
        for run in ordered.to_dict("records")
    ]
    per_run = markdown_table(
        ["model", "seed", "status", *titles, "G steps", "wall time", "images/s", "run"], every
    )
    floor_lines = protocol.floor(run_protocols(runs))[2]
    line = floor_row(runs, summary)
    if line is not None:
        main.insert(2, "| " + " | ".join(line) + " |")
    excluded = [f"{r.get('run_name')} ({r.get('status')})" for r in records
                if r.get("status") not in DONE_STATUSES]
    tail = ["", "Excluded (not finished): " + ", ".join(excluded)] if excluded else []
    head = header(benchmark, runs, command, notes or [], groups, floor_lines)
    notes_ = recipe_notes(runs)
    recipes_ = ["", "Each `+token` is a difference from the variant's paper recipe (its class "
                "defaults, with the class's `paper_recipe` over them: VanillaGAN's is Algorithm 1), "
                "read from the recorded config:", "", *notes_] if notes_ else []
    return "\n".join([head, *main, *recipes_, "", "### Every run", "", *per_run, *tail]) + "\n"


def floor_row(runs: pd.DataFrame, summary: Summary) -> list[str] | None:
    """The main table's ``real (...)`` row, cell for cell with ``summary``'s columns: the
    same metrics between real images at the table's n (the floor every row is read against;
    not ranked); None where the runs recorded no floor."""
    label, floor, _ = protocol.floor(run_protocols(runs))
    if label is None:
        return None
    line = ["floor", label]
    for metric in summary.metrics:
        line += [fmt(floor.get(metric), metric)] + (["—"] if metric in summary.groups else [])
    return [*line, *("—" for _ in COST), "—"]


def count_cell(stats: pd.Series) -> str:
    n, diverged = int(stats["n_finished"]), int(stats["n_diverged"])
    return f"{n}/{n + diverged} finished" if diverged else str(n)


def run_protocols(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """The evaluation protocol of each run's final evaluation (runs without one left out)."""
    found = ((r.get("final") or {}).get("protocol") for r in runs.record)
    return [p for p in found if isinstance(p, dict) and p]


def header(benchmark: str, runs: pd.DataFrame, command: str, notes: list[str],
           groups: dict[str, Any] | None = None, measured: list[str] | None = None) -> str:
    written = dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes")
    lines = [f"# {benchmark}: GAN comparison", "",
             *header_lines(runs, command, notes, groups, written, measured)]
    return "\n".join(lines) + "\n\n"


def header_lines(runs: pd.DataFrame, command: str, notes: list[str],
                 groups: dict[str, Any] | None = None, written: str | None = None,
                 measured: list[str] | None = None) -> list[str]:
    """The bullets of a table's header: command, dates (``written``: when the table was
    written, if given), commit, machine, values, protocol, statistics, the values measured
    beside the metrics (``measured``: the real floor) and the agreement of the two feature
    spaces, budget, ``notes``."""
    done = list(runs.record)
    protocols = protocol.distinct_settings(run_protocols(runs))
    metrics = metric_names(runs, details=False)
    lines = [f"- Command: `{command}`", *provenance(done, written)]
    if len(protocols) > 1:
        lines.append(f"- WARNING: {len(protocols)} different evaluation protocols below")
    lines += [*machine(done), *method(done, protocols, metrics), *statistics(runs, groups or {})]
    means = {m: {row: float(np.mean(v)) for row, v in seed_values(runs, m).items()}
             for m in ("fid", "fid_ae") if m in metrics}
    titles = {m: measure(m).label for m in ("fid", "fid_ae")}
    lines += [*(measured or []), *protocol.space_agreement(means, titles)]
    lines.append(f"- {budget_protocol(runs)}")
    lines.append("- Budget settings: " + "; ".join(sorted({budget_settings(r) for r in done})))
    return lines + [f"- {note}" for note in notes]


def provenance(done: list[dict[str, Any]], written: str | None = None) -> list[str]:
    """When the runs ended (and the table was ``written``) and at which commit(s)."""
    commits = sorted({(r.get("git") or {}).get("commit") or "unknown" for r in done})
    dirty = any((r.get("git") or {}).get("dirty") for r in done)
    dates = sorted(r.get("ended_at") or "" for r in done)
    first_end, last_end = (dates[0][:16], dates[-1][:16]) if dates else ("?", "?")
    lines = [
        f"- Date: runs ended {first_end} to {last_end} UTC"
        + (f"; table written {written}" if written else ""),
        f"- Commit: {', '.join(c[:12] for c in commits)}"
        + (" (with uncommitted changes)" if dirty else ""),
    ]
    if len(commits) > 1:
        lines.append(
            f"- WARNING: the runs come from {len(commits)} commits (the code changed while they"
            " ran); rerun them at one commit before comparing numbers"
        )
    return lines


def machine(done: list[dict[str, Any]]) -> list[str]:
    """The machine and package versions, as the first run recorded them."""
    first = done[0] if done else {}
    device = first.get("device", {})
    gpus = device.get("cuda_devices") or []
    return [
        f"- Machine: {device.get('cpu', '?')}, {device.get('cpu_count', '?')} CPU cores, "
        + (", ".join(gpus) if gpus else "no GPU")
        + f"; {device.get('torch_threads', '?')} torch thread(s) per run",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in first.get("versions", {}).items() if v),
    ]


def method(done: list[dict[str, Any]], protocols: list[dict[str, Any]],
           metrics: list[str]) -> list[str]:
    """What the values and the cost are, and the evaluation protocol(s)."""
    seeds = [str(s) for s in sorted({r.get("seed") for r in done}, key=seed_order)]
    lines = [
        "- Values: each run's final evaluation; the mean over training seeds "
        f"(`seed_everything` in {{{', '.join(seeds)}}}) with its 95% interval [low, high] "
        f"(Student t below {BOOTSTRAP_FROM} seeds, BCa bootstrap from {BOOTSTRAP_FROM}); "
        "n = runs per row.",
        "- Cost: G and D steps and real images seen (all processes) at the end of training; "
        "wall time from the start of fit to its end, evaluation included; images/s = images "
        "seen / wall time; mean ± std (sample std) over seeds.",
    ]
    for p in protocols:
        lines += protocol.protocol_lines(p, metrics)
    return lines


def statistics(runs: pd.DataFrame, groups: dict[str, Any]) -> list[str]:
    """How the rows are ordered, grouped and ranked, with the test, its level and the n."""
    if not groups:
        return []
    titles = [measure(m).label for m in groups]
    primary = titles[0]
    rows = len(next(iter(groups.values())))
    counts = sorted({int(n) for n in runs[runs.status == "finished"].model.value_counts()})
    logs = [measure(m).label for m in groups if measure(m).log_scale]
    return [
        f"- Rows: by mean {primary}, best first; rank: the ranks by {primary} that the tests "
        "allow (1 = best; 1-3 = any of the first three).",
        f"- Groups ({', '.join(titles)}): pairwise Welch t-tests on each metric's scale"
        + (f" (log for {', '.join(logs)})" if logs else "")
        + f", Holm-adjusted over all {rows * (rows - 1) // 2} pairs of rows per metric at "
        f"family α = {ALPHA:g}; rows sharing a letter cannot be told apart (a = best); "
        f"n = {'/'.join(map(str, counts))} seeds per row.",
    ]


def budget_protocol(runs: pd.DataFrame) -> str:
    """The budget the finished runs share: equal real images (= equal D steps: README "Budget
    protocol"), or equal generator steps (StudioGAN, Kurach et al. 2019), or neither."""
    finished = runs[runs.status == "finished"]
    if finished.empty:
        return "Budget: no finished run to state it"

    def shared(kind: str) -> bool:
        return finished[kind].nunique(dropna=False) == 1 and finished[kind].notna().all()

    def count(kind: str, unit: str = "") -> str:
        if shared(kind):
            return f"{fmt(finished[kind].iloc[0], kind)} {unit}".strip()
        rows = finished.groupby(finished[kind].astype(float), dropna=False).model.unique()
        return f"{unit}: " * bool(unit) + "; ".join(
            f"{fmt(n, kind) if pd.notna(n) else 'not recorded'} ({', '.join(sorted(labels))})"
            for n, labels in rows.items()
        )

    images, g_steps = count("images_seen"), count("g_steps", "G steps")
    if shared("images_seen"):
        return (f"Budget: equal real images ({images} per run = {count('d_steps', 'D steps')}; "
                f"{g_steps}, one G step per n_critic D steps; diverged runs stop early)")
    if shared("g_steps"):
        return (f"Budget: equal generator steps ({g_steps} per run; {count('d_steps', 'D steps')}, "
                "n_critic D steps per G step; diverged runs stop early)")
    return (f"Budget: the runs share neither real images nor generator steps: images {images}; "
            f"G steps {count('g_steps')}; compare them at equal G steps in fid_vs_g_steps.png")


def budget_settings(record: dict[str, Any]) -> str:
    """``DCGAN: max_epochs=15, batch_size=16, world_size=1, global batch=16``: the settings
    that bound a run, but those at their default."""
    flat = flatten(record.get("config") or {})
    unset = {"trainer.max_epochs": (None, -1), "trainer.max_steps": (None, -1),
             "trainer.limit_train_batches": (None, 1.0), "budget.max_g_steps": (None,),
             "budget.max_images": (None,), "model.init_args.max_g_steps": (None,),
             "model.init_args.max_images": (None,), "model.init_args.n_critic": (None, 1),
             "data.batch_size": (None,)}  # model.init_args.max_*: records of the former layout
    shown = [
        f"{k.rsplit('.', 1)[-1]}={flat[k]}" for k, skip in unset.items() if flat.get(k) not in skip
    ]
    progress = record.get("progress") or {}
    if progress.get("world_size"):  # batch_size above is per process
        shown.append(f"world_size={progress['world_size']}")
        if progress.get("global_batch"):
            shown.append(f"global batch={progress['global_batch']}")
    return f"{record.get('variant')}: " + ", ".join(shown)


def csv_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table.csv`` in table order: the row statistics of every metric (with its
    95% interval) and cost, and per headline metric the ``_group`` letters and ``_rank``."""
    metrics = metric_names(runs)
    order, groups = rank_rows(runs)
    stats = row_stats(runs, [*metrics, *COST], intervals=metrics).reindex(order)
    letters = {f"{metric}_{kind}": [found.get(row, ("", ""))[i] for row in order]
               for metric, found in groups.items() for i, kind in enumerate(("group", "rank"))}
    stats = pd.concat([stats, pd.DataFrame(letters, index=stats.index)], axis=1).reset_index()
    head = ["model", "status", "n_finished", "n_diverged"]
    parts = ("mean", "std", "n", "ci_low", "ci_high", "group", "rank")
    body = [f"{c}_{p}" for c in [*metrics, *COST] for p in parts if f"{c}_{p}" in stats]
    return stats[head + body]


# ------------------------------------------------------------------ curves
def curves(runs: pd.DataFrame) -> pd.DataFrame:
    """One line per run and evaluation (diverged runs included): the data of the plots."""
    fixed = ["model", "run", "seed", "status", "epoch", "g_steps", "wall_time_s"]
    lines = [
        {"model": run["model"], "run": run["run"], "seed": run["seed"], "status": run["status"],
         "epoch": entry.get("epoch"), "g_steps": entry.get("g_steps"),
         "wall_time_s": None if entry.get("wall_time_s") is None else float(entry["wall_time_s"]),
         **{k: float(v) for k, v in (entry.get("metrics") or {}).items()
            if isinstance(v, int | float)}}
        for run in runs.to_dict("records")
        for entry in run["record"].get("history") or []
    ]
    frame = pd.DataFrame(lines or None, columns=None if lines else fixed, dtype=object)
    return frame[fixed + measures_in_order(set(frame.columns) - set(fixed))]


def mean_curve(history: pd.DataFrame, metric: str, x: str) -> pd.DataFrame:
    """Per evaluation point (its G step, else its epoch) of the finished runs in ``history``:
    ``x`` (mean over seeds), ``mean``, ``low`` and ``high`` of ``metric`` (finite values)."""
    finished = history[history.status == "finished"]
    points = pd.DataFrame(
        {"point": finished.g_steps.where(finished.g_steps.notna(), finished.epoch),
         "x": pd.to_numeric(finished[x], errors="coerce"),
         "y": pd.to_numeric(finished.get(metric, pd.Series(index=finished.index)), errors="coerce")}
    ).replace([float("inf"), float("-inf")], float("nan")).dropna(subset=["x", "y"])
    return points.groupby("point", dropna=False).agg(
        x=("x", "mean"), mean=("y", "mean"), low=("y", "min"), high=("y", "max")
    )


def plot_curve(history: pd.DataFrame, n_finished: pd.Series, curve: tuple, path: Path) -> bool:
    """A :data:`CURVES` plot, one line per row (mean over seeds, band from the lowest to the
    highest seed); False (no file) if there is nothing to draw."""
    plt = pyplot()
    metric, x, _, log = curve
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    drawn, positive = False, True
    for i, (label, n) in enumerate(n_finished.items()):
        points = mean_curve(history[history.model == label], metric, x)
        if points.empty:
            continue
        color = plt.get_cmap("tab10")(i % 10)
        ax.plot(points.x, points["mean"], "o-", color=color, markersize=3, label=f"{label} (n={n})")
        if n > 1:
            ax.fill_between(points.x, points.low, points.high, color=color, alpha=0.15, linewidth=0)
        positive, drawn = positive and points.low.min() > 0, True
    if drawn:
        ax.set_xlabel(AXIS_TITLES.get(x, x))
        direction = {True: " (higher is better)", False: " (lower is better)"}
        ax.set_ylabel(measure(metric).label + direction.get(measure(metric).higher_is_better, ""))
        ax.set_title("mean over seeds; band: lowest to highest seed", fontsize=9)
        if log and positive:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp)
    plt.close(fig)
    return drawn


# ------------------------------------------------------------------ writing
def write_csv(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, na_rep="", lineterminator="\n")


def write_curves(runs: pd.DataFrame, out: Path) -> None:
    """``curves.csv`` and the plots of :data:`CURVES` that have data."""
    history = curves(runs)
    write_csv(out / "curves.csv", history)
    n_finished = runs[runs.status == "finished"].model.value_counts()
    n_finished = n_finished.reindex(runs.model.unique(), fill_value=0)
    for curve in CURVES:
        (out / curve[2]).unlink(missing_ok=True)  # a stale plot must not outlive its data
        if curve[0] in history.columns:
            plot_curve(history, n_finished, curve, out / curve[2])


def best_runs(runs: pd.DataFrame) -> pd.Series:
    """The record of each row's best finished run by the headline metrics in registry order
    (the lowest final FID; on toy data, with no FID, the most modes covered, then the largest
    high-quality share)."""
    finished = runs[runs.status == "finished"]
    keys = [m for m in headline_metrics(runs) if m in finished]
    if keys:
        ascending = [not measure(m).higher_is_better for m in keys]
        finished = finished.sort_values(keys, ascending=ascending, kind="stable")
    return finished.groupby("model", sort=False).head(1).set_index("model").record


def median_runs(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Each row's median finished run by its first headline metric (the lower middle one of
    an even count), in the order the table ranks (best first)."""
    finished = runs[runs.status == "finished"]
    metric = next((m for m in headline_metrics(runs) if m in finished), None)
    medians = {}
    for label, group in finished.groupby("model", sort=False):
        if metric is not None:
            group = group.sort_values(metric, ascending=not measure(metric).higher_is_better,
                                      kind="stable", na_position="last")
        medians[label] = group.record.iloc[(len(group) - 1) // 2]
    return medians


def final_grid(record: dict[str, Any]) -> Path | None:
    """The final sample grid a run wrote, if it is still there."""
    candidates = [Path(p) for p in record.get("grids", []) if Path(p).name == "final.png"]
    candidates.append(Path(record["run_dir"]) / "grids" / "final.png")
    return next((p for p in candidates if p.is_file()), None)


def write_median_grids(runs: pd.DataFrame, grids: Path) -> None:
    """``grids/<row>.png``: the final grid of each row's median seed (:func:`median_runs`; a
    row is shown by its typical run, not its best), and every seed's beside it in
    ``grids/<row>/<run>.png``."""
    if grids.exists():
        shutil.rmtree(grids)
    for _, run in runs[runs.status == "finished"].iterrows():
        source = final_grid(run.record)
        if source is not None:
            (grids / sanitize(run.model)).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, grids / sanitize(run.model) / f"{run.record.get('run_name')}.png")
    for label, median in median_runs(runs).items():
        source = final_grid(median)
        if source is not None:
            shutil.copyfile(source, grids / f"{sanitize(label)}.png")


def write_grids_over_time(runs: pd.DataFrame, out: Path) -> None:
    """``grids_over_time/<row>.png``: the periodic grids (``grids/epoch_*.png``) of each row's
    median seed side by side, :data:`GRIDS_OVER_TIME` of them evenly spaced over training, the
    last one included; rows whose run kept fewer than two are skipped."""
    plt = pyplot()
    if out.exists():
        shutil.rmtree(out)
    for label, best in median_runs(runs).items():
        snapshots = sorted((Path(best["run_dir"]) / "grids").glob("epoch_*.png"))
        if len(snapshots) < 2:
            continue
        count = min(GRIDS_OVER_TIME, len(snapshots))
        picked = [snapshots[round(i * (len(snapshots) - 1) / (count - 1))] for i in range(count)]
        images = [plt.imread(path) for path in picked]
        height, width = images[0].shape[:2]
        fig, axes = plt.subplots(1, count, figsize=(count * width / 200, height / 200 + 0.3),
                                 dpi=100, squeeze=False)
        for ax, path, image in zip(axes[0], picked, images, strict=True):
            ax.imshow(image)
            ax.set_title(f"epoch {int(path.stem.split('_')[1])}", fontsize=8)
            ax.axis("off")
        fig.suptitle(f"{label}, seed {best.get('seed')}", fontsize=9)
        fig.tight_layout()
        out.mkdir(exist_ok=True)
        with atomic_path(out / f"{sanitize(label)}.png") as tmp:
            fig.savefig(tmp)
        plt.close(fig)


def write_table(paths: Iterable[str | Path], out_root: str | Path = "results",
                command: str = "ganzoo table", wandb_dir: str | Path | None = None,
                use_wandb: bool = True, notes: list[str] | None = None) -> dict[str, Path]:
    """Aggregate the records under ``paths`` into ``<out_root>/<benchmark>/`` (``notes``: extra
    header lines); the directories written, by benchmark."""
    paths = list(paths)
    records = find_records(paths)
    if not records:
        raise ConfigError(f"table: no record.json under {', '.join(map(str, paths))}")
    outputs: dict[str, Path] = {}
    for benchmark in sorted({r.get("benchmark") or "unknown" for r in records}):
        recs = [r for r in records if (r.get("benchmark") or "unknown") == benchmark]
        out = Path(out_root) / sanitize(benchmark)
        runs = load_runs(recs)
        write_text_atomic(out / "table.md", render_markdown(benchmark, runs, recs, command, notes))
        write_csv(out / "table.csv", csv_table(runs))
        write_curves(runs, out)
        write_median_grids(runs, out / "grids")
        write_grids_over_time(runs, out / "grids_over_time")
        manifest = [{"row": label, **{k: r.get(k) for k in MANIFEST_KEYS}}
                    for label, r in zip(runs.model, runs.record, strict=True)]
        write_json_atomic(out / "runs.json", {"benchmark": benchmark, "command": command,
                                              "runs": manifest})
        if use_wandb:
            log_to_wandb(benchmark, runs, out, Path(wandb_dir or paths[0]))
        outputs[benchmark] = out
    return outputs


def load_manifest(results_dir: str | Path, who: str = "table") -> dict[str, Any]:
    """``results_dir/runs.json`` as :func:`write_table` wrote it; one-line errors naming the
    command ``who`` for a missing or bad file."""
    path = Path(results_dir) / "runs.json"
    if not path.is_file():
        raise ConfigError(f"{who}: {path} not found; give a directory written by `ganzoo table`")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"{who}: {path} is unreadable ({err}); restore it with `git checkout {path}` "
            f"or rewrite it with `ganzoo table`"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("runs"), list):
        raise ConfigError(f"{who}: {path} is not a runs.json written by `ganzoo table`")
    return manifest


def header_notes(table_md: Path) -> list[str]:
    """The extra header lines (``notes``) of a table written by :func:`render_markdown`: the
    bullets after its ``Budget settings`` line."""
    if not table_md.is_file():
        return []
    lines = table_md.read_text().split("\n\n\n", 1)[0].splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("- Budget settings:")), None)
    return [] if start is None else [line[2:] for line in lines[start + 1:] if line.startswith("- ")]


def rerender(results_dir: str | Path, command: str, code: dict[str, Any] | None = None,
             tuning: str | None = None) -> Path:
    """Rewrite ``table.md`` and ``table.csv`` of a results directory from its ``runs.json``
    (the runs' records as the table kept them) without the run directories: for a new table
    layout over unchanged runs. The header keeps the command that made the runs and its notes
    and says how it was re-rendered (at the commit ``code`` of :func:`git_info`, taken now
    when not given: a command re-rendering several tables takes it before the first);
    runs.json, curves and grids stay as they are. ``tuning``: a new line for the search the
    configs won (:func:`ganzoo.bench.tune.header_note`), replacing the header's (a later round
    of the search that left the winners as they were)."""
    out = Path(results_dir)
    manifest = load_manifest(out, "table")
    records = manifest["runs"]
    runs = load_runs(records)
    stored = [r.get("row") for r in records if r.get("status") in DONE_STATUSES]
    if sorted(map(str, stored)) != sorted(map(str, runs.model)):
        raise ConfigError(f"table: {out}/runs.json rows do not match its configs; rerun "
                          "`ganzoo table` on the run directories")
    notes = header_notes(out / "table.md")
    notes = [n for n in notes if not n.startswith("Re-rendered from runs.json")
             and not (tuning and n.startswith("Tuning:"))]
    if tuning:
        notes.append(tuning)
    now = code or git_info()
    dirty = " with uncommitted changes" if now["dirty"] else ""
    notes.append(f"Re-rendered from runs.json by `{command}` at commit {str(now['commit'])[:12]}"
                 f"{dirty} (same runs, new table layout)")
    text = render_markdown(str(manifest.get("benchmark")), runs, records,
                           str(manifest.get("command")), notes)
    write_text_atomic(out / "table.md", text)
    write_csv(out / "table.csv", csv_table(runs))
    return out / "table.md"


def log_to_wandb(benchmark: str, runs: pd.DataFrame, out: Path, save_dir: Path) -> None:
    """The comparison in a W&B run of its own (``wandb.Table`` and ``wandb.Image`` through
    Lightning's logger): ``<benchmark>/comparison``, the numbers of ``table.csv`` (means, 95%
    interval bounds, group letters and ranks); ``<benchmark>/table``, the cells of table.md's
    main table (``FID`` as ``mean [low, high]``, ``FID group``) as the report shows them; the
    curves; each row's best grid and its grids over time."""
    from ganzoo.runs.wandb_logger import FailSafeWandbLogger

    logger = FailSafeWandbLogger(save_dir=str(save_dir), name=f"{benchmark}-table", group=benchmark,
                                 job_type="table")
    frame = csv_table(runs).rename(columns={"n_finished": "n"})
    frame = frame.drop(columns=["status", *(c for c in frame if c.endswith("_n"))]).astype(object)
    logger.log_table(f"{benchmark}/comparison", dataframe=frame.where(frame.notna(), None))
    summary = summary_table(runs)
    floor = floor_row(runs, summary)
    logger.log_table(f"{benchmark}/table", columns=summary.columns,
                     data=summary.cells + ([floor] if floor else []))
    for _, _, name, _ in CURVES:
        if (out / name).is_file():
            logger.log_image(f"{benchmark}/{Path(name).stem}", [str(out / name)])
    for grid in sorted((out / "grids").glob("*.png")):  # one key each: layouts differ in size
        logger.log_image(f"{benchmark}/best_grid/{grid.stem}", [str(grid)])
    for grid in sorted((out / "grids_over_time").glob("*.png")):
        logger.log_image(f"{benchmark}/grids_over_time/{grid.stem}", [str(grid)])
    logger.finalize("success")
