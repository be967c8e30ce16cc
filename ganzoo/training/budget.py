"""The training budget in generator steps and in real images (``budget.*`` in a config)."""

from __future__ import annotations

import lightning as L

from ganzoo.errors import require


class Budget(L.Callback):
    """Stops training after ``max_g_steps`` generator steps, or once ``max_images`` real images
    were shown to D, counted over all processes (per-rank batch x world size per D step), so
    the budget does not depend on the device count (an epoch does: under DDP each rank sees
    1/N of the data). With manual optimization ``trainer.max_steps`` counts D and G steps
    together (Lightning #17958): ``max_steps = N * (n_critic + 1)`` is N generator steps.

    Args:
        max_g_steps: stop after this many generator steps (None = no limit here). Optimizer
            steps are global under DDP: N devices take the same G steps as one.
        max_images: stop once this many real images were shown to D (None = no limit here).
    """

    def __init__(self, *, max_g_steps: int | None = None, max_images: int | None = None) -> None:
        for name, value in (("max_g_steps", max_g_steps), ("max_images", max_images)):
            require(value is None or value >= 1, f"budget.{name}: must be >= 1, got {value}")
        self.max_g_steps, self.max_images = max_g_steps, max_images

    def spent(self, trainer, pl_module) -> bool:
        if self.max_g_steps and pl_module.g_steps >= self.max_g_steps:
            return True
        return bool(self.max_images) and pl_module.images_seen * trainer.world_size >= self.max_images

    def on_train_start(self, trainer, pl_module) -> None:
        """A run resumed at or past its budget takes no step (checking only after each batch
        let a resumed finished run take one more)."""
        if self.spent(trainer, pl_module):
            trainer.should_stop = True

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.spent(trainer, pl_module):
            trainer.should_stop = True
