"""The dataset registry: one spec per dataset, one cache key that covers every field."""

from __future__ import annotations

import pytest

from ganzoo.data import GANDataModule, registry
from ganzoo.errors import ConfigError

# A second value for every key field (and for the shape), to check each changes the key.
OTHER = {
    "test_fraction": 0.3,
    "split_seed": 7,
    "root": "elsewhere",
    "channels": 1,
    "toy_samples": 123,
    "toy_std": 0.2,
    "seed": 9,
    "val_size": 50,
}


@pytest.mark.parametrize("name", registry.names())
def test_cache_key_changes_with_every_key_field(name):
    base = GANDataModule(dataset=name)
    key = registry.cache_key(base)
    assert key["dataset"] == name
    fields = registry.spec(name).key_fields
    assert fields, f"{name}: a dataset whose key has no settings"
    for field in fields:
        changed = GANDataModule(dataset=name, **{field: OTHER[field]})
        assert registry.cache_key(changed) != key, f"{name}: key ignores {field}"
        assert registry.cache_key(GANDataModule(dataset=name)) == key


def test_cache_key_changes_with_shape():
    assert registry.cache_key(GANDataModule(dataset="mnist5k")) != registry.cache_key(
        GANDataModule(dataset="mnist5k", image_size=32)
    )


@pytest.mark.parametrize("name", registry.names())
def test_spec_drives_the_datamodule(name):
    entry = registry.spec(name)
    dm = GANDataModule(dataset=name)
    assert dm.is_toy == entry.is_toy
    if entry.num_classes is not None:
        assert dm.num_classes == entry.num_classes
    if entry.side is not None:
        assert dm.data_shape == (entry.channels, entry.side, entry.side)


def test_unknown_dataset_lists_the_registry():
    with pytest.raises(ConfigError, match="allowed: mnist5k, digits"):
        registry.spec("mnist6k")
    with pytest.raises(ConfigError, match="unknown 'mnist6k'"):
        GANDataModule(dataset="mnist6k")


def test_consumers_share_the_key():
    """The real-feature cache and the domain classifier both extend the registry's key (the
    classifier's without ``val_size``: it trains on the training and validation images)."""
    from ganzoo.metrics.domain import classifier_key
    from ganzoo.metrics.real_stats import real_stats_key

    dm = GANDataModule(dataset="digits")
    base = registry.cache_key(dm)
    assert {k: v for k, v in base.items() if k != "val_size"}.items() <= classifier_key(dm).items()

    class Stub:
        name, weights_sha256 = "stub", "0"

    dm.setup()
    assert base.items() <= real_stats_key(dm, "test", Stub(), None, 0).items()


def test_a_new_dataset_is_one_spec_and_its_loader(monkeypatch):
    """Registering a spec is all the DataModule needs: it asks the spec for the loader."""
    import torch
    from torch.utils.data import TensorDataset

    def load(dm):
        x = torch.linspace(-1, 1, 2 * 4 * 16).view(-1, 1, 4, 4)
        y = torch.arange(len(x)) % 2
        return TensorDataset(x[::2], y[::2]), TensorDataset(x[1::2], y[1::2])

    spec = registry.DatasetSpec("tiny4", "embedded", 1, 4, 2, ("split_seed",), load)
    monkeypatch.setitem(registry.DATASETS, "tiny4", spec)
    dm = GANDataModule(dataset="tiny4", batch_size=2)
    assert dm.data_shape == (1, 4, 4) and dm.num_classes == 2
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (2, 1, 4, 4) and set(y.tolist()) <= {0, 1}
    assert len(dm.split("test")) == 4


def test_toy_centers_come_from_the_spec():
    assert registry.toy_centers("grid25").shape == (25, 2)
    assert registry.toy_centers("gauss1d").tolist() == [[-2.0], [2.0]]
    with pytest.raises(ConfigError, match="'mnist5k' is not a toy dataset; allowed: gauss1d"):
        registry.toy_centers("mnist5k")
