"""The benchmark commands of the ``ganzoo`` CLI: ``sweep``, ``table``, ``reproduce``, ``compare``,
``resume``.

    ganzoo sweep experiments/sweeps/mnist5k_compare.yaml --workers 2 [-- --key=value ...]
    ganzoo table runs/mnist5k                      # -> results/mnist5k/
    ganzoo reproduce results/mnist5k --only 'DCGAN*' --limit 3   # statistical verdict
    ganzoo reproduce results/mnist5k --exact       # same machine: bitwise-ish per cell
    ganzoo compare                                 # the main job: sweep + table, printed
    ganzoo resume runs/mnist5k/<run>               # continue a killed run from its last.ckpt

Exit status: 0 on success; 1 when runs failed or reproduction checks failed; 2 for user errors
(one line, ``ganzoo: error: ...``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from ganzoo.atomic import write_text_atomic
from ganzoo.bench.records import DONE_STATUSES, clock, read_record
from ganzoo.bench.reproduce import ALPHA, load_manifest, reproduce, statistical_verdict
from ganzoo.bench.sweep import gpu_count, load_sweep, plan_runs, run_all
from ganzoo.bench.table import write_table
from ganzoo.errors import ConfigError

COMPARE_SWEEP = "experiments/sweeps/mnist5k_compare.yaml"
DEVICES_HELP = "GPUs per run: N > 1 makes every run a DDP run over N GPUs (default 1)"


class OneLineArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ConfigError(f"{self.prog}: {message}")


def default_workers(devices_per_run: int = 1) -> int:
    """One run per GPU group when there are GPUs, else one per CPU core."""
    return gpu_count() // max(1, devices_per_run) or max(1, os.cpu_count() or 1)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="ganzoo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineArgumentParser)
    add_sweep_parser(sub.add_parser("sweep", help="run a W&B-format sweep file locally"))
    table = sub.add_parser("table", help="aggregate run records into results/<benchmark>/")
    table.add_argument("dirs", nargs="+", help="run or benchmark directories (runs/mnist5k)")
    table.add_argument("--out", default="results", help="root of the results directories")
    table.add_argument("--no-wandb", action="store_true", help="do not log the table to W&B")
    table.add_argument("--command", dest="command_line", default=None, help=argparse.SUPPRESS)
    add_reproduce_parser(sub.add_parser("reproduce", help="re-run a results directory and compare"))
    add_compare_parser(sub.add_parser("compare", help="the main job: the default sweep + table"))
    resume = sub.add_parser("resume", help="continue an interrupted or killed run")
    resume.add_argument("run_dir", help="the run's directory (holding record.json)")
    return parser


def add_sweep_parser(sweep: argparse.ArgumentParser) -> None:
    add = sweep.add_argument
    add("file", help="sweep YAML (W&B sweep format)")
    add("--workers", type=int, default=1,
        help="runs at once (one GPU each when present, else CPU processes)")
    add("--count", type=int, default=None,
        help="runs to draw (random; required unless run_cap) or first N (grid)")
    add("--seed", type=int, default=0, help="seed of the random search")
    add("--threads", type=int, default=None,
        help="torch threads per CPU run (default: cores // workers)")
    add("--devices-per-run", type=int, default=1, help=DEVICES_HELP)
    add("--dry-run", action="store_true", help="print the runs, run nothing")
    add("--runs-dir", default=None,
        help="root of the run directories (passed to each run as --runs_dir)")


def add_reproduce_parser(repro: argparse.ArgumentParser) -> None:
    add = repro.add_argument
    add("results", help="a results directory with runs.json (results/mnist5k)")
    add("--only", action="append", default=None,
        help="runs whose name or row matches (glob or substring); repeatable")
    add("--limit", type=int, default=None, help="at most this many runs")
    add("--workers", type=int, default=None, help="runs at once")
    add("--runs-dir", default="runs", help="where the new runs go")
    add("--exact", action="store_true",
        help="same-machine check: every cell equal up to rtol 1e-4, atol 1e-6 (default: a "
        "statistical verdict over seeds, valid across machines)")
    add("--alpha", type=float, default=None,
        help="statistical: per-cell false FAIL rate of the seed-variance bound (0.01)")
    add("--rtol", type=float, default=None, help="relative tolerance (0.10; --exact: 1e-4)")
    add("--atol", type=float, default=None, help="absolute tolerance (1e-3; --exact: 1e-6)")
    add("--report", default=None, help="also write the report to this file")


def add_compare_parser(compare: argparse.ArgumentParser) -> None:
    add = compare.add_argument
    add("--sweep", default=COMPARE_SWEEP, help="the sweep file")
    add("--workers", type=int, default=None, help="runs at once (default: GPUs, else CPU cores)")
    add("--runs-dir", default=None, help="root of the run directories (default: runs)")
    add("--devices-per-run", type=int, default=1, help=DEVICES_HELP)
    add("--out", default="results", help="root of the committed results directories")
    add("--update-results", action="store_true", help="write the table into --out (the committed "
        "results/<benchmark>/) instead of <runs>/tables/<benchmark>/ beside a comparison with it")
    add("--no-wandb", action="store_true", help="do not log the table to W&B")


def main(argv: list[str]) -> int:
    """Everything after ``--`` is passed to every run (``ganzoo sweep FILE -- --key=value``)."""
    cut = argv.index("--") if "--" in argv else len(argv)
    argv, extra = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    args.extra, args.argv = extra, argv
    command = {"sweep": cmd_sweep, "table": cmd_table, "reproduce": cmd_reproduce,
               "resume": cmd_resume}
    return command.get(args.command, cmd_compare)(args)


def cmd_resume(args: argparse.Namespace) -> int:
    """The run's own command (from its record, in its working directory) plus
    ``--ckpt_path=last``: the same run directory, record and W&B run continue."""
    run_dir = Path(args.run_dir)
    record = read_record(run_dir)
    if record is None:
        raise ConfigError(f"resume: {run_dir} holds no record.json; give a run directory "
                          "(runs/<benchmark>/<run>)")
    argv = without_ckpt_path(record.get("argv") or [])[1:]
    if record.get("status") in DONE_STATUSES:
        print(f"ganzoo resume: {run_dir} is already {record['status']}; nothing to do")
        return 0
    last = run_dir / "checkpoints" / "last.ckpt"
    if not zipfile.is_zipfile(last):
        raise ConfigError(f"resume: {last} is missing or unreadable; the run cannot continue, "
                          f"start it again with: ganzoo {shlex.join(argv)}")
    command = [sys.executable, "-m", "ganzoo", *argv, "--ckpt_path=last"]
    g_steps = (record.get("progress") or {}).get("g_steps")
    print(f"ganzoo resume: {run_dir} ({record.get('status')}, G step {g_steps}): "
          f"ganzoo {shlex.join(command[3:])}", flush=True)
    return subprocess.call(command, cwd=record.get("cwd") or None)


def without_ckpt_path(argv: list[str]) -> list[str]:
    """``argv`` without ``--ckpt_path X`` / ``--ckpt_path=X`` (a resume names its own)."""
    values = {i + 1 for i, arg in enumerate(argv) if arg == "--ckpt_path"}
    return [arg for i, arg in enumerate(argv)
            if i not in values and arg != "--ckpt_path" and not arg.startswith("--ckpt_path=")]


def cmd_sweep(args: argparse.Namespace) -> int:
    extra = list(args.extra) + ([f"--runs_dir={args.runs_dir}"] if args.runs_dir else [])
    runs = plan_runs(load_sweep(args.file), count=args.count, seed=args.seed, extra_args=extra)
    if args.dry_run:
        for run in runs:
            print(f"{run.dir}: {shlex.join(run.command)}")
        return 0
    run_all(runs, workers=args.workers, threads=args.threads, devices_per_run=args.devices_per_run)
    return 1 if any(r.status == "failed" for r in runs) else 0


def cmd_table(args: argparse.Namespace) -> int:
    command = args.command_line or "ganzoo " + shlex.join(args.argv)
    for out in write_table(args.dirs, args.out, command, use_wandb=not args.no_wandb).values():
        print((out / "table.md").read_text())
        held = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir())
        print(f"{out}/ holds: " + ", ".join(held))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    if args.exact and args.alpha is not None:
        raise ConfigError("reproduce: --alpha applies to the statistical verdict, not --exact")
    if args.alpha is not None and not 0 < args.alpha < 1:
        raise ConfigError(f"reproduce: --alpha must be in (0, 1), got {args.alpha}")
    cells, report = reproduce(
        args.results, runs_dir=args.runs_dir, only=args.only, limit=args.limit,
        workers=args.workers or default_workers(), exact=args.exact, rtol=args.rtol,
        atol=args.atol, alpha=ALPHA if args.alpha is None else args.alpha,
    )
    print(report)
    if args.report:
        write_text_atomic(args.report, f"`ganzoo {shlex.join(args.argv)}`\n\n{report}\n")
    return 0 if all(c.ok for c in cells) else 1


def cmd_compare(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    runs_dir = [f"--runs_dir={args.runs_dir}"] if args.runs_dir else []
    runs = plan_runs(load_sweep(args.sweep), extra_args=runs_dir)
    workers = args.workers or default_workers(args.devices_per_run)
    run_all(runs, workers=workers, devices_per_run=args.devices_per_run)
    ran = sum(r.status not in ("skipped", "pending") for r in runs)
    note = (
        f"Wall time of this command: {clock(time.perf_counter() - start)} for {ran} of "
        f"{len(runs)} runs with {workers} worker(s) (training and evaluation; runs already "
        f"done were skipped)"
    )
    # The committed results stay as they are unless --update-results: the fresh table goes to
    # <runs>/tables/<benchmark>/ and is compared with the committed one. Only this sweep's
    # runs enter it: other runs of the same benchmark stay out.
    out_root = Path(args.out) if args.update_results else Path(args.runs_dir or "runs") / "tables"
    outputs = write_table(
        [r.dir for r in runs if r.dir.is_dir()], out_root, "ganzoo " + shlex.join(args.argv),
        use_wandb=not args.no_wandb, notes=[note],
    )
    for benchmark, out in outputs.items():
        print((out / "table.md").read_text())
        print(f"written: {out}/")
        committed = Path(args.out) / benchmark
        if not args.update_results and (committed / "runs.json").is_file():
            print(compare_with_committed(committed, runs))
    print(f"compare: done in {clock(time.perf_counter() - start)} (sweep, table and W&B log)")
    return 1 if any(r.status == "failed" for r in runs) else 0


def compare_with_committed(committed: Path, runs) -> str:
    """``ganzoo reproduce``'s statistical verdict of ``runs`` against the committed table."""
    try:
        manifest = load_manifest(committed)
    except ConfigError as err:
        return f"compare: no comparison with the committed table: {err}"
    new = {run.name: read_record(run.dir) for run in runs}
    entries = [e for e in manifest["runs"] if e.get("run_name") in new]
    if not entries:
        return f"compare: none of these runs is in {committed}/runs.json; no comparison"
    _, report = statistical_verdict(manifest, entries, new)
    return (
        f"Against the committed {committed}/table.md (`ganzoo reproduce`'s statistical test; "
        f"`bash scripts/main.sh --update-results` replaces it):\n\n{report}"
    )
