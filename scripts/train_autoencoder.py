"""Train the autoencoder whose bottleneck is the class-agnostic feature space, and freeze it.

    python scripts/train_autoencoder.py --dataset mnist5k  # -> metrics/weights/autoencoder_mnist5k.*
    python scripts/train_autoencoder.py --dataset digits   # -> metrics/weights/autoencoder_digits.*

The committed weights were made with exactly these commands (seed 0, one torch thread, the
default recipe in ``ganzoo.metrics.autoencoder.train_autoencoder``): trained without labels
on the images the test split was held out from, reconstruction error measured on the test
split. Other datasets write to the cache that ``ganzoo.metrics`` trains into on demand;
``--out`` overrides the path. The json next to the weights records the sha256, the training
time, the reconstruction errors, the seed and the data split.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ganzoo.data import GANDataModule
from ganzoo.data.registry import names
from ganzoo.metrics import frozen
from ganzoo.metrics.autoencoder import DEFAULT_STEPS, cached_weights_path, train_autoencoder

COMMITTED = names("embedded")  # the datasets whose autoencoder weights are committed


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--root", default="data", help="torchvision data root")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--out", type=Path, default=None, help="weights file (.pt)")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # the recorded training time is one thread's
    dm = GANDataModule(dataset=args.dataset, root=args.root, image_size=args.image_size)
    out = args.out
    if out is None:
        out = (
            frozen.WEIGHTS_DIR / f"autoencoder_{args.dataset}.pt"
            if args.dataset in COMMITTED and args.image_size is None
            else cached_weights_path(dm)
        )
    model, report = train_autoencoder(dm, seed=args.seed, steps=args.steps)
    command = ["python", "scripts/train_autoencoder.py", "--dataset", args.dataset]
    if args.seed:
        command += ["--seed", str(args.seed)]
    if args.steps != DEFAULT_STEPS:
        command += ["--steps", str(args.steps)]
    meta = frozen.save_weights(model, {**report, "command": " ".join(command)}, out)
    print(json.dumps(meta, indent=2))
    print(
        f"{args.dataset}: reconstruction MSE {meta['test_mse']:.4f} on the test split "
        f"(training images {meta['train_mse']:.4f}), {meta['train_seconds']:.0f} s on 1 thread, "
        f"{out.stat().st_size / 1024:.0f} KiB, sha256 {meta['sha256'][:16]}..., written to {out}"
    )
    return meta


if __name__ == "__main__":
    main()
