"""The domain classifier: committed weights match their sha256 and accuracy; other datasets
and splits get one trained on demand (here with a tiny step budget) and cached."""

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
from ganzoo.metrics import domain
from ganzoo.metrics.extractors import sha256_file, to_uint8

ROOT = Path(__file__).resolve().parents[2]


def measured_accuracy(extractor, datamodule, split: str) -> float:
    """Accuracy of the extractor's class logits on a split, through the uint8 images the
    metrics feed it."""
    x, y = datamodule.split(split).tensors
    with torch.no_grad():
        _, logits = extractor(to_uint8(x))
    return (logits.argmax(1) == y).double().mean().item()


@pytest.mark.parametrize("dataset, min_accuracy", [("mnist5k", 0.98), ("digits", 0.98)])
def test_committed_weights_match_their_record(dataset, min_accuracy):
    """The committed classifier, loaded as the metrics load it, classifies the test split at
    the accuracy its json records (to one image: another CPU may flip a borderline one)."""
    path = domain.WEIGHTS_DIR / f"domain_{dataset}.pt"
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["sha256"] == sha256_file(path)
    assert path.stat().st_size < 1024 * 1024
    dm = GANDataModule(dataset=dataset)
    assert domain.committed_weights(dm) == path
    assert meta["command"] == f"python scripts/train_classifier.py --dataset {dataset}"
    dm.setup("fit")
    accuracy = measured_accuracy(domain.load_domain_extractor(dm), dm, "test")
    assert accuracy >= min_accuracy
    assert accuracy == pytest.approx(meta["test_accuracy"], abs=1 / meta["test_size"])


def test_the_extractor_takes_a_large_batch_in_chunks_with_the_same_outputs():
    dm = GANDataModule(dataset="mnist5k")
    dm.setup("fit")
    extractor = domain.load_domain_extractor(dm)
    x = to_uint8(dm.split("test").tensors[0][:300])
    assert len(x) > domain.CPU_CHUNK and len(x) % domain.CPU_CHUNK
    with torch.no_grad():
        features, logits = extractor(x)
        whole = extractor.classifier(x.to(extractor.dtype) / 127.5 - 1.0)  # one pass
    assert features.shape == (300, extractor.num_features)
    torch.testing.assert_close(features, whole[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(logits, whole[1], rtol=0, atol=1e-5)


def test_other_split_trains_on_demand_once_and_caches(tmp_path):
    dm = GANDataModule(dataset="digits", split_seed=1)  # no committed weights for this split
    assert domain.committed_weights(dm) is None
    quick = functools.partial(domain.train_classifier, steps=20)
    with mock.patch.object(domain, "train_classifier", side_effect=quick) as train:
        first = domain.load_domain_extractor(dm, cache_dir=tmp_path)
        second = domain.load_domain_extractor(dm, cache_dir=tmp_path)
    assert train.call_count == 1
    assert first.weights_sha256 == second.weights_sha256
    cached = domain.cached_weights_path(dm, tmp_path)
    assert (
        cached.is_file()
        and json.loads(cached.with_suffix(".json").read_text())["key"]["split_seed"] == 1
    )


def test_modified_weights_are_refused(tmp_path):
    dm = GANDataModule(dataset="digits")
    src = domain.WEIGHTS_DIR / "domain_digits.pt"
    copy = tmp_path / "domain_digits.pt"
    copy.write_bytes(src.read_bytes() + b"\0")
    copy.with_suffix(".json").write_text(src.with_suffix(".json").read_text())
    with pytest.raises(ConfigError, match="modified"):
        domain.load_domain_extractor(dm, weights_path=str(copy))


def test_toy_data_has_no_domain_extractor():
    with pytest.raises(ConfigError, match="toy"):
        domain.load_domain_extractor(GANDataModule(dataset="ring8"))


def test_training_script_writes_weights_and_record(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "train_classifier", ROOT / "scripts" / "train_classifier.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "clf.pt"
    meta = script.main(["--dataset", "digits", "--steps", "20", "--out", str(out)])
    assert meta["sha256"] == sha256_file(out)
    assert json.loads(out.with_suffix(".json").read_text())["steps"] == 20
    dm = GANDataModule(dataset="digits")
    dm.setup("fit")
    extractor = domain.load_domain_extractor(dm, weights_path=str(out))
    for split in ("train", "test"):  # the recorded accuracies are the written weights'
        accuracy = measured_accuracy(extractor, dm, split)
        assert accuracy == pytest.approx(meta[f"{split}_accuracy"], abs=1e-4), split
