"""Shared by the cluster tests: a tiny fit command, its environment, free ports, weights."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]

#: A tiny DCGAN on the embedded 8x8 digits: 1,437 training images, 44 batches of 32 an epoch
#: on one process (22 per rank on two).
TINY = ["--model=ganzoo.models.DCGAN", "--model.init_args.g_width=8",
        "--model.init_args.d_width=8", "--model.init_args.latent_dim=8",
        "--data.dataset=digits", "--data.batch_size=32", "--trainer.logger=false",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
        "--trainer.accelerator=cpu", "--benchmark=cluster"]


def fit_command(runs_dir: Path, name: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ganzoo", "fit", *TINY, f"--runs_dir={runs_dir}",
            f"--run_name={name}", *extra]


def base_env(**extra: str) -> dict[str, str]:
    """This process's environment without any launcher's or Slurm's variables, one thread,
    W&B off, plus ``extra``."""
    launcher = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "WORLD_SIZE", "LOCAL_RANK", "RANK",
                "GROUP_RANK", "LOCAL_WORLD_SIZE", "TORCHELASTIC_RUN_ID")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SLURM_") and k not in launcher}
    here = str(Path(__file__).resolve().parent)  # cluster_probe importable by class path
    path = os.pathsep.join(p for p in (here, str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", WANDB_MODE="disabled",
               CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1", PYTHONPATH=path, **extra)
    return env


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """``cmd`` in the repository, its stdout and stderr into ``log``."""
    handle = open(log, "w")  # noqa: SIM115 (closed with the process, by the OS)
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def free_port() -> int:
    """A port nothing listens on now (bind port 0, read it back, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def final_state(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu",
                      weights_only=False)


def files(run_dir: Path) -> dict[str, str]:
    """sha256 of every file under ``run_dir``, by relative path."""
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run_dir.rglob("*")) if p.is_file()}


def max_abs_diff_by_group(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, float]:
    """The largest |a - b| over each tensor group (the state_dict key up to its first dot:
    generator, discriminator, ...), floating-point tensors only."""
    groups: dict[str, float] = {}
    for key, value in a.items():
        if not value.is_floating_point():
            continue
        group = key.split(".", 1)[0]
        diff = (value.double() - b[key].double()).abs().max().item() if value.numel() else 0.0
        groups[group] = max(groups.get(group, 0.0), diff)
    return groups
