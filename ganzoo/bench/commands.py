"""The benchmark commands of the ``ganzoo`` CLI: ``sweep``, ``table``, ``verdict``,
``reproduce``, ``calibrate``, ``compare``, ``resume``, ``report``.

    ganzoo sweep experiments/sweeps/mnist5k_compare.yaml --workers 2 [-- --key=value ...]
    ganzoo table runs/mnist5k                      # -> results/mnist5k/
    ganzoo table --rerender results/mnist5k        # table.md/csv again from its runs.json
    ganzoo verdict results/mnist5k other/mnist5k   # two results sets: same or different?
    ganzoo reproduce results/mnist5k --only 'DCGAN*'   # re-run with new seeds, then verdict
    ganzoo reproduce results/mnist5k --exact       # same machine, same seeds: equal per cell
    ganzoo calibrate results/mnist5k               # simulate the verdict at the table's spreads
    ganzoo compare                                 # the main job: sweep + table, printed
    ganzoo compare --precision 32-true             # float32 also on a CPU with bf16
    ganzoo resume runs/mnist5k/<run>               # continue a killed run from its last.ckpt
    ganzoo report results/* --out /tmp/site        # one static site over results directories
    ganzoo tune experiments/tuning/mnist5k.yaml    # equal tuning budgets, scored on validation

Exit status: 0 on success; 1 when runs failed, a cell is DIFFERENT or an exact check failed;
2 for user errors (one line, ``ganzoo: error: ...``) and for a report that built no study.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from ganzoo.atomic import write_text_atomic
from ganzoo.bench import precision, tune
from ganzoo.bench.calibration import calibrate
from ganzoo.bench.report import report
from ganzoo.bench.reproduce import reproduce, statistical_verdict
from ganzoo.bench.sweep import gpu_count, load_sweep, plan_runs, run_all
from ganzoo.bench.table import rerender, write_table
from ganzoo.bench.verdict import load_manifest, verdict
from ganzoo.errors import ConfigError
from ganzoo.runs.naming import RunLocation
from ganzoo.runs.records import DONE_STATUSES, clock, git_info, read_record

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
    table.add_argument("dirs", nargs="+", help="run or benchmark directories (runs/mnist5k); "
                       "with --rerender, results directories holding runs.json")
    table.add_argument("--out", default="results", help="root of the results directories")
    table.add_argument("--no-wandb", action="store_true", help="do not log the table to W&B")
    table.add_argument("--tuning", default=None, help="the results directory of the search the "
                       "configs won (results/mnist5k_tuning): its trials per variant enter the header "
                       "(with --rerender: replace the header's line)")
    table.add_argument("--rerender", action="store_true", help="rewrite table.md and table.csv "
                       "of results directories from their runs.json (no run directories needed; "
                       "curves, grids and runs.json stay as they are)")
    table.add_argument("--command", dest="command_line", default=None, help=argparse.SUPPRESS)
    verdict_cmd = sub.add_parser("verdict", help="compare two results directories (runs.json)")
    verdict_cmd.add_argument("a", help="the reference results directory (A: committed)")
    verdict_cmd.add_argument("b", help="the results directory compared with it (B: rerun)")
    verdict_cmd.add_argument("--json", dest="json_path", default=None,
                             help="also write the verdict as JSON to this file")
    add_reproduce_parser(sub.add_parser("reproduce", help="re-run a results directory and compare"))
    cal = sub.add_parser("calibrate", help="simulate the verdict and the groups at a table's spreads")
    cal.add_argument("results", help="a results directory with runs.json (results/mnist5k)")
    cal.add_argument("--reps", type=int, default=2000, help="simulated comparisons per cell")
    cal.add_argument("--seed", type=int, default=0, help="seed of the simulation")
    add_compare_parser(sub.add_parser("compare", help="the main job: the default sweep + table"))
    resume = sub.add_parser("resume", help="continue an interrupted or killed run")
    resume.add_argument("run_dir", help="the run's directory (holding record.json)")
    tune = sub.add_parser("tune", help="the same tuning budget for every variant (validation)")
    tune.add_argument("file", help="a tuning file (experiments/tuning/mnist5k.yaml)")
    tune.add_argument("--workers", type=int, default=None, help="runs at a time (default: cores)")
    tune.add_argument("--runs_dir", default="runs", help="root of the run directories")
    tune.add_argument("--out", default="results", help="root of the results directories")
    tune.add_argument("--dry-run", action="store_true", help="print the trials and their "
                      "commands; run nothing")
    site = sub.add_parser("report", help="one static site (HTML) over results directories")
    site.add_argument("dirs", nargs="+", help="results directories holding runs.json "
                      "(results/*); a directory without one stands for its subdirectories")
    site.add_argument("--out", required=True, help="the site's directory (new, empty, or a "
                      "site written by ganzoo report, which is replaced)")
    site.add_argument("--against", action="append", default=[], help="a results directory "
                      "(A) to give the verdict against, for the studies of its benchmark; "
                      "repeatable")
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
        help="same-machine check with the committed seeds: every cell equal up to rtol 1e-4, "
        "atol 1e-6 (default: a statistical verdict over new seeds, valid across machines)")
    add("--seeds", default=None, help="statistical: comma-separated training seeds to re-run "
        "each selected row with (default: as many as selected, none a committed seed)")
    add("--same-seeds", action="store_true",
        help="statistical: re-run the selected runs with their own committed seeds")
    add("--rtol", type=float, default=None, help="--exact: relative tolerance (1e-4)")
    add("--atol", type=float, default=None, help="--exact: absolute tolerance (1e-6)")
    add("--report", default=None, help="also write the report to this file")


def add_compare_parser(compare: argparse.ArgumentParser) -> None:
    add = compare.add_argument
    add("--sweep", default=COMPARE_SWEEP, help="the sweep file")
    add("--workers", type=int, default=None, help="runs at once (default: GPUs, else CPU cores)")
    add("--runs-dir", default=None, help="root of the run directories (default: runs)")
    add("--devices-per-run", type=int, default=1, help=DEVICES_HELP)
    add("--precision", default=precision.AUTO, choices=precision.CHOICES,
        help="the runs' numeric precision (default auto: bf16-mixed on a CPU with native bf16, "
        "avx512_bf16 or AMX, else 32-true; bf16 runs and rows are named +bf16-mixed)")
    add("--out", default="results", help="root of the committed results directories")
    add("--update-results", action="store_true", help="write the table into --out (the committed "
        "results/<benchmark>/) instead of <runs>/tables/<benchmark>/ beside a comparison with it")
    add("--no-wandb", action="store_true", help="do not log the table to W&B")


def main(argv: list[str], locate: Callable[[list[str]], RunLocation]) -> int:
    """Everything after ``--`` is passed to every run (``ganzoo sweep FILE -- --key=value``);
    ``locate`` places a run from its arguments (:func:`ganzoo.bench.main`)."""
    cut = argv.index("--") if "--" in argv else len(argv)
    argv, extra = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    args.extra, args.argv, args.locate = extra, argv, locate
    command = {"sweep": cmd_sweep, "table": cmd_table, "verdict": cmd_verdict,
               "reproduce": cmd_reproduce, "calibrate": cmd_calibrate, "resume": cmd_resume,
               "report": cmd_report, "tune": cmd_tune}
    return command.get(args.command, cmd_compare)(args)


def cmd_tune(args: argparse.Namespace) -> int:
    """Plan the trials, run those not done (resumable), then write the tuning report."""
    spec = tune.load_tuning(args.file)
    trials = tune.plan(spec, args.locate, args.runs_dir)
    runs = [run for trial in trials for run in trial.runs]
    print(f"tune: {spec['name']}: {len(trials)} trials ({tune.total_trials(spec)} per variant x "
          f"{len(spec['variants'])} variants), {len(runs)} runs", flush=True)
    if args.dry_run:
        for trial in trials:
            print(f"{trial.variant} trial {trial.index} (round {trial.round + 1}): "
                  f"{tune.describe(trial.params)}")
            for run in trial.runs:
                print(f"  {run.dir}: {shlex.join(run.command[3:])}")
        return 0
    run_all(runs, workers=args.workers or default_workers())
    tune.collect(spec, trials)
    print(tune.report(spec, trials, Path(args.out) / spec["name"], args.file))
    print(f"written: {Path(args.out) / spec['name']}/")
    return 1 if any(r.status == "failed" for r in runs) else 0


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
    runs = plan_runs(load_sweep(args.file), args.locate, count=args.count, seed=args.seed, extra_args=extra)
    if args.dry_run:
        for run in runs:
            print(f"{run.dir}: {shlex.join(run.command)}")
        return 0
    run_all(runs, workers=args.workers, threads=args.threads, devices_per_run=args.devices_per_run)
    return 1 if any(r.status == "failed" for r in runs) else 0


def cmd_table(args: argparse.Namespace) -> int:
    command = args.command_line or "ganzoo " + shlex.join(args.argv)
    notes = []
    if args.tuning:
        note = tune.header_note(args.tuning)
        if note is None:
            raise ConfigError(f"table: --tuning {args.tuning}: no tuning.json there; give the "
                              "directory `ganzoo tune` wrote (results/<name>/)")
        notes.append(note)
    if args.rerender:
        code = git_info()  # before the first table is rewritten: the state of the code
        for results in args.dirs:
            print(rerender(results, command, code, *notes).read_text())
        return 0
    for out in write_table(args.dirs, args.out, command, use_wandb=not args.no_wandb,
                           notes=notes).values():
        print((out / "table.md").read_text())
        held = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir())
        print(f"{out}/ holds: " + ", ".join(held))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    studies, seconds = report(args.dirs, args.out, against=args.against)
    for study in studies:
        if study.page:
            rows = f"{study.rows} row{'s' if study.rows != 1 else ''}"
            print(f"report: {study.source} -> {Path(args.out) / study.page} ({rows})")
    print(f"report: {Path(args.out) / 'index.html'} (built in {seconds:.1f} s)")
    return 0


def cmd_verdict(args: argparse.Namespace) -> int:
    cells, report = verdict(args.a, args.b, json_path=args.json_path)
    print(report)
    return 0 if all(c.ok for c in cells) else 1


def cmd_calibrate(args: argparse.Namespace) -> int:
    if args.reps < 100:
        raise ConfigError(f"calibrate: --reps must be >= 100, got {args.reps}")
    print(calibrate(args.results, reps=args.reps, seed=args.seed))
    return 0


def parse_seeds(text: str | None) -> list[int] | None:
    """``"3,4,5"`` -> ``[3, 4, 5]`` (None stays None); a one-line error otherwise."""
    if text is None:
        return None
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"reproduce: --seeds takes integers like 3,4,5; got {text!r}") from None
    if len(seeds) != len(set(seeds)) or not seeds:
        raise ConfigError(f"reproduce: --seeds must name distinct seeds; got {text!r}")
    return seeds


def cmd_reproduce(args: argparse.Namespace) -> int:
    seeds = parse_seeds(args.seeds)
    if args.exact and (seeds is not None or args.same_seeds):
        raise ConfigError("reproduce: --exact re-runs the committed seeds; drop --seeds/--same-seeds")
    if not args.exact and (args.rtol is not None or args.atol is not None):
        raise ConfigError("reproduce: --rtol/--atol apply to --exact; the statistical verdict "
                          "takes its margins from the metric registry or margins.yaml")
    if seeds is not None and args.same_seeds:
        raise ConfigError("reproduce: give --seeds or --same-seeds, not both")
    cells, report = reproduce(
        args.results, runs_dir=args.runs_dir, only=args.only, limit=args.limit,
        workers=args.workers or default_workers(), exact=args.exact, rtol=args.rtol,
        atol=args.atol, seeds=seeds, same_seeds=args.same_seeds,
    )
    print(report)
    if args.report:
        write_text_atomic(args.report, f"`ganzoo {shlex.join(args.argv)}`\n\n{report}\n")
    return 0 if all(c.ok for c in cells) else 1


def cmd_compare(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    runs_dir = [f"--runs_dir={args.runs_dir}"] if args.runs_dir else []
    sweep = load_sweep(args.sweep)
    chosen = precision.choose(args.precision, sweep, gpu_count())
    if chosen is not None:
        print(f"compare: precision {chosen.precision}: {chosen.why}", flush=True)
    runs = plan_runs(sweep, args.locate,
                     extra_args=runs_dir + (chosen.run_args() if chosen else []))
    workers = args.workers or default_workers(args.devices_per_run)
    run_all(runs, workers=workers, devices_per_run=args.devices_per_run)
    ran = sum(r.status not in ("skipped", "pending") for r in runs)
    note = (
        f"Wall time of this command: {clock(time.perf_counter() - start)} for {ran} of "
        f"{len(runs)} runs with {workers} worker(s) (training and evaluation; runs already "
        f"done were skipped)" + (f"; precision {chosen.precision}: {chosen.why}" if chosen else "")
    )
    # The committed results stay as they are unless --update-results: the fresh table goes to
    # <runs>/tables/<benchmark>/ and is compared with the committed one. Only this sweep's
    # runs enter it: other runs of the same benchmark stay out.
    out_root = Path(args.out) if args.update_results else Path(args.runs_dir or "runs") / "tables"
    # the equal search the configs won, where `ganzoo tune` wrote it: results/<benchmark>_tuning
    tuning = [tune.header_note(Path(args.out) / f"{b}_tuning") for b in benchmarks_of(runs)]
    outputs = write_table(
        [r.dir for r in runs if r.dir.is_dir()], out_root, "ganzoo " + shlex.join(args.argv),
        use_wandb=not args.no_wandb, notes=[note, *filter(None, tuning)],
    )
    against = []
    for benchmark, out in outputs.items():
        print((out / "table.md").read_text())
        print(f"written: {out}/")
        committed = Path(args.out) / benchmark
        if not args.update_results and (committed / "runs.json").is_file():
            print(compare_with_committed(committed, out))
            against.append(committed)
    page = site_of(list(outputs.values()), Path(args.runs_dir or "runs") / "site", against)
    print(f"compare: done in {clock(time.perf_counter() - start)} (sweep, table, W&B log, report)")
    print(page)
    return 1 if any(r.status == "failed" for r in runs) else 0


def benchmarks_of(runs: list) -> list[str]:
    """The benchmarks of a sweep's runs: the folder each run directory sits in."""
    return sorted({r.dir.parent.name for r in runs})


