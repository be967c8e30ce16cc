"""The dataset registry: the one place that knows each dataset.

Every consumer (the DataModule, the real-feature cache, the domain classifier, the default
number of DataLoader workers, the toy metrics, the classifier script) asks :func:`spec` for a
dataset's source kind, native shape, classes and loader, and :func:`cache_key` for the
identity of its images; no code branches on a dataset's name. Adding a dataset is one
:class:`DatasetSpec` line here plus its loader in :mod:`ganzoo.data.sources` and a test.

``key_fields`` lists the DataModule settings that decide which samples a split holds; a
cache derived from a split (real features, a trained classifier) is valid only while all of
them, the dataset's shape and its class count are unchanged. ``cache_key`` includes each of
them, so a forgotten field cannot silently reuse a stale cache (a test changes every field).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from ganzoo.data import sources
from ganzoo.errors import ConfigError

Kind = Literal["embedded", "torchvision", "toy"]

_SPLIT = ("test_fraction", "split_seed", "val_size")


@dataclass(frozen=True)
class DatasetSpec:
    """What ganzoo knows about one dataset before loading it.

    Attributes:
        name: the ``data.dataset`` value.
        kind: ``embedded`` (ships in a package, offline), ``torchvision`` (files under
            ``data.root``, downloadable) or ``toy`` (generated, known density).
        channels: image channels; None for toy data, or when configured (``folder``).
        side: native image side; None for toy data, or when configured (``folder``).
        num_classes: label count; None when counted from the files (``folder``).
        key_fields: DataModule settings that decide which samples the splits hold.
        load: ``load(datamodule) -> (train, test)`` (:mod:`ganzoo.data.sources`).
        centers: toy data: the mixture means, one row per mode.
        in_memory: a file dataset its loader holds as tensors (no DataLoader workers).
    """

    name: str
    kind: Kind
    channels: int | None
    side: int | None
    num_classes: int | None
    key_fields: tuple[str, ...]
    load: Callable[[Any], tuple[Dataset, Dataset]]
    centers: Callable[[], torch.Tensor] | None = None
    in_memory: bool = False

    @property
    def is_toy(self) -> bool:
        return self.kind == "toy"

    @property
    def reads_files(self) -> bool:
        """Loaded from files under ``data.root`` (downloaded, if at all, once, by rank 0)."""
        return self.kind == "torchvision"

    @property
    def uses_workers(self) -> bool:
        """Read per sample by a DataLoader (worker processes help); else held in memory."""
        return self.reads_files and not self.in_memory


_TOY_KEY = ("toy_samples", "toy_std", "seed", "val_size", "split_seed")
_FILES = ("root", "val_size", "split_seed")

DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        DatasetSpec("mnist5k", "embedded", 1, 28, 10, _SPLIT,
                    sources.embedded(sources.mnist5k_arrays)),
        DatasetSpec("digits", "embedded", 1, 8, 10, _SPLIT,
                    sources.embedded(sources.digits_arrays)),
        DatasetSpec("mnist", "torchvision", 1, 28, 10, _FILES,
                    sources.torchvision_split("MNIST", "MNIST/raw")),
        DatasetSpec("fashion_mnist", "torchvision", 1, 28, 10, _FILES,
                    sources.torchvision_split("FashionMNIST", "FashionMNIST/raw")),
        DatasetSpec("cifar10", "torchvision", 3, 32, 10, _FILES, sources.cifar10,
                    in_memory=True),
        DatasetSpec("celeba", "torchvision", 3, 64, 0, _FILES, sources.celeba),
        DatasetSpec("folder", "torchvision", None, None, None, ("root", "channels", *_SPLIT),
                    sources.folder),
        DatasetSpec("gauss1d", "toy", None, None, 2, _TOY_KEY,
                    sources.toy(sources.gauss1d_centers), sources.gauss1d_centers),
        DatasetSpec("ring8", "toy", None, None, 8, _TOY_KEY,
                    sources.toy(sources.ring8_centers), sources.ring8_centers),
        DatasetSpec("grid25", "toy", None, None, 25, _TOY_KEY,
                    sources.toy(sources.grid25_centers), sources.grid25_centers),
    )
}


def spec(name: str) -> DatasetSpec:
    """The registry entry of ``name``; a one-line error listing the known names otherwise."""
    if name not in DATASETS:
        raise ConfigError(f"data.dataset: unknown {name!r}; allowed: {', '.join(DATASETS)}")
    return DATASETS[name]


def toy_centers(name: str) -> torch.Tensor:
    """The mixture means of toy dataset ``name``, one row per mode."""
    centers = spec(name).centers
    if centers is None:
        raise ConfigError(f"data.dataset: {name!r} is not a toy dataset; allowed: "
                          f"{', '.join(names('toy'))}")
    return centers()


def names(kind: Kind | None = None) -> tuple[str, ...]:
    """The registered dataset names, optionally of one kind, in registry order."""
    return tuple(n for n, s in DATASETS.items() if kind is None or s.kind == kind)


def cache_key(datamodule) -> dict[str, Any]:
    """The identity of ``datamodule``'s images: dataset, shape, class count and the values of
    its ``key_fields`` (``root`` resolved to an absolute path). Caches derived from the data
    extend this dict with their own fields."""
    entry = spec(datamodule.dataset_name)
    hp = datamodule.hparams
    key: dict[str, Any] = {
        "dataset": entry.name,
        "data_shape": list(datamodule.data_shape),
        "num_classes": int(datamodule.num_classes),
    }
    for field in entry.key_fields:
        value = hp[field]
        key[field] = str(Path(value).resolve()) if field == "root" else value
    return key
