import gzip
import struct

import numpy as np
import pytest
import torch

from ganzoo.data import GANDataModule
from ganzoo.data.registry import toy_centers
from ganzoo.errors import ConfigError, DataNotFoundError


def first_batch(dm):
    return next(iter(dm.train_dataloader()))


def test_mnist5k_split_shapes_and_range():
    dm = GANDataModule(dataset="mnist5k", batch_size=32)
    dm.setup("fit")
    train, test = dm.split("train"), dm.split("test")
    assert (len(train), len(test)) == (4000, 1000)
    x, y = train[:]
    assert x.shape == (4000, 1, 28, 28) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.equal(y.bincount(), torch.full((10,), 400))
    assert torch.equal(test[:][1].bincount(), torch.full((10,), 100))
    assert dm.data_shape == (1, 28, 28) and dm.num_classes == 10
    xb, yb = first_batch(dm)
    assert xb.shape == (32, 1, 28, 28) and yb.shape == (32,)


def test_split_and_batch_order_are_deterministic():
    a, b = GANDataModule(dataset="digits", seed=3), GANDataModule(dataset="digits", seed=3)
    a.setup(), b.setup()
    assert torch.equal(a.split("test")[:][0], b.split("test")[:][0])
    assert all(torch.equal(u, v) for u, v in zip(first_batch(a), first_batch(b), strict=True))
    c = GANDataModule(dataset="digits", seed=4)
    c.setup()
    assert not torch.equal(first_batch(a)[0], first_batch(c)[0])
    d = GANDataModule(dataset="digits", split_seed=1)
    d.setup()
    assert not torch.equal(a.split("test")[:][0], d.split("test")[:][0])


def test_train_and_test_are_disjoint():
    dm = GANDataModule(dataset="digits")
    dm.setup()
    train = {tuple(r.flatten().tolist()) for r in dm.split("train")[:][0]}
    test = [tuple(r.flatten().tolist()) for r in dm.split("test")[:][0]]
    # digits has a handful of exact duplicate images; the splits share no index.
    assert sum(t in train for t in test) < 5


def test_digits_native_and_resized():
    dm = GANDataModule(dataset="digits")
    dm.setup()
    assert len(dm.split("train")) + len(dm.split("test")) == 1797
    assert dm.data_shape == (1, 8, 8)
    big = GANDataModule(dataset="digits", image_size=16)
    big.setup()
    x = big.split("train")[:][0]
    assert x.shape[1:] == (1, 16, 16) and x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("name,dim,modes", [("gauss1d", 1, 2), ("ring8", 2, 8), ("grid25", 2, 25)])
def test_toy_data_follows_its_mixture(name, dim, modes):
    dm = GANDataModule(dataset=name, toy_samples=2000, toy_std=0.05)
    dm.setup()
    x, y = dm.split("train")[:]
    assert x.shape == (2000, dim) and dm.data_shape == (dim,) and dm.num_classes == modes
    centers = toy_centers(name)
    assert (x - centers[y]).abs().max() < 0.05 * 6
    assert len(y.unique()) == modes


def test_unknown_dataset_and_bad_values():
    with pytest.raises(ConfigError, match="data.dataset: unknown 'foo'; allowed: mnist5k"):
        GANDataModule(dataset="foo")
    with pytest.raises(ConfigError, match="data.batch_size"):
        GANDataModule(batch_size=0)


def test_missing_torchvision_files_give_one_clear_error(tmp_path):
    dm = GANDataModule(dataset="mnist", root=str(tmp_path))
    with pytest.raises(DataNotFoundError) as err:
        dm.setup()
    msg = str(err.value)
    assert f"{tmp_path}/MNIST/raw" in msg and "data.download=true" in msg and "\n" not in msg


def write_idx(path, array: np.ndarray) -> None:
    magic = {3: 2051, 1: 2049}[array.ndim]
    with gzip.open(path, "wb") if str(path).endswith(".gz") else open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape))
        f.write(array.astype(np.uint8).tobytes())


def test_torchvision_mnist_reads_files_in_the_expected_layout(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 10)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    dm = GANDataModule(dataset="mnist", root=str(tmp_path), batch_size=4, num_workers=0)
    dm.setup()
    assert (len(dm.split("train")), len(dm.split("test"))) == (20, 10)
    x, y = first_batch(dm)
    assert x.shape == (4, 1, 28, 28) and x.min() >= -1 and x.max() <= 1 and y.dtype == torch.int64


def test_image_folder(tmp_path):
    from PIL import Image

    for c in ("cats", "dogs"):
        (tmp_path / c).mkdir()
        for i in range(5):
            Image.fromarray(np.full((40, 50, 3), 40 * i, np.uint8)).save(tmp_path / c / f"{i}.png")
    dm = GANDataModule(dataset="folder", root=str(tmp_path), image_size=32, batch_size=2,
                       num_workers=0)
    assert dm.num_classes == 2 and dm.data_shape == (3, 32, 32)
    dm.setup()
    assert len(dm.split("train")) + len(dm.split("test")) == 10
    assert first_batch(dm)[0].shape == (2, 3, 32, 32)


def test_default_workers():
    assert GANDataModule(dataset="mnist5k").num_workers == 0
    assert GANDataModule(dataset="cifar10").num_workers >= 0


def test_batch_order_depends_only_on_seed_and_epoch():
    """A resumed run must see the same order as an uninterrupted one."""
    dm = GANDataModule(dataset="digits", seed=0)
    dm.setup()
    loader = dm.train_dataloader()
    epoch0 = [y for _, y in loader]
    loader.sampler.set_epoch(1)
    epoch1 = [y for _, y in loader]
    fresh = dm.train_dataloader()
    fresh.sampler.set_epoch(1)
    assert all(torch.equal(a, b) for a, b in zip(epoch1, [y for _, y in fresh], strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(epoch0, epoch1, strict=True))


@pytest.mark.parametrize("dataset", ["digits", "ring8"])
def test_tensor_batches_serve_the_per_sample_loaders_batches(dataset):
    """The in-memory fast path indexes each tensor once per batch; it must yield exactly the
    batches (values, dtypes, order) of the per-sample DataLoader with default_collate."""
    fast = GANDataModule(dataset=dataset, batch_size=32)
    slow = GANDataModule(dataset=dataset, batch_size=32, tensor_batches=False)
    for epoch in (0, 3):
        a, b = fast.train_dataloader(), slow.train_dataloader()
        a.sampler.set_epoch(epoch)
        b.sampler.set_epoch(epoch)
        pairs = list(zip(a, b, strict=True))
        assert len(pairs) == len(slow.split("train")) // 32
        for (xa, ya), (xb, yb) in pairs:
            assert xa.dtype == xb.dtype and ya.dtype == yb.dtype
            assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert type(fast.train_dataloader().dataset).__name__ == "TensorBatches"
