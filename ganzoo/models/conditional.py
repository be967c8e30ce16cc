"""The family base of label-conditioned GANs: G and D both take the data's class label."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from ganzoo.errors import require
from ganzoo.models.base import GANModule, Latent
from ganzoo.nets.blocks import Conditioning

Tensor = torch.Tensor


class ConditionalModule(GANModule):
    """A GAN on p(x | y) (Mirza & Osindero 2014, Eq. 2): the latent input carries labels
    (the real batch's in training, so both halves of D's batch follow the data's label
    distribution; uniform otherwise), G takes them, and D reads them as ``conditioning`` says.

    Args:
        conditioning: how D reads the label: ``"concat"`` (label maps concatenated to its
            input, the paper's way), ``"projection"`` (``<embed(y), phi(x)>`` at its head,
            Miyato & Koyama 2018) or ``"both"``.
    """

    conditional: ClassVar[bool] = True

    def __init__(self, *, conditioning: Conditioning = "concat", **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def _check_settings(self) -> None:
        super()._check_settings()
        require(
            self.num_classes >= 2,
            f"model: {type(self).__name__} needs labelled data (data.num_classes >= 2); "
            f"the dataset has {self.num_classes} classes",
        )

    def build_discriminator(self, **options: Any) -> nn.Module:
        return super().build_discriminator(
            num_classes=self.num_classes, conditioning=self.hparams.conditioning, **options
        )

    def batch_labels(self, y: Tensor) -> Tensor | None:
        return y

    def generator_classes(self) -> int:
        return self.num_classes

    def generator_labels(self, latent: Latent) -> Tensor | None:
        return latent["labels"]

    def sample_latent(self, n: int, labels: Tensor | None = None,
                      generator: torch.Generator | None = None) -> Latent:
        latent = super().sample_latent(n, generator=generator)
        if labels is None:
            device = self.device if generator is None else "cpu"
            labels = torch.randint(self.num_classes, (n,), generator=generator, device=device)
        return {**latent, "labels": labels}

    def model_metrics(self) -> tuple[str, ...]:
        return (*super().model_metrics(), "label_accuracy", "fid_per_class")
