"""Run records: ``<run dir>/record.json``, what it takes to trust and redo one run.

:class:`RunRecordCallback`, which :class:`ganzoo.cli.GanzooCLI` adds to every ``ganzoo fit``,
writes it atomically on global rank 0: status ``running`` at the start and after every
evaluation, then ``finished``, ``diverged`` (the model's divergence guard), ``interrupted``
(Ctrl-C, SIGTERM) or ``failed`` (the error in ``error``). Lightning's loggers keep metrics, not
this: the resolved config, command, commit, versions, device, wall time (from the start of fit
to its end, evaluation included, continued across resumes), progress (images seen = per-process
count x world size, D and G steps), the evaluation history stamped with wall time, the final
and the best (lowest FID) entry.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ganzoo import atomic

SCHEMA_VERSION = 1
DONE_STATUSES = ("finished", "diverged")
PACKAGES = ("ganzoo", "torch", "torchvision", "lightning", "torchmetrics", "torch-fidelity",
            "wandb", "numpy", "jsonargparse")


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """``obj`` as indented JSON (tensors and numpy values as numbers), never half-written."""
    atomic.write_json_atomic(
        path, obj, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)
    )


def read_record(path: str | Path) -> dict[str, Any] | None:
    """The record at ``path`` (a record.json or a run directory), None if absent or unreadable."""
    path = Path(path)
    try:
        return json.loads((path / "record.json" if path.is_dir() else path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # not written yet, or cut by a kill
        return None


def is_done(run_dir: str | Path) -> bool:
    """A run is done (a sweep skips it) when its record says finished or diverged."""
    return (read_record(run_dir) or {}).get("status") in DONE_STATUSES


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


# ------------------------------------------------------------------ the environment
def git_info(cwd: str | Path | None = None) -> dict[str, Any]:
    """Commit of the ganzoo checkout and whether tracked files differ from it."""
    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=cwd or Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10, check=True)
        return run.stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"),
                "dirty": git("status", "--porcelain", "--untracked-files=no") != ""}
    except (OSError, subprocess.SubprocessError):  # no git, or not a checkout: recorded as such
        return {"commit": None, "dirty": None}


def package_versions() -> dict[str, str | None]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {"python": platform.python_version(), **{name: version(name) for name in PACKAGES}}


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:  # not Linux
        lines = []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def device_info(trainer: L.Trainer) -> dict[str, Any]:
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        # trainer.deterministic: torch.use_deterministic_algorithms (Lightning also sets the
        # cuBLAS workspace below, which deterministic CUDA matmuls need)
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "accelerator": type(trainer.accelerator).__name__,
        "strategy": type(trainer.strategy).__name__,
        "world_size": trainer.world_size,
        "num_nodes": trainer.num_nodes,
        "precision": str(trainer.precision),
    }


# ------------------------------------------------------------------ the run
def with_model_hparams(config: dict[str, Any], pl_module: L.LightningModule) -> dict[str, Any]:
    """``config`` with ``model.init_args`` taken from the model's hparams: the values that
    ran, where the parsed config holds a variant's None ("the paper's value")."""
    init_args = (config.get("model") or {}).get("init_args")
    if not isinstance(init_args, dict):
        return config
    resolved = {key: pl_module.hparams.get(key, value) for key, value in init_args.items()}
    return {**config, "model": {**config["model"], "init_args": resolved}}


def callback_list(trainer: L.Trainer, attribute: str) -> list | None:
    """The list a callback exposes as ``attribute`` (the evaluation callback's ``history``,
    the grid callback's ``paths``), None if no callback has one."""
    found = (getattr(c, attribute, None) for c in trainer.callbacks)
    return next((list(v) for v in found if isinstance(v, list | tuple)), None)


