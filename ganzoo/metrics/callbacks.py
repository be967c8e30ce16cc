"""Lightning callbacks: periodic evaluation (FID / IS / KID and model metrics) and sample grids.

Both read the data from ``trainer.datamodule`` (a :class:`~ganzoo.data.GANDataModule`) and the
model from ``pl_module``. Configure them in a LightningCLI YAML::

    trainer:
      callbacks:
        - class_path: ganzoo.metrics.EvaluationCallback
          init_args: {every_n_epochs: 5, num_samples: 2000, reference_split: test}
        - class_path: ganzoo.metrics.SampleGridCallback
          init_args: {every_n_epochs: 1}

"epoch" in file names and records is the number of finished epochs (1 after the first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from ganzoo.errors import ConfigError, require
from ganzoo.metrics.evaluate import Evaluator, write_jsonl
from ganzoo.metrics.grids import image_grid, save_grid

HISTORY_FILE = "evaluations.jsonl"


def _g_step_due(pl_module, every_n_g_steps: int) -> bool:
    """True when the generator steps so far are a positive multiple of ``every_n_g_steps``
    (0: never). With ``n_critic`` > 1 that holds for several batches in a row; the callback's
    ``_evaluate`` evaluates once per generator step."""
    g_steps = int(getattr(pl_module, "g_steps", 0))
    return bool(every_n_g_steps) and g_steps > 0 and g_steps % every_n_g_steps == 0


def _datamodule(trainer: L.Trainer, who: str):
    dm = trainer.datamodule
    if dm is None:
        raise ConfigError(
            f"{who}: needs the data as a GANDataModule (trainer.fit(model, datamodule=...))"
        )
    return dm


class EvaluationCallback(Callback):
    """Evaluates the generator every ``every_n_epochs`` epochs and/or every ``every_n_g_steps``
    generator steps, and once at the end of fit. ``every_n_g_steps`` puts the evaluations of
    variants with different ``n_critic`` at the same generator steps.

    Every rank takes part (generation is sharded, metric states are synced by torchmetrics in
    ``compute()``; no metric is computed in a rank-zero-only hook, which would hang: torchmetrics
    issue 2684). After each evaluation ``self.history`` gets ``{"epoch", "g_steps", "metrics",
    "protocol"}`` (identical on every rank), each metric is logged as ``val/<name>``, and rank 0
    appends the entry to ``<default_root_dir>/evaluations.jsonl``. The end-of-fit evaluation
    always runs (also after early stopping) unless the last one was at the same generator step.

    Args:
        every_n_epochs: evaluate after every n-th epoch (0: not by epochs).
        every_n_g_steps: evaluate after every n-th generator step (0: not by steps).
        **evaluation: the :class:`~ganzoo.metrics.evaluate.Evaluator`'s settings (num_samples,
            reference_split, extractor, weights_path, batch_size, kid_subset_size,
            kid_subsets, num_real, seed, cache_dir, metrics), documented there; LightningCLI
            reads their types from it, so they are checked like the arguments above.
    """

    def __init__(self, *, every_n_epochs: int = 1, every_n_g_steps: int = 0, **evaluation) -> None:
        super().__init__()
        require(every_n_epochs >= 0, f"every_n_epochs: must be >= 0, got {every_n_epochs}")
        require(every_n_g_steps >= 0, f"every_n_g_steps: must be >= 0, got {every_n_g_steps}")
        self.every_n_epochs = every_n_epochs
        self.every_n_g_steps = every_n_g_steps
        self.evaluator = Evaluator(**evaluation)
        self.history: list[dict[str, Any]] = []

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # fail before training on a missing extractor, and compute the real features now
        self.evaluator.prepare(pl_module, _datamodule(trainer, "EvaluationCallback"))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if _g_step_due(pl_module, self.every_n_g_steps):
            self._publish(trainer, self._evaluate(trainer, pl_module, trainer.current_epoch))

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        finished = trainer.current_epoch + 1
        if not (self.every_n_epochs and finished % self.every_n_epochs == 0):
            return
        entry = self._evaluate(trainer, pl_module, finished)
        if entry is None:
            return
        # The values are identical on every rank already; sync_dist only averages equal
        # numbers (exact) and keeps Lightning from warning about unsynced epoch metrics.
        for name, value in entry["metrics"].items():
            pl_module.log(f"val/{name}", value, on_step=False, on_epoch=True, sync_dist=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._publish(trainer, self._evaluate(trainer, pl_module, trainer.current_epoch))

    @staticmethod
    def _publish(trainer: L.Trainer, entry: dict[str, Any] | None) -> None:
        """Hand an evaluation to the loggers at the current step (``self.log`` is not allowed
        in ``on_train_end`` and would average mid-epoch evaluations into the epoch)."""
        if entry is None:
            return
        values = {f"val/{name}": value for name, value in entry["metrics"].items()}
        for logger in trainer.loggers:
            logger.log_metrics(values, step=trainer.global_step)
        trainer.callback_metrics.update({k: torch.tensor(v) for k, v in values.items()})

    def _evaluate(self, trainer: L.Trainer, pl_module, epoch: int) -> dict[str, Any] | None:
        g_steps = int(getattr(pl_module, "g_steps", trainer.global_step))
        if self.history and self.history[-1]["g_steps"] == g_steps:
            return None
        entry = self.evaluator(pl_module, _datamodule(trainer, "EvaluationCallback"), epoch=epoch)
        self.history.append(entry)
        if trainer.is_global_zero:
            write_jsonl(Path(trainer.default_root_dir) / HISTORY_FILE, entry)
        return entry

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))


class SampleGridCallback(Callback):
    """PNG grids from the model's fixed noise every ``every_n_epochs`` epochs and at the end.

    Written only on global rank 0 to ``<default_root_dir>/grids/epoch_0003.png`` and
    ``final.png`` (toy data: sample plots), listed in ``self.paths`` and sent to the logger
    (``WandbLogger.log_image``, TensorBoard ``add_image``; other loggers are skipped). See
    :mod:`ganzoo.metrics.grids` for the layouts (one row per class for CGAN, code traversals
    for InfoGAN).

    Args:
        every_n_epochs: write a grid after every n-th epoch (0: only at the end of fit).
    """

    def __init__(self, *, every_n_epochs: int = 1) -> None:
        super().__init__()
        require(every_n_epochs >= 0, f"every_n_epochs: must be >= 0, got {every_n_epochs}")
        self.every_n_epochs = every_n_epochs
        self.paths: list[Path] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        finished = trainer.current_epoch + 1
        if self.every_n_epochs and finished % self.every_n_epochs == 0:
            self._save(trainer, pl_module, f"epoch_{finished:04d}.png")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer, pl_module, "final.png")

    def _save(self, trainer: L.Trainer, pl_module, name: str) -> None:
        if not trainer.is_global_zero:
            return
        dm = _datamodule(trainer, "SampleGridCallback")
        path = save_grid(pl_module, dm, Path(trainer.default_root_dir) / "grids" / name)
        self.paths.append(path)
        for logger in trainer.loggers:
            send_image(logger, path, pl_module, dm, trainer.global_step)


def send_image(logger, path: Path, model, datamodule, step: int) -> None:
    """Log the PNG with the logger's image API; loggers without one are skipped."""
    if isinstance(logger, WandbLogger):
        logger.log_image(key="samples", images=[str(path)], step=step)
    elif isinstance(logger, TensorBoardLogger) and not datamodule.is_toy:
        logger.experiment.add_image("samples", image_grid(model, datamodule), step)
