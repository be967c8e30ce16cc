"""InfoGAN's ``q_augment``: Q reads a randomly moved copy of each fake (chosen as
``model.init_args.q_augment`` of :class:`ganzoo.models.InfoGAN`)."""

from __future__ import annotations

from typing import Literal

from ganzoo.errors import require
from ganzoo.regularizers import random_affine
from ganzoo.tricks.base import Tensor

SHAPE_RANGES = {"stroke": 0.5, "shear": 0.3, "aspect": 0.15}


class QAugment:
    """The copy of D's input that InfoGAN's Q head reads of each fake (one extra trunk pass
    per step), while D's real/fake logits see the fakes as they are: a random rotation (up to
    15 degrees), zoom (10%) and shift (1/16 of the side) per image
    (:func:`ganzoo.regularizers.random_affine`). G must then make the code recognisable under
    small rotations and shifts, so it cannot carry it in a digit's slant or position and puts
    it in the digit's identity; unlike :class:`ganzoo.tricks.DAugment` the adversarial game is
    untouched. ``ranges="shape"`` adds a random slant (shear up to 0.3), width (aspect up to
    15%) and stroke width (up to half a pixel) per copy, so that G cannot carry the code in
    those either.

    Args:
        ranges: ``"affine"`` (rotation, zoom, shift) or ``"shape"`` (also slant, width, stroke).
    """

    short = "q_aug"  # its token in results tables' row labels (ganzoo.bench.recipe)

    def __init__(self, *, ranges: Literal["affine", "shape"] = "affine") -> None:
        require(ranges in ("affine", "shape"),
                f"QAugment.ranges: affine or shape; got {ranges!r}")
        self.ranges = ranges

    def check(self, model) -> None:
        shape = tuple(model.data_shape)
        require(len(shape) == 3, f"model.q_augment: augments images; this data has shape {shape}")

    def __call__(self, x: Tensor) -> Tensor:
        return random_affine(x, **(SHAPE_RANGES if self.ranges == "shape" else {}))
