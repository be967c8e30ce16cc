"""Fit with the evaluation callback on N CPU processes (gloo); used by test_ddp.py and
benchmarks/eval_benchmark.py:

    python tests/metrics/ddp_eval_script.py DEVICES OUT_DIR CACHE_DIR

The GAN's weights do not move (SGD with lr 1e-12: the updates are below float32 resolution)
and its generator has no batch norm, so 1 and 2 processes evaluate the identical sample set
and any difference in the numbers comes from the distributed evaluation itself. Each rank
writes its history and grid paths to OUT_DIR/rank<r>.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import lightning as L
import torch

from ganzoo.data import GANDataModule
from ganzoo.metrics import EvaluationCallback, SampleGridCallback
from ganzoo.models import OptimizerSpec, VanillaGAN


def main(devices: int, out: Path, cache: str) -> None:
    torch.set_num_threads(1)
    L.seed_everything(0)
    dm = GANDataModule(dataset="digits", batch_size=32)
    model = VanillaGAN(
        data_shape=dm.data_shape,
        num_classes=dm.num_classes,
        g_width=16,
        d_width=16,
        g_norm="none",  # no batch norm: its running statistics would differ per rank
        optimizer=OptimizerSpec(name="sgd"),
        lr_g=1e-12,
        lr_d=1e-12,
    )
    evaluation = EvaluationCallback(
        every_n_epochs=1,
        num_samples=1000,
        batch_size=100,
        kid_subset_size=200,
        kid_subsets=10,
        cache_dir=cache,
    )
    grids = SampleGridCallback(every_n_epochs=1)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=devices,
        strategy="ddp_find_unused_parameters_true" if devices > 1 else "auto",
        max_epochs=2,
        limit_train_batches=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=out,
        callbacks=[evaluation, grids],
    )
    start = time.time()
    trainer.fit(model, datamodule=dm)
    record = {
        "history": evaluation.history,
        "grids": [str(p) for p in grids.paths],
        "world_size": trainer.world_size,
        "seconds": time.time() - start,
    }
    (out / f"rank{trainer.global_rank}.json").write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
