"""The autoencoder feature space: committed weights load offline by key and match their sha256,
features are deterministic and tell real digits from noise; other splits train on demand."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from unittest import mock

import pytest
import torch

from ganzoo.data import GANDataModule
from ganzoo.errors import ConfigError
from ganzoo.metrics import autoencoder, build_extractor, extract, frechet_distance
from ganzoo.metrics.extractors import sha256_file
from ganzoo.metrics.frozen import WEIGHTS_DIR

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("dataset", ["mnist5k", "digits"])
def test_committed_weights_are_found_by_key_and_match_their_record(dataset, monkeypatch):
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    path = WEIGHTS_DIR / f"autoencoder_{dataset}.pt"
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["sha256"] == sha256_file(path) and path.stat().st_size < 1024 * 1024
    assert meta["command"] == f"python scripts/train_autoencoder.py --dataset {dataset}"
    assert meta["train_seconds"] < 180 and meta["torch_threads"] == 1  # the budget
    dm = GANDataModule(dataset=dataset)
    assert autoencoder.committed_weights(dm) == path
    extractor = build_extractor("autoencoder", dm)
    assert extractor.weights_sha256 == meta["sha256"] and extractor.num_features == 64
    dm.setup("fit")
    x = dm.split("test").tensors[0]
    err = torch.nn.functional.mse_loss(extractor.autoencoder(x), x).item()
    assert err == pytest.approx(meta["test_mse"], abs=1e-4)  # the recorded reconstruction


def test_features_are_deterministic_and_separate_digits_from_noise(mnist_dm):
    first = build_extractor("autoencoder", mnist_dm)
    second = build_extractor("autoencoder", mnist_dm)
    test, logits = extract(first, mnist_dm.split("test"))
    assert logits.shape == (1000, 0) and test.shape == (1000, 64)
    assert torch.equal(test, extract(second, mnist_dm.split("test"))[0])
    train, _ = extract(first, mnist_dm.split("train"))
    g = torch.Generator().manual_seed(0)
    noise, _ = extract(first, torch.randint(0, 256, (1000, 1, 28, 28), dtype=torch.uint8,
                                            generator=g))
    shuffled = train[torch.randperm(len(train), generator=g)[:1000]]  # the split is by class
    real_vs_real, real_vs_noise = frechet_distance(test, shuffled), frechet_distance(test, noise)
    assert real_vs_noise > 20 * real_vs_real, (real_vs_real, real_vs_noise)
    # the nearest other image of a test digit is a digit, of a noise image a noise image
    both = torch.cat([test, noise])
    kind = torch.arange(2000) >= 1000
    distances = torch.cdist(both, both).fill_diagonal_(float("inf"))
    assert (kind[distances.argmin(1)] == kind).double().mean() > 0.99


def test_other_split_trains_on_demand_once_and_caches(tmp_path):
    dm = GANDataModule(dataset="digits", split_seed=1)
    assert autoencoder.committed_weights(dm) is None
    quick = functools.partial(autoencoder.train_autoencoder, steps=20)
    with mock.patch.object(autoencoder, "train_autoencoder", side_effect=quick) as train:
        first = autoencoder.load_autoencoder_extractor(dm, cache_dir=tmp_path)
        second = autoencoder.load_autoencoder_extractor(dm, cache_dir=tmp_path)
    assert train.call_count == 1 and first.weights_sha256 == second.weights_sha256
    assert autoencoder.cached_weights_path(dm, tmp_path).is_file()


def test_toy_data_and_modified_weights_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="toy"):
        autoencoder.load_autoencoder_extractor(GANDataModule(dataset="ring8"))
    src = WEIGHTS_DIR / "autoencoder_digits.pt"
    copy = tmp_path / src.name
    copy.write_bytes(src.read_bytes() + b"\0")
    copy.with_suffix(".json").write_text(src.with_suffix(".json").read_text())
    with pytest.raises(ConfigError, match="modified: retrain it with scripts/train_autoencoder"):
        autoencoder.load_autoencoder_extractor(GANDataModule(dataset="digits"),
                                               weights_path=str(copy))


def test_odd_image_sides_reconstruct_at_their_size():
    model = autoencoder.ConvAutoencoder(data_shape=(3, 7, 7))
    assert model(torch.zeros(2, 3, 7, 7)).shape == (2, 3, 7, 7)


def test_training_script_writes_weights_and_record(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "train_autoencoder", ROOT / "scripts" / "train_autoencoder.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "ae.pt"
    threads = torch.get_num_threads()
    try:
        meta = script.main(["--dataset", "digits", "--steps", "20", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    assert meta["sha256"] == sha256_file(out) and meta["steps"] == 20
    assert meta["command"].endswith("--dataset digits --steps 20")
    dm = GANDataModule(dataset="digits")
    extractor = autoencoder.load_autoencoder_extractor(dm, weights_path=str(out))
    assert extractor.weights_sha256 == meta["sha256"]
