"""A callback the cluster tests add by class path (``cluster_probe.NoiseProbe``; their run
subprocesses have this folder on PYTHONPATH, as tests/bench's have its stand-ins): it
keeps the noise z each rank draws for its first training steps and saves it beside the run's
record, so a test can compare the ranks' noise across launch layouts."""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback


class NoiseProbe(Callback):
    """Saves the z of the first ``steps`` training draws (D and G steps; evaluation draws
    with its own generator and is left out) as ``<run dir>/noise.rank<global rank>.pt``."""

    def __init__(self, steps: int = 4) -> None:
        self.steps = steps
        self.seen: list[torch.Tensor] = []

    def on_train_start(self, trainer, pl_module) -> None:
        draw = pl_module.sample_latent

        def traced(n, labels=None, generator=None):
            latent = draw(n, labels=labels, generator=generator)
            if generator is None and len(self.seen) < self.steps:
                self.seen.append(latent["z"].detach().cpu().clone())
            return latent

        pl_module.sample_latent = traced

    def on_train_end(self, trainer, pl_module) -> None:
        torch.save(self.seen, Path(trainer.default_root_dir) / f"noise.rank{trainer.global_rank}.pt")
