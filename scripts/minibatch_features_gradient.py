"""How hard minibatch features push samples apart, as a function of how collapsed they are.

    .venv/bin/python scripts/minibatch_features_gradient.py [--seed 0]

A diagnostic for the open question of issue 12 (minibatch features slow the toy runs down:
``results/mode_collapse_ring8/grids_over_time/VanillaGAN-minibatch_features=True.png`` shows G
on one point for ~45 epochs). For 64 samples spread by ``spread`` around one point, it prints
the mean minibatch feature ``o`` and the norm of the gradient that a random linear head on the
features sends back to the samples. The exp(-L1) kernel of Salimans et al. has a cusp at zero
distance: the gradient is 0 for samples that coincide exactly and largest just next to them.
"""

from __future__ import annotations

import argparse

import torch

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


if __name__ == "__main__":
    main()
