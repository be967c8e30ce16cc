"""A plain PyTorch DCGAN on the 5,000 embedded MNIST digits: the reference ganzoo's DCGAN is
measured against (no Lightning, no ganzoo model code; only ganzoo's data loader is reused).

    .venv/bin/python benchmarks/bare_dcgan.py [--images 100000] [--seed 0] [--out bare.pt]

Radford et al. (2016) layout at 32x32, the 28x28 digits padded with background (-1):
z (64) -> 4x4x128 -> 8x8x64 -> 16x16x32 -> 32x32x1 (tanh), D mirrored (no batch norm on its
first layer), Adam 2e-4 / beta1 0.5, the non-saturating loss, batch 64, N(0, 0.02) init.
``benchmarks/bench_dcgan.py`` trains it beside ganzoo's DCGAN and scores both.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import nn


def make_nets(z_dim: int = 64, width: int = 32) -> tuple[nn.Module, nn.Module]:
    w = width
    g = nn.Sequential(
        nn.ConvTranspose2d(z_dim, 4 * w, 4, 1, 0, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(),
        nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(),
        nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
        nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * w), nn.LeakyReLU(0.2),
        nn.Conv2d(4 * w, 1, 4, 1, 0), nn.Flatten(),
    )
    for m in [*g.modules(), *d.modules()]:
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return g, d


def train(x: torch.Tensor, *, images: int, seed: int, batch: int = 64, z_dim: int = 64):
    """Train on ``x`` (N x 1 x 28 x 28 in [-1, 1]) until ``images`` real images were shown."""
    torch.manual_seed(seed)
    g, d = make_nets(z_dim)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x = F.pad(x, (2, 2, 2, 2), value=-1.0)
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    shown = 0
    while shown < images:
        for idx in torch.randperm(len(x)).split(batch):
            if len(idx) < batch or shown >= images:
                continue
            fake = g(torch.randn(batch, z_dim, 1, 1))
            loss_d = F.binary_cross_entropy_with_logits(d(x[idx]), ones) + (
                F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
            )
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = F.binary_cross_entropy_with_logits(d(fake), ones)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            shown += batch
    return g


@torch.no_grad()
def sample(g: nn.Module, n: int, seed: int, z_dim: int = 64) -> torch.Tensor:
    """``n`` samples in [-1, 1], cropped back to 28x28, with G in eval mode."""
    g.eval()
    z = torch.randn(n, z_dim, 1, 1, generator=torch.Generator().manual_seed(seed))
    return g(z)[:, :, 2:30, 2:30]


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="bare_dcgan.pt")
    args = p.parse_args()
    from ganzoo.data import GANDataModule

    train_split = GANDataModule(dataset="mnist5k").split("train")
    g = train(train_split.tensors[0], images=args.images, seed=args.seed)
    torch.save(g.state_dict(), args.out)
    print(f"bare DCGAN: {args.images} images, seed {args.seed} -> {args.out}")
