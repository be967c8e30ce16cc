"""Results tables from run records: ``ganzoo table runs/mnist5k`` -> ``results/mnist5k/``.

Writes, per benchmark:

- ``table.md``: a header with the command, date, commit, machine, versions and evaluation
  protocol, then one row per model/loss variant (runs that differ only in their training
  seed ``seed_everything``) with FID, IS, KID and the model-specific metrics as
  ``mean ± std`` over seeds, wall time, images seen and ``n``; then every run on its own.
- ``table.csv``: the same rows as numbers (``<metric>_mean``, ``_std``, ``_n``).
- ``fid_vs_wall_time.png``: FID of every evaluation against the run's wall time.
- ``grids/<row>.png``: the final sample grid of each row's best run (lowest final FID).
- ``runs.json``: per run its resolved config, seed, final metrics and environment: what
  ``ganzoo reproduce`` re-runs and compares against.

Metrics are each run's final evaluation. A diverged run counts in ``n`` as diverged and
never as numbers: a row whose runs all diverged shows ``diverged`` in every metric cell.
Runs that are still running, failed or were interrupted are listed as excluded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import shutil
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.bench.naming import flatten, sanitize
from ganzoo.bench.records import DONE_STATUSES, write_json_atomic

MAIN_METRICS = ("fid", "is", "kid")
WITHIN_RUN_SPREAD = ("is_std", "kid_std")  # spread inside one evaluation, not across seeds
LOWER_IS_BETTER = {"fid", "kid", "reverse_kl"}
FORMATS = {
    "fid": ".2f",
    "is": ".3f",
    "kid": ".4f",
    "label_accuracy": ".3f",
    "code_accuracy": ".3f",
    "modes_covered": ".2f",
    "hq_percent": ".1f",
    "reverse_kl": ".3f",
}
# Config keys that say where a run lives or which seed it used: not part of a row's identity.
NOT_IDENTITY = (
    "seed_everything",
    "benchmark",
    "run_name",
    "runs_dir",
    "ckpt_path",
    "trainer.default_root_dir",
    "trainer.logger",
    "trainer.enable_progress_bar",
)


@dataclass
class Row:
    """Runs that differ only in their training seed."""

    label: str
    key: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> list[dict[str, Any]]:
        return [r for r in self.runs if r["status"] == "finished"]

    @property
    def diverged(self) -> list[dict[str, Any]]:
        return [r for r in self.runs if r["status"] == "diverged"]


# ------------------------------------------------------------------ loading and grouping
def find_records(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every record.json under the given run or benchmark directories (or record files)."""
    records = []
    for path in paths:
        path = Path(path)
        files = [path] if path.is_file() else sorted(path.rglob("record.json"))
        for file in files:
            with open(file) as fh:
                record = json.load(fh)
            record.setdefault("run_dir", str(file.parent))
            records.append(record)
    return records


def identity(record: dict[str, Any]) -> dict[str, Any]:
    """The flattened config of a run without seed and location keys."""
    flat = flatten(record.get("config", {}))
    return {
        k: v
        for k, v in flat.items()
        if not any(k == p or k.startswith(p + ".") for p in NOT_IDENTITY)
    }


def group_rows(records: list[dict[str, Any]]) -> list[Row]:
    """Group finished and diverged runs into rows; label rows by variant (plus what differs)."""
    rows: dict[str, Row] = {}
    for record in records:
        if record.get("status") not in DONE_STATUSES:
            continue
        key = json.dumps(identity(record), sort_keys=True, default=str)
        rows.setdefault(key, Row(record.get("variant", "?"), key)).runs.append(record)
    by_label: dict[str, list[Row]] = {}
    for row in rows.values():
        by_label.setdefault(row.label, []).append(row)
    for same in by_label.values():
        if len(same) < 2:
            continue
        idents = [json.loads(r.key) for r in same]
        keys = sorted(
            {k for i in idents for k in i if len({json.dumps(d.get(k)) for d in idents}) > 1}
        )
        for row, ident in zip(same, idents, strict=True):
            diff = ", ".join(f"{k.rsplit('.', 1)[-1]}={ident.get(k)}" for k in keys)
            row.label = f"{row.label} ({diff})"
    for row in rows.values():
        row.runs.sort(key=lambda r: (str(r.get("seed")), r.get("run_name", "")))
    return sorted(rows.values(), key=lambda r: r.label)


