"""The real floor: the evaluation's metrics for real images in place of generated ones.

Every metric registered with ``on_real=True`` (those that read only the images: FID, IS, KID,
precision/recall, density/coverage, FID∞, FID and KID in the autoencoder space, the toy mode
metrics) is computed for ``n = num_samples`` real images of the ``train`` split (a subset
seeded by the evaluation's ``seed``, or the whole split when it is smaller), against the same
reference, in the same features, with the same settings. It is what a perfect generator of
the training distribution would score at this n: the floor every row of a table is read
against (FID of 1,000 real digits against the 1,000 test digits is not 0, it is ~0.3 in the
domain features). Memorization is not on the floor: its "generated" images would be
training images, which it flags by construction.

The values depend only on the protocol, so they are computed once and cached as json under
``$GANZOO_CACHE/real_floor/``, named by a hash of everything that changes them (the data's
identity, the reference features' key, n and seed, the metrics and their settings, and the
sha256 of every extractor they use); the key is stored in the file and checked on load.
Under DDP every rank takes part in computing it (the metrics sync), rank 0's view of the
cache decides for all, and rank 0 writes it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import Subset

from ganzoo.atomic import write_json_atomic
from ganzoo.data.registry import cache_key, toy_centers
from ganzoo.data.sources import cache_dir as default_cache_dir
from ganzoo.metrics.extractors import iter_batches, to_uint8
from ganzoo.metrics.fidelity import rank, shard, world_size
from ganzoo.metrics.real_stats import reference_indices
from ganzoo.metrics.registry import EvalContext, MetricSpec
from ganzoo.metrics.toy import ModeCoverage

Tensor = torch.Tensor

FLOOR_VERSION = 1  # bump when what the floor computes changes
FLOOR_SPLIT = "train"


def floor_key(evaluator, datamodule, metrics: list[MetricSpec], n: int, real,
              device) -> dict[str, Any]:
    """Everything that changes the floor's values."""
    extractors = sorted({e for m in metrics for e in m.extractors})
    return {
        "version": FLOOR_VERSION,
        "data": cache_key(datamodule),
        "split": FLOOR_SPLIT,
        "n": n,
        "seed": evaluator.seed,
        "reference": real.key if real is not None else "density",
        "metrics": [m.name for m in metrics],
        "kid": [evaluator.kid_subset_size, evaluator.kid_subsets],
        "extractors": {name: evaluator.extractor(name, datamodule, device).weights_sha256
                       for name in extractors},
    }


def floor_path(key: dict[str, Any], cache_dir: str | Path | None) -> Path:
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return root / "real_floor" / f"{key['data']['dataset']}_{digest}.json"


def _read(path: Path, key: dict[str, Any]) -> dict[str, float] | None:
    """The cached values if the file holds this key (None for a miss or an unreadable file)."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored.get("values") if stored.get("key") == json.loads(json.dumps(key)) else None


def _on_rank_zero(value):
    """Rank 0's ``value`` on every rank (``value`` itself without torch.distributed)."""
    if world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _train_images(datamodule, n: int, seed: int, batch_size: int) -> Tensor:
    """The floor's images: the same seeded subset of the train split that
    :func:`~ganzoo.metrics.real_stats.real_features` extracts (uint8; toy data: floats)."""
    train = datamodule.split(FLOOR_SPLIT)
    indices = reference_indices(len(train), n, seed)
    subset = train if indices is None else Subset(train, indices.tolist())
    batches = list(iter_batches(subset, batch_size))
    return torch.cat(batches if datamodule.is_toy else [to_uint8(b) for b in batches])


def compute_floor(evaluator, datamodule, plan, metrics: list[MetricSpec], extractor, real,
                  n: int, device) -> dict[str, float]:
    """The metrics for ``n`` real training images in place of the fakes (every rank)."""
    images = _train_images(datamodule, n, evaluator.seed, evaluator.batch_size)
    generated: dict[str, Tensor | None] = {"features": None, "logits": None, "cond": None,
                                           "pred": None, "images": None}
    toy = []
    if plan.fidelity:
        train = evaluator.split_features(datamodule, FLOOR_SPLIT, extractor, num_real=n)
        generated.update(features=shard(train.features).to(device),
                         logits=shard(train.logits).to(device), images=shard(images))
    if plan.toy_modes:
        coverage = ModeCoverage(toy_centers(datamodule.dataset_name),
                                datamodule.hparams.toy_std).to(device)
        coverage.update(shard(images).to(device))
        toy = [coverage]
    ctx = EvalContext(
        model=None, datamodule=datamodule, plan=plan, settings=evaluator, generated=generated,
        real_features=shard(real.features).to(device) if real is not None else None,
        real=real, toy=toy,
    )
    values: dict[str, float] = {}
    for metric in metrics:
        values.update(metric.compute(ctx))
    return values


def real_floor(evaluator, datamodule, plan, metrics: list[MetricSpec], extractor, real,
               device) -> dict[str, Any]:
    """``{"real_floor": {metric: value}, "real_floor_n", "real_floor_split"}`` for the
    protocol: from the cache, else computed (all ranks) and cached (rank 0)."""
    n = min(evaluator.num_samples, len(datamodule.split(FLOOR_SPLIT)))
    key = floor_key(evaluator, datamodule, metrics, n, real, device)
    path = floor_path(key, evaluator.cache_dir)
    values = _on_rank_zero(_read(path, key) if rank() == 0 else None)
    if values is None:
        values = compute_floor(evaluator, datamodule, plan, metrics, extractor, real, n, device)
        if rank() == 0:
            write_json_atomic(path, {"key": key, "values": values})
    return {"real_floor": values, "real_floor_n": n, "real_floor_split": FLOOR_SPLIT}
