"""Label smoothing of the BCE loss (seed 003, "One-sided label smoothing"; Salimans et al.
2016): a loss pair, chosen as ``model.init_args.loss``."""

from __future__ import annotations

from typing import Literal

from ganzoo.errors import require
from ganzoo.losses import LOSSES, LossPair, d_bce
from ganzoo.tricks.base import Tensor


class LabelSmoothing(LossPair):
    """D's BCE loss against soft targets: real ``1 - alpha`` (0.1 -> 0.9, the one-sided form)
    and fake ``beta`` (the alpha/beta form, under which the optimal discriminator is ``((1 -
    alpha) p_data + beta p_model) / (p_data + p_model)``; the notes advise ``beta = 0``, since
    ``beta > 0`` rewards G's current mistakes). G's loss is the named BCE ``generator`` loss.

    Args:
        alpha: one-sided smoothing of the real target.
        beta: the fake target.
        generator: G's loss: ``nonsaturating``, ``minimax`` or ``ml``.
    """

    short = "LS"  # its token in results tables' row labels (ganzoo.bench.recipe)

    probabilistic = True

    def __init__(self, *, alpha: float = 0.1, beta: float = 0.0,
                 generator: Literal["nonsaturating", "minimax", "ml"] = "nonsaturating") -> None:
        require(0.0 <= alpha < 1.0 and 0.0 <= beta < 1.0,
                "LabelSmoothing.alpha / LabelSmoothing.beta: must be in [0, 1)")
        require(generator in ("nonsaturating", "minimax", "ml"),
                f"LabelSmoothing.generator: a BCE loss (nonsaturating, minimax, ml), not "
                f"{generator!r}")
        self.alpha, self.beta, self.generator = alpha, beta, generator
        self.name = generator
        self.targets = (1.0 - alpha, beta)

    def d(self, real: Tensor, fake: Tensor) -> Tensor:
        return d_bce(real, fake, *self.targets)

    def g(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return LOSSES[self.generator].g(fake)