def site_of(tables: list[Path], site: Path, against: list[Path]) -> str:
    """``report: <page> (built in X.X s)``: the report (``ganzoo report``) of the tables just
    written, with the verdict against the committed ones; the reason when it cannot be built
    (the main job's table stands without it)."""
    try:
        studies, seconds = report(tables, site, against)
    except ConfigError as err:
        return f"compare: no report: {err}"
    pages = [str(site / s.page) for s in studies if s.page]
    return f"report: {', '.join(pages)} (built in {seconds:.1f} s)"


def compare_with_committed(committed: Path, out: Path) -> str:
    """The verdict (``ganzoo verdict``'s cells and report) of the fresh table in ``out``
    against the committed one, for the rows the fresh table has."""
    try:
        manifest = load_manifest(committed, "compare")
        fresh = load_manifest(out, "compare")
    except ConfigError as err:
        return f"compare: no comparison with the committed table: {err}"
    rows = {e["row"] for e in manifest["runs"]}
    rerun = [e for e in fresh["runs"] if e["row"] in rows]
    if not rerun:
        return f"compare: none of these rows is in {committed}/runs.json; no comparison"
    _, report = statistical_verdict(manifest, rerun, committed, out)
    return (
        f"Against the committed {committed}/table.md (`ganzoo verdict {committed} {out}`; "
        f"`bash scripts/main.sh --update-results` replaces it):\n\n{report}"
    )
