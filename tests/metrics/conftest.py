"""Shared fixtures for the metric tests: the embedded datasets and their committed classifiers.

The real-feature caches of these tests live in per-session temporary directories; the
embedded data itself is read through the project's normal cache (``$GANZOO_CACHE``).
"""

from __future__ import annotations

import pytest
import torch

from ganzoo.data import GANDataModule
from ganzoo.metrics import build_extractor, extract


@pytest.fixture(scope="session")
def mnist_dm() -> GANDataModule:
    dm = GANDataModule(dataset="mnist5k")
    dm.setup("fit")
    return dm


@pytest.fixture(scope="session")
def digits_dm() -> GANDataModule:
    dm = GANDataModule(dataset="digits")
    dm.setup("fit")
    return dm


@pytest.fixture(scope="session")
def mnist_domain(mnist_dm):
    return build_extractor("domain", mnist_dm)


@pytest.fixture(scope="session")
def digits_domain(digits_dm):
    return build_extractor("domain", digits_dm)


@pytest.fixture(scope="session")
def mnist_test_features(mnist_dm, mnist_domain) -> tuple[torch.Tensor, torch.Tensor]:
    return extract(mnist_domain, mnist_dm.split("test"))


@pytest.fixture(scope="session")
def mnist_train_features(mnist_dm, mnist_domain) -> tuple[torch.Tensor, torch.Tensor]:
    return extract(mnist_domain, mnist_dm.split("train"))


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory):
    """A cache directory for real features shared by the tests of one session."""
    return tmp_path_factory.mktemp("ganzoo_cache")
