"""Sweeps in the W&B sweep YAML format, run locally by ``ganzoo sweep`` or by ``wandb agent``.

A sweep file (``experiments/sweeps/*.yaml``) has ``method`` (grid, random or bayes),
``parameters`` (full LightningCLI keys such as ``model.init_args.lr_g``, or ``config`` to
pick experiment files) and a ``command`` such as
``[${env}, ${interpreter}, -m, ganzoo, fit, ${args}]``. W&B's agent fills ``${args}`` with
``--key=value`` for each parameter; :func:`expand` does the same locally:

- ``grid``: the cartesian product of every parameter's ``values`` (``value`` is a constant);
- ``random``: ``count`` draws (seeded) from ``values`` (optionally with ``probabilities``) or
  from a distribution (uniform, int_uniform, q_uniform, log_uniform, log_uniform_values,
  q_log_uniform_values, inv_log_uniform_values, normal, q_normal, log_normal, q_log_normal);
- ``bayes`` needs the W&B server (it learns from finished runs): one clear error locally.

:func:`run_sweep` runs the expanded commands as subprocesses, up to ``workers`` at once: one
GPU each (``CUDA_VISIBLE_DEVICES``) when GPUs are present, else CPU processes sharing the
cores (``OMP_NUM_THREADS`` = cores // workers). Runs whose ``record.json`` says finished or
diverged are skipped, so an interrupted sweep resumes where it stopped; a run that is not
done starts again from scratch in a clean directory. Each run's output goes to
``<run dir>/stdout.log``; a failed run is reported and the sweep goes on.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ganzoo.bench.naming import resolve_run_location
from ganzoo.bench.records import is_done, read_record
from ganzoo.errors import ConfigError

METHODS = ("grid", "random", "bayes")
DEFAULT_COMMAND = ["${env}", "${interpreter}", "${program}", "${args}"]
DISTRIBUTIONS = (
    "constant",
    "categorical",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_log_uniform_values",
    "inv_log_uniform_values",
    "normal",
    "q_normal",
    "log_normal",
    "q_log_normal",
)


# ------------------------------------------------------------------ the sweep file
def load_sweep(path: str | Path) -> dict[str, Any]:
    """Read and check a sweep file; raises :class:`ConfigError` naming the bad field."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep: file {str(path)!r} does not exist")
    try:
        with open(path) as fh:
            sweep = yaml.safe_load(fh)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"sweep: {path} is not valid YAML{where}: {getattr(err, 'problem', None) or err}"
        ) from err
    validate_sweep(sweep, str(path))
    return sweep


def validate_sweep(sweep: Any, where: str = "sweep") -> None:
    """The checks ``ganzoo sweep`` needs (W&B's server checks the full schema)."""
    if not isinstance(sweep, dict):
        raise ConfigError(f"{where}: a sweep file is a YAML mapping")
    method = sweep.get("method")
    if method not in METHODS:
        raise ConfigError(f"{where}: method: {method!r}; allowed: {', '.join(METHODS)}")
    parameters = sweep.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise ConfigError(f"{where}: parameters: a mapping of at least one parameter is required")
    for name, spec in parameters.items():
        distribution_of(name, spec, where)
        if method == "grid" and "values" not in spec and "value" not in spec:
            raise ConfigError(
                f"{where}: parameters.{name}: grid search needs 'values' or 'value', got "
                f"{sorted(spec)}"
            )
    command = sweep.get("command", DEFAULT_COMMAND)
    if not isinstance(command, list) or not all(isinstance(c, str | int | float) for c in command):
        raise ConfigError(f"{where}: command: a list of strings, e.g. {DEFAULT_COMMAND}")


def distribution_of(name: str, spec: Any, where: str = "sweep") -> str:
    """The distribution of a parameter, inferred the way W&B does when not given."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: parameters.{name}: a mapping such as {{values: [...]}}")
    if "parameters" in spec:
        raise ConfigError(
            f"{where}: parameters.{name}: nested parameters are not supported; "
            f"use the full dotted key"
        )
    if "distribution" in spec:
        dist = spec["distribution"]
        if dist not in DISTRIBUTIONS:
            raise ConfigError(
                f"{where}: parameters.{name}.distribution: {dist!r}; allowed: "
                f"{', '.join(DISTRIBUTIONS)}"
            )
        return dist
    if "value" in spec:
        return "constant"
    if "values" in spec:
        if not isinstance(spec["values"], list) or not spec["values"]:
            raise ConfigError(f"{where}: parameters.{name}.values: a non-empty list")
        return "categorical"
    if "min" in spec and "max" in spec:
        both_int = isinstance(spec["min"], int) and isinstance(spec["max"], int)
        return "int_uniform" if both_int else "uniform"
    raise ConfigError(f"{where}: parameters.{name}: needs value, values, min/max or distribution")


# ------------------------------------------------------------------ expansion
def expand(sweep: dict[str, Any], count: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """The parameter sets of the sweep's runs, in a deterministic order."""
    method = sweep["method"]
    params = sweep["parameters"]
    if method == "bayes":
        raise ConfigError(
            "sweep: method 'bayes' learns from finished runs on the W&B server; run it with "
            "`wandb sweep FILE` and `wandb agent SWEEP_ID`, or use grid/random locally"
        )
    if method == "grid":
        names = list(params)
        choices = [p["values"] if "values" in p else [p["value"]] for p in params.values()]
        runs = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]
        return runs[:count] if count else runs
    count = count or sweep.get("run_cap")
    if not count:
        raise ConfigError("sweep: method 'random' needs --count N (or run_cap in the file)")
    rng = random.Random(seed)
    return [
        {name: _short(draw(name, spec, rng)) for name, spec in params.items()} for _ in range(count)
    ]


