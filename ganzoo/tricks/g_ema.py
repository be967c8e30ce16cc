"""G's weights averaged over training (Yazici et al. 2019, "The Unusual Effectiveness of
Averaging in GAN Training"; Karras et al. 2018), a callback: ``trainer.callbacks: -
class_path: ganzoo.tricks.GeneratorEMA``.

Not Lightning's ``EMAWeightAveraging``/``WeightAveraging`` (lightning 2.6), which would
change what ganzoo trains and evaluates: it averages the whole LightningModule (D and Q too);
it updates on ``trainer.global_step``, which under manual optimization counts D and G steps
together (Lightning #17958), where the average must move once per G step; its decay is fixed
from the first update, so at 0.999 the random initial G keeps ``0.999 ** n`` of the average
(47% after WGAN's 750 G steps of the mnist5k budget) where :func:`ema_warmup` ramps it; and it
swaps the average in only for validation and at the end of fit, where ganzoo's evaluation
callbacks sample mid-training and must see the average then. Here the average is torch's
``AveragedModel`` kept as the model's ``generator_ema`` (in its state dict and checkpoint),
which :meth:`ganzoo.models.GANModule.generate_eval` uses for sampling and evaluation. The
callback moves it itself (:meth:`GeneratorEMA.update`, the same arithmetic as
``update_parameters`` with :func:`ema_warmup`): ``AveragedModel`` regroups the tensors by dtype
and reads its tensor counter back to Python on every update (VanillaGAN's G, one thread: 281
microseconds per update with it, 70 here).
"""

from __future__ import annotations

import lightning as L
import torch
from torch.optim.swa_utils import AveragedModel

from ganzoo.errors import require

Tensor = torch.Tensor


def ema_warmup(decay: float):
    """The update of an exponential moving average whose decay after ``n`` updates is
    ``min(decay, (1 + n) / (10 + n))`` (TensorFlow's ``ExponentialMovingAverage`` with
    ``num_updates``), for ``AveragedModel(multi_avg_fn=...)``. With the ramp the average covers
    roughly the last tenth of the steps early on and the last ``1 / (1 - decay)`` steps once
    the ramp reaches ``decay``."""

    def update(averaged: list[Tensor], current: list[Tensor], num_averaged: Tensor) -> None:
        beta = decay_after(decay, int(num_averaged))
        for a, c in zip(averaged, current, strict=True):
            if a.is_floating_point():
                a.lerp_(c, 1.0 - beta)
            else:  # batch norm's step counter
                a.copy_(c)

    return update


def decay_after(decay: float, n: int) -> float:
    """The decay of the update after ``n`` updates: ``min(decay, (1 + n) / (10 + n))``."""
    return min(decay, (1 + n) / (10 + n))


class GeneratorEMA(L.Callback):
    """An exponential moving average of G's weights and batch-norm statistics, updated after
    every G step; it starts as a copy of G at the first G step and, after ``n`` updates, moves
    with decay ``min(decay, (1 + n) / (10 + n))`` (:func:`ema_warmup`). Sampling and evaluation
    use the average; training uses G itself.

    Args:
        decay: the decay, in (0, 1).
    """

    short = "EMA"  # its token in results tables' row labels (ganzoo.bench.recipe)

    def __init__(self, *, decay: float = 0.999) -> None:
        require(0.0 < decay < 1.0, f"GeneratorEMA.decay: a decay in (0, 1), got {decay}")
        self.decay = decay
        self._g_steps = 0
        self._tensors: tuple[list[Tensor], ...] | None = None  # grouped at the first update
        self._updates = 0  # the average's n_averaged, as a Python int

    def attach(self, model) -> None:
        """Give ``model`` its averaged G (before a checkpoint is restored into it)."""
        if model.generator_ema is None:
            model.generator_ema = AveragedModel(
                model.generator, multi_avg_fn=ema_warmup(self.decay), use_buffers=True
            ).requires_grad_(False)

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.attach(pl_module)

    def on_train_start(self, trainer, pl_module) -> None:
        self._g_steps = pl_module.g_steps  # a resumed run's counter
        self._tensors = None  # after a restore, and for each fit: group them again

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.g_steps > self._g_steps:
            self._g_steps = pl_module.g_steps
            self.update(pl_module)

    @torch.no_grad()
    def update(self, model) -> None:
        """``model.generator_ema.update_parameters(model.generator)`` with :func:`ema_warmup`,
        bit for bit: the first update copies G, the ``n``-th after it lerps the floating
        tensors (weights, batch-norm statistics) with weight ``1 - decay_after(decay, n)`` and
        copies the others (batch norm's step counter). The tensors are paired and split by
        kind once, the floating ones move in one ``torch._foreach_lerp_`` (per tensor the same
        ``lerp_``), and the count is kept as a Python int beside ``n_averaged``."""
        average = model.generator_ema
        if self._tensors is None:
            pairs = zip([*average.module.parameters(), *average.module.buffers()],
                        [*model.generator.parameters(), *model.generator.buffers()], strict=True)
            pairs = [(a.detach(), c.detach()) for a, c in pairs]
            floating = [p for p in pairs if p[0].is_floating_point()]
            other = [p for p in pairs if not p[0].is_floating_point()]
            self._tensors = tuple([p[i] for p in group] for group in (floating, other) for i in (0, 1))
            self._updates = int(average.n_averaged)
        float_avg, float_now, other_avg, other_now = self._tensors
        if self._updates == 0:
            torch._foreach_copy_(float_avg + other_avg, float_now + other_now)
        else:
            torch._foreach_lerp_(float_avg, float_now, 1.0 - decay_after(self.decay, self._updates))
            if other_avg:
                torch._foreach_copy_(other_avg, other_now)
        average.n_averaged += 1
        self._updates += 1
