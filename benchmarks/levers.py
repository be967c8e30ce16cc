"""Speed of the main job's cost levers (issue [5/6]): each shipped mnist5k config's training
loop with and without a lever, interleaved, in real images/s through the Trainer (logger,
callbacks and checkpoints off; one torch thread, as a main-job worker runs).

    .venv/bin/python benchmarks/levers.py [--rounds 3] [--batches 200]

Levers (off in the paper recipes):
- ``reuse_fake``: the trick ganzoo.tricks.ReuseFake, the G step reads the critic step's fake
  batch (one G forward fewer);
- ``gp_every=k``: WGAN-GP's penalty on every k-th critic step, weighted by k (lazy).

The base is each config as shipped: the levers it ships with are on (DCGAN, ConditionalGAN,
InfoGAN ``reuse_fake``; WGAN-gp ``gp_every=2`` and ``reuse_fake``) and each row here turns one
on or off (``off`` / ``gp_every=1``: the config without it). A ratio above 1: the shipped
config is that much faster than the changed one.

The speed-up is only half the test: a lever stays only if the main job's table made with it
is the committed one's equal (``ganzoo verdict``, no cell DIFFERENT); see docs/speed.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speed import ROOT, throughput  # noqa: E402

REUSE = {"class_path": "ganzoo.tricks.ReuseFake"}


def tricks(config: str, reuse: bool) -> str:
    """The override of ``config``'s trick list with ganzoo.tricks.ReuseFake on or off."""
    init = yaml.safe_load((ROOT / "experiments" / config).read_text())["model"]["init_args"]
    kept = [t for t in init.get("tricks") or [] if t.get("class_path") != REUSE["class_path"]]
    return "--model.init_args.tricks=" + json.dumps([*kept, *[REUSE] * reuse])


# config -> the changes to time against it as shipped: (name, overrides)
LEVERS = {
    "dcgan_mnist5k.yaml": [("reuse_fake off", [tricks("dcgan_mnist5k.yaml", False)])],
    "cgan_mnist5k.yaml": [("reuse_fake off", [tricks("cgan_mnist5k.yaml", False)])],
    "infogan_mnist5k.yaml": [("reuse_fake off", [tricks("infogan_mnist5k.yaml", False)])],
    "vanilla_mnist5k.yaml": [("reuse_fake on", [tricks("vanilla_mnist5k.yaml", True)])],
    "wgan_gp_mnist5k.yaml": [("gp_every=1", ["--model.gp_every=1"]),
                             ("gp_every=4", ["--model.gp_every=4"]),
                             ("gp_every=1 reuse_fake off", ["--model.gp_every=1",
                                                            tricks("wgan_gp_mnist5k.yaml", False)])],
    "wgan_clip_mnist5k.yaml": [("reuse_fake on", [tricks("wgan_clip_mnist5k.yaml", True)])],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| config | change | img/s as shipped | img/s changed | shipped / changed (median) | range | rounds |")
    print("|---|---|---|---|---|---|---|")
    for config, levers in LEVERS.items():
        for name, lever in levers:
            base, fast = [], []
            for _ in range(args.rounds):  # interleaved: drift hits both alike
                base.append(throughput(config, batches=args.batches)["img/s"])
                fast.append(throughput(config, *lever, batches=args.batches)["img/s"])
            ratios = [b / f for f, b in zip(fast, base, strict=True)]
            print(f"| {Path(config).stem} | {name} | "
                  f"{statistics.median(base):,.0f} | {statistics.median(fast):,.0f} | "
                  f"{statistics.median(ratios):.3f} | {min(ratios):.3f}-{max(ratios):.3f} | "
                  f"{args.rounds} |", flush=True)


if __name__ == "__main__":
    main()
