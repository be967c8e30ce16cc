"""GPU check: ganzoo's GPU knobs, 2-process DDP and a CIFAR-10 smoke run on the GPU at hand.

    bash scripts/gpu_check.sh                      # the same, about 5 minutes on one GPU
    .venv/bin/python benchmarks/gpu_check.py [--steps 300] [--sections knobs ddp cifar10]
        [--models DCGAN WGAN-gp] [--data-root data] [--out results/gpu_check.md] [--dry-run]

Sections:

- ``knobs``: DCGAN and WGAN-gp as ``experiments/{dcgan,wgan_gp}_cifar10.yaml`` build them
  (widths 64, 3 x 32 x 32, batch 64), trained for ``--steps`` D steps after 50 warm-up steps
  through a Trainer on random CIFAR-shaped batches, once with ganzoo's defaults (float32,
  channels-last conv weights, Adam's fused kernel) and once per knob changed: bf16 autocast
  (``trainer.precision=bf16-mixed``), channels-last off (``speed.channels_last=false``),
  ``torch.compile`` (``speed.compile=true``), fused Adam off
  (``model.init_args.optimizer.fused=false``), TF32 (``speed.tf32=true``). Each row: real
  images/s over the measured steps (CUDA synchronised at both ends), its ratio to the
  default, and peak GPU memory (``torch.cuda.max_memory_allocated``).
- ``ddp``: with two GPUs or more, the embedded mnist5k DCGAN through ``ganzoo fit`` on 1 GPU
  and on 2 (``--trainer.devices=2``, DDP), images/s from their records.
- ``cifar10``: with ``<data-root>/cifar-10-batches-py`` and the Inception weights present,
  ``ganzoo fit --config experiments/dcgan_cifar10.yaml`` on a short budget (64,000 images)
  with the benchmark's full evaluation protocol (50,000 samples against the 50,000 training
  images); else one line saying what is missing.

Without CUDA it prints one line and exits 0. ``--dry-run`` runs every section's code on CPU
with tiny networks and a few steps (what the tests check), measuring nothing of interest.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("WANDB_MODE", "disabled")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import lightning as L  # noqa: E402
import torch  # noqa: E402
from cifar10_wall_time import merged_config  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from ganzoo.models import VARIANTS  # noqa: E402
from ganzoo.training import SpeedKnobs  # noqa: E402

MODELS = {"DCGAN": "experiments/dcgan_cifar10.yaml", "WGAN-gp": "experiments/wgan_gp_cifar10.yaml"}
#: row -> (trainer precision, SpeedKnobs settings, Adam's fused kernel)
KNOBS = {
    "default (fp32, channels-last, fused Adam)": ("32-true", {}, True),
    "bf16 autocast": ("bf16-mixed", {}, True),
    "channels-last off": ("32-true", {"channels_last": False}, True),
    "torch.compile": ("32-true", {"compile": True}, True),
    "fused Adam off": ("32-true", {}, False),
    "TF32": ("32-true", {"tf32": True}, True),
}
WARMUP = 50
SHAPE, CLASSES, BATCH = (3, 32, 32), 10, 64


class Clock(L.Callback):
    """Seconds from the end of the warm-up batch to the end of training, synchronised."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.seconds = warmup, None, None

    def _sync(self, pl_module) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == self.warmup - 1:
            self._sync(pl_module)
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self._sync(pl_module)
        self.seconds = time.perf_counter() - self.start


def build(name: str, fused: bool, dry: bool):
    config = merged_config(ROOT / MODELS[name])
    cls = VARIANTS[config["model"]["class_path"].rsplit(".", 1)[-1]]
    init = dict(config["model"].get("init_args") or {})
    if dry:
        init.update(g_width=8, d_width=8)
    spec = inspect.signature(cls).parameters["optimizer"].default  # the variant's own
    init["optimizer"] = dataclasses.replace(spec, fused=fused)
    return cls(data_shape=SHAPE, num_classes=CLASSES, **init)


def measure(name: str, precision: str, knobs: dict, fused: bool, steps: int, dry: bool) -> dict:
    """Images/s and peak memory of ``steps`` D steps after the warm-up."""
    torch.manual_seed(0)
    model = build(name, fused, dry)
    warmup = 2 if dry else WARMUP
    n = BATCH * (warmup + steps)
    data = DataLoader(TensorDataset(torch.rand(n, *SHAPE) * 2 - 1, torch.arange(n) % CLASSES),
                      batch_size=BATCH, drop_last=True)
    clock = Clock(warmup)
    gpu = torch.cuda.is_available() and not dry
    if gpu:
        torch.cuda.reset_peak_memory_stats()
    trainer = L.Trainer(accelerator="gpu" if gpu else "cpu", devices=1, precision=precision,
                        max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[SpeedKnobs(**knobs), clock])
    trainer.fit(model, data)
    peak = torch.cuda.max_memory_allocated() / 2**20 if gpu else float("nan")
    return {"images_per_s": steps * BATCH / clock.seconds, "peak_mib": peak}


