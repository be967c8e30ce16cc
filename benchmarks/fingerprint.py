"""Fingerprints of short training runs: the guard of a behaviour-preserving refactor.

    OMP_NUM_THREADS=1 WANDB_MODE=offline .venv/bin/python benchmarks/fingerprint.py [CONFIG ...]

For each config (``a.yaml`` or an overlay chain ``a.yaml+b.yaml``; default: every
experiments config that trains on the embedded mnist5k, digits or toy data, the trick
overlays over ``dcgan_mnist5k.yaml`` as their sweep runs them) it runs ``python -m ganzoo
fit`` in a temporary runs directory with a short budget (``trainer.max_steps``, which counts
D and G steps together and needs no model option), the evaluation and grid callbacks removed
(every other callback kept, so a trick chosen as a callback still runs), no logger, and a
mid-epoch checkpoint every 5 generator steps. It prints one line per config::

    <config> sha256=<digest> tensors=<n> d_steps=<d> g_steps=<g>

The digest is over every tensor of the final checkpoint's ``state_dict`` (G, D, the Q head,
G's moving average, the fixed latents): the sha256 of the sorted per-tensor digests (dtype,
shape, bytes), so it does not depend on the names a refactor gives the tensors, only on
their values. Training is bitwise reproducible on one CPU type only: compare digests made
on the same machine.

``--root DIR`` reads the configs from another checkout's tree (e.g. ``git archive`` of an
older commit); ``--upgrade`` passes each through :func:`ganzoo.models.legacy.upgrade_config`
first, so the former layout's configs can be fingerprinted with today's code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's ganzoo, also for --upgrade
EXPERIMENTS = ROOT / "experiments"
MAIN = ("vanilla", "dcgan", "wgan_clip", "wgan_gp", "cgan", "infogan")
TOY = ("vanilla_ring8", "vanilla_grid25", "vanilla_gauss1d", "wgan_gp_ring8", "wgan_gp_grid25",
       "wgan_gp_gauss1d")
DROPPED_CALLBACKS = ("ganzoo.metrics.EvaluationCallback", "ganzoo.metrics.SampleGridCallback")
MAX_STEPS = 72
CHECKPOINT_EVERY = 5


def default_configs() -> list[str]:
    main = [f"experiments/{m}_mnist5k.yaml" for m in MAIN]
    tricks = [f"experiments/dcgan_mnist5k.yaml+experiments/tricks/{p.name}"
              for p in sorted((EXPERIMENTS / "tricks").glob("*.yaml"))]
    toy = [f"experiments/{name}.yaml" for name in TOY]
    digits = [f"experiments/{m}_digits.yaml" for m in MAIN]
    return main + tricks + toy + digits


def without_evaluation(path: Path, out: Path, upgrade: bool = False) -> Path:
    """``path`` rewritten to ``out`` without the evaluation and grid callbacks (and upgraded
    from the former layout with ``upgrade``); a base it names is rewritten beside it."""
    config = yaml.safe_load(path.read_text()) or {}
    if isinstance(config.get("config"), str):
        base = path.parent / config["config"]
        config["config"] = str(without_evaluation(base, out.with_name("base_" + out.name)))
    if upgrade:
        from ganzoo.models.legacy import upgrade_config

        config = upgrade_config(config)
    callbacks = (config.get("trainer") or {}).get("callbacks")
    if isinstance(callbacks, list):
        config["trainer"]["callbacks"] = [
            c for c in callbacks if c.get("class_path") not in DROPPED_CALLBACKS
        ]
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return out


def state_digest(state: dict[str, torch.Tensor]) -> str:
    digests = []
    for tensor in state.values():
        t = tensor.detach().cpu().contiguous().reshape(-1)
        h = hashlib.sha256(f"{t.dtype}{tuple(tensor.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        digests.append(h.hexdigest())
    return hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()


def fingerprint(spec: str, work: Path, root: Path = ROOT, upgrade: bool = False) -> str:
    files = [root / p for p in spec.split("+")]
    configs = [without_evaluation(f, work / f"{i}_{f.name}", upgrade) for i, f in enumerate(files)]
    command = [sys.executable, "-m", "ganzoo", "fit"]
    for c in configs:
        command += ["--config", str(c)]
    command += [f"--trainer.max_steps={MAX_STEPS}", "--trainer.logger=false",
                "--trainer.enable_progress_bar=false", f"--checkpoint_every={CHECKPOINT_EVERY}",
                f"--runs_dir={work / 'runs'}", "--run_name=fp"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return f"{spec} FAILED rc={done.returncode}: {' '.join(tail)}"
    (run_dir,) = (work / "runs").glob("*/fp")
    record = json.loads((run_dir / "record.json").read_text())
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    state = checkpoint["state_dict"]
    progress = record.get("progress") or {}
    return (f"{spec} sha256={state_digest(state)} tensors={len(state)} "
            f"d_steps={progress.get('d_steps')} g_steps={progress.get('g_steps')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", help="configs (a.yaml or a.yaml+overlay.yaml)")
    parser.add_argument("--root", type=Path, default=ROOT, help="where the configs are read from")
    parser.add_argument("--upgrade", action="store_true", help="upgrade_config each config first")
    args = parser.parse_args()
    for spec in args.configs or default_configs():
        with tempfile.TemporaryDirectory(prefix="ganzoo-fp-") as tmp:
            print(fingerprint(spec, Path(tmp), args.root, args.upgrade), flush=True)


if __name__ == "__main__":
    main()
