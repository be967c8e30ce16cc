"""Checkpoints of a fit: Lightning's, never of a diverged model and at most one epoch's a
minute (the last always); ``last.ckpt`` every N generator steps mid-epoch; ``last.ckpt`` on
Ctrl-C or SIGTERM (the CLI adds them); and how a local checkpoint file is written
(:class:`LocalCheckpointIO`)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from weakref import proxy

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, OnExceptionCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

# Generator steps between mid-epoch checkpoints: about 12 s of DCGAN and 70 s of WGAN
# (5 critic steps each) training on one CPU thread here; a checkpoint takes ~20 ms to write.
CHECKPOINT_EVERY = 500
# Seconds of training between epoch-end checkpoints (the fit's last epoch is always saved):
# VanillaGAN's mnist5k epoch is 1.4 s and its 13 MB checkpoint 20-30 ms, 2-4% of its time
# when written every epoch; the mid-epoch checkpoints above already bound what a kill loses.
EPOCH_CHECKPOINT_MIN_S = 60.0


class LocalCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO`` (the CLI installs this one in its place), writing a
    local checkpoint with ``torch.save`` straight to a file beside the target, renamed over it
    once complete (a kill leaves the previous file whole, as Lightning's atomic save does).
    Lightning serializes into an in-memory buffer and copies that through fsspec's temporary
    file, which made a save 4-5x slower here (VanillaGAN's 15 MB checkpoint: ~70 ms against
    ~15 ms, one save per epoch plus the mid-epoch ones). Same checkpoint (the zip archive's
    inner folder name follows the file name); remote paths (``s3://...``) go to Lightning's."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        try:
            torch.save(checkpoint, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)


class GuardedCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint, skipping saves once the divergence guard has fired: the
    files left (``last.ckpt`` included) are the last ones from before the non-finite loss.

    With ``save_last``, Lightning writes ``last.ckpt`` right after the epoch's own checkpoint,
    at the same step, as a second full save (VanillaGAN on mnist5k: 15 MB, ~20-50 ms here,
    twice per epoch). Here ``last.ckpt`` is then a hard link to the file just written (made
    beside it and renamed over it, so a kill leaves the previous ``last.ckpt`` whole; the
    savers that write ``last.ckpt`` later, :class:`PeriodicCheckpoint` and Lightning's own,
    write a new file and rename it, which leaves the linked epoch checkpoint as it was). The
    two files then hold the same bytes: the same weights, optimizers, RNG streams and loop
    state; Lightning's second save would differ only in this callback's ``last_model_path``
    and the run record's clock. Where the filesystem has no hard links, the second save is
    written as before.

    Epoch-end saves are at least ``min_epoch_interval_s`` seconds of training apart (0: every
    epoch, as Lightning's): an epoch end sooner than that after the previous epoch save is
    skipped, unless the fit ends with it (stopped by the budget, the divergence guard or a
    timer, or at ``max_epochs`` / ``max_steps``), so the files a finished fit leaves are the
    same. Lightning's ``train_time_interval`` saves on batch ends instead and never at the
    end of the fit. Rank 0's clock decides for every rank (one broadcast per epoch end). If a
    fit ends after a skipped epoch end all the same, its end is saved then."""

    def __init__(self, *args, min_epoch_interval_s: float = EPOCH_CHECKPOINT_MIN_S,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if min_epoch_interval_s < 0:
            raise ValueError(f"min_epoch_interval_s: must be >= 0, got {min_epoch_interval_s}")
        self.min_epoch_interval_s = min_epoch_interval_s
        self._epoch_saved_at = time.monotonic()
        self._skipped_step: int | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        super().on_train_start(trainer, pl_module)
        self._epoch_saved_at, self._skipped_step = time.monotonic(), None

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self.min_epoch_interval_s:
            soon = time.monotonic() - self._epoch_saved_at < self.min_epoch_interval_s
            if trainer.strategy.broadcast(soon and not fit_ends(trainer)):
                self._skipped_step = trainer.global_step
                return
        super().on_train_epoch_end(trainer, pl_module)
        self._epoch_saved_at, self._skipped_step = time.monotonic(), None

    def on_train_end(self, trainer, pl_module) -> None:
        if self._skipped_step == trainer.global_step:  # the fit ended after a skipped save
            super().on_train_epoch_end(trainer, pl_module)
        super().on_train_end(trainer, pl_module)

    def _save_checkpoint(self, trainer, filepath: str) -> None:
        if getattr(trainer.lightning_module, "diverged", False):
            return
        if not self._link_last(trainer, filepath):
            super()._save_checkpoint(trainer, filepath)

    def _link_last(self, trainer, filepath: str) -> bool:
        """``last.ckpt`` as a hard link to the checkpoint saved at this step, if there is one."""
        saved = self._last_checkpoint_saved
        if not (filepath == self.last_model_path and saved and saved != filepath
                and self._last_global_step_saved == trainer.global_step):
            return False
        linked = True
        if trainer.is_global_zero:
            partial = f"{filepath}.partial"
            try:
                if os.path.lexists(partial):
                    os.remove(partial)
                os.link(saved, partial)
                os.replace(partial, filepath)
            except OSError:  # no hard links here (or the file is gone): save it
                linked = False
        if not trainer.strategy.broadcast(linked):
            return False
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))
        return True


