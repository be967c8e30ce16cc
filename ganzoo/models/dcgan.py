"""DCGAN (Radford et al. 2015): convolutional G and D with batch norm, Adam 2e-4, beta1 0.5."""

from __future__ import annotations

from typing import Any

from ganzoo.models.base import GANModule
from ganzoo.models.optimizers import OptimizerSpec


class DCGAN(GANModule):
    """Deep convolutional GAN, sized from the data (28/32/64 px, 1 or 3 channels), trained on
    the non-saturating game (Goodfellow et al. 2014, Sec. 3).

    Defaults follow the paper (Sec. 4): Adam with lr 2e-4 and betas (0.5, 0.999), z of 100
    dimensions, batch norm in both networks, the non-saturating loss.
    """

    def __init__(
        self,
        *,
        arch: str = "dcgan",
        latent_dim: int = 100,
        optimizer: OptimizerSpec = OptimizerSpec(name="adam", betas=(0.5, 0.999)),
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        **kwargs: Any,
    ) -> None:
        super().__init__(arch=arch, latent_dim=latent_dim, optimizer=optimizer, lr_g=lr_g,
                         lr_d=lr_d, **kwargs)
