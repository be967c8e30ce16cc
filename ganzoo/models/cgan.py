"""Conditional GAN (Mirza & Osindero 2014): G and D both see the class label."""

from __future__ import annotations

from typing import Any

from ganzoo.models.base import GANModule


class ConditionalGAN(GANModule):
    """GAN on p(x | y): labels enter G as an embedding concatenated to z, and D either by
    concatenation (``conditioning="concat"``, the paper's way) or through a projection
    head ``<embed(y), phi(x)>`` (``"projection"``, Miyato & Koyama 2018), or both (``"both"``:
    the label maps at D's input and the projection at its head).

    D steps use the labels of the real batch for the fakes too, so both halves of D's batch
    follow the data's label distribution.
    """

    conditional = True

    def __init__(self, *, arch: str = "dcgan", **kwargs: Any) -> None:
        super().__init__(arch=arch, **kwargs)

    def model_metrics(self) -> tuple[str, ...]:
        return (*super().model_metrics(), "label_accuracy", "fid_per_class")
