"""Build a generator/discriminator pair from one set of architecture options.

``arch="mlp"`` works on any data (images are flattened); ``arch="dcgan"`` needs square
images. ``g_width``/``d_width`` are ngf/ndf for DCGAN and the base hidden width for the MLP
(G: 4w, 8w units; D: 8w, 4w units).
"""

from __future__ import annotations

from typing import Literal

from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.nets.blocks import Conditioning, GNorm, MinibatchFeatures
from ganzoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganzoo.nets.mlp import MLPDiscriminator, MLPGenerator

Arch = Literal["mlp", "dcgan"]


def make_generator(
    arch: Arch,
    *,
    latent_dim: int,
    data_shape: tuple[int, ...],
    num_classes: int,
    width: int,
    norm: GNorm = "batch",
) -> nn.Module:
    if arch == "dcgan":
        _require_images(data_shape)
        return DCGANGenerator(
            latent_dim=latent_dim,
            data_shape=data_shape,
            ngf=width,
            num_classes=num_classes,
            norm=norm,
        )
    image_like = len(data_shape) == 3
    return MLPGenerator(
        latent_dim=latent_dim,
        data_shape=data_shape,
        hidden=(4 * width, 8 * width),
        num_classes=num_classes,
        output="tanh" if image_like else "linear",
        norm=norm,
    )


def make_discriminator(
    arch: Arch,
    *,
    data_shape: tuple[int, ...],
    num_classes: int,
    width: int,
    norm: Literal["batch", "layer", "none"],
    conditioning: Conditioning,
    minibatch_features: MinibatchFeatures,
) -> nn.Module:
    if arch == "dcgan":
        _require_images(data_shape)
        return DCGANDiscriminator(
            data_shape=data_shape,
            ndf=width,
            norm=norm,
            num_classes=num_classes,
            conditioning=conditioning,
            minibatch_features=minibatch_features,
        )
    return MLPDiscriminator(
        data_shape=data_shape,
        hidden=(8 * width, 4 * width),
        num_classes=num_classes,
        conditioning=conditioning,
        minibatch_features=minibatch_features,
    )


def _require_images(data_shape: tuple[int, ...]) -> None:
    if len(data_shape) != 3:
        raise ConfigError(
            f"model.arch: 'dcgan' needs image data (C, H, W), the dataset gives shape "
            f"{tuple(data_shape)}; use arch 'mlp' for toy data"
        )
