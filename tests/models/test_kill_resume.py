"""A run killed with SIGKILL at an arbitrary moment, mid-epoch, and resumed with ``ganzoo
resume RUN_DIR`` (its command plus ``--ckpt_path=last``) ends bitwise equal to the uninterrupted run (one CPU
process): the periodic last.ckpt holds the weights, optimizers, RNG streams and the data
order's position."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [
    sys.executable, "-m", "ganzoo", "fit",
    "--model=ganzoo.models.VanillaGAN", "--model.init_args.g_width=16",
    "--model.init_args.d_width=16", "--data.dataset=digits", "--data.batch_size=32",
    "--trainer.max_epochs=6", "--trainer.logger=false", "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false", "--checkpoint_every=7",
]


def fit(tmp_path: Path, name: str, *extra: str, wait: bool = True) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    cmd = [*COMMAND, f"--runs_dir={tmp_path}", "--benchmark=kill", f"--run_name={name}", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if wait:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-3000:]
    return proc


def weights(run: Path) -> dict[str, torch.Tensor]:
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    return ckpt["state_dict"], ckpt["ganzoo"]


def test_sigkill_mid_epoch_then_resume_is_bitwise_equal(tmp_path):
    fit(tmp_path, "full")
    killed = fit(tmp_path, "killed", wait=False)
    last = tmp_path / "kill" / "killed" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while not last.exists() and killed.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    state = torch.load(last, map_location="cpu", weights_only=False)
    # 44 batches of 32 per epoch (1,437 digits): a checkpoint every 7 G steps is mid-epoch
    assert state["ganzoo"]["d_steps"] % 44 != 0
    # `ganzoo resume RUN_DIR` reruns the run's own command (its record) with --ckpt_path=last
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    resume = subprocess.run([sys.executable, "-m", "ganzoo", "resume", str(last.parents[1])],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert resume.returncode == 0, resume.stdout[-2000:] + resume.stderr[-2000:]
    assert "--ckpt_path=last" in resume.stdout.splitlines()[0]
    full, full_state = weights(tmp_path / "kill" / "full")
    resumed, resumed_state = weights(tmp_path / "kill" / "killed")
    assert resumed_state["d_steps"] == full_state["d_steps"] == 6 * 44
    for name, value in full.items():
        assert torch.equal(value, resumed[name]), name
