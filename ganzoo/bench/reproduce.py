"""``ganzoo reproduce results/mnist5k``: re-run committed results and compare them.

Re-runs the selected runs of a results directory's ``runs.json`` from their recorded configs
(same seeds and torch threads; a new run directory and W&B run) and judges each table cell
(row x metric). Statistical by default (README, "Reproducing a table"; :class:`Rule`), since
training is bitwise reproducible only on the same CPU type; ``--exact`` on the same machine:
``|new - committed| <= atol + rtol * |committed|`` on the means, status and images seen equal.
"""

from __future__ import annotations

import fnmatch
import json
import math
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from scipy import stats

from ganzoo.atomic import write_text_atomic
from ganzoo.bench.records import DONE_STATUSES, cost, git_info, read_record
from ganzoo.bench.sweep import Run, run_all
from ganzoo.bench.table import COUNTERS, final_metrics, fmt, markdown_table, mean_std
from ganzoo.errors import ConfigError
from ganzoo.models.legacy import upgrade_config

RTOL, ATOL = 1e-4, 1e-6  # --exact
ALPHA = 0.01  # statistical: per-cell false FAIL rate when nothing changed
STAT_RTOL, STAT_ATOL = 0.10, 1e-3

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
class Cell:
    """One line of a verdict: committed vs re-run values of a row's cell."""

    row: str
    metric: str
    committed: Sample | str
    rerun: Sample | str
    verdict: str  # PASS, FAIL or info
    diff: float | None = None
    bound: float | None = None
    p_value: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict != "FAIL"


@dataclass(frozen=True)
class Rule:
    """PASS when ``|diff| <= max(t(1 - alpha/2, df) * SE, rtol * |committed mean|, atol)``."""

    alpha: float = ALPHA
    rtol: float = STAT_RTOL
    atol: float = STAT_ATOL

    def describe(self, why: bool = True) -> str:
        """The rule in one line (as the summary line states it), with the reason for each term."""
        rule = (
            f"PASS when |re-run mean - committed mean| <= max(t({self.quantile:g}, df) * SE, "
            f"{100 * self.rtol:g}% of |committed mean|, {self.atol:g}); G/D steps and images "
            "seen equal"
        )
        return rule if not why else (
            f"{rule}; t({self.quantile:g}, df) * SE is the half-width of the "
            f"{100 * (1 - self.alpha):g}% confidence interval of a difference due to seed "
            "variance alone (Student t, SE = s_p * sqrt(1/n_c + 1/n_r) with the pooled std s_p, "
            f"df = n_c + n_r - 2; t({self.quantile:g}, 4) = {self.t(4):.2f} for 3 vs 3 seeds); "
            "Welch p is information"
        )

    @property
    def quantile(self) -> float:
        return 1 - self.alpha / 2

    def t(self, df: int) -> float:
        return float(stats.t.ppf(self.quantile, df))

    def bound(self, committed: Sample, rerun: Sample) -> float:
        """The largest |re-run mean - committed mean| that passes."""
        floor = max(self.rtol * abs(committed.mean), self.atol)
        se = pooled_se(committed, rerun)
        return floor if se is None else max(self.t(committed.n + rerun.n - 2) * se, floor)


def pooled_se(a: Sample, b: Sample) -> float | None:
    """Standard error of the difference of means with a pooled std (None: no seed variance
    can be estimated, one run on each side)."""
    df = a.n + b.n - 2
    if a.n == 0 or b.n == 0 or df < 1:
        return None
    ss = sum((s.n - 1) * s.std**2 for s in (a, b) if s.n > 1)
    return math.sqrt(ss / df) * math.sqrt(1 / a.n + 1 / b.n)


def numbers(values: list[Any]) -> list[float]:
    """The values that are numbers (not None, not NaN) as floats."""
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def welch_p(committed: list[float], rerun: list[float]) -> float | None:
    """Two-sided p-value of Welch's t-test (None with fewer than 2 values a side or no spread)."""
    if len(committed) < 2 or len(rerun) < 2:
        return None
    if statistics.stdev(committed) == statistics.stdev(rerun) == 0:
        return None
    return float(stats.ttest_ind(rerun, committed, equal_var=False).pvalue)


# ------------------------------------------------------------------ the runs to redo
def load_manifest(results_dir: str | Path) -> dict[str, Any]:
    path = Path(results_dir) / "runs.json"
    if not path.is_file():
        raise ConfigError(
            f"reproduce: {path} not found; give a directory written by `ganzoo table`"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"reproduce: {path} is unreadable ({err}); restore it with `git checkout {path}` "
            f"or rewrite it with `ganzoo table`"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("runs"), list):
        raise ConfigError(f"reproduce: {path} is not a runs.json written by `ganzoo table`")
    return manifest


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


