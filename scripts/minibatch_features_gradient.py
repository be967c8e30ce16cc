"""How hard minibatch features push samples apart, as a function of how collapsed they are.

    .venv/bin/python scripts/minibatch_features_gradient.py [--seed 0]

A diagnostic for the open question of issue 12 (minibatch features slow the toy runs down:
``results/mode_collapse_ring8/grids_over_time/VanillaGAN-minibatch_features=True.png`` shows G
on one point for ~45 epochs). For 64 samples spread by ``spread`` around one point, it prints
the mean minibatch feature ``o`` and the norm of the gradient that a random linear head on the
features sends back to the samples. The exp(-L1) kernel of Salimans et al. has a cusp at zero
distance: the gradient is 0 for samples that coincide exactly and largest just next to them.

Then, for the toy configs' VanillaGAN (experiments/vanilla_ring8.yaml: MLP D of width 32,
batch 256) at initialisation, for Salimans et al.'s sum and for ``minibatch_features: mean``:
the mean minibatch feature and D's mean logit on a ring8 batch and on G's first batch, and the
norm of the gradient the non-saturating loss sends to G's weights. The sum over 255 other
samples puts D's logits in the tens from the first step; the mean keeps them near 0.
"""

from __future__ import annotations

import argparse

import torch

from ganzoo.data.sources import toy
from ganzoo.models import VanillaGAN
from ganzoo.nets.blocks import MinibatchDiscrimination

SPREADS = (0.0, 1e-6, 1e-3, 1e-1, 1.0)


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


def initial_d(seed: int, batch: int = 256) -> None:
    """D and G's gradient at initialisation on ring8, minibatch features summed or averaged."""
    real = toy("ring8", batch, 0.05, seed)[0].tensors[0]  # the config's std
    print("| minibatch features | mean o (real / fake) | mean D logit (real / fake) "
          "| G's gradient norm (non-saturating) |")
    print("|---|---|---|---|")
    for kind in (True, "mean"):
        torch.manual_seed(seed)
        model = VanillaGAN(data_shape=(2,), num_classes=0, latent_dim=16, g_width=32,
                           g_norm="none", d_width=32, minibatch_features=kind)
        d = model.discriminator
        fake = model.generate(model.sample_latent(batch))
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
