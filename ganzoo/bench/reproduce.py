"""``ganzoo reproduce results/mnist5k``: re-run committed results and compare them.

Reads ``runs.json`` of a results directory (written by ``ganzoo table``) and re-runs every
selected run from its recorded, fully resolved config (same seeds, same number of torch
threads; only the run directory and the W&B run change). Two verdicts:

Statistical (the default), per table cell (model row x metric). Training is bitwise
reproducible only on the same CPU type: on other hardware one seed's FID can move by half,
so single runs are not compared; the re-run seeds are compared with the committed seeds of
the row as two samples. A cell PASSes when

    |re-run mean - committed mean| <= max(t(1 - alpha/2, df) * SE, rtol * |committed mean|, atol)

with ``SE = s_p * sqrt(1/n_c + 1/n_r)`` (pooled sample std ``s_p``, ``df = n_c + n_r - 2``)
and by default ``alpha = 0.01``, ``rtol = 0.10``, ``atol = 1e-3``: the difference lies
inside the 99% confidence interval that seed variance allows (Student t, which accounts for
std estimated from 3 seeds: t = 4.60 for 3 vs 3 seeds), or within 10% of the committed mean.
A true "no difference" test has little power with 3 seeds, hence the bound is printed per
cell (also as % of the committed mean) so that a reader sees how large a change it could
detect. Welch's t-test p-value is shown as information. Counters set by the config (G
steps, D steps, images seen) must be equal exactly; a re-run that failed, was interrupted,
or whose row finished where the committed one diverged (or the reverse) FAILs its status.

Exact (``--exact``, same machine): ``|new - committed| <= atol + rtol * |committed|`` per
cell with ``rtol = 1e-4`` and ``atol = 1e-6``, and status and images seen equal per run.
On the same CPU type, torch version and thread count a ganzoo run is deterministic (seeded
init, noise, batch order and evaluation); the tolerance only absorbs JSON round-trips and
summation order.
"""

from __future__ import annotations

import fnmatch
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ganzoo.atomic import write_text_atomic
from ganzoo.bench.records import git_info, read_record
from ganzoo.bench.sweep import Run, run_all
from ganzoo.bench.table import COUNTERS, final_metrics, fmt
from ganzoo.errors import ConfigError

RTOL = 1e-4  # --exact
ATOL = 1e-6  # --exact
ALPHA = 0.01  # statistical: per-cell false FAIL rate when nothing changed
STAT_RTOL = 0.10
STAT_ATOL = 1e-3
COMPLETE = ("finished", "diverged")


@dataclass
class Comparison:
    """One cell of the exact check: committed vs new value."""

    row: str
    metric: str
    committed: Any
    new: Any
    ok: bool


@dataclass
class Sample:
    """Mean, sample std and count of one cell's values over seeds."""

    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: list[Any]) -> Sample:
        values = numbers(values)
        if not values:
            return cls(None, None, 0)
        std = statistics.stdev(values) if len(values) > 1 else None
        return cls(statistics.fmean(values), std, len(values))


@dataclass
class Cell:
    """One cell of the statistical check: committed seeds vs re-run seeds."""

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

    def describe(self) -> str:
        """The rule in one line, with the reason for each term."""
        confidence = f"{100 * (1 - self.alpha):g}%"
        return (
            f"{self.short()}; t({self.quantile:g}, df) * SE is the half-width of the {confidence} "
            "confidence interval of a difference due to seed variance alone (Student t, "
            "SE = s_p * sqrt(1/n_c + 1/n_r) with the pooled std s_p, df = n_c + n_r - 2; "
            f"t({self.quantile:g}, 4) = {self.t(4):.2f} for 3 vs 3 seeds); Welch p is information"
        )

    def short(self) -> str:
        """The rule in one line, as the summary line states it."""
        return (
            f"PASS when |re-run mean - committed mean| <= max(t({self.quantile:g}, df) * SE, "
            f"{100 * self.rtol:g}% of |committed mean|, {self.atol:g}); G/D steps and images "
            "seen equal"
        )

    @property
    def quantile(self) -> float:
        return 1 - self.alpha / 2

    def t(self, df: int) -> float:
        from scipy import stats

        return float(stats.t.ppf(self.quantile, df))

    def bound(self, committed: Sample, rerun: Sample) -> float:
        """The largest |re-run mean - committed mean| that passes."""
        floor = max(self.rtol * abs(committed.mean), self.atol)
        se = pooled_se(committed, rerun)
        if se is None:
            return floor
        return max(self.t(committed.n + rerun.n - 2) * se, floor)


