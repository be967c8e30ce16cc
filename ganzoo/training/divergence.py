"""The divergence guard: a non-finite loss stops training cleanly and marks the run."""

from __future__ import annotations

import math

import lightning as L
from lightning.pytorch.utilities import rank_zero_warn

LOSSES = ("train/d_loss", "train/g_loss")


class DivergenceGuard(L.Callback):
    """After every batch, reads the losses the training step returned; if one is non-finite
    (on any process), sets the model's ``diverged`` (kept in the checkpoint and the record),
    stops training and says which loss went non-finite at which step. The checkpoints already
    written are from before it; :class:`ganzoo.training.GuardedCheckpoint` and
    :class:`ganzoo.training.PeriodicCheckpoint` write none after it, so this guard must run
    before them (the CLI adds it first). The losses are scalars: each is read with one
    ``item()`` (``isfinite``, ``all`` and ``bool`` were three tensor operations per loss)."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        logs = outputs or {}
        bad = [k for k in LOSSES if k in logs and not math.isfinite(logs[k].item())]
        if trainer.world_size > 1:  # every rank stops together
            anywhere = trainer.strategy.reduce_boolean_decision(bool(bad), all=False)
            if anywhere and not bad:
                bad = ["a loss on another process"]
        if bad and not pl_module.diverged:
            pl_module.diverged = True
            trainer.should_stop = True
            names = ", ".join(k.removeprefix("train/") for k in bad)
            rank_zero_warn(
                f"training diverged: {names} non-finite at D step {pl_module.d_steps}, generator "
                f"step {pl_module.g_steps}; stopping (the run is marked diverged)"
            )
