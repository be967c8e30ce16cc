"""The real floor: the evaluation's image metrics for real training images in place of the
fakes, recorded in the protocol, computed once per protocol and cached on disk; and the
protocol fields every table header prints."""

from __future__ import annotations

from unittest import mock

import pytest

from ganzoo.data import GANDataModule
from ganzoo.metrics import build_extractor, evaluate, floor, frechet_distance
from ganzoo.metrics.real_stats import real_features
from ganzoo.models import VanillaGAN

SETTINGS = {"num_samples": 200, "batch_size": 100, "kid_subset_size": 100, "kid_subsets": 3}


@pytest.fixture(scope="module")
def digits():
    dm = GANDataModule(dataset="digits")
    dm.setup("fit")
    return dm, VanillaGAN(data_shape=dm.data_shape, num_classes=10, g_width=8, d_width=8)


def test_floor_is_recorded_once_per_protocol_and_is_train_images_against_the_reference(
        tmp_path, digits):
    dm, model = digits
    spy = mock.patch.object(floor, "compute_floor", side_effect=floor.compute_floor)
    with spy as compute:
        first = evaluate(model, dm, cache_dir=str(tmp_path), **SETTINGS)["protocol"]
        again = evaluate(model, dm, cache_dir=str(tmp_path), **SETTINGS)["protocol"]
        assert compute.call_count == 1  # the second evaluation read it from the cache
        other = evaluate(model, dm, cache_dir=str(tmp_path), **{**SETTINGS, "seed": 1})
        assert compute.call_count == 2  # another seed: another subset, another floor
    assert first["real_floor"] == again["real_floor"] != other["protocol"]["real_floor"]
    assert first["real_floor_n"] == 200 and first["real_floor_split"] == "train"
    values = first["real_floor"]
    assert {"fid", "is", "kid", "fid_inf", "precision", "coverage", "fid_ae", "kid_ae"} <= set(values)
    assert "memorization" not in values  # training images are copies by construction
    # by definition: 200 seeded training images against the whole test split
    extractor = build_extractor("domain", dm)
    train = real_features(dm, "train", extractor, num_real=200, seed=0, cache_dir=tmp_path)
    test = real_features(dm, "test", extractor, cache_dir=tmp_path)
    assert values["fid"] == pytest.approx(frechet_distance(test.features, train.features))
    assert values["fid"] < 0.2 * evaluate(model, dm, cache_dir=str(tmp_path), real_floor=False,
                                          metrics=["fid"], **SETTINGS)["metrics"]["fid"]


def test_protocol_names_the_features_their_size_and_the_reference_split_size(tmp_path, digits):
    dm, model = digits
    out = evaluate(model, dm, cache_dir=str(tmp_path), real_floor=False, **SETTINGS)
    p = out["protocol"]
    assert p["feature_layer"].startswith("penultimate") and p["num_features"] == 128
    assert p["reference_size"] == len(dm.split("test")) == p["num_real"]
    assert p["fid_inf_sizes"] == [50, 100, 150, 200]
    assert p["autoencoder_features"] == 64 and len(p["autoencoder_sha256"]) == 64
    assert p["precision_recall_k"] == 3 and p["density_coverage_k"] == 5
    assert "real_floor" not in p


def test_the_toy_floor_covers_every_mode_and_says_what_is_measured(tmp_path):
    dm = GANDataModule(dataset="ring8", toy_samples=2000)
    model = VanillaGAN(data_shape=(2,), num_classes=1, arch="mlp", g_width=8, d_width=8)
    p = evaluate(model, dm, num_samples=1000, cache_dir=str(tmp_path))["protocol"]
    assert p["measured_on"] == "no feature extractor: modes and densities on the 2-D samples"
    assert p["real_floor"]["modes_covered"] == 8 and p["real_floor"]["hq_percent"] > 95


def test_the_autoencoder_can_be_the_evaluation_s_own_extractor(tmp_path, digits):
    dm, model = digits
    out = evaluate(model, dm, extractor="autoencoder", cache_dir=str(tmp_path),
                   metrics=["fid", "is", "autoencoder_space"], real_floor=False, **SETTINGS)
    assert "is" not in out["metrics"]  # no classes, no Inception Score
    assert out["metrics"]["fid"] == out["metrics"]["fid_ae"]
