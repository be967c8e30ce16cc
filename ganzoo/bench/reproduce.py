"""``ganzoo reproduce results/mnist5k``: re-run committed results and compare them.

Re-runs the selected runs of a results directory's ``runs.json`` from their recorded configs
(same torch threads; a new run directory and W&B run) and judges each table cell (row x
metric). By default a statistical verdict, since training is bitwise reproducible only on the
same CPU type: the re-runs take training seeds disjoint from the committed ones (reusing a
seed on the same CPU type repeats a run, which proves nothing about seed variance), and
:mod:`ganzoo.bench.verdict` judges them exactly as ``ganzoo verdict`` does. ``--exact`` re-runs
the committed seeds on the same machine: ``|new - committed| <= atol + rtol * |committed|`` on
the means, status and images seen equal.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ganzoo.atomic import write_text_atomic
from ganzoo.bench.sweep import Run, run_all
from ganzoo.bench.table import final_metrics, markdown_table
from ganzoo.bench.verdict import (
    RULE,
    Cell,
    by_row,
    compare_sets,
    load_manifest,
    load_margins,
    render,
    seeds_line,
)
from ganzoo.errors import ConfigError
from ganzoo.models.legacy import upgrade_config
from ganzoo.runs.records import cost, git_info, read_record

RTOL, ATOL = 1e-4, 1e-6  # --exact

Records = dict[str, dict[str, Any] | None]  # re-run record per run name (None: none written)


@dataclass
class Sample:
    """Mean, sample std and count of one cell's values over seeds (None and NaN left out)."""

    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: list[Any]) -> Sample:
        values = numbers(values)
        std = statistics.stdev(values) if len(values) > 1 else None
        return cls(statistics.fmean(values) if values else None, std, len(values))


@dataclass
class ExactCell:
    """One line of an ``--exact`` check: committed vs re-run values of a row's cell."""

    row: str
    metric: str
    committed: Sample | str
    rerun: Sample | str
    verdict: str  # PASS, FAIL or info
    diff: float | None = None
    bound: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict != "FAIL"


def numbers(values: list[Any]) -> list[float]:
    """The values that are numbers (not None, not NaN) as floats."""
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


# ------------------------------------------------------------------ the runs to redo
def select(runs: list[dict[str, Any]], only: list[str] | None, limit: int | None) -> list[dict]:
    """Runs whose name or row matches any ``only`` pattern (glob or substring), first ``limit``."""
    def matches(run: dict[str, Any]) -> bool:
        names = (run.get("run_name", ""), run.get("row", ""))
        return any(fnmatch.fnmatch(n, p) or p in n for p in only or [] for n in names)

    runs = [r for r in runs if matches(r)] if only else runs
    return runs[:limit] if limit else runs


