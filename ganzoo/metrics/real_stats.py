"""Real-data features, computed once per (dataset, split, extractor, ...) and cached on disk.

The cache file is named by a hash of everything that changes the features: the dataset and
its DataModule settings (shape, split fraction and seed, root of file datasets), the split,
the number of reference images and how they were chosen, the extractor and the sha256 of its
weights, and the quantisation. The key is stored in the file and checked on load. Features
(not only mean and covariance) are kept because KID needs them.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from ganzoo.atomic import atomic_path
from ganzoo.data.registry import cache_key
from ganzoo.data.sources import cache_dir as default_cache_dir
from ganzoo.metrics.extractors import FeatureExtractor, extract

Tensor = torch.Tensor

CACHE_VERSION = 1
QUANTISATION = "uint8 = round((x + 1) * 127.5)"


@dataclass
class RealFeatures:
    """Features, logits and labels of the reference images; ``computed`` is False on a hit.
    ``derived`` holds what metrics compute from these features alone (:meth:`once`)."""

    features: Tensor
    logits: Tensor
    labels: Tensor
    key: dict[str, Any]
    path: Path
    computed: bool
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def once(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, called on the first request for ``key`` only: for what depends on
        these real features alone (their k-NN radii, the training split's clusters), which
        the evaluations of a run would otherwise recompute each time. ``key`` names the
        quantity and every setting it depends on (k, device, ...)."""
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]


def reference_indices(size: int, num_real: int | None, seed: int) -> Tensor | None:
    """Indices of a seeded random subset of ``num_real`` images (None = the whole split)."""
    if num_real is None or num_real >= size:
        return None
    perm = torch.randperm(size, generator=torch.Generator().manual_seed(seed))
    return perm[:num_real].sort().values


def real_stats_key(
    datamodule, split: str, extractor: FeatureExtractor, num_real: int | None, seed: int
) -> dict[str, Any]:
    size = len(datamodule.split(split))
    subset = num_real is not None and num_real < size
    return {
        **cache_key(datamodule),
        "split": split,
        "num_real": min(num_real, size) if subset else size,
        "subset_seed": seed if subset else None,
        "extractor": extractor.name,
        "weights_sha256": extractor.weights_sha256,
        "quantisation": QUANTISATION,
        "version": CACHE_VERSION,
    }


def cache_path(key: dict[str, Any], cache_dir: str | Path | None) -> Path:
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    name = f"{key['dataset']}_{key['split']}_{key['extractor']}_{digest}.pt"
    return root / "real_stats" / name


def _labels(dataset: Dataset) -> Tensor:
    tensors = getattr(dataset, "tensors", None)
    if tensors is not None and len(tensors) > 1:
        return tensors[1].long()
    return torch.tensor([int(dataset[i][1]) for i in range(len(dataset))], dtype=torch.long)


def real_features(
    datamodule,
    split: str,
    extractor: FeatureExtractor,
    *,
    num_real: int | None = None,
    seed: int = 0,
    batch_size: int = 500,
    cache_dir: str | Path | None = None,
) -> RealFeatures:
    """Features of ``split`` (all of it, or ``num_real`` images chosen with ``seed``), from the
    cache when present; computed and written atomically otherwise."""
    key = real_stats_key(datamodule, split, extractor, num_real, seed)
    path = cache_path(key, cache_dir)
    if path.is_file():
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
            stored["key"], stored["features"], stored["logits"], stored["labels"]  # noqa: B018
        except Exception as err:  # a truncated or foreign file: it is only a cache
            warnings.warn(
                f"real-feature cache {path} is unreadable ({type(err).__name__}); recomputing "
                f"it (delete the file to silence this)",
                stacklevel=2,
            )
            stored = {"key": None}
        if stored["key"] == json.loads(json.dumps(key)):
            return RealFeatures(
                stored["features"], stored["logits"], stored["labels"], key, path, computed=False
            )
    dataset = datamodule.split(split)
    labels = _labels(dataset)
    indices = reference_indices(len(dataset), num_real, seed)
    if indices is not None:
        dataset, labels = Subset(dataset, indices.tolist()), labels[indices]
    features, logits = extract(extractor, dataset, batch_size)
    with atomic_path(path) as tmp:
        torch.save({"key": key, "features": features, "logits": logits, "labels": labels}, tmp)
    return RealFeatures(features, logits, labels, key, path, computed=True)