def final_metrics(record: dict[str, Any]) -> dict[str, float]:
    final = record.get("final") or {}
    return {
        k: v
        for k, v in (final.get("metrics") or {}).items()
        if isinstance(v, int | float) and k not in WITHIN_RUN_SPREAD
    }


def metric_names(rows: list[Row], details: bool = True) -> list[str]:
    """FID, IS, KID first, then the model-specific metrics; per-class breakdowns such as
    ``fid_class_3`` only with ``details`` (the CSV and W&B table, not the markdown)."""
    names: set[str] = set()
    for row in rows:
        for run in row.runs:
            names |= set(final_metrics(run))
    if not details:
        names = {n for n in names if "_class_" not in n}
    extra = sorted(names - set(MAIN_METRICS))
    return [m for m in MAIN_METRICS if m in names] + extra


@dataclass
class Stat:
    mean: float | None
    std: float | None
    n: int


def stat(values: list[float]) -> Stat:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return Stat(None, None, 0)
    std = statistics.stdev(values) if len(values) > 1 else None
    return Stat(statistics.fmean(values), std, len(values))


def row_stats(row: Row, metrics: list[str]) -> dict[str, Stat]:
    stats = {m: stat([final_metrics(r).get(m) for r in row.finished]) for m in metrics}
    stats["wall_time_s"] = stat([r.get("wall_time_s") for r in row.finished])
    stats["images_seen"] = stat(
        [(r.get("progress") or {}).get("images_seen") for r in row.finished]
    )
    return stats


def fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    if metric == "wall_time_s":
        return f"{value:.0f}s" if value < 600 else f"{value / 60:.1f}min"
    if metric == "images_seen":
        return f"{value:,.0f}"
    return format(value, FORMATS.get(metric, ".4g"))


def cell(s: Stat, metric: str, row: Row) -> str:
    if not row.finished:
        return "diverged" if row.diverged else "—"
    if s.mean is None:
        return "—"
    return fmt(s.mean, metric) + (f" ± {fmt(s.std, metric)}" if s.std is not None else "")


def count_cell(row: Row) -> str:
    n = len(row.finished)
    return f"{n} (+{len(row.diverged)} diverged)" if row.diverged else str(n)