def plan(manifest: dict[str, Any], runs: list[dict[str, Any]], runs_dir: Path) -> list[Run]:
    base = runs_dir / f"{manifest.get('benchmark', 'benchmark')}-reproduce"
    planned = []
    for entry in runs:
        name = entry["run_name"]
        config_path = base / "_configs" / f"{name}.yaml"
        config = rerun_config(upgrade_config(entry["config"]), base / name)
        write_text_atomic(config_path, yaml.safe_dump(config, sort_keys=False))
        command = [sys.executable, "-m", "ganzoo", "fit", "--config", str(config_path)]
        threads = str((entry.get("device") or {}).get("torch_threads") or 1)
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        planned.append(Run(name, base / name, command, env=env))
    return planned


# ------------------------------------------------------------------ the verdicts
def by_row(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    rows = dict.fromkeys(e["row"] for e in entries)
    return {row: [e for e in entries if e["row"] == row] for row in rows}


def compare_statistical(
    committed: list[dict[str, Any]], selected: list[dict[str, Any]], new: Records,
    rule: Rule = Rule(),
) -> list[Cell]:
    """Per row: the re-runs of ``selected`` against all ``committed`` runs of that row (the
    reference sample): a status cell, the counters (exact), every metric (statistical) and
    the wall time (information)."""
    cells: list[Cell] = []
    for row, members in by_row(selected).items():
        reference = [e for e in committed if e["row"] == row]
        records = [new.get(e["run_name"]) or {"status": "missing"} for e in members]
        cells.append(status_cell(row, reference, records))
        old_done = [e for e in reference if e.get("status") == "finished"]
        new_done = [r for r in records if r.get("status") == "finished"]
        for counter in COUNTERS:
            old = [cost(e)[counter] for e in old_done]
            if old and None not in old:
                fresh = [cost(r)[counter] for r in new_done]
                cells.append(counter_cell(row, counter, old, fresh, all(v in old for v in fresh)))
        for metric in sorted({m for e in old_done for m in final_metrics(e) if "_class_" not in m}):
            old = [final_metrics(e).get(metric) for e in old_done]
            fresh = [final_metrics(r).get(metric) for r in new_done]
            cells.append(metric_cell(row, metric, old, fresh, rule))
        cells.append(wall_time_cell(row, reference, records))
    return cells


def status_cell(row: str, reference: list[dict[str, Any]], records: list[dict[str, Any]]) -> Cell:
    """FAIL when a re-run did not complete or the row finished on one side only."""
    old = [e.get("status") for e in reference]
    fresh = [r.get("status") for r in records]
    incomplete = sorted({str(s) for s in fresh if s not in DONE_STATUSES})
    note = "re-run " + "/".join(incomplete) if incomplete else (
        "finished on one side only" if ("finished" in old) != ("finished" in fresh) else ""
    )
    return Cell(row, "status", _counts(old), _counts(fresh), "FAIL" if note else "PASS", note=note)


def counter_cell(row: str, counter: str, old: list, fresh: list, ok: bool) -> Cell:
    """G steps, D steps, images seen: set by the config, so they must be equal."""
    committed, rerun = Sample.of(old), Sample.of(fresh)
    return Cell(
        row, counter.replace("_", " "), committed, rerun, "PASS" if ok else "FAIL",
        diff=_diff(committed, rerun), bound=0.0, note="" if ok else "must be equal",
    )


def metric_cell(row: str, metric: str, old: list[Any], fresh: list[Any], rule: Rule) -> Cell:
    committed, rerun = Sample.of(old), Sample.of(fresh)
    if committed.n == 0:
        return Cell(row, metric, committed, rerun, "info", note="no committed value")
    if rerun.n == 0:
        return Cell(row, metric, committed, rerun, "FAIL", note="no re-run value")
    diff, bound = rerun.mean - committed.mean, rule.bound(committed, rerun)
    p = welch_p(numbers(old), numbers(fresh))
    verdict = "PASS" if abs(diff) <= bound else "FAIL"
    return Cell(row, metric, committed, rerun, verdict, diff=diff, bound=bound, p_value=p)


def wall_time_cell(row: str, reference: list[dict], records: list[dict | None]) -> Cell:
    old = Sample.of([e.get("wall_time_s") for e in reference])
    fresh = Sample.of([(r or {}).get("wall_time_s") for r in records])
    return Cell(row, "wall time s", old, fresh, "info", diff=_diff(old, fresh))


def compare_exact(
    entries: list[dict[str, Any]], new: Records, rtol: float = RTOL, atol: float = ATOL
) -> list[Cell]:
    """Same machine: per row, status and images seen equal per run, metric means within
    ``atol + rtol * |committed|``."""
    cells: list[Cell] = []
    for row, members in by_row(entries).items():
        records = [new.get(e["run_name"]) for e in members]
        old_status = [e["status"] for e in members]
        new_status = [str(r.get("status")) if r else "missing" for r in records]
        verdict = "PASS" if old_status == new_status else "FAIL"
        cells.append(Cell(row, "status", ",".join(old_status), ",".join(new_status), verdict))
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
            cells.append(Cell(row, metric, committed, rerun, verdict, diff=diff, bound=bound))
        cells.append(wall_time_cell(row, members, records))
    return cells


def _counts(statuses: list[Any]) -> str:
    return ", ".join(f"{n} {s}" for s, n in Counter(map(str, statuses)).items())


def _diff(a: Sample, b: Sample) -> float | None:
    return None if a.mean is None or b.mean is None else b.mean - a.mean


def render(cells: list[Cell], title: str, rule: str, number: Callable = fmt) -> str:
    """The report: ``title``, one table line per cell (values as ``number(value, metric)``
    writes them), the summary line."""
    lines = []
    for c in cells:
        metric = c.metric.replace(" ", "_")
        sign = "+" if (c.diff or 0) >= 0 else "-"
        diff = "" if c.diff is None else f"{sign}{number(abs(c.diff), metric)}"
        bound = "" if c.bound is None else number(c.bound, metric)
        if bound and isinstance(c.committed, Sample) and c.committed.mean and c.bound:
            bound += f" ({100 * c.bound / abs(c.committed.mean):.0f}%)"
        p = "" if c.p_value is None else f"{c.p_value:.3g}"
        check = c.verdict + (f" ({c.note})" if c.note else "")
        samples = [_sample(s, metric, number) for s in (c.committed, c.rerun)]
        lines.append([c.row, c.metric, *samples, diff, bound, p, check])
    columns = ["model", "cell", "committed mean ± std (n)", "re-run mean ± std (n)", "difference",
               "bound", "Welch p", "check"]
    return "\n".join([title, "", *markdown_table(columns, lines), "", summary_line(cells, rule)])


def _sample(s: Sample | str, metric: str, number: Callable = fmt) -> str:
    if isinstance(s, str):
        return s
    return f"{'—' if s.mean is None else mean_std(s.mean, s.std, metric, number)} ({s.n})"


def summary_line(cells: list[Cell], rule: str) -> str:
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
              rtol: float | None = None, atol: float | None = None, alpha: float = ALPHA,
              printer: Callable[[str], None] = print) -> tuple[list[Cell], str]:
    """Re-run the selected runs of ``results_dir`` and compare them with the committed values
    (``rtol``/``atol``: the mode's defaults when None); the cells and the printed report."""
    manifest = load_manifest(results_dir)
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
    runs = plan(manifest, entries, Path(runs_dir))
    run_all(runs, workers=workers, printer=printer, skip_done=False)
    new = {run.name: read_record(run.dir) for run in runs}
    if not exact:
        rule = Rule(alpha, STAT_RTOL if rtol is None else rtol, STAT_ATOL if atol is None else atol)
        return statistical_verdict(manifest, entries, new, rule)
    rtol, atol = RTOL if rtol is None else rtol, ATOL if atol is None else atol
    cells = compare_exact(entries, new, rtol, atol)
    rule = f"exact: |new - committed| <= {atol:g} + {rtol:g} * |committed|"
    title = f"reproduce: {len(entries)} run(s); {rule} (wall time is information, not compared)"
    return cells, render(cells, title, rule, number=lambda value, _: f"{value:.6g}")


def statistical_verdict(
    manifest: dict[str, Any], entries: list[dict[str, Any]], new: Records, rule: Rule = Rule()
) -> tuple[list[Cell], str]:
    """The cells of re-run records ``new`` (by run name) of the manifest's ``entries`` against
    all of the manifest's runs, and the printed report (``reproduce`` and ``ganzoo compare``)."""
    cells = compare_statistical(manifest["runs"], entries, new, rule)
    title = (
        f"reproduce: {len(entries)} run(s) re-run against {len(manifest['runs'])} committed "
        f"run(s); statistical verdict per cell: {rule.describe()}"
    )
    return cells, render(cells, title, f"statistical: {rule.describe(why=False)}")
