"""Vanilla GAN (Goodfellow et al. 2014; seed 000): MLP generator and discriminator."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.utilities import rank_zero_info

from ganzoo.models.base import GANModule


class VanillaGAN(GANModule):
    """The original GAN with MLP networks and, by default, the non-saturating G loss.

    Args:
        algorithm1: train exactly as Algorithm 1 of the paper: the minimax (saturating) G
            cost, plain SGD with momentum (0.5 unless ``momentum`` is set) and ``n_critic``
            = k discriminator steps per generator step. Overrides ``loss`` and ``optimizer``.
        **kwargs: everything :class:`GANModule` takes.
    """

    def __init__(self, *, algorithm1: bool = False, arch: str = "mlp", **kwargs: Any) -> None:
        if algorithm1:
            kwargs.update(loss="minimax", optimizer="sgd", momentum=kwargs.get("momentum") or 0.5)
            rank_zero_info("VanillaGAN: algorithm1=true -> minimax loss, SGD with momentum")
        super().__init__(arch=arch, **kwargs)
