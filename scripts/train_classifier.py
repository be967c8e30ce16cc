"""Train the domain classifier used for FID/IS/KID and the label metrics, and freeze it.

    python scripts/train_classifier.py --dataset mnist5k  # -> metrics/weights/domain_mnist5k.*
    python scripts/train_classifier.py --dataset digits   # -> metrics/weights/domain_digits.*

The committed weights were made with exactly these commands (seed 0, the default recipe in
``ganzoo.metrics.domain.train_classifier``): trained on the DataModule's ``train`` split only,
accuracy measured on its ``test`` split. Other datasets (``--dataset fashion_mnist`` ...)
write to the cache that ``ganzoo.metrics`` trains into on demand; ``--out`` overrides the path.
The json next to the weights records the sha256, accuracies, seed and data split.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganzoo.data import GANDataModule
from ganzoo.data.registry import names
from ganzoo.metrics.domain import (
    DEFAULT_STEPS,
    WEIGHTS_DIR,
    cached_weights_path,
    save_classifier,
    train_classifier,
)

COMMITTED = names("embedded")  # the datasets whose classifier weights are committed


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--root", default="data", help="torchvision data root")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--out", type=Path, default=None, help="weights file (.pt)")
    args = parser.parse_args(argv)

    dm = GANDataModule(dataset=args.dataset, root=args.root, image_size=args.image_size)
    out = args.out
    if out is None:
        out = (
            WEIGHTS_DIR / f"domain_{args.dataset}.pt"
            if args.dataset in COMMITTED and args.image_size is None
            else cached_weights_path(dm)
        )
    model, report = train_classifier(dm, seed=args.seed, steps=args.steps)
    command = ["python", "scripts/train_classifier.py", "--dataset", args.dataset]
    if args.seed:
        command += ["--seed", str(args.seed)]
    if args.steps != DEFAULT_STEPS:
        command += ["--steps", str(args.steps)]
    meta = save_classifier(model, {**report, "command": " ".join(command)}, out)
    size_kb = out.stat().st_size / 1024
    print(json.dumps(meta, indent=2))
    print(
        f"{args.dataset}: test accuracy {meta['test_accuracy']:.4f} "
        f"(train {meta['train_accuracy']:.4f}), {size_kb:.0f} KiB, "
        f"sha256 {meta['sha256'][:16]}..., "
        f"written to {out}"
    )
    return meta


if __name__ == "__main__":
    main()
