"""Sweeps in W&B's sweep format, run locally: ``ganzoo sweep FILE``.

W&B's own code checks a sweep file and draws its runs (the ``sweeps`` engine, offline: every
``grid`` point, or ``count`` seeded ``random`` draws; ``bayes`` needs the W&B server) and fills
the command's macros (the agent's ``create_sweep_command_args``). Written here, because W&B's
agent runs one run at a time as its server hands them out: a pool of ``workers`` (one GPU
group each through ``CUDA_VISIBLE_DEVICES``, else CPU processes sharing the cores) that skips
runs whose record says finished or diverged, continues a run that was interrupted or killed
from a readable ``checkpoints/last.ckpt`` (``--ckpt_path=last``), restarts any other in a
clean directory, logs each run's output to ``<run dir>/stdout.log`` and goes on past failures.
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
from wandb.sdk.launch.sweeps.utils import create_sweep_command, create_sweep_command_args

from ganzoo.errors import ConfigError, GanzooError
from ganzoo.runs.naming import SUBCOMMANDS, RunLocation
from ganzoo.runs.records import DONE_STATUSES, clock, cost, is_done, read_record
from ganzoo.yaml_files import read_yaml

RUN_ARTEFACTS = ("record.json", "stdout.log", "config.yaml", "evaluations.jsonl", "grids",
                 "checkpoints", "wandb")

with warnings.catch_warnings():  # sweeps' pydantic v1-style config warns on import
    warnings.simplefilter("ignore")
    import sweeps
    from sweeps.config.schema import validator as sweep_schema


def load_sweep(path: str | Path) -> dict[str, Any]:
    """Read and check a sweep file; raises :class:`ConfigError` naming the bad field."""
    if not Path(path).is_file():
        raise ConfigError(f"sweep: file {str(path)!r} does not exist")
    sweep = read_yaml(path, "sweep")
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
    """The command line of one run, its macros filled as W&B's agent fills them, except
    ``${env}`` (none) and ``${interpreter}`` (this Python, not ``python`` from PATH)."""
    macros = create_sweep_command_args({"args": {k: {"value": v} for k, v in params.items()}})
    macros.update(env=[], interpreter=[sys.executable],
                  program=[str(sweep["program"])] if sweep.get("program") else [])
    command: list[str] = []
    for token in map(str, create_sweep_command(list(sweep.get("command", [])))):
        is_macro = token.startswith("${") and token.endswith("}")
        command += (macros.get(token[2:-1]) or []) if is_macro else [token]
    return command


def cli_args(command: list[str]) -> list[str]:
    """The LightningCLI part of a run command (from its subcommand, ``fit``, on)."""
    starts = [i for i, token in enumerate(command) if token in SUBCOMMANDS]
    return command[starts[0] :] if starts else command


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


def plan_runs(sweep: dict[str, Any], locate: Callable[[list[str]], RunLocation],
              count: int | None = None, seed: int = 0,
              extra_args: list[str] | None = None) -> list[Run]:
    """The runs of a sweep with their directories (duplicates, same directory, run once):
    ``locate(args)`` is where ``ganzoo <args>`` puts its run, parsed by the parser of the run
    itself (:func:`ganzoo.cli.planned_location`)."""
    runs: dict[Path, Run] = {}
    for params in expand(sweep, count=count, seed=seed):
        command = build_command(sweep, params) + list(extra_args or [])
        try:
            location = locate(cli_args(command))
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
                 printer: Callable[[str], None]) -> None:
        self.todo, self.threads, self.devices_per_run, self.printer = (
            todo, threads, devices_per_run, printer)
        self.slots: queue.Queue = queue.Queue()
        for slot in slots:
            self.slots.put(slot)
        self.lock, self.start = threading.Lock(), time.perf_counter()
        self.done = self.failed = 0

    def line(self, run: Run, what: str) -> None:
        with self.lock:
            running = sum(r.status == "running" for r in self.todo)
            elapsed = clock(time.perf_counter() - self.start)
            self.printer(f"[{self.done + self.failed}/{len(self.todo)} done, {running} running, "
                         f"{self.failed} failed, {elapsed}] {what} {run.name}")

    def launch(self, run: Run, slot: str | None, resume: bool) -> str | None:
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
                    command, stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL
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
            ok = run.returncode == 0 and status in DONE_STATUSES
            run.status = status if ok else "failed"
            with self.lock:
                self.done, self.failed = self.done + ok, self.failed + (not ok)
            tail = f" ({problem}; check the sweep file's command)" if problem else (
                "" if ok else f" (exit {run.returncode}, status {status}; see {run.log})")
            rate = cost(record)["images_per_s"] if record else None
            rate = f", {rate:,.0f} images/s" if rate else ""
            self.line(run, f"{run.status:<8} in {run.seconds:.0f}s{rate}{tail}")
        finally:
            self.slots.put(slot)


def run_all(runs: list[Run], workers: int = 1, threads: int | None = None,
            printer: Callable[[str], None] = print, skip_done: bool = True,
            devices_per_run: int = 1) -> list[Run]:
    """Run the ``runs`` (but those done, with ``skip_done``), ``workers`` at a time, printing
    progress lines: on disjoint groups of ``devices_per_run`` GPUs (a DDP run over
    ``--trainer.devices=N``), else on CPU with ``threads`` torch threads (cores // workers)."""
    gpus = gpu_count()
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, workers))
    slots = device_slots(gpus, max(1, workers), devices_per_run)
    for run in runs:
        run.status = "skipped" if skip_done and is_done(run.dir) else run.status
    todo = [r for r in runs if r.status != "skipped"]
    runner = SweepRunner(todo, slots, threads, devices_per_run, printer)
    where = f"GPUs {', '.join(s for s in slots if s)}" if gpus else f"CPU, {threads} thread(s) each"
    printer(f"sweep: {len(runs)} runs, {len(runs) - len(todo)} already done (skipped), "
            f"{len(todo)} to run with {len(slots)} worker(s) on {where}")
    with ThreadPoolExecutor(max_workers=len(slots)) as pool:
        list(pool.map(runner.work, todo))
    printer(f"sweep: {runner.done} finished, {runner.failed} failed, {len(runs) - len(todo)} "
            f"skipped in {clock(time.perf_counter() - runner.start)}")
    return runs