def _short(value: Any) -> Any:
    """Random floats kept to 4 significant digits: readable run names, same draws per seed."""
    return float(f"{value:.4g}") if isinstance(value, float) else value


def draw(name: str, spec: dict[str, Any], rng: random.Random) -> Any:
    """One random draw of a parameter (W&B's distributions and their meaning)."""
    dist = distribution_of(name, spec)
    if dist == "constant":
        return spec["value"]
    if dist == "categorical":
        return rng.choices(spec["values"], weights=spec.get("probabilities"))[0]
    lo, hi = spec.get("min"), spec.get("max")
    q = spec.get("q", 1)
    mu, sigma = spec.get("mu", 0.0), spec.get("sigma", 1.0)
    if dist == "int_uniform":
        return rng.randint(int(lo), int(hi))
    if dist == "uniform":
        return rng.uniform(lo, hi)
    if dist == "q_uniform":
        return round(rng.uniform(lo, hi) / q) * q
    if dist == "log_uniform":  # min/max are exponents: exp(U(min, max))
        return math.exp(rng.uniform(lo, hi))
    if dist == "log_uniform_values":
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if dist == "q_log_uniform_values":
        return round(math.exp(rng.uniform(math.log(lo), math.log(hi))) / q) * q
    if dist == "inv_log_uniform_values":
        return 1.0 / math.exp(rng.uniform(math.log(1.0 / hi), math.log(1.0 / lo)))
    if dist == "normal":
        return rng.gauss(mu, sigma)
    if dist == "q_normal":
        return round(rng.gauss(mu, sigma) / q) * q
    if dist == "log_normal":
        return math.exp(rng.gauss(mu, sigma))
    return round(math.exp(rng.gauss(mu, sigma)) / q) * q  # q_log_normal


def format_value(value: Any) -> str:
    """A value as W&B's agent writes it into ``--key=value``."""
    return str(value)