def numbers(values: list[Any]) -> list[float]:
    """The values that are numbers (not None, not NaN) as floats."""
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def pooled_se(a: Sample, b: Sample) -> float | None:
    """Standard error of the difference of means with a pooled std (None: no seed variance
    can be estimated, one run on each side)."""
    df = a.n + b.n - 2
    if a.n == 0 or b.n == 0 or df < 1:
        return None
    ss = sum((s.n - 1) * s.std**2 for s in (a, b) if s.n > 1)
    return math.sqrt(ss / df) * math.sqrt(1 / a.n + 1 / b.n)


def welch_p(committed: list[float], rerun: list[float]) -> float | None:
    """Two-sided p-value of Welch's t-test (None with fewer than 2 values a side or no spread)."""
    if len(committed) < 2 or len(rerun) < 2:
        return None
    if statistics.stdev(committed) == 0 and statistics.stdev(rerun) == 0:
        return None
    from scipy import stats

    return float(stats.ttest_ind(rerun, committed, equal_var=False).pvalue)


def load_manifest(results_dir: str | Path) -> dict[str, Any]:
    path = Path(results_dir) / "runs.json"
    if not path.is_file():
        raise ConfigError(
            f"reproduce: {path} not found; give a directory written by `ganzoo table`"
        )
    try:
        with open(path) as fh:
            manifest = json.load(fh)
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"reproduce: {path} is unreadable ({err}); restore it with `git checkout {path}` "
            f"or rewrite it with `ganzoo table`"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("runs"), list):
        raise ConfigError(f"reproduce: {path} is not a runs.json written by `ganzoo table`")
    return manifest


def select(
    runs: list[dict[str, Any]], only: list[str] | None, limit: int | None
) -> list[dict[str, Any]]:
    """Runs whose name or row matches any ``only`` pattern (glob or substring), first ``limit``."""
    if only:

        def matches(run: dict[str, Any]) -> bool:
            names = (run.get("run_name", ""), run.get("row", ""))
            return any(fnmatch.fnmatch(n, p) or p in n for p in only for n in names)

        runs = [r for r in runs if matches(r)]
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
    benchmark = manifest.get("benchmark", "benchmark")
    base = runs_dir / f"{benchmark}-reproduce"
    configs = base / "_configs"
    configs.mkdir(parents=True, exist_ok=True)
    planned = []
    for entry in runs:
        run_dir = base / entry["run_name"]
        config_path = configs / f"{entry['run_name']}.yaml"
        config = rerun_config(entry["config"], run_dir)
        write_text_atomic(config_path, yaml.safe_dump(config, sort_keys=False))
        command = [sys.executable, "-m", "ganzoo", "fit", "--config", str(config_path)]
        threads = str((entry.get("device") or {}).get("torch_threads") or 1)
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        planned.append(Run(entry["run_name"], run_dir, command, env=env))
    return planned


# ------------------------------------------------------------------ statistical verdict
def compare_statistical(
    committed: list[dict[str, Any]],
    selected: list[dict[str, Any]],
    new: dict[str, dict[str, Any] | None],
    rule: Rule = Rule(),
) -> list[Cell]:
    """Per row: the re-runs of ``selected`` against all ``committed`` runs of that row.

    Args:
        committed: every run of the manifest (the reference sample of each row).
        selected: the manifest entries that were re-run.
        new: the re-run record of each selected run name (None when it wrote none).
        rule: the PASS rule of the metric cells.

    Returns:
        Per row a status cell, the counters (exact), every metric (statistical) and the
        wall time (information).
    """
    cells: list[Cell] = []
    rows: dict[str, list[dict[str, Any]]] = {}
    for entry in selected:
        rows.setdefault(entry["row"], []).append(entry)
    for row, members in rows.items():
        reference = [e for e in committed if e["row"] == row]
        records = [new.get(e["run_name"]) or {"status": "missing"} for e in members]
        cells.append(status_cell(row, reference, records))
        old_done = [e for e in reference if e.get("status") == "finished"]
        new_done = [r for r in records if r.get("status") == "finished"]
        for counter in COUNTERS:
            cell = counter_cell(row, counter, old_done, new_done)
            if cell is not None:
                cells.append(cell)
        names = sorted({m for e in old_done for m in final_metrics(e) if "_class_" not in m})
        for metric in names:
            old = [final_metrics(e).get(metric) for e in old_done]
            fresh = [final_metrics(r).get(metric) for r in new_done]
            cells.append(metric_cell(row, metric, old, fresh, rule))
        old_wall = Sample.of([e.get("wall_time_s") for e in reference])
        new_wall = Sample.of([r.get("wall_time_s") for r in records])
        diff = _diff(old_wall, new_wall)
        cells.append(Cell(row, "wall time s", old_wall, new_wall, "info", diff=diff))
    return cells


