"""The feature extractors an evaluation can use, by name: ``domain`` (the project's
classifier, :mod:`ganzoo.metrics.domain`), ``inception`` (torch-fidelity's TF InceptionV3,
:mod:`ganzoo.metrics.inception`) and ``autoencoder`` (a class-agnostic space trained without
labels, :mod:`ganzoo.metrics.autoencoder`; it has no logits, so no Inception Score). Adding one is an entry here plus its module, which
subclasses :class:`~ganzoo.metrics.extractors.FeatureExtractor`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from ganzoo.errors import ConfigError
from ganzoo.metrics.autoencoder import load_autoencoder_extractor
from ganzoo.metrics.domain import load_domain_extractor
from ganzoo.metrics.extractors import FeatureExtractor
from ganzoo.metrics.inception import InceptionExtractor

BUILDERS: dict[str, Callable[..., FeatureExtractor]] = {
    "domain": lambda datamodule, weights_path, cache_dir: load_domain_extractor(
        datamodule, weights_path=weights_path, cache_dir=cache_dir
    ),
    "inception": lambda datamodule, weights_path, cache_dir: InceptionExtractor(
        weights_path=weights_path
    ),
    "autoencoder": lambda datamodule, weights_path, cache_dir: load_autoencoder_extractor(
        datamodule, weights_path=weights_path, cache_dir=cache_dir
    ),
}
EXTRACTORS = tuple(BUILDERS)


def build_extractor(
    name: str,
    datamodule,
    *,
    weights_path: str | None = None,
    cache_dir: str | Path | None = None,
) -> FeatureExtractor:
    """The extractor ``name`` for ``datamodule``.

    ``weights_path`` overrides where the weights come from (see :mod:`ganzoo.metrics.inception`
    and :mod:`ganzoo.metrics.domain` for the default search order).
    """
    if name not in BUILDERS:
        raise ConfigError(f"extractor: unknown {name!r}; allowed: {', '.join(EXTRACTORS)}")
    # Building a network draws its (then overwritten) initial weights from the global RNG:
    # fork it, so that evaluating does not change the random stream training continues with.
    with torch.random.fork_rng(devices=[]):
        return BUILDERS[name](datamodule, weights_path, cache_dir)