def build_command(sweep: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """The command line of one run, with W&B's macros filled in as the agent would."""
    args = [f"--{k}={format_value(v)}" for k, v in params.items()]
    macros: dict[str, list[str]] = {
        "${env}": [],  # W&B uses /usr/bin/env here; the interpreter path below is absolute
        "${interpreter}": [sys.executable],
        "${program}": [str(sweep["program"])] if sweep.get("program") else [],
        "${args}": args,
        "${args_no_hyphens}": [a[2:] for a in args],
        "${args_no_boolean_flags}": [
            f"--{k}" if v is True else f"--{k}={format_value(v)}"
            for k, v in params.items()
            if v is not False
        ],
    }
    command: list[str] = []
    for token in sweep.get("command", DEFAULT_COMMAND):
        command += macros.get(str(token), [str(token)])
    return command


def cli_args(command: list[str]) -> list[str]:
    """The LightningCLI part of a run command (after ``-m ganzoo`` / the ``ganzoo`` script)."""
    for i, token in enumerate(command):
        if token in ("fit", "validate", "test", "predict"):
            return command[i:]
    return command


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


def plan_runs(
    sweep: dict[str, Any],
    count: int | None = None,
    seed: int = 0,
    extra_args: list[str] | None = None,
) -> list[Run]:
    """The runs of a sweep with their directories (duplicates, same directory, run once)."""
    runs: dict[Path, Run] = {}
    for params in expand(sweep, count=count, seed=seed):
        command = build_command(sweep, params) + list(extra_args or [])
        location = resolve_run_location(cli_args(command))
        runs.setdefault(location.dir, Run(location.name, location.dir, command))
    return list(runs.values())


RUN_ARTEFACTS = (
    "record.json",
    "stdout.log",
    "config.yaml",
    "evaluations.jsonl",
    "grids",
    "checkpoints",
    "wandb",
)


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
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:
        return 0


def device_slots(gpus: int, workers: int, devices_per_run: int = 1) -> list[str | None]:
    """What each worker gets: a ``CUDA_VISIBLE_DEVICES`` value (disjoint groups of
    ``devices_per_run`` GPUs; one worker per group when there are more workers than groups),
    or None per worker on a machine without GPUs."""
    if devices_per_run < 1:
        raise ConfigError(f"--devices-per-run: must be >= 1, got {devices_per_run}")
    if not gpus:
        if devices_per_run > 1:
            raise ConfigError(f"--devices-per-run {devices_per_run}: this machine has no GPU")
        return [None] * workers
    groups = gpus // devices_per_run
    if groups == 0:
        raise ConfigError(
            f"--devices-per-run {devices_per_run}: this machine has only {gpus} GPU(s)"
        )
    if devices_per_run == 1:
        return [str(i % gpus) for i in range(workers)]
    return [
        ",".join(str(g) for g in range(i * devices_per_run, (i + 1) * devices_per_run))
        for i in range(min(workers, groups))
    ]


def run_all(
    runs: list[Run],
    workers: int = 1,
    threads: int | None = None,
    printer: Callable[[str], None] = print,
    cwd: str | Path | None = None,
    skip_done: bool = True,
    devices_per_run: int = 1,
) -> list[Run]:
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
    workers = max(1, workers)
    gpus = gpu_count()
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    slots = device_slots(gpus, workers, devices_per_run)
    workers = len(slots)
    lock = threading.Lock()
    start = time.perf_counter()
    todo = []
    for run in runs:
        if skip_done and is_done(run.dir):
            run.status = "skipped"
        else:
            todo.append(run)
    counts = {"done": 0, "failed": 0}
    total = len(todo)
    skipped = len(runs) - total
    where = f"GPUs {', '.join(s for s in slots if s)}" if gpus else f"CPU, {threads} thread(s) each"
    printer(
        f"sweep: {len(runs)} runs, {skipped} already done (skipped), {total} to run with "
        f"{workers} worker(s) on {where}"
    )

    def line(run: Run, what: str) -> None:
        elapsed = time.perf_counter() - start
        running = sum(r.status == "running" for r in todo)
        printer(
            f"[{counts['done'] + counts['failed']}/{total} done, {running} running, "
            f"{counts['failed']} failed, {clock(elapsed)}] {what} {run.name}"
        )

    def work(run: Run) -> Run:
        with lock:
            slot = slots.pop()
        env = dict(os.environ, **run.env)
        env.pop("WANDB_SERVICE", None)  # each run starts its own W&B service, in its own cwd
        if slot is not None:
            env["CUDA_VISIBLE_DEVICES"] = slot
        else:
            env.setdefault("CUDA_VISIBLE_DEVICES", "")
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = run.env.get(var, str(threads))
        try:
            clean_run_dir(run.dir)  # not done: start clean
            with lock:
                run.status = "running"
                line(run, f"started on GPU {slot}" if slot else "started ")
            t0 = time.perf_counter()
            command = list(run.command)
            if devices_per_run > 1:
                command.append(f"--trainer.devices={devices_per_run}")
            problem = None
            with open(run.log, "w") as log:
                log.write(" ".join(command) + "\n")
                log.flush()
                try:
                    proc = subprocess.run(
                        command,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        cwd=cwd,
                        stdin=subprocess.DEVNULL,
                    )
                    run.returncode = proc.returncode
                except OSError as err:  # e.g. the sweep's command names no program here
                    problem = f"cannot start {command[0]!r}: {err.strerror or err}"
                    log.write(problem + "\n")
                    run.returncode = None
            run.seconds = time.perf_counter() - t0
            record = read_record(run.dir)
            status = record.get("status") if record else None
            ok = run.returncode == 0 and status in ("finished", "diverged")
            with lock:
                run.status = status if ok else "failed"
                counts["done" if ok else "failed"] += 1
                tail = f" ({problem}; check the sweep file's command)" if problem else (
                    "" if ok else f" (exit {run.returncode}, status {status}; see {run.log})"
                )
                line(run, f"{run.status:<8} in {run.seconds:.0f}s{throughput(record)}{tail}")
        finally:
            with lock:
                slots.append(slot)
        return run

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, todo))
    printer(
        f"sweep: {counts['done']} finished, {counts['failed']} failed, {skipped} skipped "
        f"in {clock(time.perf_counter() - start)}"
    )
    return runs


def throughput(record: dict | None) -> str:
    """``", 612 images/s"`` (real images seen / the run's wall time) or "" without a record."""
    from ganzoo.bench.table import cost

    rate = cost(record).get("images_per_s") if record else None
    return f", {rate:,.0f} images/s" if rate else ""


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:d}m{secs:02d}s"
