"""The two players' optimizer class and its settings, chosen in one place:
``model.init_args.optimizer`` (the learning rates, the most searched settings, stay the
model's own ``lr_g`` and ``lr_d``).

Not LightningCLI's ``OptimizerCallable`` pair: a variant's paper defaults (WGAN-clip's RMSprop
5e-5, WGAN-gp's Adam 1e-4 with betas (0, 0.9)) must be the default of its own signature, and a
callable default (``functools.partial``) cannot be dumped into the run's recorded config
(jsonargparse: "Unable to serialize instance"); a dataclass can, and a config that sets one
field (``optimizer: {betas: [0.5, 0.9]}``) keeps the variant's default for the others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ganzoo.errors import require

OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer class for both players (each with its own learning rate, the model's
    ``lr_g`` and ``lr_d``).

    Args:
        name: ``"adam"``, ``"rmsprop"`` or ``"sgd"``.
        betas: Adam betas.
        momentum: SGD/RMSprop momentum.
        schedule: ``"constant"`` or ``"linear"`` (decay to 0 over ``trainer.max_epochs``),
            stepped once per epoch.
        fused: Adam's fused kernel (one kernel for all parameters instead of a Python loop
            over them): 0.84 ms against 2.37 ms per step for the mnist5k DCGAN's G and D on one
            CPU thread (results/performance.md); same update up to rounding.
    """

    name: Literal["adam", "rmsprop", "sgd"] = "adam"
    betas: tuple[float, float] = (0.5, 0.999)
    momentum: float = 0.0
    schedule: Literal["constant", "linear"] = "constant"
    fused: bool = True

    def __post_init__(self) -> None:
        require(self.name in OPTIMIZERS,
                f"model.optimizer.name: unknown {self.name!r}; allowed: {', '.join(OPTIMIZERS)}")
        require(self.schedule in ("constant", "linear"),
                f"model.optimizer.schedule: constant or linear, got {self.schedule!r}")

    def build(self, params, lr: float) -> torch.optim.Optimizer:
        require(lr > 0, f"model.lr: must be > 0, got {lr}")
        cls = OPTIMIZERS[self.name]
        if self.name == "adam":
            return cls(params, lr=lr, betas=tuple(self.betas), fused=self.fused or None)
        return cls(params, lr=lr, momentum=self.momentum)

    def lr_factor(self, max_epochs: int | None):
        """The learning-rate factor per epoch of :attr:`schedule`."""
        if self.schedule == "constant":
            return lambda epoch: 1.0
        require(max_epochs is not None and max_epochs > 0,
                "model.optimizer.schedule: 'linear' needs trainer.max_epochs > 0")
        return lambda epoch: max(0.0, 1.0 - epoch / max_epochs)