def fit_ends(trainer) -> bool:
    """Whether Lightning's fit loop stops after the epoch now ending: something stopped it
    (``trainer.should_stop``), or it reached ``max_epochs`` or ``max_steps``."""
    if trainer.should_stop:
        return True
    max_epochs = trainer.max_epochs
    if max_epochs is not None and max_epochs >= 0 and trainer.current_epoch + 1 >= max_epochs:
        return True
    return trainer.max_steps >= 0 and trainer.global_step >= trainer.max_steps


class PeriodicCheckpoint(Callback):
    """Writes ``last.ckpt`` every ``every_n_g_steps`` generator steps, mid-epoch included: the
    weights, optimizers, every RNG stream (:meth:`GANModule.on_save_checkpoint`) and the data
    order's position (:meth:`GANDataModule.state_dict`), so a run killed at any moment
    (SIGKILL, out of memory, preemption without warning) resumes with ``--ckpt_path last``
    and ends as the uninterrupted run would (bitwise on the same CPU, one process). The file
    is written beside and renamed over the old one: a kill while writing leaves the last
    complete checkpoint."""

    def __init__(self, dirpath: str, every_n_g_steps: int) -> None:
        self.dirpath = Path(dirpath)
        self.every = every_n_g_steps
        self._saved_at = -1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        g_steps = pl_module.g_steps
        stale = g_steps == 0 or g_steps % self.every or g_steps == self._saved_at
        if stale or pl_module.diverged:  # keep the last checkpoint from before a divergence
            return
        self._saved_at = g_steps
        path = self.dirpath / "last.ckpt"
        partial = path.with_name("last.ckpt.partial")
        trainer.save_checkpoint(partial)  # every rank calls it; rank 0 writes
        if trainer.is_global_zero:
            os.replace(partial, path)


class InterruptCheckpoint(OnExceptionCheckpoint):
    """On Ctrl-C or SIGTERM (preemption), save ``last.ckpt`` where the run's checkpoints go, so
    that the same command plus ``--ckpt_path last`` continues from there (Lightning's
    OnExceptionCheckpoint saves on any exception; a crash's state is not worth resuming)."""

    def __init__(self, dirpath: str) -> None:
        super().__init__(dirpath, filename="last")

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt | SIGTERMException):
            super().on_exception(trainer, pl_module, exception)

    def teardown(self, trainer, pl_module, stage: str) -> None:
        """Keep the file: Lightning's version deletes it when fit ends, which would remove
        both the interrupted run's resume point and ModelCheckpoint's own last.ckpt."""
