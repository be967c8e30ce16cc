"""Minibatch features in D (Salimans et al. 2016, "Improved Techniques for Training GANs",
Sec. 3.2; seed 003)."""

from __future__ import annotations

from typing import Any

from ganzoo.tricks.base import Trick


class MinibatchFeatures(Trick):
    """D's last hidden features gain, per kernel, how close each sample is to the others of
    its batch, ``sum_j exp(-||M_i - M_j||_1)`` (Eq. 4 and 5), so D can tell a collapsed batch
    of fakes from a varied batch of data (:class:`ganzoo.nets.blocks.MinibatchDiscrimination`).

    Args:
        average: the mean over the other samples instead of the sum, in [0, 1] at any batch
            size (:class:`ganzoo.nets.blocks.MinibatchDiscrimination` says why the sum fails at
            the toy configs' batch of 256).
    """

    short = "mbf"  # its token in results tables' row labels (ganzoo.bench.recipe)

    def __init__(self, *, average: bool = False) -> None:
        self.average = average

    def discriminator_options(self) -> dict[str, Any]:
        return {"minibatch_features": "mean" if self.average else True}
