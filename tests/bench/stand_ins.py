"""Small callbacks with the contract of ganzoo.metrics' EvaluationCallback and
SampleGridCallback, so the benchmark tests run in seconds and do not depend on the metrics
package: deterministic numbers that depend on the trained generator."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torchvision.utils import save_image

PROTOCOL = {
    "extractor": "stand-in",
    "weights_sha256": "0" * 64,
    "reference_split": "test",
    "num_real": 64,
    "num_fake": 64,
    "kid_subset_size": 32,
    "seed": 0,
}


class StandInEvaluation(L.Callback):
    """Moment-matching 'FID' of 64 samples against 64 test images, every N epochs and at the end."""

    def __init__(self, *, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = every_n_epochs
        self.history: list[dict] = []

    def evaluate(self, trainer: L.Trainer, pl_module, epoch: int) -> dict:
        real = torch.stack([trainer.datamodule.split("test")[i][0] for i in range(64)])
        fake = pl_module.sample(64, generator=torch.Generator().manual_seed(0)).cpu()
        real, fake = real.flatten(1).double(), fake.flatten(1).double()
        fid = (real.mean(0) - fake.mean(0)).pow(2).sum() + (real.std(0) - fake.std(0)).pow(2).sum()
        metrics = {
            "fid": float(fid),
            "is": float(1 + fake.std()),
            "is_std": 0.0,
            "kid": float(fid) / 100,
            "kid_std": 0.0,
        }
        if getattr(pl_module, "conditional", False):
            metrics["label_accuracy"] = 0.5
        entry = {
            "epoch": epoch,
            "g_steps": pl_module.g_steps,
            "metrics": metrics,
            "protocol": dict(PROTOCOL),
        }
        self.history.append(entry)
        return metrics

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:  # epoch = finished epochs
            metrics = self.evaluate(trainer, pl_module, trainer.current_epoch + 1)
            for name, value in metrics.items():
                pl_module.log(f"val/{name}", value)

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.history and self.history[-1]["g_steps"] == pl_module.g_steps:
            return
        metrics = self.evaluate(trainer, pl_module, trainer.current_epoch)
        for logger in trainer.loggers:
            logger.log_metrics(
                {f"val/{k}": v for k, v in metrics.items()}, step=trainer.global_step
            )


class StandInGrids(L.Callback):
    """Writes grids/epoch_XXXX.png and grids/final.png and logs them to W&B."""

    def __init__(self, *, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = every_n_epochs
        self.paths: list[Path] = []

    def write(self, trainer, pl_module, name: str) -> None:
        if not trainer.is_global_zero:
            return
        images = pl_module.sample(16, generator=torch.Generator().manual_seed(0)).cpu()
        path = Path(trainer.default_root_dir) / "grids" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(images * 0.5 + 0.5, path, nrow=4)
        self.paths.append(path)
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):
                logger.log_image("samples", [str(path)], step=trainer.global_step)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.write(trainer, pl_module, f"epoch_{trainer.current_epoch:04d}")

    def on_fit_end(self, trainer, pl_module) -> None:
        self.write(trainer, pl_module, "final")


class DivergeAfter(L.Callback):
    """Marks the run diverged after ``steps`` batches, as the model's divergence guard does."""

    def __init__(self, *, steps: int = 2) -> None:
        self.steps = steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.steps:
            pl_module.diverged = True
            trainer.should_stop = True


class RaiseAfter(L.Callback):
    """Raises ``exception`` (a class path's object) after ``steps`` batches."""

    def __init__(self, exception: BaseException, steps: int = 2) -> None:
        self.exception = exception
        self.steps = steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.steps:
            raise self.exception


def tiny_config(
    path: Path, model: str = "DCGAN", extra_model: str = "", epochs: int = 2, batches: int = 4
) -> Path:
    """A config file for a seconds-long digits run with the stand-in callbacks."""
    path.write_text(f"""model:
  class_path: ganzoo.models.{model}
  init_args:
    g_width: 8
    d_width: 8
    latent_dim: 8
    num_fixed_samples: 16
{extra_model}data:
  dataset: digits
  batch_size: 32
trainer:
  max_epochs: {epochs}
  limit_train_batches: {batches}
  log_every_n_steps: 1
  enable_progress_bar: false
  enable_model_summary: false
  callbacks:
    - class_path: stand_ins.StandInEvaluation
    - class_path: stand_ins.StandInGrids
""")
    return path
