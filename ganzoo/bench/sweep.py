"""Sweeps in the W&B sweep YAML format, run locally by ``ganzoo sweep`` or by ``wandb agent``.

A sweep file (``experiments/sweeps/*.yaml``) has ``method``, ``parameters`` (full LightningCLI
keys such as ``model.init_args.lr_g``, or ``config`` to pick experiment files) and a
``command`` such as ``[${env}, ${interpreter}, -m, ganzoo, fit, ${args}]``. W&B's own sweep
engine (the ``sweeps`` package of ``wandb[sweeps]``, offline) validates it and draws the runs:
every ``grid`` point, or ``count`` seeded ``random`` draws; ``bayes`` learns from finished runs
on the W&B server, one clear error locally. :func:`build_command` fills the macros as W&B's
agent does (``${args}``: ``--key=value`` per parameter).

:func:`run_all` runs the commands as subprocesses, ``workers`` at once: one GPU (group) each
(``CUDA_VISIBLE_DEVICES``) when there are GPUs, else CPU processes sharing the cores
(``OMP_NUM_THREADS`` = cores // workers). Runs whose record says finished or diverged are
skipped, so an interrupted sweep resumes; a run that was interrupted or killed (its record
says interrupted or still running) and left a readable ``checkpoints/last.ckpt`` continues
from it (``--ckpt_path=last``: the periodic checkpoint, ganzoo.cli.PeriodicCheckpoint); any
other run restarts from scratch in a clean directory. Each run's output goes to
``<run dir>/stdout.log``; a failed run is reported and the sweep goes on.
"""

from __future__ import annotations

import os
import queue
import random
import shlex
import shutil
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from ganzoo.bench.naming import SUBCOMMANDS
from ganzoo.bench.records import clock, cost, is_done, read_record
from ganzoo.cli import planned_location
from ganzoo.errors import ConfigError, GanzooError

DEFAULT_COMMAND = ["${env}", "${interpreter}", "${program}", "${args}"]
RUN_ARTEFACTS = ("record.json", "stdout.log", "config.yaml", "evaluations.jsonl", "grids",
                 "checkpoints", "wandb")

with warnings.catch_warnings():  # sweeps' pydantic v1-style config warns on import
    warnings.simplefilter("ignore")
    import sweeps
    from sweeps.config.schema import validator as sweep_schema


# ------------------------------------------------------------------ the sweep file
def load_sweep(path: str | Path) -> dict[str, Any]:
    """Read and check a sweep file; raises :class:`ConfigError` naming the bad field."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep: file {str(path)!r} does not exist")
    try:
        sweep = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"sweep: {path} is not valid YAML{where}: {getattr(err, 'problem', None) or err}"
        ) from None
    validate_sweep(sweep, str(path))
    return sweep


def validate_sweep(sweep: Any, where: str = "sweep") -> None:
    """W&B's schema of sweep files, the first problem in one line naming its field."""
    if not isinstance(sweep, dict):
        raise ConfigError(f"{where}: a sweep file is a YAML mapping")
    run_cap = sweep.get("run_cap", 1)
    if not isinstance(run_cap, int) or run_cap < 1:
        raise ConfigError(f"{where}: run_cap: a positive integer, got {run_cap!r}")
    # sweeps 0.2 (the version that allows numpy 2) predates W&B's run_cap, read above
    checked = {k: v for k, v in sweep.items() if k != "run_cap"}
    error = next(iter(sweep_schema.iter_errors(checked)), None)
    try:
        problems = (
            [f"{'.'.join(map(str, error.absolute_path)) or 'file'}: {error.message}"]
            if error
            else sweeps.schema_violations_from_proposed_config(checked)
        )
    except ValueError as err:  # what the schema cannot say, e.g. min >= max
        problems = [str(err)]
    if problems:
        raise ConfigError(f"{where}: {problems[0]}")
    for name, spec in sweep["parameters"].items():
        if "parameters" in spec:
            raise ConfigError(
                f"{where}: parameters.{name}: nested parameters are not supported; use the "
                "full dotted key (LightningCLI reads --model.init_args.lr_g=..., not --model={...})"
            )


