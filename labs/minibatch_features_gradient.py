"""How hard minibatch features push samples apart, as a function of how collapsed they are.

    .venv/bin/python labs/minibatch_features_gradient.py [--seed 0]

A diagnostic for the open question of issue 12 (minibatch features slow the toy runs down:
``results/mode_collapse_ring8/grids_over_time/VanillaGAN-minibatch_features=True.png`` shows G
on one point for ~45 epochs). For 64 samples spread by ``spread`` around one point, it prints
the mean minibatch feature ``o`` and the norm of the gradient that a random linear head on the
features sends back to the samples. The exp(-L1) kernel of Salimans et al. has a cusp at zero
distance: the gradient is 0 for samples that coincide exactly and largest just next to them.

Then, for the toy configs' VanillaGAN (experiments/vanilla_ring8.yaml, built as ``ganzoo fit``
builds it: MLP D of width 32, batch 256) at initialisation, for Salimans et al.'s sum and for ``minibatch_features: mean``:
the mean minibatch feature and D's mean logit on a ring8 batch and on G's first batch, and the
norm of the gradient the non-saturating loss sends to G's weights. The sum over 255 other
samples puts D's logits in the tens from the first step; the mean keeps them near 0.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from ganzoo.cli import run_lightning_cli
from ganzoo.nets.blocks import MinibatchDiscrimination

SPREADS = (0.0, 1e-6, 1e-3, 1e-1, 1.0)
CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "vanilla_ring8.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    features, samples = 32, 64
    layer = MinibatchDiscrimination(in_features=features)
    head = torch.randn(layer.out_extra)
    centre = torch.randn(1, features)
    print("| spread | mean o | gradient norm through the minibatch features |")
    print("|---|---|---|")
    for spread in SPREADS:
        h = (centre + spread * torch.randn(samples, features)).requires_grad_(True)
        o = layer(h)[:, features:]
        (o @ head).sum().backward()
        print(f"| {spread:g} | {o.mean():.2f} | {h.grad.norm():,.0f} |")
    print()
    initial_d(args.seed)


def initial_d(seed: int) -> None:
    """D and G's gradient at initialisation on ring8, minibatch features summed or averaged:
    the model and data of ``experiments/vanilla_ring8.yaml`` as ``ganzoo fit`` builds them."""
    print("| minibatch features | mean o (real / fake) | mean D logit (real / fake) "
          "| G's gradient norm (non-saturating) |")
    print("|---|---|---|---|")
    for kind in (True, "mean"):
        with tempfile.TemporaryDirectory() as tmp:
            cli = run_lightning_cli(
                ["--config", str(CONFIG), f"--seed_everything={seed}", f"--runs_dir={tmp}",
                 f"--model.init_args.minibatch_features={kind}", "--trainer.logger=false"],
                run=False,
            )
        model, dm = cli.model, cli.datamodule
        dm.setup("fit")
        real = next(iter(dm.train_dataloader()))[0]  # a training batch of the config's size
        d = model.discriminator
        fake = model.generate(model.sample_latent(len(real)))
        extra = d.minibatch.out_extra
        o = [d.minibatch(d.features(x))[:, -extra:].mean().item() for x in (real, fake)]
        with torch.no_grad():
            logit_real = d(real).mean().item()
        logits = d(fake)
        model.loss_pair.g(logits).backward()
        norm = torch.cat([p.grad.flatten() for p in model.generator.parameters()]).norm()
        name = "sum (Salimans et al.)" if kind is True else "mean"
        print(f"| {name} | {o[0]:.2f} / {o[1]:.2f} | {logit_real:.2f} / {logits.mean():.2f} "
              f"| {norm:.2e} |")


if __name__ == "__main__":
    main()
