"""Fully connected generator and discriminator (Goodfellow et al. 2014 used MLPs).

Both work on any data shape: images are flattened, toy data are plain vectors. Conditioning
on labels (Mirza & Osindero 2014) concatenates a label embedding to the input; the
discriminator may instead use a projection head (``conditioning="projection"``).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from ganzoo.nets.blocks import LabelProjection, MinibatchDiscrimination

Tensor = torch.Tensor


def _mlp(sizes: list[int], activation: nn.Module, batch_norm: bool = False) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        if batch_norm:
            layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b), activation]
        else:
            layers += [nn.Linear(a, b), activation]
    return layers


class MLPGenerator(nn.Module):
    """``z (+ label embedding) -> hidden ReLU layers -> data shape``; tanh output for images.

    ``norm="batch"`` puts batch norm before every hidden ReLU, as the DCGAN guidelines do for
    G (Radford et al. 2016, Sec. 3) and the common MLP GAN baselines on MNIST do; without it
    a small MLP G on mnist5k collapses to one blurred class within the main job's budget.
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
        norm: Literal["batch", "none"] = "none",
    ) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.label_embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        in_dim = latent_dim + (embed_dim if num_classes else 0)
        layers = _mlp([in_dim, *hidden], nn.ReLU(), batch_norm=norm == "batch")
        layers.append(nn.Linear(hidden[-1] if hidden else in_dim, math.prod(self.data_shape)))
        if output == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.label_embed is not None:
            z = torch.cat([z, self.label_embed(labels)], dim=1)
        return self.net(z).view(-1, *self.data_shape)


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
        conditioning: Literal["concat", "projection"] = "concat",
        embed_dim: int = 16,
        minibatch_features: bool = False,
    ) -> None:
        super().__init__()
        in_dim = math.prod(data_shape)
        self.concat_embed = (
            nn.Embedding(num_classes, embed_dim) if num_classes and conditioning == "concat" else None
        )
        if self.concat_embed is not None:
            in_dim += embed_dim
        self.trunk = nn.Sequential(*_mlp([in_dim, *hidden], nn.LeakyReLU(0.2)))
        self.feature_dim = hidden[-1] if hidden else in_dim
        self.minibatch = (
            MinibatchDiscrimination(in_features=self.feature_dim) if minibatch_features else None
        )
        head_in = self.feature_dim + (self.minibatch.out_extra if self.minibatch else 0)
        self.head = nn.Linear(head_in, 1)
        self.projection = (
            LabelProjection(num_classes=num_classes, features=head_in)
            if num_classes and conditioning == "projection"
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
