"""The G step reads the critic step's fakes (``model.init_args.tricks: - class_path:
ganzoo.tricks.ReuseFake``), as the DCGAN reference code (pytorch/examples' ``dcgan``) does.

The last critic step before a G step draws the latent and generates the fake batch with G's
graph kept; D trains on ``fake.detach()`` and the G step that follows backpropagates through the
same batch instead of drawing and generating a new one. One G forward pass per G step fewer;
G's fakes come from the same G, so from the same distribution. A speed lever of issue [5/6]
(benchmarks/levers.py, docs/speed.md), off in every paper recipe.
"""

from __future__ import annotations

import torch

from ganzoo.tricks.base import Trick

Tensor = torch.Tensor


class ReuseFake(Trick):
    """The G step trains on the fake batch of the critic step just before it."""

    short = "reuse_fake"

    def __init__(self) -> None:
        self._kept: tuple[dict[str, Tensor], Tensor] | None = None  # for the G step that follows

    def fake_batch(self, model, player: str, x: Tensor, labels: Tensor | None):
        if player == "g":
            kept, self._kept = self._kept, None
            return kept  # None (a new draw) when no critic step kept one
        if (model.d_steps + 1) % model.n_critic:
            return None  # no G step follows this critic step
        latent = model.sample_latent(x.shape[0], labels=labels)
        self._kept = (latent, model.generate(latent))
        return latent, self._kept[1].detach()
