"""Fully connected generator and discriminator (Goodfellow et al. 2014 used MLPs).

Both work on any data shape: images are flattened, toy data are plain vectors. Conditioning
on labels (Mirza & Osindero 2014) concatenates a label embedding to the input; the
discriminator may instead use a projection head (``conditioning="projection"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

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


def _mlp(
    sizes: list[int], activation: nn.Module, norm: Callable[[int], nn.Module] | None = None
) -> list[nn.Module]:
    """Linear layers with ``activation``; with ``norm``, ``norm(units)`` before each activation
    (and no bias in the linear layer, which the norm's shift replaces)."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        if norm is not None:
            layers += [nn.Linear(a, b, bias=False), norm(b), activation]
        else:
            layers += [nn.Linear(a, b), activation]
    return layers


class MLPGenerator(nn.Module):
    """``z (+ label embedding) -> hidden ReLU layers -> data shape``; tanh output for images.

    ``norm="batch"`` puts batch norm before every hidden ReLU, as the DCGAN guidelines do for
    G (Radford et al. 2016, Sec. 3) and the common MLP GAN baselines on MNIST do; without it
    a small MLP G on mnist5k collapses to one blurred class within the main job's budget.
    ``norm="reference"`` / ``"virtual"`` use reference / virtual batch norm over a fixed
    reference batch of ``reference_size`` latent vectors instead, as the DCGAN G does.
    """

    def __init__(
        self,
        *,
        latent_dim: int,
        data_shape: tuple[int, ...],
        hidden: tuple[int, ...] = (256, 512),
        num_classes: int = 0,
        embed_dim: int = 16,
        output: Literal["tanh", "linear"] = "tanh",
        norm: GNorm = "none",
        reference_size: int = 64,
    ) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.label_embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        self.reference = (
            ReferenceBatch(size=reference_size, latent_dim=latent_dim, num_classes=num_classes)
            if norm in REFERENCE_NORMS
            else None
        )
        in_dim = latent_dim + (embed_dim if num_classes else 0)

        def g_norm(units: int) -> nn.Module:
            return generator_norm(
                norm,
                units,
                batch_norm=nn.BatchNorm1d,
                reference_size=reference_size,
                num_classes=num_classes,
            )

        layers = _mlp([in_dim, *hidden], nn.ReLU(), norm=None if norm == "none" else g_norm)
        layers.append(nn.Linear(hidden[-1] if hidden else in_dim, math.prod(self.data_shape)))
        if output == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        skip = 0
        if self.reference is not None:
            z, labels = self.reference.prepend(z, labels)
            skip = self.reference.size
        if self.label_embed is not None:
            z = torch.cat([z, self.label_embed(labels)], dim=1)
        return run_generator_layers(self.net, z, labels)[skip:].view(-1, *self.data_shape)


class MLPDiscriminator(nn.Module):
    """``x (+ label embedding) -> hidden LeakyReLU layers -> one logit``.

    ``features`` returns the trunk output (what InfoGAN's Q head and projection read).
    """

    def __init__(
        self,
        *,
        data_shape: tuple[int, ...],
        hidden: tuple[int, ...] = (512, 256),
        num_classes: int = 0,
        conditioning: Conditioning = "concat",
        embed_dim: int = 16,
        minibatch_features: MinibatchFeatures = False,
    ) -> None:
        super().__init__()
        in_dim = math.prod(data_shape)
        self.concat_embed = (
            nn.Embedding(num_classes, embed_dim) if num_classes and concatenates(conditioning) else None
        )
        if self.concat_embed is not None:
            in_dim += embed_dim
        self.trunk = nn.Sequential(*_mlp([in_dim, *hidden], nn.LeakyReLU(0.2)))
        self.feature_dim = hidden[-1] if hidden else in_dim
        self.minibatch = minibatch_layer(self.feature_dim, minibatch_features)
        head_in = self.feature_dim + (self.minibatch.out_extra if self.minibatch else 0)
        self.head = nn.Linear(head_in, 1)
        self.projection = (
            LabelProjection(num_classes=num_classes, features=head_in)
            if num_classes and projects(conditioning)
            else None
        )

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = x.flatten(1)
        if self.concat_embed is not None:
            h = torch.cat([h, self.concat_embed(labels)], dim=1)
        return self.trunk(h)

    def forward(self, x: Tensor, labels: Tensor | None = None, h: Tensor | None = None) -> Tensor:
        if h is None:
            h = self.features(x, labels)
        if self.minibatch is not None:
            h = self.minibatch(h)
        out = self.head(h)
        if self.projection is not None:
            out = out + self.projection(h, labels)
        return out.squeeze(1)
