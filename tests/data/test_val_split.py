"""``data.val_size``: a fixed, stratified validation split carved out of the training split."""

from __future__ import annotations

import pytest
import torch

from ganzoo.data import GANDataModule
from ganzoo.data.datamodule import train_and_val
from ganzoo.data.registry import cache_key
from ganzoo.errors import ConfigError
from ganzoo.metrics.domain import classifier_key


def splits(**kw):
    dm = GANDataModule(dataset="digits", **kw)
    dm.setup("fit")
    return dm


def test_val_is_carved_out_of_train_stratified_and_fixed():
    plain, carved = splits(), splits(val_size=100)
    train, val, test = (carved.split(s) for s in ("train", "val", "test"))
    assert len(val) == 100 and len(train) == len(plain.split("train")) - 100
    assert torch.equal(test.tensors[0], plain.split("test").tensors[0])  # test untouched
    # no image in two splits: train and val together are the former training split
    union = torch.cat([train.tensors[0], val.tensors[0]])
    assert len(union) == len(plain.split("train"))
    assert set(map(bytes, union.flatten(1).numpy())) == set(
        map(bytes, plain.split("train").tensors[0].flatten(1).numpy()))
    counts = torch.bincount(val.tensors[1], minlength=10)
    assert counts.max() - counts.min() <= 1  # stratified
    again = splits(val_size=100).split("val")
    assert torch.equal(again.tensors[0], val.tensors[0])  # fixed
    other = splits(val_size=100, split_seed=1).split("val")
    assert not torch.equal(other.tensors[0], val.tensors[0])
    assert len(train_and_val(carved)) == len(plain.split("train"))


def test_without_val_size_there_is_no_val_split():
    with pytest.raises(ConfigError, match="split: unknown 'val'"):
        splits().split("val")


def test_val_size_enters_the_data_key_but_not_the_classifier_key():
    plain, carved = splits(), splits(val_size=100)
    assert cache_key(plain) != cache_key(carved)  # features of train/val differ
    assert classifier_key(plain) == classifier_key(carved)  # it trains on train + val


@pytest.mark.parametrize("size, message", [(-1, "must be >= 0"), (10_000, "leaves no training")])
def test_a_bad_val_size_is_one_line(size, message):
    with pytest.raises(ConfigError, match=f"data.val_size: .*{message}"):
        splits(val_size=size)