def rerun_config(config: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The recorded config pointed at a new run directory (and a new W&B run)."""
    config = json.loads(json.dumps(config))
    config["trainer"]["default_root_dir"] = str(run_dir)
    logger = config["trainer"].get("logger")
    if isinstance(logger, dict) and isinstance(logger.get("init_args"), dict):
        for key in ("save_dir", "name", "id", "version"):
            if key in logger["init_args"]:
                logger["init_args"][key] = None
    return config


def reseeded(entries: list[dict[str, Any]], committed: list[dict[str, Any]],
             seeds: list[int] | None = None) -> list[tuple[dict[str, Any], int]]:
    """The runs a statistical re-run trains, as ``(committed entry, seed)``: per row of
    ``entries``, one run per seed of ``seeds`` (from the row's first entry), or by default one
    per selected entry with seeds that no committed run of the table used (the next integers
    above the largest committed seed)."""
    rows = by_row(entries)
    if seeds is not None:
        return [(members[0], seed) for members in rows.values() for seed in seeds]
    used = [int(s) for s in (e.get("seed") for e in committed) if _is_int(s)]
    start = max(used, default=-1) + 1
    return [(entry, start + k) for members in rows.values() for k, entry in enumerate(members)]


def _is_int(value: Any) -> bool:
    try:
        return int(value) == float(value)
    except (TypeError, ValueError):
        return False


def seeded_name(run_name: str, seed: Any) -> str:
    """``dcgan__seed_everything=0`` -> ``dcgan__seed_everything=3`` (appended if absent)."""
    new, count = re.subn(r"seed_everything=[^_]+", f"seed_everything={seed}", run_name)
    return new if count else f"{run_name}__seed_everything={seed}"


def plan(manifest: dict[str, Any], runs: list[tuple[dict[str, Any], Any]],
         runs_dir: Path) -> list[Run]:
    """One :class:`Run` per ``(committed entry, seed)``: its recorded config with that seed."""
    base = runs_dir / f"{manifest.get('benchmark', 'benchmark')}-reproduce"
    planned = []
    for entry, seed in runs:
        same = seed == entry.get("seed")
        name = entry["run_name"] if same else seeded_name(entry["run_name"], seed)
        config_path = base / "_configs" / f"{name}.yaml"
        config = rerun_config(upgrade_config(entry["config"]), base / name)
        config["seed_everything"] = seed
        write_text_atomic(config_path, yaml.safe_dump(config, sort_keys=False))
        command = [sys.executable, "-m", "ganzoo", "fit", "--config", str(config_path)]
        threads = str((entry.get("device") or {}).get("torch_threads") or 1)
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        planned.append(Run(name, base / name, command, env=env))
    return planned


def rerun_entries(planned: list[tuple[dict[str, Any], Any]], runs: list[Run]) -> list[dict]:
    """The re-runs' records as table entries of their committed rows (``missing`` where a run
    wrote no record)."""
    entries = []
    for (entry, seed), run in zip(planned, runs, strict=True):
        record = read_record(run.dir) or {"status": "missing", "seed": seed}
        entries.append({**record, "row": entry["row"], "run_name": run.name})
    return entries


# ------------------------------------------------------------------ the verdicts
def counter_cell(row: str, counter: str, old: list, fresh: list, ok: bool) -> ExactCell:
    """Images seen: set by the config, so they must be equal."""
    committed, rerun = Sample.of(old), Sample.of(fresh)
    return ExactCell(
        row, counter.replace("_", " "), committed, rerun, "PASS" if ok else "FAIL",
        diff=_diff(committed, rerun), bound=0.0, note="" if ok else "must be equal",
    )


def wall_time_cell(row: str, reference: list[dict], records: list[dict | None]) -> ExactCell:
    old = Sample.of([e.get("wall_time_s") for e in reference])
    fresh = Sample.of([(r or {}).get("wall_time_s") for r in records])
    return ExactCell(row, "wall time s", old, fresh, "info", diff=_diff(old, fresh))


def compare_exact(
    entries: list[dict[str, Any]], new: Records, rtol: float = RTOL, atol: float = ATOL
) -> list[ExactCell]:
    """Same machine: per row, status and images seen equal per run, metric means within
    ``atol + rtol * |committed|``."""
    cells: list[ExactCell] = []
    for row, members in by_row(entries).items():
        records = [new.get(e["run_name"]) for e in members]
        old_status = [e["status"] for e in members]
        new_status = [str(r.get("status")) if r else "missing" for r in records]
        verdict = "PASS" if old_status == new_status else "FAIL"
        cells.append(ExactCell(row, "status", ",".join(old_status), ",".join(new_status), verdict))
        old = [cost(e)["images_seen"] for e in members]
        fresh = [cost(r or {})["images_seen"] for r in records]
        cells.append(counter_cell(row, "images_seen", old, fresh, old == fresh))
        pairs = [(e, r or {}) for e, r in zip(members, records, strict=True)
                 if e["status"] == "finished"]
        for metric in sorted({m for e, _ in pairs for m in final_metrics(e)}):
            committed = Sample.of([final_metrics(e).get(metric) for e, _ in pairs])
            rerun = Sample.of([final_metrics(r).get(metric) for _, r in pairs])
            diff, bound = _diff(committed, rerun), atol + rtol * abs(committed.mean or 0.0)
            both = (committed.mean is None) == (rerun.mean is None)
            verdict = "PASS" if both and (diff is None or abs(diff) <= bound) else "FAIL"
            cells.append(ExactCell(row, metric, committed, rerun, verdict, diff=diff, bound=bound))
        cells.append(wall_time_cell(row, members, records))
    return cells


def _diff(a: Sample, b: Sample) -> float | None:
    return None if a.mean is None or b.mean is None else b.mean - a.mean


def render_exact(cells: list[ExactCell], title: str, rule: str) -> str:
    """The ``--exact`` report: ``title``, one table line per cell, the summary line."""
    def number(value: float) -> str:
        return f"{value:.6g}"

    lines = []
    for c in cells:
        diff = "" if c.diff is None else ("+" if c.diff >= 0 else "-") + number(abs(c.diff))
        bound = "" if c.bound is None else number(c.bound)
        check = c.verdict + (f" ({c.note})" if c.note else "")
        samples = [_sample(s, number) for s in (c.committed, c.rerun)]
        lines.append([c.row, c.metric, *samples, diff, bound, check])
    columns = ["model", "cell", "committed mean ± std (n)", "re-run mean ± std (n)", "difference",
               "bound", "check"]
    return "\n".join([title, "", *markdown_table(columns, lines), "", summary_line(cells, rule)])


def _sample(s: Sample | str, number: Callable[[float], str]) -> str:
    if isinstance(s, str):
        return s
    if s.mean is None:
        return f"— ({s.n})"
    return number(s.mean) + ("" if s.std is None else f" ± {number(s.std)}") + f" ({s.n})"


def summary_line(cells: list[ExactCell], rule: str) -> str:
    """``reproduce: 12/14 cells PASS, 2 FAIL (<rule>)``; information cells are not counted."""
    checked = [c for c in cells if c.verdict != "info"]
    failed = sum(not c.ok for c in checked)
    return (
        f"reproduce: {len(checked) - failed}/{len(checked)} cells PASS"
        + (f", {failed} FAIL" if failed else "")
        + f" ({rule})"
    )


def reproduce(results_dir: str | Path, runs_dir: str | Path = "runs", only: list[str] | None = None,
              limit: int | None = None, workers: int = 1, exact: bool = False,
              rtol: float | None = None, atol: float | None = None,
              seeds: list[int] | None = None, same_seeds: bool = False,
              printer: Callable[[str], None] = print) -> tuple[list, str]:
    """Re-run the selected runs of ``results_dir`` and compare them with the committed values;
    the cells and the printed report. Statistical by default, with ``seeds`` per selected row
    (default: disjoint from the committed seeds; ``same_seeds``: the selected runs' own);
    ``exact``: the committed seeds, within ``atol + rtol * |committed|``."""
    manifest = load_manifest(results_dir, "reproduce")
    entries = select(manifest["runs"], only, limit)
    if not entries:
        raise ConfigError(f"reproduce: no run of {results_dir} matches --only {only}")
    recorded, now = sorted({(e.get("git") or {}).get("commit") or "?" for e in entries}), git_info()
    if recorded != [now["commit"]] or now["dirty"]:
        made = ", ".join(c[:12] for c in recorded)
        printer(f"note: the committed runs were made at commit {made};"
                f" this checkout is at {str(now['commit'])[:12]}"
                f"{' with uncommitted changes' if now['dirty'] else ''}: code changes since then "
                "can change the numbers")
    if exact or same_seeds:
        planned = [(entry, entry.get("seed")) for entry in entries]
    else:
        planned = reseeded(entries, manifest["runs"], seeds)
    runs = plan(manifest, planned, Path(runs_dir))
    run_all(runs, workers=workers, printer=printer, skip_done=False)
    if not exact:
        rerun = rerun_entries(planned, runs)
        return statistical_verdict(manifest, rerun, Path(results_dir), Path(runs_dir))
    new = {run.name: read_record(run.dir) for run in runs}
    rtol, atol = RTOL if rtol is None else rtol, ATOL if atol is None else atol
    cells = compare_exact(entries, new, rtol, atol)
    rule = f"exact: |new - committed| <= {atol:g} + {rtol:g} * |committed|"
    title = f"reproduce: {len(entries)} run(s); {rule} (wall time is information, not compared)"
    return cells, render_exact(cells, title, rule)


def statistical_verdict(
    manifest: dict[str, Any], rerun: list[dict[str, Any]], committed_dir: Path,
    rerun_label: str | Path = "re-run",
) -> tuple[list[Cell], str]:
    """The verdict of the re-run entries ``rerun`` (records with their committed ``row``)
    against the manifest's runs of the same rows, and the printed report (``reproduce`` and
    ``ganzoo compare``): the cells and the report of ``ganzoo verdict``."""
    cells = compare_sets(manifest["runs"], rerun, load_margins(committed_dir))
    title = [
        f"reproduce: {len(rerun)} run(s) re-run against the committed runs of their rows in "
        f"{committed_dir} (A: committed, B: re-run)",
        seeds_line(str(committed_dir), [e for e in manifest["runs"]
                                        if e["row"] in {r["row"] for r in rerun}],
                   str(rerun_label), rerun),
        f"Rule: {RULE}",
    ]
    return cells, render(cells, title)