def section_knobs(args) -> list[str]:
    models = args.models
    lines = ["## Knobs: real images/s (ratio to the default) and peak GPU memory", "",
             "| knob | " + " | ".join(f"{m} img/s | {m} peak MiB" for m in models) + " |",
             "|---|" + "---|---|" * len(models)]
    print("\n".join(lines), flush=True)
    base: dict[str, float] = {}
    for row, (precision, knobs, fused) in KNOBS.items():
        if args.dry_run and (knobs.get("tf32") or knobs.get("compile")):  # CUDA, or minutes
            lines.append(f"| {row} | " + " | ".join("(GPU only) | -" for _ in models) + " |")
            continue
        cells = []
        for name in models:
            try:
                got = measure(name, precision, knobs, fused, args.steps, args.dry_run)
            except Exception as err:  # a knob this GPU or build lacks: say so, go on
                cells.append(f"failed: {type(err).__name__}: {str(err).splitlines()[0][:80]} | -")
                continue
            base.setdefault(name, got["images_per_s"])
            ratio = got["images_per_s"] / base[name]
            peak = "-" if got["peak_mib"] != got["peak_mib"] else f"{got['peak_mib']:,.0f}"  # NaN: CPU
            cells.append(f"{got['images_per_s']:,.0f} ({ratio:.2f}x) | {peak}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


def fit(args: list[str], runs: Path, name: str) -> dict:
    """``ganzoo fit ARGS`` in a subprocess, as run ``name``; its record."""
    command = [sys.executable, "-m", "ganzoo", "fit", *args, f"--runs_dir={runs}",
               "--benchmark=gpu_check", f"--run_name={name}", "--trainer.logger=false",
               "--trainer.enable_progress_bar=false"]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(f"`ganzoo {shlex.join(command[3:])}` failed: {tail[0]}")
    return json.loads((runs / "gpu_check" / name / "record.json").read_text())


def section_ddp(args) -> list[str]:
    gpus = torch.cuda.device_count()
    if gpus < 2 and not args.dry_run:
        return [f"## DDP: skipped, {gpus} GPU here (needs 2)"]
    accelerator = "cpu" if args.dry_run else "gpu"
    steps = 4 if args.dry_run else 600
    common = ["--config", "experiments/dcgan_mnist5k.yaml", "--trainer.callbacks=[]",
              f"--trainer.accelerator={accelerator}", f"--budget.max_g_steps={steps}"]
    lines = ["## DDP: the mnist5k DCGAN, images/s (all processes)", "",
             "| processes | images/s | G steps | images seen |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for devices in (1, 2):
            record = fit([*common, f"--trainer.devices={devices}"], Path(tmp), f"ddp{devices}")
            progress = record["progress"]
            rate = progress["images_seen"] / record["wall_time_s"]
            lines.append(f"| {devices} | {rate:,.0f} | {progress['g_steps']} | "
                         f"{progress['images_seen']:,} |")
            print(lines[-1], flush=True)
    return lines


def section_cifar10(args) -> list[str]:
    from ganzoo.errors import GanzooError
    from ganzoo.metrics.inception import resolve_inception_weights

    folder = Path(args.data_root) / "cifar-10-batches-py"
    if not (folder / "data_batch_1").is_file():
        return [f"## CIFAR-10 smoke run: skipped, no data at {folder} (download "
                f"https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and unpack it in "
                f"{args.data_root}/)"]
    try:
        resolve_inception_weights(allow_download=False)
    except GanzooError as err:
        return [f"## CIFAR-10 smoke run: skipped, {err}"]
    budget = 640 if args.dry_run else 64_000
    extra = ["--model.init_args.g_width=8", "--model.init_args.d_width=8"] if args.dry_run else []
    with tempfile.TemporaryDirectory() as tmp:
        record = fit(["--config", "experiments/dcgan_cifar10.yaml", f"--data.root={args.data_root}",
                      f"--budget.max_images={budget}", *extra,
                      *(["--trainer.accelerator=cpu"] if args.dry_run else [])], Path(tmp),
                     "cifar10")
    final = record.get("final") or {}
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in (final.get("metrics") or {}).items())
    protocol = final.get("protocol") or {}
    return ["## CIFAR-10 smoke run (experiments/dcgan_cifar10.yaml, the benchmark's protocol)", "",
            f"{record['progress']['images_seen']:,} images in {record['wall_time_s']:.0f} s "
            f"(evaluation included); {protocol.get('num_fake')} samples vs "
            f"{protocol.get('num_real')} `{protocol.get('reference_split')}` images, extractor "
            f"`{protocol.get('extractor')}`: {metrics}"]


SECTIONS = {"knobs": section_knobs, "ddp": section_ddp, "cifar10": section_cifar10}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="measured D steps per knob row")
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        help="the knobs section's models")
    parser.add_argument("--data-root", default="data", help="where cifar-10-batches-py/ is")
    parser.add_argument("--out", default=None, help="also write the report to this file")
    parser.add_argument("--dry-run", action="store_true",
                        help="run every section on CPU with tiny networks and a few steps")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available() and not args.dry_run:
        print("gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing to "
              "measure (--dry-run runs the checks on CPU)")
        return 0
    if args.dry_run:
        args.steps = min(args.steps, 3)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() and not args.dry_run \
        else "CPU (dry run)"
    report = [f"# GPU check: {device}", "",
              f"`python benchmarks/gpu_check.py {shlex.join(argv or sys.argv[1:])}`, torch "
              f"{torch.__version__}, lightning {L.__version__}", ""]
    print("\n".join(report), flush=True)
    status = 0
    for name in args.sections:
        began = time.perf_counter()
        try:
            lines = SECTIONS[name](args)
        except Exception as err:  # one section's failure is reported, the others still run
            lines, status = [f"## {name}: failed: {type(err).__name__}: {err}"], 1
        lines.append(f"\n({name}: {time.perf_counter() - began:.0f} s)\n")
        report += lines
        print("\n".join(lines[-2:] if name == "knobs" else lines), flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(report) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
