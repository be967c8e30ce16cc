"""An estimate, from FLOPs, of the wall time of one run of the CIFAR-10 comparison on one GPU.

    .venv/bin/python benchmarks/cifar10_wall_time.py [--sweep experiments/sweeps/cifar10_compare.yaml]
        [--utilization 0.3]

For each config of the sweep it builds the model as the config does (its own networks and
widths at 3 x 32 x 32), counts the floating-point operations of training steps with
``torch.utils.flop_counter``'s per-operator formulas (the ones ``FlopCounterMode`` sums; its
module tracking breaks on the gradient penalty's ``autograd.grad``, so :class:`Flops` sums
them without it) over a few real D steps, and their G steps, through
a Trainer on random CIFAR-shaped batches: the loss, the backward passes and the gradient
penalty's double backward included), and of one evaluation (G's forward for each sample plus
torch-fidelity's InceptionV3, randomly initialised here: the FLOPs do not depend on the
weights), then multiplies by the budget and the evaluations the config's protocol makes.
Time = FLOPs / (FP32 peak x utilization) at the GPUs' published dense FP32 peaks (ganzoo
trains in float32 by default). It is an estimate, not a measurement, and a lower bound more
than a forecast: small convolutions at batch 64 rarely reach a GPU's peak, and kernel
launches, data loading and logging are not counted; ``scripts/gpu_check.sh`` measures real
images/s on the machine at hand.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path
from unittest import mock

os.environ.setdefault("WANDB_MODE", "disabled")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lightning as L  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402
from torch.utils.flop_counter import flop_registry  # noqa: E402

from ganzoo.cli import config_layers  # noqa: E402
from ganzoo.models import VARIANTS  # noqa: E402

#: Published dense FP32 peaks, TFLOP/s.
GPUS = {"A100 SXM": 19.5, "H100 SXM": 67.0, "L40S": 91.6}
SHAPE, CLASSES, BATCH = (3, 32, 32), 10, 64


class Flops(TorchDispatchMode):
    """Sums the FLOPs of every operator torch's flop counter has a formula for (matmuls,
    convolutions and their backward passes: what dominates)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out

    def get_total_flops(self) -> int:
        return self.total


def merged_config(path: Path) -> dict:
    """The config file with its bases merged (later layers win, lists replaced or extended
    with ``key+``), as LightningCLI reads them."""
    merged: dict = {}
    for layer in config_layers(path, ()):
        merge(merged, yaml.safe_load(layer.read_text()) or {})
    return merged


def merge(base: dict, layer: dict) -> None:
    for key, value in layer.items():
        if key.endswith("+"):
            base[key[:-1]] = [*(base.get(key[:-1]) or []), *value]
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


def build_model(config: dict):
    model = config["model"]
    name = model["class_path"].rsplit(".", 1)[-1]
    return VARIANTS[name](data_shape=SHAPE, num_classes=CLASSES, **(model.get("init_args") or {}))


def training_flops(model, d_steps: int) -> tuple[float, int]:
    """FLOPs per D step (its share of G steps included) over ``d_steps`` D steps."""
    x = torch.rand(BATCH * d_steps, *SHAPE) * 2 - 1
    y = torch.arange(BATCH * d_steps) % CLASSES
    data = DataLoader(TensorDataset(x, y), batch_size=BATCH)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=-1, max_epochs=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    counter = Flops()
    with counter:
        trainer.fit(model, data)
    return counter.get_total_flops() / d_steps, model.g_steps


def inception_flops() -> float:
    """FLOPs of torch-fidelity's InceptionV3 (pool3 and logits) on one 32 x 32 image."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with (mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None),
          mock.patch("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url")):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    images = torch.randint(0, 256, (2, *SHAPE), dtype=torch.uint8)
    counter = Flops()
    with counter, torch.no_grad():
        net(images)
    return counter.get_total_flops() / len(images)


def generator_flops(model) -> float:
    counter = Flops()
    model.eval()
    with counter, torch.no_grad():
        model.sample(BATCH, labels=torch.arange(BATCH) % CLASSES if model.conditional else None)
    return counter.get_total_flops() / BATCH


def clock(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="experiments/sweeps/cifar10_compare.yaml")
    parser.add_argument("--utilization", type=float, default=0.3,
                        help="assumed share of the GPU's peak (default 0.3)")
    parser.add_argument("--d-steps", type=int, default=10, help="D steps counted per config")
    args = parser.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    sweep = yaml.safe_load((ROOT / args.sweep).read_text())
    configs = sweep["parameters"]["config"]["values"]
    per_image_inception = inception_flops()
    print(f"`python benchmarks/cifar10_wall_time.py --utilization {args.utilization}` "
          f"(an estimate from FLOPs at {args.utilization:.0%} of each GPU's dense FP32 peak; "
          f"InceptionV3: {per_image_inception / 1e9:.2f} GFLOP per image)\n")
    header = ("| config | GFLOP per D step | D steps | training PFLOP | evaluations x samples | "
              "evaluation PFLOP |" + "".join(f" {gpu} |" for gpu in GPUS))
    print(header)
    print("|" + "---|" * (6 + len(GPUS)))
    for path in configs:
        config = merged_config(ROOT / path)
        model = build_model(config)
        per_d_step, _ = training_flops(model, args.d_steps)
        budget = config.get("budget") or {}
        batch = config["data"].get("batch_size", BATCH)
        d_steps = budget["max_images"] // batch
        evaluation = next(c["init_args"] for c in config["trainer"]["callbacks"]
                          if c["class_path"].endswith("EvaluationCallback"))
        epochs = budget["max_images"] / 50_000
        every = evaluation.get("every_n_epochs") or 0
        evaluations = (int(epochs // every) if every else 0) + 1  # and the one at the end
        samples = evaluation["num_samples"]
        per_sample = generator_flops(build_model(config)) + per_image_inception
        training = per_d_step * batch / BATCH * d_steps
        # each evaluation's samples, and the training split's features once (then cached)
        evaluating = evaluations * samples * per_sample + 50_000 * per_image_inception
        total = training + evaluating
        row = (f"| {Path(path).stem} | {per_d_step / 1e9:.1f} | {d_steps:,} | "
               f"{training / 1e15:.1f} | {evaluations} x {samples:,} | {evaluating / 1e15:.1f} |")
        row += "".join(f" {clock(total / (peak * 1e12 * args.utilization))} |"
                       for peak in GPUS.values())
        print(row)


if __name__ == "__main__":
    main()