def status_cell(row: str, reference: list[dict[str, Any]], records: list[dict[str, Any]]) -> Cell:
    """FAIL when a re-run did not complete or the row finished on one side only."""
    old = [e.get("status") for e in reference]
    fresh = [r.get("status") for r in records]
    incomplete = sorted({s for s in fresh if s not in COMPLETE})
    flipped = ("finished" in old) != ("finished" in fresh)
    note = ""
    if incomplete:
        note = "re-run " + "/".join(incomplete)
    elif flipped:
        note = "finished on one side only"
    return Cell(row, "status", _counts(old), _counts(fresh), "FAIL" if note else "PASS", note=note)


def counter_cell(
    row: str, counter: str, old_done: list[dict[str, Any]], new_done: list[dict[str, Any]]
) -> Cell | None:
    """G steps, D steps, images seen: set by the config, so every re-run value must be one of
    the committed values (None when the committed runs did not record it)."""
    old = [(e.get("progress") or {}).get(counter) for e in old_done]
    fresh = [(r.get("progress") or {}).get(counter) for r in new_done]
    if not old or any(v is None for v in old):
        return None
    ok = all(v in set(old) for v in fresh)
    return Cell(
        row,
        counter.replace("_", " "),
        Sample.of(old),
        Sample.of(fresh),
        "PASS" if ok else "FAIL",
        diff=_diff(Sample.of(old), Sample.of(fresh)),
        bound=0.0,
        note="" if ok else "must be equal",
    )


def metric_cell(row: str, metric: str, old: list[Any], fresh: list[Any], rule: Rule) -> Cell:
    committed, rerun = Sample.of(old), Sample.of(fresh)
    if committed.n == 0:
        return Cell(row, metric, committed, rerun, "info", note="no committed value")
    if rerun.n == 0:
        return Cell(row, metric, committed, rerun, "FAIL", note="no re-run value")
    diff = rerun.mean - committed.mean
    bound = rule.bound(committed, rerun)
    p = welch_p(numbers(old), numbers(fresh))
    verdict = "PASS" if abs(diff) <= bound else "FAIL"
    return Cell(row, metric, committed, rerun, verdict, diff=diff, bound=bound, p_value=p)


def _counts(statuses: list[Any]) -> str:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[str(status)] = counts.get(str(status), 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items())


def _diff(a: Sample, b: Sample) -> float | None:
    return None if a.mean is None or b.mean is None else b.mean - a.mean


