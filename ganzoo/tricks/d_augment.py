"""Differentiable augmentation of D's inputs (Zhao et al. 2020, "Differentiable Augmentation
for Data-Efficient GAN Training")."""

from __future__ import annotations

from ganzoo.errors import require
from ganzoo.regularizers import random_affine
from ganzoo.tricks.base import Tensor, Trick


class DAugment(Trick):
    """Every D input, real and fake, in D's and G's steps (in training only), gets a random
    rotation (up to 15 degrees), scaling (10%) and shift (1/16 of the side) per image
    (:func:`ganzoo.regularizers.random_affine`). Gradients flow through the transform, so D
    never sees an unaugmented image and the augmentation does not leak into G's samples.
    Images only. On InfoGAN the Q head then reads augmented fakes too, so G can only encode
    the codes in what the augmentation keeps (InfoGAN's ``q_augment`` is the other choice)."""

    short = "DiffAug"  # its token in results tables' row labels (ganzoo.bench.recipe)

    def __init__(self) -> None:
        pass

    def check(self, model) -> None:
        shape = tuple(model.data_shape)
        require(len(shape) == 3, f"DAugment: augments images; this data has shape {shape}")
        require(getattr(model, "q_augment", None) is None,
                "model.q_augment: DAugment already shows Q (and D) augmented fakes; "
                "choose one of them")

    def d_input(self, model, x: Tensor) -> Tensor:
        return random_affine(x) if model.training else x