def best_entry(history: list[dict[str, Any]], metric: str = "fid") -> dict[str, Any] | None:
    """The history entry with the lowest finite ``metric`` (the last entry if none has it)."""
    def value(entry: dict[str, Any]) -> Any:
        return entry.get("metrics", {}).get(metric)

    scored = [e for e in history if isinstance(value(e), int | float) and math.isfinite(value(e))]
    return min(scored, key=value) if scored else (history[-1] if history else None)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class RunRecordCallback(L.Callback):
    """Writes ``record.json`` into the run directory (``trainer.default_root_dir``): the
    resolved ``config`` (plain data) and ``argv`` of the run, its ``benchmark`` and ``run_name``
    (default: the run directory's parent and own name)."""

    def __init__(self, *, config: dict[str, Any] | None = None, argv: list[str] | None = None,
                 benchmark: str | None = None, run_name: str | None = None) -> None:
        self.config = config or {}
        self.argv = list(argv) if argv is not None else [sys.executable, *sys.argv]
        self.benchmark, self.run_name = benchmark, run_name
        self.record: dict[str, Any] = {}
        self._start = 0.0
        self._stamps: list[float] = []
        self._restored: dict[str, Any] = {}
        self._history_owner: L.Callback | bool | None = None  # None: not looked for this fit

    @property
    def path(self) -> Path | None:
        return Path(self.record["run_dir"]) / "record.json" if self.record else None

    # In every checkpoint, so that a resumed run's clock continues from it (the time between
    # it and the kill was lost work) and restored history entries keep their stamps.
    def state_dict(self) -> dict[str, Any]:
        return {"elapsed_s": time.perf_counter() - self._start, "stamps": list(self._stamps),
                "started_at": self.record.get("started_at"),
                "resumes": self.record.get("resumes", [])}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._restored = dict(state)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        restored, self._restored = self._restored, {}
        self._history_owner = None
        elapsed = float(restored.get("elapsed_s", 0.0))
        self._start = time.perf_counter() - elapsed
        self._stamps = list(restored.get("stamps", []))
        resumes = list(restored.get("resumes", []))
        if restored:
            resumes.append({"at": _now(), "from_wall_time_s": round(elapsed, 3),
                            "g_steps": getattr(pl_module, "g_steps", None)})
        self.config = with_model_hparams(self.config, pl_module)
        run_dir = Path(trainer.default_root_dir)
        model = type(pl_module)
        self.record = {
            "schema": SCHEMA_VERSION, "status": "running",
            "benchmark": self.benchmark or run_dir.parent.name,
            "run_name": self.run_name or run_dir.name, "run_dir": str(run_dir),
            "variant": pl_module.table_label(),
            "model_class": f"{model.__module__}.{model.__qualname__}",
            "seed": self.config.get("seed_everything"), "config": self.config, "argv": self.argv,
            "git": git_info(), "versions": package_versions(), "device": device_info(trainer),
            "started_at": restored.get("started_at") or _now(), "resumes": resumes,
            "ended_at": None, "wall_time_s": round(elapsed, 3), "progress": {},
            "final": None, "best": None, "history": [], "grids": [], "error": None,
        }
        logged = {k: self.record[k] for k in ("config", "seed", "git", "run_name")}
        for logger in trainer.loggers:
            logger.log_hyperparams({"ganzoo": logged})
        self.record["cwd"] = os.getcwd()  # where ``argv`` runs again (``ganzoo resume``)
        self.record["wandb_id"] = wandb_run_id(trainer)  # a resume continues this W&B run
        self._write(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._stamp_new_entries(trainer):
            self._write(trainer, pl_module)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # the one callback with a history, found once a fit: every batch only compares lengths
        if self._history_owner is None:
            self._history_owner = next(
                (c for c in trainer.callbacks if isinstance(getattr(c, "history", None), list | tuple)),
                False)
        if self._history_owner and len(self._history_owner.history) > len(self._stamps):
            self._stamp_new_entries(trainer)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit" or not self.record or self.record["status"] != "running":
            return
        self._stamp_new_entries(trainer)
        status = "diverged" if getattr(pl_module, "diverged", False) else "finished"
        self._write(trainer, pl_module, status=status)

    def on_exception(self, trainer: L.Trainer, pl_module, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt | SIGTERMException):
            self._write(trainer, pl_module, status="interrupted")
        else:
            self._write(trainer, pl_module, "failed", f"{type(exception).__name__}: {exception}")

    def _stamp_new_entries(self, trainer: L.Trainer) -> bool:
        new = len(callback_list(trainer, "history") or []) - len(self._stamps)
        self._stamps += [round(time.perf_counter() - self._start, 3)] * max(new, 0)
        return new > 0

    def _write(self, trainer: L.Trainer, pl_module, status: str | None = None,
               error: str | None = None) -> None:
        if not trainer.is_global_zero or not self.record:
            return
        entries = callback_list(trainer, "history") or []
        stamps = (self._stamps + [None] * len(entries))[: len(entries)]
        history = [dict(e, wall_time_s=t) for e, t in zip(entries, stamps, strict=True)]
        world, batch = trainer.world_size, getattr(trainer.datamodule, "batch_size", None)
        progress = {
            "epochs": trainer.current_epoch, "global_step": trainer.global_step,
            "d_steps": getattr(pl_module, "d_steps", None),
            "g_steps": getattr(pl_module, "g_steps", None),
            "images_seen": getattr(pl_module, "images_seen", 0) * world, "world_size": world,
            "batch_per_rank": batch, "global_batch": batch * world if batch else None,
        }
        self.record.update(
            wall_time_s=round(time.perf_counter() - self._start, 3), progress=progress,
            history=history, final=history[-1] if history else None, best=best_entry(history),
            grids=[str(p) for p in callback_list(trainer, "paths") or []],
        )
        if status is not None:
            self.record.update(status=status, ended_at=_now(), error=error)
        write_json_atomic(self.path, self.record)


def wandb_run_id(trainer: L.Trainer) -> str | None:
    """The id of the run's W&B run (None without one, or when W&B could not start)."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and not getattr(logger, "failed", False):
            run_id = getattr(logger.experiment, "id", None)  # DummyExperiment: a no-op method
            return run_id if isinstance(run_id, str) else None
    return None


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:d}m{secs:02d}s"