# ------------------------------------------------------------------ writing
def render_markdown(
    benchmark: str,
    rows: list[Row],
    records: list[dict[str, Any]],
    command: str,
    notes: list[str] | None = None,
) -> str:
    metrics = metric_names(rows, details=False)
    header = [_header(benchmark, rows, records, command, notes or [])]
    titles = [m.upper() if m in MAIN_METRICS else m for m in metrics]
    cols = ["model", *titles, "wall time", "images seen", "n"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        stats = row_stats(row, metrics)
        cells = [cell(stats[m], m, row) for m in metrics]
        cells += [
            cell(stats["wall_time_s"], "wall_time_s", row),
            cell(stats["images_seen"], "images_seen", row),
            count_cell(row),
        ]
        lines.append("| " + " | ".join([row.label, *cells]) + " |")
    run_cols = ["model", "seed", "status", *titles, "wall time", "run"]
    per_run = [
        "",
        "### Every run",
        "",
        "| " + " | ".join(run_cols) + " |",
        "|" + "---|" * len(run_cols),
    ]
    for row in rows:
        for run in row.runs:
            values = final_metrics(run)
            shown = [
                "diverged" if run["status"] == "diverged" else fmt(values.get(m), m)
                for m in metrics
            ]
            cells = [
                row.label,
                str(run.get("seed")),
                run["status"],
                *shown,
                fmt(run.get("wall_time_s"), "wall_time_s"),
                str(run.get("run_name")),
            ]
            per_run.append("| " + " | ".join(cells) + " |")
    excluded = [r for r in records if r.get("status") not in DONE_STATUSES]
    tail = []
    if excluded:
        tail = [
            "",
            "Excluded (not finished): "
            + ", ".join(f"{r.get('run_name')} ({r.get('status')})" for r in excluded),
        ]
    return "\n".join(header + lines + per_run + tail) + "\n"


def _header(
    benchmark: str, rows: list[Row], records: list[dict[str, Any]], command: str, notes: list[str]
) -> str:
    done = [r for row in rows for r in row.runs]
    commits = sorted({(r.get("git") or {}).get("commit") or "unknown" for r in done})
    dirty = any((r.get("git") or {}).get("dirty") for r in done)
    first = done[0] if done else {}
    versions = first.get("versions", {})
    device = first.get("device", {})
    gpus = device.get("cuda_devices") or []
    machine = (
        f"{device.get('cpu', '?')}, {device.get('cpu_count', '?')} CPU cores, "
        + (", ".join(gpus) if gpus else "no GPU")
        + f"; {device.get('torch_threads', '?')} torch thread(s) per run"
    )
    dates = sorted(r.get("ended_at") or "" for r in done)
    seeds = sorted({str(r.get("seed")) for r in done})
    protocols = sorted(
        {
            json.dumps((r.get("final") or {}).get("protocol"), sort_keys=True)
            for r in done
            if (r.get("final") or {}).get("protocol")
        }
    )
    first_end, last_end = (dates[0][:16], dates[-1][:16]) if dates else ("?", "?")
    written = dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes")
    lines = [
        f"# {benchmark}: GAN comparison",
        "",
        f"- Command: `{command}`",
        f"- Date: runs ended {first_end} to {last_end} UTC; table written {written}",
        f"- Commit: {', '.join(c[:12] for c in commits)}"
        + (" (with uncommitted changes)" if dirty else ""),
        *(
            [
                f"- WARNING: the runs come from {len(commits)} commits (the code changed while they"
                " ran); rerun them at one commit before comparing numbers"
            ]
            if len(commits) > 1
            else []
        ),
        *(
            [f"- WARNING: {len(protocols)} different evaluation protocols below"]
            if len(protocols) > 1
            else []
        ),
        f"- Machine: {machine}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        f"- Values: each run's final evaluation; mean ± std (sample std) over training seeds "
        f"(`seed_everything` in {{{', '.join(seeds)}}}); n = runs per row.",
    ]
    for proto in protocols:
        p = json.loads(proto)
        sha = str(p.get("weights_sha256") or "?")[:12]
        lines.append(
            f"- Protocol: extractor `{p.get('extractor')}` (weights sha256 {sha}...), "
            f"{p.get('num_fake')} generated vs {p.get('num_real')} real images of the "
            f"`{p.get('reference_split')}` split, KID subset {p.get('kid_subset_size')}, "
            f"seed {p.get('seed')}"
        )
    budgets = sorted({_budget(r) for r in done})
    lines.append("- Budget: " + "; ".join(budgets))
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n\n"


def _budget(record: dict[str, Any]) -> str:
    flat = flatten(record.get("config", {}))
    unset = {
        "trainer.max_epochs": (None, -1),
        "trainer.max_steps": (None, -1),
        "trainer.limit_train_batches": (None, 1.0),
        "model.init_args.max_g_steps": (None,),
        "model.init_args.n_critic": (None, 1),
        "data.batch_size": (None,),
    }
    shown = [
        f"{k.rsplit('.', 1)[-1]}={flat[k]}" for k, skip in unset.items() if flat.get(k) not in skip
    ]
    return f"{record.get('variant')}: " + ", ".join(shown)


def render_csv(rows: list[Row]) -> str:
    metrics = metric_names(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    head = ["model", "status", "n_finished", "n_diverged"]
    for m in [*metrics, "wall_time_s", "images_seen"]:
        head += [f"{m}_mean", f"{m}_std", f"{m}_n"]
    writer.writerow(head)
    for row in rows:
        stats = row_stats(row, metrics)
        status = "finished" if row.finished else "diverged"
        line: list[Any] = [row.label, status, len(row.finished), len(row.diverged)]
        for m in [*metrics, "wall_time_s", "images_seen"]:
            s = stats[m]
            line += [_num(s.mean), _num(s.std), s.n]
        writer.writerow(line)
    return out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def plot_fid_vs_time(rows: list[Row], path: Path) -> bool:
    """FID of every evaluation against wall time, one colour per row; False if no FID."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    colors = plt.get_cmap("tab10")
    drawn = False
    for i, row in enumerate(rows):
        for j, run in enumerate(row.finished):
            points = [
                (e.get("wall_time_s"), e["metrics"].get("fid"))
                for e in run.get("history", [])
                if e.get("wall_time_s") is not None
                and (e.get("metrics") or {}).get("fid") is not None
            ]
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            ax.plot(
                xs,
                ys,
                "o-",
                color=colors(i % 10),
                alpha=0.8,
                markersize=3,
                label=row.label if j == 0 else None,
            )
            drawn = True
    if drawn:
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("FID (lower is better)")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
    plt.close(fig)
    return drawn


def best_run(row: Row) -> dict[str, Any] | None:
    scored = [r for r in row.finished if final_metrics(r).get("fid") is not None]
    if scored:
        return min(scored, key=lambda r: final_metrics(r)["fid"])
    return row.finished[0] if row.finished else None


def final_grid(record: dict[str, Any]) -> Path | None:
    candidates = [Path(p) for p in record.get("grids", []) if Path(p).name == "final.png"]
    candidates.append(Path(record["run_dir"]) / "grids" / "final.png")
    return next((p for p in candidates if p.is_file()), None)


def manifest_entry(record: dict[str, Any], label: str) -> dict[str, Any]:
    keep = (
        "run_name",
        "run_dir",
        "variant",
        "status",
        "seed",
        "config",
        "argv",
        "final",
        "best",
        "wall_time_s",
        "progress",
        "git",
        "versions",
        "device",
        "started_at",
        "ended_at",
    )
    return {"row": label, **{k: record.get(k) for k in keep}}


def write_table(
    paths: Iterable[str | Path],
    out_root: str | Path = "results",
    command: str = "ganzoo table",
    wandb_dir: str | Path | None = None,
    use_wandb: bool = True,
    notes: list[str] | None = None,
) -> dict[str, Path]:
    """Aggregate the records under ``paths`` into ``<out_root>/<benchmark>/`` per benchmark.

    ``notes`` are extra header lines (``ganzoo compare`` adds its wall time). Returns the
    output directory of each benchmark.
    """
    paths = list(paths)
    records = find_records(paths)
    if not records:
        from ganzoo.errors import ConfigError

        raise ConfigError(f"table: no record.json under {', '.join(map(str, paths))}")
    outputs: dict[str, Path] = {}
    by_benchmark: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_benchmark.setdefault(record.get("benchmark") or "unknown", []).append(record)
    for benchmark, recs in sorted(by_benchmark.items()):
        out = Path(out_root) / sanitize(benchmark)
        out.mkdir(parents=True, exist_ok=True)
        rows = group_rows(recs)
        markdown = render_markdown(benchmark, rows, recs, command, notes)
        (out / "table.md").write_text(markdown)
        (out / "table.csv").write_text(render_csv(rows))
        plot_fid_vs_time(rows, out / "fid_vs_wall_time.png")
        grids = out / "grids"
        if grids.exists():
            shutil.rmtree(grids)
        for row in rows:
            best = best_run(row)
            source = final_grid(best) if best else None
            if source is not None:
                grids.mkdir(exist_ok=True)
                shutil.copyfile(source, grids / f"{sanitize(row.label)}.png")
        write_json_atomic(
            out / "runs.json",
            {
                "benchmark": benchmark,
                "command": command,
                "runs": [manifest_entry(r, row.label) for row in rows for r in row.runs],
            },
        )
        if use_wandb:
            log_to_wandb(benchmark, rows, out, Path(wandb_dir or paths[0]))
        outputs[benchmark] = out
    return outputs


def log_to_wandb(benchmark: str, rows: list[Row], out: Path, save_dir: Path) -> None:
    """The comparison as a ``wandb.Table`` (plus plot and grids) in a W&B run of its own."""
    from ganzoo.bench.wandb_logger import FailSafeWandbLogger

    logger = FailSafeWandbLogger(
        save_dir=str(save_dir), name=f"{benchmark}-table", group=benchmark, job_type="table"
    )
    metrics = metric_names(rows)
    columns = ["model", "n", "n_diverged"]
    for m in [*metrics, "wall_time_s", "images_seen"]:
        columns += [f"{m}_mean", f"{m}_std"]
    data = []
    for row in rows:
        stats = row_stats(row, metrics)
        line: list[Any] = [row.label, len(row.finished), len(row.diverged)]
        for m in [*metrics, "wall_time_s", "images_seen"]:
            line += [stats[m].mean, stats[m].std]
        data.append(line)
    logger.log_table(f"{benchmark}/comparison", columns=columns, data=data)
    plot = out / "fid_vs_wall_time.png"
    if plot.is_file():
        logger.log_image(f"{benchmark}/fid_vs_wall_time", [str(plot)])
    for grid in sorted((out / "grids").glob("*.png")):  # one key each: layouts differ in size
        logger.log_image(f"{benchmark}/best_grid/{grid.stem}", [str(grid)])
    logger.finalize("success")
