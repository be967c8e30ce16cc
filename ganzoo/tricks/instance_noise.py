"""Instance noise (seed 001, "adding noise to discriminator inputs"; Sonderby et al. 2016)."""

from __future__ import annotations

import torch

from ganzoo.errors import require
from ganzoo.regularizers import add_instance_noise, instance_noise_std
from ganzoo.tricks.base import Tensor, Trick


class InstanceNoise(Trick):
    """Gaussian noise ``N(0, s^2)`` added to every D input, real and fake, in D's and G's
    steps, so that the supports of p_data and p_g overlap early on; ``s`` falls linearly from
    ``std`` to 0 over the first ``anneal_steps`` D steps (0 = constant). The current ``s`` is
    logged as ``train/instance_noise_std``.

    Args:
        std: initial std of the noise.
        anneal_steps: D steps over which it decays to 0 (0 = never).
    """

    short = "noise"  # its token in results tables' row labels (ganzoo.bench.recipe)

    def __init__(self, *, std: float = 0.1, anneal_steps: int = 0) -> None:
        require(std >= 0, f"InstanceNoise.std: must be >= 0, got {std}")
        require(anneal_steps >= 0, f"InstanceNoise.anneal_steps: must be >= 0, got {anneal_steps}")
        self.std, self.anneal_steps = std, anneal_steps

    def input_noise_std(self, model) -> float:
        return instance_noise_std(self.std, model.d_steps, self.anneal_steps)

    def d_input(self, model, x: Tensor) -> Tensor:
        return add_instance_noise(x, self.input_noise_std(model))

    def stats(self, model) -> dict[str, Tensor]:
        return {"train/instance_noise_std": torch.tensor(self.input_noise_std(model))}
