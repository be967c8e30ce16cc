"""Conditional GAN (Mirza & Osindero 2014): G and D both see the class label."""

from __future__ import annotations

from typing import Any

from ganzoo.models.conditional import ConditionalModule


class ConditionalGAN(ConditionalModule):
    """``min_G max_D E log D(x | y) + E log(1 - D(G(z | y) | y))`` (Mirza & Osindero, Eq. 2):
    labels enter G as an embedding concatenated to z, and D as
    :class:`~ganzoo.models.conditional.ConditionalModule` says (``conditioning``), on the DCGAN
    networks by default."""

    def __init__(self, *, arch: str = "dcgan", **kwargs: Any) -> None:
        super().__init__(arch=arch, **kwargs)
