"""``ganzoo reproduce results/mnist5k``: re-run committed results and compare, cell by cell.

Reads ``runs.json`` of a results directory (written by ``ganzoo table``), re-runs every
selected run from its recorded, fully resolved config (same seeds, same number of torch
threads; only the run directory and the W&B run change) and prints, for each table cell
(row x metric, mean over the selected seeds), the committed value beside the new one with
PASS or FAIL. Status (finished/diverged) and images seen must match exactly.

Tolerance: ``|new - committed| <= atol + rtol * |committed|`` with ``rtol = 1e-4`` and
``atol = 1e-6`` by default. On the same CPU type, torch version and thread count a ganzoo
run is deterministic (seeded init, noise, batch order and evaluation), so values are
expected to agree to float32 round-off; the tolerance only absorbs JSON round-trips and
summation order. Other hardware or versions can legitimately differ (GAN training amplifies
round-off): the report says so instead of hiding it.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ganzoo.bench.records import git_info, read_record
from ganzoo.bench.sweep import Run, run_all
from ganzoo.bench.table import final_metrics
from ganzoo.errors import ConfigError

RTOL = 1e-4
ATOL = 1e-6


@dataclass
class Comparison:
    row: str
    metric: str
    committed: Any
    new: Any
    ok: bool


def load_manifest(results_dir: str | Path) -> dict[str, Any]:
    path = Path(results_dir) / "runs.json"
    if not path.is_file():
        raise ConfigError(
            f"reproduce: {path} not found; give a directory written by `ganzoo table`"
        )
    with open(path) as fh:
        return json.load(fh)


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
        with open(config_path, "w") as fh:
            yaml.safe_dump(rerun_config(entry["config"], run_dir), fh, sort_keys=False)
        command = [sys.executable, "-m", "ganzoo", "fit", "--config", str(config_path)]
        threads = str((entry.get("device") or {}).get("torch_threads") or 1)
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        planned.append(Run(entry["run_name"], run_dir, command, env=env))
    return planned


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
    """Cell-by-cell comparison: per row, status and images seen per run, metrics as means."""
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
    lines = [
        f"reproduce: {n_runs} run(s); tolerance |new - committed| <= {atol:g} + {rtol:g} * "
        f"|committed| (wall time is information, not compared)",
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
    failed = sum(not c.ok for c in comparisons)
    checked = sum(not c.metric.endswith("(info)") for c in comparisons)
    lines += [
        "",
        f"reproduce: {checked - failed}/{checked} cells PASS"
        + (f", {failed} FAIL" if failed else ""),
    ]
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
    rtol: float = RTOL,
    atol: float = ATOL,
    printer=print,
) -> tuple[list[Comparison], str]:
    """Re-run the selected runs of ``results_dir`` and compare them with the committed values."""
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
    comparisons = compare(entries, new, rtol, atol)
    return comparisons, render(comparisons, rtol, atol, len(entries))
