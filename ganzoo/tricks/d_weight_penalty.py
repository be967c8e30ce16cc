"""An L2 penalty on D's weights (seed 001, "Penalizing discriminator weights")."""

from __future__ import annotations

from ganzoo.errors import require
from ganzoo.regularizers import weight_penalty
from ganzoo.tricks.base import Step, Tensor, Trick


class DWeightPenalty(Trick):
    """``weight * sum ||W||^2`` over the discriminator's weight matrices and kernels, not its
    biases or norm parameters (:func:`ganzoo.regularizers.penalized_weights` says why;
    InfoGAN's Q head is not D), added to D's loss in every D step as the term
    ``d_weight_penalty`` (logged as ``train/d_weight_penalty``). A loss term, not the
    optimizer's weight decay.

    Args:
        weight: lambda of the penalty.
    """

    short = "L2(D)"  # its token in results tables' row labels (ganzoo.bench.recipe)

    def __init__(self, *, weight: float = 1e-3) -> None:
        require(weight >= 0, f"DWeightPenalty.weight: must be >= 0, got {weight}")
        self.weight = weight

    def d_terms(self, model, step: Step) -> dict[str, Tensor]:
        return {"d_weight_penalty": self.weight * weight_penalty(model.discriminator)}
