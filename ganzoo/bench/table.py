"""Results tables from run records: ``ganzoo table runs/mnist5k`` -> ``results/mnist5k/``.

Writes, per benchmark:

- ``table.md``: a header with the command, date, commit, machine, versions, evaluation
  protocol and budget protocol (equal real images or equal generator steps, whichever the
  runs' records share, with the counts; or that they share neither), then one row per model/loss variant (runs that
  differ only in their training seed ``seed_everything``) with FID, IS, KID and the
  model-specific metrics as ``mean ± std`` over seeds, and beside them the cost: G steps,
  D steps, real images seen, wall time, images/s (images seen / wall time) and ``n``; then
  every run on its own.
- ``table.csv``: the same rows as numbers (``<metric>_mean``, ``_std``, ``_n``).
- ``fid_vs_g_steps.png``, ``fid_vs_wall_time.png``, ``is_vs_g_steps.png``: the evaluation
  history, one line per row (mean over seeds at each evaluation, band from the lowest to the
  highest seed); ``curves.csv``: the numbers behind them, one line per run and evaluation.
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
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.atomic import atomic_path, write_text_atomic
from ganzoo.bench.naming import flatten, sanitize
from ganzoo.bench.records import DONE_STATUSES, write_json_atomic

MAIN_METRICS = ("fid", "is", "kid")
WITHIN_RUN_SPREAD = ("is_std", "kid_std")  # spread inside one evaluation, not across seeds
LOWER_IS_BETTER = {"fid", "kid", "reverse_kl"}
# Read together, in this order: the reverse KL of the high-quality mode histogram means
# little without the modes covered and the high-quality share beside it (ganzoo.metrics.toy).
TOY_METRICS = ("modes_covered", "hq_percent", "reverse_kl")
# The cost of a row, beside its metrics: set by the budget (counters) or measured.
COST = ("g_steps", "d_steps", "images_seen", "wall_time_s", "images_per_s")
COUNTERS = ("g_steps", "d_steps", "images_seen")
COST_TITLES = {
    "g_steps": "G steps",
    "d_steps": "D steps",
    "images_seen": "images seen",
    "wall_time_s": "wall time",
    "images_per_s": "images/s",
}
# (metric, x axis, file): the curves written from the evaluation histories.
CURVES = (
    ("fid", "g_steps", "fid_vs_g_steps.png"),
    ("fid", "wall_time_s", "fid_vs_wall_time.png"),
    ("is", "g_steps", "is_vs_g_steps.png"),
)
AXIS_TITLES = {
    "g_steps": "generator steps",
    "wall_time_s": "wall time (s), evaluation included",
    "fid": "FID (lower is better)",
    "is": "IS (higher is better)",
}
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
            try:
                with open(file) as fh:
                    record = json.load(fh)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as err:  # JSONDecodeError is a ValueError
                print(
                    f"ganzoo table: warning: skipping {file}: unreadable run record ({err}); "
                    f"rerun that run or delete its directory",
                    file=sys.stderr,
                )
                continue
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
    """FID, IS, KID first, then the toy mode metrics side by side, then the other
    model-specific metrics; per-class breakdowns such as ``fid_class_3`` only with
    ``details`` (the CSV and W&B table, not the markdown)."""
    names: set[str] = set()
    for row in rows:
        for run in row.runs:
            names |= set(final_metrics(run))
    if not details:
        names = {n for n in names if "_class_" not in n}
    first = [m for m in (*MAIN_METRICS, *TOY_METRICS) if m in names]
    return first + sorted(names - set(first))


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


def cost(record: dict[str, Any]) -> dict[str, float | None]:
    """G steps, D steps, real images seen, wall time and images/s of one run."""
    progress = record.get("progress") or {}
    wall, images = record.get("wall_time_s"), progress.get("images_seen")
    return {
        "g_steps": progress.get("g_steps"),
        "d_steps": progress.get("d_steps"),
        "images_seen": images,
        "wall_time_s": wall,
        "images_per_s": images / wall if images is not None and wall else None,
    }


def row_stats(row: Row, metrics: list[str]) -> dict[str, Stat]:
    stats = {m: stat([final_metrics(r).get(m) for r in row.finished]) for m in metrics}
    costs = [cost(r) for r in row.finished]
    stats.update({c: stat([run[c] for run in costs]) for c in COST})
    return stats


def fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    if metric == "wall_time_s":
        return f"{value:.0f}s" if value < 600 else f"{value / 60:.1f}min"
    if metric in COUNTERS:
        return f"{value:,.0f}"
    if metric == "images_per_s":
        return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return format(value, FORMATS.get(metric, ".4g"))


def cell(s: Stat, metric: str, row: Row) -> str:
    if not row.finished:
        return "diverged" if row.diverged else "—"
    if s.mean is None:
        return "—"
    if s.std is None or (metric in COUNTERS and s.std == 0):
        return fmt(s.mean, metric)
    return f"{fmt(s.mean, metric)} ± {fmt(s.std, metric)}"


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
    cols = ["model", *titles, *(COST_TITLES[c] for c in COST), "n"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        stats = row_stats(row, metrics)
        cells = [cell(stats[m], m, row) for m in [*metrics, *COST]]
        lines.append("| " + " | ".join([row.label, *cells, count_cell(row)]) + " |")
    run_cols = ["model", "seed", "status", *titles, "G steps", "wall time", "images/s", "run"]
    per_run = [
        "",
        "### Every run",
        "",
        "| " + " | ".join(run_cols) + " |",
        "|" + "---|" * len(run_cols),
    ]
    for row in rows:
        for run in row.runs:
            values, spent = final_metrics(run), cost(run)
            shown = [
                "diverged" if run["status"] == "diverged" else fmt(values.get(m), m)
                for m in metrics
            ]
            cells = [
                row.label,
                str(run.get("seed")),
                run["status"],
                *shown,
                *(fmt(spent[c], c) for c in ("g_steps", "wall_time_s", "images_per_s")),
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
        "- Cost: G and D steps and real images seen (all processes) at the end of training; "
        "wall time from the start of fit to its end, evaluation included; images/s = images "
        "seen / wall time.",
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
    lines.append(f"- {budget_protocol(rows)}")
    budgets = sorted({_budget(r) for r in done})
    lines.append("- Budget settings: " + "; ".join(budgets))
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n\n"


def budget_protocol(rows: list[Row]) -> str:
    """One line naming the budget the finished runs share, read from their records: equal real
    images (= equal D steps: the mnist5k protocol, README "Budget protocol"), or equal generator
    steps (StudioGAN, compare_gan, Kurach et al. 2019), with the counts of the other kind; or
    that the runs share neither."""
    spent: dict[str, dict[Any, set[str]]] = {kind: {} for kind in COUNTERS}  # count -> rows
    for row in rows:
        for run in row.finished:
            counts = cost(run)
            for kind in COUNTERS:
                spent[kind].setdefault(counts[kind], set()).add(row.label)
    if not spent["g_steps"]:
        return "Budget: no finished run to state it"

    def by_count(kind: str) -> str:
        found = spent[kind]
        return "; ".join(
            f"{fmt(n, kind) if n is not None else 'not recorded'} ({', '.join(sorted(ls))})"
            for n, ls in sorted(found.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        )

    def shared(kind: str) -> bool:
        return len(spent[kind]) == 1 and None not in spent[kind]

    def count(kind: str) -> str:
        return fmt(next(iter(spent[kind])), kind)

    def per_row(kind: str, unit: str) -> str:
        return f"{count(kind)} {unit}" if shared(kind) else f"{unit}: {by_count(kind)}"

    if shared("images_seen"):
        return (
            f"Budget: equal real images ({count('images_seen')} per run = "
            f"{per_row('d_steps', 'D steps')}; {per_row('g_steps', 'G steps')}, one G step per "
            "n_critic D steps; diverged runs stop early)"
        )
    if shared("g_steps"):
        return (
            f"Budget: equal generator steps ({count('g_steps')} G steps per run; "
            f"{per_row('d_steps', 'D steps')}, n_critic D steps per G step; diverged runs stop "
            "early)"
        )
    return (
        "Budget: the runs share neither real images nor generator steps: "
        f"images {by_count('images_seen')}; G steps {by_count('g_steps')}; compare them at "
        "equal G steps in fid_vs_g_steps.png"
    )


def _budget(record: dict[str, Any]) -> str:
    flat = flatten(record.get("config", {}))
    unset = {
        "trainer.max_epochs": (None, -1),
        "trainer.max_steps": (None, -1),
        "trainer.limit_train_batches": (None, 1.0),
        "model.init_args.max_g_steps": (None,),
        "model.init_args.max_images": (None,),
        "model.init_args.n_critic": (None, 1),
        "data.batch_size": (None,),
    }
    shown = [
        f"{k.rsplit('.', 1)[-1]}={flat[k]}" for k, skip in unset.items() if flat.get(k) not in skip
    ]
    progress = record.get("progress") or {}
    if progress.get("world_size"):  # batch_size above is per process
        shown.append(f"world_size={progress['world_size']}")
        if progress.get("global_batch"):
            shown.append(f"global batch={progress['global_batch']}")
    return f"{record.get('variant')}: " + ", ".join(shown)


def render_csv(rows: list[Row]) -> str:
    metrics = metric_names(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    head = ["model", "status", "n_finished", "n_diverged"]
    for m in [*metrics, *COST]:
        head += [f"{m}_mean", f"{m}_std", f"{m}_n"]
    writer.writerow(head)
    for row in rows:
        stats = row_stats(row, metrics)
        status = "finished" if row.finished else "diverged"
        line: list[Any] = [row.label, status, len(row.finished), len(row.diverged)]
        for m in [*metrics, *COST]:
            s = stats[m]
            line += [_num(s.mean), _num(s.std), s.n]
        writer.writerow(line)
    return out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def history_metrics(rows: list[Row]) -> list[str]:
    """Numeric metrics found in the evaluation histories: FID, IS, KID first."""
    names = {
        k
        for row in rows
        for run in row.runs
        for entry in run.get("history") or []
        for k, v in (entry.get("metrics") or {}).items()
        if isinstance(v, int | float)
    }
    return [m for m in MAIN_METRICS if m in names] + sorted(names - set(MAIN_METRICS))


def render_curves_csv(rows: list[Row]) -> str:
    """One line per run and evaluation: what the curves are drawn from."""
    metrics = history_metrics(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "run", "seed", "status", "epoch", "g_steps", "wall_time_s", *metrics])
    for row in rows:
        for run in row.runs:
            for entry in run.get("history") or []:
                values = entry.get("metrics") or {}
                writer.writerow(
                    [
                        row.label,
                        run.get("run_name"),
                        run.get("seed"),
                        run.get("status"),
                        entry.get("epoch"),
                        entry.get("g_steps"),
                        _num(entry.get("wall_time_s")),
                        *(_num(values.get(m)) for m in metrics),
                    ]
                )
    return out.getvalue()


def mean_curve(row: Row, metric: str, x: str) -> tuple[list[float], ...]:
    """Per evaluation point (the G step it was made at, else its epoch) of the finished runs:
    x (mean over seeds), mean, lowest and highest ``metric``; points where no seed has both are
    left out."""
    points: dict[Any, list[tuple[float, float]]] = {}
    for run in row.finished:
        for entry in run.get("history") or []:
            xv, yv = entry.get(x), (entry.get("metrics") or {}).get(metric)
            if _number(xv) and _number(yv):
                key = entry.get("g_steps")
                key = entry.get("epoch") if key is None else key
                points.setdefault(key, []).append((float(xv), float(yv)))
    xs, means, lows, highs = [], [], [], []
    for key in sorted(points, key=lambda k: (k is None, k or 0)):
        pairs = points[key]
        ys = [y for _, y in pairs]
        xs.append(statistics.fmean(xv for xv, _ in pairs))
        means.append(statistics.fmean(ys))
        lows.append(min(ys))
        highs.append(max(ys))
    return xs, means, lows, highs


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def plot_curve(rows: list[Row], metric: str, x: str, path: Path) -> bool:
    """``metric`` against ``x`` from the evaluation histories, one line per row (mean over
    seeds, band from the lowest to the highest seed); False (no file) if nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    colors = plt.get_cmap("tab10")
    drawn, positive = False, True
    for i, row in enumerate(rows):
        xs, means, lows, highs = mean_curve(row, metric, x)
        if not xs:
            continue
        color = colors(i % 10)
        ax.plot(
            xs, means, "o-", color=color, markersize=3, label=f"{row.label} (n={len(row.finished)})"
        )
        if len(row.finished) > 1:
            ax.fill_between(xs, lows, highs, color=color, alpha=0.15, linewidth=0)
        positive = positive and min(lows) > 0
        drawn = True
    if drawn:
        ax.set_xlabel(AXIS_TITLES.get(x, x))
        ax.set_ylabel(AXIS_TITLES.get(metric, metric))
        ax.set_title("mean over seeds; band: lowest to highest seed", fontsize=9)
        if metric in LOWER_IS_BETTER and positive:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp)
    plt.close(fig)
    return drawn


