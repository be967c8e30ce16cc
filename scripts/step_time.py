"""Training step time of every variant on this machine.

    .venv/bin/python scripts/step_time.py [--batches 40] [--width 32] [--batch-size 64]

Trains each variant on the embedded mnist5k data (28x28) for ``--batches`` batches after
5 warm-up batches and prints milliseconds per batch (one D step, plus a G step every
``n_critic`` batches), milliseconds per generator step and real images per second.
"""

from __future__ import annotations

import argparse
import logging
import time

import lightning as L
import torch

from ganzoo.data import GANDataModule
from ganzoo.models import DCGAN, WGAN, ConditionalGAN, InfoGAN, VanillaGAN

VARIANTS = {
    "VanillaGAN": (VanillaGAN, {}),
    "DCGAN": (DCGAN, {}),
    "WGAN-clip": (WGAN, {"penalty": "clip"}),
    "WGAN-gp": (WGAN, {"penalty": "gp"}),
    "ConditionalGAN": (ConditionalGAN, {}),
    "InfoGAN": (InfoGAN, {}),
}
WARMUP = 5


class Stopwatch(L.Callback):
    def __init__(self) -> None:
        self.start = self.end = 0.0
        self.g_steps_at_start = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == WARMUP:
            self.start = time.perf_counter()
            self.g_steps_at_start = pl_module.g_steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.end = time.perf_counter()


def measure(cls, kwargs, dm, batches: int, width: int) -> dict[str, float]:
    L.seed_everything(0, verbose=False)
    model = cls(data_shape=dm.data_shape, num_classes=dm.num_classes, g_width=width,
                d_width=width, **kwargs)
    watch = Stopwatch()
    trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=1,
                        limit_train_batches=batches + WARMUP, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[watch])
    trainer.fit(model, dm)
    seconds = watch.end - watch.start
    g_steps = model.g_steps - watch.g_steps_at_start
    return {
        "ms_per_batch": 1000 * seconds / batches,
        "ms_per_g_step": 1000 * seconds / max(g_steps, 1),
        "images_per_s": batches * dm.batch_size / seconds,
        "n_critic": model.n_critic,
    }


def main() -> None:
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--width", type=int, default=32, help="g_width = d_width")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    dm = GANDataModule(dataset="mnist5k", batch_size=args.batch_size)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, mnist5k 28x28, "
          f"batch {args.batch_size}, width {args.width}, {args.batches} timed batches")
    print(f"{'variant':<16}{'n_critic':>9}{'ms/batch':>10}{'ms/G step':>11}{'img/s':>9}")
    for name, (cls, kwargs) in VARIANTS.items():
        r = measure(cls, kwargs, dm, args.batches, args.width)
        print(f"{name:<16}{r['n_critic']:>9}{r['ms_per_batch']:>10.1f}"
              f"{r['ms_per_g_step']:>11.1f}{r['images_per_s']:>9.0f}")


if __name__ == "__main__":
    main()
