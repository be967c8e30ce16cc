"""The real-feature cache: computed once, reused, and invalidated by what changes it."""

from __future__ import annotations

import copy
from unittest import mock

import torch

from ganzoo.metrics import real_features
from ganzoo.metrics import real_stats as rs


def test_second_use_does_not_recompute(digits_dm, digits_domain, tmp_path):
    first = real_features(digits_dm, "test", digits_domain, cache_dir=tmp_path)
    assert first.computed and first.path.is_file()
    assert len(first.features) == len(digits_dm.split("test")) == len(first.labels)
    with mock.patch.object(rs, "extract", side_effect=AssertionError("recomputed")):
        second = real_features(digits_dm, "test", digits_domain, cache_dir=tmp_path)
    assert not second.computed and second.path == first.path
    assert (second.features == first.features).all()


def test_split_extractor_and_subset_change_the_key(digits_dm, digits_domain, tmp_path):
    base = real_features(digits_dm, "test", digits_domain, cache_dir=tmp_path)
    train = real_features(digits_dm, "train", digits_domain, cache_dir=tmp_path)
    assert train.computed and train.path != base.path
    other = copy.deepcopy(digits_domain)
    other.weights_sha256 = "0" * 64  # same architecture, other weights
    retrained = real_features(digits_dm, "test", other, cache_dir=tmp_path)
    assert retrained.computed and retrained.path != base.path
    subset = real_features(
        digits_dm, "test", digits_domain, num_real=100, seed=3, cache_dir=tmp_path
    )
    assert subset.computed and len(subset.features) == 100
    assert subset.key["num_real"] == 100 and subset.key["subset_seed"] == 3
    # the key names everything that produced the features
    assert base.key["extractor"] == "domain"
    assert base.key["weights_sha256"] == digits_domain.weights_sha256
    assert base.key["split"] == "test"


def test_stale_file_with_another_key_is_recomputed(digits_dm, digits_domain, tmp_path):
    first = real_features(digits_dm, "test", digits_domain, cache_dir=tmp_path)
    stored = torch.load(first.path, weights_only=True)
    stored["key"] = {**stored["key"], "version": -1}
    torch.save(stored, first.path)
    again = real_features(digits_dm, "test", digits_domain, cache_dir=tmp_path)
    assert again.computed


def test_labels_follow_the_subset(digits_dm, digits_domain, tmp_path):
    sub = real_features(digits_dm, "test", digits_domain, num_real=50, seed=1, cache_dir=tmp_path)
    idx = rs.reference_indices(len(digits_dm.split("test")), 50, 1)
    assert (sub.labels == digits_dm.split("test").tensors[1][idx]).all()


def test_a_truncated_cache_file_is_recomputed_with_a_warning(digits_dm, digits_domain, tmp_path):
    import pytest

    first = real_features(digits_dm, "test", digits_domain, cache_dir=tmp_path)
    data = first.path.read_bytes()
    first.path.write_bytes(data[: len(data) // 2])  # a kill or a full disk while it was written
    with pytest.warns(UserWarning, match=f"real-feature cache {first.path} is unreadable"):
        again = real_features(digits_dm, "test", digits_domain, cache_dir=tmp_path)
    assert again.computed and torch.equal(again.features, first.features)
    assert not real_features(digits_dm, "test", digits_domain, cache_dir=tmp_path).computed