def write_curves(rows: list[Row], out: Path) -> list[Path]:
    """``curves.csv`` and the plots of :data:`CURVES` that have data; the files written."""
    write_text_atomic(out / "curves.csv", render_curves_csv(rows))
    written = [out / "curves.csv"]
    for metric, x, name in CURVES:
        (out / name).unlink(missing_ok=True)  # a stale plot must not outlive its data
        if plot_curve(rows, metric, x, out / name):
            written.append(out / name)
    return written


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
        write_text_atomic(out / "table.md", markdown)
        write_text_atomic(out / "table.csv", render_csv(rows))
        write_curves(rows, out)
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
    """The comparison as a ``wandb.Table`` (plus curves and grids) in a W&B run of its own."""
    from ganzoo.bench.wandb_logger import FailSafeWandbLogger

    logger = FailSafeWandbLogger(
        save_dir=str(save_dir), name=f"{benchmark}-table", group=benchmark, job_type="table"
    )
    metrics = metric_names(rows)
    columns = ["model", "n", "n_diverged"]
    for m in [*metrics, *COST]:
        columns += [f"{m}_mean", f"{m}_std"]
    data = []
    for row in rows:
        stats = row_stats(row, metrics)
        line: list[Any] = [row.label, len(row.finished), len(row.diverged)]
        for m in [*metrics, *COST]:
            line += [stats[m].mean, stats[m].std]
        data.append(line)
    logger.log_table(f"{benchmark}/comparison", columns=columns, data=data)
    for _, _, name in CURVES:
        plot = out / name
        if plot.is_file():
            logger.log_image(f"{benchmark}/{plot.stem}", [str(plot)])
    for grid in sorted((out / "grids").glob("*.png")):  # one key each: layouts differ in size
        logger.log_image(f"{benchmark}/best_grid/{grid.stem}", [str(grid)])
    logger.finalize("success")
