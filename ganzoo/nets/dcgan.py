"""DCGAN generator and discriminator (Radford et al. 2015, Sec. 3 architecture guidelines).

Strided (transposed) convolutions instead of pooling, batch norm in G and D (optionally
none or layer norm in D, as WGAN-GP requires), ReLU in G with tanh output, LeakyReLU(0.2)
in D. Sized from the data as the paper's networks are: G starts at a 4 x 4 map with
``ngf * 2**(n-1)`` channels and doubles ``n`` times up to a square *canvas* of side
``4 * 2**n``, the smallest that holds the image (8, 16, 32, 64, ...). Images of another side
live centred on that canvas: G crops its output to the image, D pads its input with the
background value -1 (28 x 28 digits sit on a 32 x 32 canvas, as in the common DCGAN
MNIST setups). So every side >= 4 works and G keeps the paper's 4 x 4 start (8 ngf channels
at 64 px, 4 ngf at 32 px). The earlier layout (a 7 x 7 start for 28 px, two layers) scored FID
6.19 against the bare loop's 3.47 at 100k images (seed 0, ``benchmarks/bench_dcgan.py``); this
one matches it (``results/dcgan_vs_bare/table.md``).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.nets.blocks import (
    REFERENCE_NORMS,
    Conditioning,
    GNorm,
    LabelProjection,
    MinibatchFeatures,
    ReferenceBatch,
    concatenates,
    generator_norm,
    minibatch_layer,
    projects,
    run_generator_layers,
)

Tensor = torch.Tensor


def dcgan_canvas(image_size: int) -> tuple[int, int]:
    """Return ``(canvas, n)``: the smallest ``canvas = 4 * 2**n >= image_size`` with ``n >= 1``.

    Raises:
        ConfigError: for a side below 4.
    """
    if image_size < 4:
        raise ConfigError(f"data.image_size: DCGAN networks need a side >= 4, got {image_size}")
    n = 1
    while 4 * 2**n < image_size:
        n += 1
    return 4 * 2**n, n


def _margins(canvas: int, side: int) -> tuple[int, int]:
    """Rows (or columns) of canvas before and after a centred image of ``side``."""
    before = (canvas - side) // 2
    return before, canvas - side - before


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def init_dcgan_weights(module: nn.Module) -> None:
    """N(0, 0.02) conv weights and N(1, 0.02) batch-norm scales, as in the DCGAN paper."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """``z -> Linear -> 4 x 4 x (ngf * 2^(n-1)) -> n transposed convs -> canvas`` (tanh), cropped
    to ``C x H x W``.

    ``norm="reference"`` / ``"virtual"`` replace batch norm by reference / virtual batch norm
    over a fixed reference batch of ``reference_size`` latent vectors
    (:class:`~ganzoo.nets.blocks.ReferenceBatch`, stored as buffers, so it is checkpointed).
    """

    def __init__(
        self,
        *,
        latent_dim: int,
        data_shape: tuple[int, ...],
        ngf: int = 64,
        num_classes: int = 0,
        embed_dim: int = 16,
        norm: GNorm = "batch",
        reference_size: int = 64,
    ) -> None:
        super().__init__()
        channels, height, width = data_shape
        if height != width:
            raise ConfigError(f"data.image_size: DCGAN needs square images, got {height}x{width}")
        self.data_shape = tuple(data_shape)
        canvas, n = dcgan_canvas(height)
        self.crop = _margins(canvas, height)
        self.label_embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        in_dim = latent_dim + (embed_dim if num_classes else 0)
        c = ngf * 2 ** (n - 1)
        self.base_channels = c
        self.project = nn.Linear(in_dim, c * 4 * 4, bias=False)
        self.reference = (
            ReferenceBatch(size=reference_size, latent_dim=latent_dim, num_classes=num_classes)
            if norm in REFERENCE_NORMS
            else None
        )

        def g_norm(channels: int) -> nn.Module:
            return generator_norm(
                norm,
                channels,
                batch_norm=nn.BatchNorm2d,
                reference_size=reference_size,
                num_classes=num_classes,
            )

        layers: list[nn.Module] = [g_norm(c), nn.ReLU(True)]
        for _ in range(n - 1):
            layers += [
                nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),
                g_norm(c // 2),
                nn.ReLU(True),
            ]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        skip = 0
        if self.reference is not None:
            z, labels = self.reference.prepend(z, labels)
            skip = self.reference.size
        if self.label_embed is not None:
            z = torch.cat([z, self.label_embed(labels)], dim=1)
        h = self.project(z).view(-1, self.base_channels, 4, 4)
        out = run_generator_layers(self.net, h, labels)
        (top, bottom), side = self.crop, out.shape[-1]
        return out[skip:, :, top : side - bottom, top : side - bottom]


class DCGANDiscriminator(nn.Module):
    """``C x H x W -> padded to the canvas -> n strided convs -> 4 x 4 -> flatten -> one logit``.

    ``conditioning="concat"`` appends one-hot label maps to the input channels (Mirza &
    Osindero's concatenation for conv nets); ``"projection"`` adds ``<embed(y), h>``;
    ``"both"`` does both.
    """

    def __init__(
        self,
        *,
        data_shape: tuple[int, ...],
        ndf: int = 64,
        norm: Literal["batch", "layer", "none"] = "batch",
        num_classes: int = 0,
        conditioning: Conditioning = "concat",
        minibatch_features: MinibatchFeatures = False,
    ) -> None:
        super().__init__()
        channels, height, _ = data_shape
        canvas, n = dcgan_canvas(height)
        self.pad = _margins(canvas, height)
        self.num_classes = num_classes
        self.concat = bool(num_classes) and concatenates(conditioning)
        c_in = channels + (num_classes if self.concat else 0)
        layers: list[nn.Module] = [nn.Conv2d(c_in, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = ndf
        for _ in range(n - 1):
            layers += [
                nn.Conv2d(c, c * 2, 4, 2, 1, bias=norm == "none"),
                _norm(norm, c * 2),
                nn.LeakyReLU(0.2, True),
            ]
            c *= 2
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.feature_dim = c * 4 * 4
        self.minibatch = minibatch_layer(self.feature_dim, minibatch_features)
        head_in = self.feature_dim + (self.minibatch.out_extra if self.minibatch else 0)
        self.head = nn.Linear(head_in, 1)
        self.projection = (
            LabelProjection(num_classes=num_classes, features=head_in)
            if num_classes and projects(conditioning)
            else None
        )
        self.apply(init_dcgan_weights)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if any(self.pad):
            x = nn.functional.pad(x, (*self.pad, *self.pad), value=-1.0)
        if self.concat:
            maps = nn.functional.one_hot(labels, self.num_classes).to(x.dtype)
            x = torch.cat([x, maps[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        return self.trunk(x)

    def forward(self, x: Tensor, labels: Tensor | None = None, h: Tensor | None = None) -> Tensor:
        if h is None:
            h = self.features(x, labels)
        if self.minibatch is not None:
            h = self.minibatch(h)
        out = self.head(h)
        if self.projection is not None:
            out = out + self.projection(h, labels)
        return out.squeeze(1)