def expand(sweep: dict[str, Any], count: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """The parameter sets of the sweep's runs, drawn by W&B's engine: every grid point (the
    first ``count``), or ``count`` (else ``run_cap``) random draws seeded with ``seed``."""
    method = sweep["method"]
    if method == "bayes":
        raise ConfigError(
            "sweep: method 'bayes' learns from finished runs on the W&B server; run it with "
            "`wandb sweep FILE` and `wandb agent SWEEP_ID`, or use grid/random locally"
        )
    count = count or (sweep.get("run_cap") if method == "random" else None)
    if method == "random" and not count:
        raise ConfigError("sweep: method 'random' needs --count N (or run_cap in the file)")
    state = random.getstate()  # W&B's engine draws from Python's global generator
    random.seed(seed)
    try:
        drawn = sweeps.next_runs(sweep, [], n=count or sys.maxsize)
    except ValueError as err:  # e.g. a distribution that grid search cannot enumerate
        raise ConfigError(f"sweep: {str(err).splitlines()[0]}") from None
    finally:
        random.setstate(state)
    return [{k: _plain(v["value"]) for k, v in run.config.items()} for run in drawn if run]


def _plain(value: Any) -> Any:
    """numpy scalars as Python values; random floats kept to 4 significant digits (readable
    run names, the same draws per seed)."""
    value = value.item() if hasattr(value, "item") else value
    return float(f"{value:.4g}") if isinstance(value, float) else value


def build_command(sweep: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """The command line of one run, with W&B's macros filled in as the agent would."""
    args = [f"--{k}={v}" for k, v in params.items()]
    macros: dict[str, list[str]] = {
        "${env}": [],  # W&B uses /usr/bin/env here; the interpreter path below is absolute
        "${interpreter}": [sys.executable],
        "${program}": [str(sweep["program"])] if sweep.get("program") else [],
        "${args}": args,
        "${args_no_hyphens}": [a[2:] for a in args],
        "${args_no_boolean_flags}": [
            f"--{k}" if v is True else f"--{k}={v}" for k, v in params.items() if v is not False
        ],
    }
    command: list[str] = []
    for token in sweep.get("command", DEFAULT_COMMAND):
        command += macros.get(str(token), [str(token)])
    return command


def cli_args(command: list[str]) -> list[str]:
    """The LightningCLI part of a run command (from its subcommand, ``fit``, on)."""
    starts = [i for i, token in enumerate(command) if token in SUBCOMMANDS]
    return command[starts[0] :] if starts else command


# ------------------------------------------------------------------ running
@dataclass
class Run:
    """One run of a sweep: its command, directory and outcome."""

    name: str
    dir: Path
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    status: str = "pending"  # pending, skipped, running, finished, diverged, failed, ...
    seconds: float = 0.0
    returncode: int | None = None

    @property
    def log(self) -> Path:
        return self.dir / "stdout.log"


def plan_runs(sweep: dict[str, Any], count: int | None = None, seed: int = 0,
              extra_args: list[str] | None = None) -> list[Run]:
    """The runs of a sweep with their directories (duplicates, same directory, run once)."""
    runs: dict[Path, Run] = {}
    for params in expand(sweep, count=count, seed=seed):
        command = build_command(sweep, params) + list(extra_args or [])
        try:
            location = planned_location(cli_args(command))
        except GanzooError as err:
            raise ConfigError(f"sweep: run `{shlex.join(cli_args(command))}`: {err}") from None
        runs.setdefault(location.dir, Run(location.name, location.dir, command))
    return list(runs.values())


def resume_point(run_dir: Path) -> dict[str, Any] | None:
    """The record of a run that stopped early (interrupted, or killed while running) and left
    a readable ``checkpoints/last.ckpt``; None when the run must start from scratch."""
    record = read_record(run_dir)
    last = run_dir / "checkpoints" / "last.ckpt"
    if (record or {}).get("status") in ("interrupted", "running") and zipfile.is_zipfile(last):
        return record
    return None


def clean_run_dir(run_dir: Path) -> None:
    """Remove what an earlier, unfinished attempt left (only ganzoo's own run files)."""
    for name in RUN_ARTEFACTS:
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)


def gpu_count() -> int:
    return torch.cuda.device_count()


def device_slots(gpus: int, workers: int, devices_per_run: int = 1) -> list[str | None]:
    """What each worker gets: a ``CUDA_VISIBLE_DEVICES`` value (disjoint groups of
    ``devices_per_run`` GPUs; one worker per group when there are more workers than groups),
    or None per worker on a machine without GPUs."""
    if devices_per_run < 1:
        raise ConfigError(f"--devices-per-run: must be >= 1, got {devices_per_run}")
    if gpus < devices_per_run and devices_per_run > 1:
        have = f"has only {gpus} GPU(s)" if gpus else "has no GPU"
        raise ConfigError(f"--devices-per-run {devices_per_run}: this machine {have}")
    if not gpus:
        return [None] * workers
    if devices_per_run == 1:
        return [str(i % gpus) for i in range(workers)]
    groups = range(min(workers, gpus // devices_per_run))
    return [",".join(str(i * devices_per_run + g) for g in range(devices_per_run)) for i in groups]


class SweepRunner:
    """Runs a sweep's runs on worker slots (:func:`device_slots`), each slot used by one run at
    a time, with one progress line per started, finished or failed run."""

    def __init__(self, todo: list[Run], slots: list, threads: int, devices_per_run: int,
                 printer: Callable[[str], None], cwd: str | Path | None) -> None:
        self.todo, self.threads, self.devices_per_run, self.printer, self.cwd = (
            todo, threads, devices_per_run, printer, cwd)
        self.slots: queue.Queue = queue.Queue()
        for slot in slots:
            self.slots.put(slot)
        self.lock, self.start = threading.Lock(), time.perf_counter()
        self.done = self.failed = 0

    def line(self, run: Run, what: str) -> None:
        with self.lock:
            running = sum(r.status == "running" for r in self.todo)
            elapsed = clock(time.perf_counter() - self.start)
            self.printer(
                f"[{self.done + self.failed}/{len(self.todo)} done, {running} running, "
                f"{self.failed} failed, {elapsed}] {what} {run.name}"
            )

    def launch(self, run: Run, slot: str | None, resume: bool = False) -> str | None:
        """Run the command, output into the run's log; why it could not start, if it could not."""
        env = dict(os.environ, **run.env)
        env.pop("WANDB_SERVICE", None)  # each run starts its own W&B service, in its own cwd
        if slot is not None:
            env["CUDA_VISIBLE_DEVICES"] = slot
        else:
            env.setdefault("CUDA_VISIBLE_DEVICES", "")
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = run.env.get(var, str(self.threads))
        command = list(run.command) + (["--ckpt_path=last"] if resume else [])
        if self.devices_per_run > 1:
            command.append(f"--trainer.devices={self.devices_per_run}")
        with open(run.log, "a" if resume else "w") as log:
            log.write(" ".join(command) + "\n")
            log.flush()
            try:
                run.returncode = subprocess.run(
                    command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                ).returncode
            except OSError as err:  # e.g. the sweep's command names no program here
                log.write(f"cannot start {command[0]!r}: {err.strerror or err}\n")
                return f"cannot start {command[0]!r}: {err.strerror or err}"
        return None

    def work(self, run: Run) -> None:
        slot = self.slots.get()  # the longest idle: consecutive runs use every slot
        try:
            resumed = resume_point(run.dir)
            if resumed is None:
                clean_run_dir(run.dir)  # not done and nothing to continue: start clean
            run.status = "running"
            where = f" on GPU {slot}" if slot else " "
            at = (resumed or {}).get("progress", {}).get("g_steps")
            self.line(run, f"resumed{where}at G step {at}" if resumed else f"started{where}")
            t0 = time.perf_counter()
            problem = self.launch(run, slot, resume=resumed is not None)
            run.seconds = time.perf_counter() - t0
            record = read_record(run.dir)
            status = (record or {}).get("status")
            ok = run.returncode == 0 and status in ("finished", "diverged")
            run.status = status if ok else "failed"
            with self.lock:
                self.done, self.failed = self.done + ok, self.failed + (not ok)
            tail = f" ({problem}; check the sweep file's command)" if problem else (
                "" if ok else f" (exit {run.returncode}, status {status}; see {run.log})")
            self.line(run, f"{run.status:<8} in {run.seconds:.0f}s{throughput(record)}{tail}")
        finally:
            self.slots.put(slot)


def run_all(runs: list[Run], workers: int = 1, threads: int | None = None,
            printer: Callable[[str], None] = print, cwd: str | Path | None = None,
            skip_done: bool = True, devices_per_run: int = 1) -> list[Run]:
    """Run the runs that are not done, ``workers`` at a time, printing progress lines.

    Args:
        runs: from :func:`plan_runs`.
        workers: processes at once (one GPU each when GPUs are present).
        threads: torch threads per CPU process (default: cores // workers, at least 1).
        printer: receives one line per started, finished or skipped run.
        cwd: working directory of the runs (default: the current one).
        skip_done: skip runs whose record says finished or diverged (resume).
        devices_per_run: GPUs per run (a DDP run over ``--trainer.devices=N``); the machine's
            GPUs are split into disjoint groups of N, one run per group at a time.
    """
    gpus = gpu_count()
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, workers))
    slots = device_slots(gpus, max(1, workers), devices_per_run)
    for run in runs:
        run.status = "skipped" if skip_done and is_done(run.dir) else run.status
    todo = [r for r in runs if r.status != "skipped"]
    runner = SweepRunner(todo, slots, threads, devices_per_run, printer, cwd)
    skipped = len(runs) - len(runner.todo)
    where = f"GPUs {', '.join(s for s in slots if s)}" if gpus else f"CPU, {threads} thread(s) each"
    printer(
        f"sweep: {len(runs)} runs, {skipped} already done (skipped), {len(runner.todo)} to run "
        f"with {len(slots)} worker(s) on {where}"
    )
    with ThreadPoolExecutor(max_workers=len(slots)) as pool:
        list(pool.map(runner.work, runner.todo))
    printer(
        f"sweep: {runner.done} finished, {runner.failed} failed, {skipped} skipped in "
        f"{clock(time.perf_counter() - runner.start)}"
    )
    return runs


def throughput(record: dict | None) -> str:
    """``", 612 images/s"`` (real images seen / the run's wall time) or "" without a record."""
    rate = cost(record).get("images_per_s") if record else None
    return f", {rate:,.0f} images/s" if rate else ""