def render_statistical(cells: list[Cell], rule: Rule, n_runs: int, n_committed: int) -> str:
    lines = [
        f"reproduce: {n_runs} run(s) re-run against {n_committed} committed run(s); statistical "
        f"verdict per cell: {rule.describe()}",
        "",
        "| model | cell | committed mean ± std (n) | re-run mean ± std (n) | difference "
        "| bound | Welch p | check |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        metric = c.metric.replace(" ", "_")
        diff = bound = p = ""
        if c.diff is not None:
            diff = f"{'+' if c.diff >= 0 else '-'}{fmt(abs(c.diff), metric)}"
        if c.bound is not None:
            bound = fmt(c.bound, metric)
            if isinstance(c.committed, Sample) and c.committed.mean and c.bound:
                bound += f" ({100 * c.bound / abs(c.committed.mean):.0f}%)"
        if c.p_value is not None:
            p = f"{c.p_value:.3g}"
        check = c.verdict + (f" ({c.note})" if c.note else "")
        lines.append(
            f"| {c.row} | {c.metric} | {_sample(c.committed, metric)} | "
            f"{_sample(c.rerun, metric)} | {diff} | {bound} | {p} | {check} |"
        )
    lines += ["", summary_line(cells, f"statistical: {rule.short()}")]
    return "\n".join(lines)


def _sample(s: Sample | str, metric: str) -> str:
    if isinstance(s, str):
        return s
    if s.mean is None:
        return f"— ({s.n})"
    constant = s.std is None or (metric in COUNTERS and s.std == 0)
    spread = "" if constant else f" ± {fmt(s.std, metric)}"
    return f"{fmt(s.mean, metric)}{spread} ({s.n})"


def summary_line(cells: list[Any], rule: str) -> str:
    """``reproduce: 12/14 cells PASS, 2 FAIL (<rule>)``; information cells are not counted."""
    checked = [c for c in cells if getattr(c, "verdict", None) != "info"]
    checked = [c for c in checked if not c.metric.endswith("(info)")]
    failed = sum(not c.ok for c in checked)
    return (
        f"reproduce: {len(checked) - failed}/{len(checked)} cells PASS"
        + (f", {failed} FAIL" if failed else "")
        + f" ({rule})"
    )


# ------------------------------------------------------------------ exact verdict (--exact)
def close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= atol + rtol * abs(float(a))


def compare(
    entries: list[dict[str, Any]],
    new: dict[str, dict[str, Any] | None],
    rtol: float = RTOL,
    atol: float = ATOL,
) -> list[Comparison]:
    """Exact check: per row, status and images seen per run, metrics as means."""
    out: list[Comparison] = []
    rows: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        rows.setdefault(entry["row"], []).append(entry)
    for row, members in rows.items():
        records = [new.get(e["run_name"]) for e in members]
        old_status = [e["status"] for e in members]
        new_status = [r.get("status") if r else "missing" for r in records]
        out.append(
            Comparison(
                row, "status", ",".join(old_status), ",".join(new_status), old_status == new_status
            )
        )
        old_images = [(e.get("progress") or {}).get("images_seen") for e in members]
        new_images = [((r or {}).get("progress") or {}).get("images_seen") for r in records]
        out.append(
            Comparison(
                row, "images seen", _mean(old_images), _mean(new_images), old_images == new_images
            )
        )
        finished = [
            (e, r) for e, r in zip(members, records, strict=True) if e["status"] == "finished"
        ]
        names = sorted({m for e, _ in finished for m in final_metrics(e)})
        for metric in names:
            old = _mean([final_metrics(e).get(metric) for e, _ in finished])
            fresh = _mean([final_metrics(r or {}).get(metric) for _, r in finished])
            out.append(Comparison(row, metric, old, fresh, close(old, fresh, rtol, atol)))
        wall_old = _mean([e.get("wall_time_s") for e in members])
        wall_new = _mean([(r or {}).get("wall_time_s") for r in records])
        out.append(Comparison(row, "wall time s (info)", wall_old, wall_new, True))
    return out


def _mean(values: list[Any]) -> float | None:
    values = [float(v) for v in values if v is not None]
    return sum(values) / len(values) if values else None


def render(comparisons: list[Comparison], rtol: float, atol: float, n_runs: int) -> str:
    rule = f"exact: |new - committed| <= {atol:g} + {rtol:g} * |committed|"
    lines = [
        f"reproduce: {n_runs} run(s); {rule} (wall time is information, not compared)",
        "",
        "| model | cell | committed | new | abs diff | check |",
        "|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        diff = ""
        if isinstance(c.committed, float | int) and isinstance(c.new, float | int):
            diff = f"{abs(c.new - c.committed):.3g}"
        check = "info" if c.metric.endswith("(info)") else ("PASS" if c.ok else "FAIL")
        lines.append(
            f"| {c.row} | {c.metric} | {_show(c.committed)} | {_show(c.new)} | {diff} | {check} |"
        )
    lines += ["", summary_line(comparisons, rule)]
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def reproduce(
    results_dir: str | Path,
    runs_dir: str | Path = "runs",
    only: list[str] | None = None,
    limit: int | None = None,
    workers: int = 1,
    exact: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    alpha: float = ALPHA,
    printer=print,
) -> tuple[list[Cell] | list[Comparison], str]:
    """Re-run the selected runs of ``results_dir`` and compare them with the committed values.

    ``rtol``/``atol`` default to the mode's values (statistical 0.10/1e-3, exact 1e-4/1e-6).
    Returns the cells (each with ``ok``) and the printed report.
    """
    manifest = load_manifest(results_dir)
    entries = select(manifest["runs"], only, limit)
    if not entries:
        raise ConfigError(f"reproduce: no run of {results_dir} matches --only {only}")
    recorded = sorted({(e.get("git") or {}).get("commit") or "?" for e in entries})
    now = git_info()
    if recorded != [now["commit"]] or now["dirty"]:
        printer(
            f"note: the committed runs were made at commit {', '.join(c[:12] for c in recorded)};"
            f" this checkout is at {str(now['commit'])[:12]}"
            + (" with uncommitted changes" if now["dirty"] else "")
            + ": code changes since then can change the numbers"
        )
    runs = plan(manifest, entries, Path(runs_dir))
    run_all(runs, workers=workers, printer=printer, skip_done=False)
    new = {run.name: read_record(run.dir) for run in runs}
    if exact:
        rtol, atol = RTOL if rtol is None else rtol, ATOL if atol is None else atol
        comparisons = compare(entries, new, rtol, atol)
        return comparisons, render(comparisons, rtol, atol, len(entries))
    rule = Rule(
        alpha=alpha,
        rtol=STAT_RTOL if rtol is None else rtol,
        atol=STAT_ATOL if atol is None else atol,
    )
    return statistical_verdict(manifest, entries, new, rule)


def statistical_verdict(
    manifest: dict[str, Any],
    entries: list[dict[str, Any]],
    new: dict[str, dict[str, Any] | None],
    rule: Rule = Rule(),
) -> tuple[list[Cell], str]:
    """The cells of re-run records ``new`` (by run name) of the manifest's ``entries`` against
    all of the manifest's runs, and the printed report (``reproduce`` and ``ganzoo compare``)."""
    cells = compare_statistical(manifest["runs"], entries, new, rule)
    return cells, render_statistical(cells, rule, len(entries), len(manifest["runs"]))
