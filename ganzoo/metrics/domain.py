"""The domain classifier: a small CNN trained by the project on a dataset's training split.

Used where Inception is unavailable or inappropriate (the usual practice for MNIST-like
data): its penultimate layer (global-average-pooled last conv block, 128-d, the analogue of
Inception's pool3) gives the FID/KID features and its class logits give the Inception Score
and the label metrics (CGAN label consistency, InfoGAN code accuracy).

Weights are frozen and identified by their sha256. For the default ``mnist5k`` and
``digits`` splits they are committed in ``ganzoo/metrics/weights/`` (made by
``python scripts/train_classifier.py --dataset mnist5k``; accuracy in the json), so every
machine computes the same numbers. For any other dataset or split the same recipe trains one
on demand (seeded) and caches it under ``$GANZOO_CACHE/classifiers``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ganzoo.data.datamodule import train_and_val
from ganzoo.data.registry import cache_key
from ganzoo.errors import ConfigError
from ganzoo.metrics import frozen
from ganzoo.metrics.extractors import FeatureExtractor
from ganzoo.metrics.frozen import WEIGHTS_DIR  # noqa: F401  (where the committed weights are)

Tensor = torch.Tensor

SCRIPT = "scripts/train_classifier.py"
RECIPE_VERSION = 1  # bump when the architecture or the training recipe changes
DEFAULT_STEPS = 6000
DEFAULT_WIDTHS = (16, 32, 128)
MAX_SHIFT = 2  # pixels
MAX_ROTATION = 10  # degrees
# Images one forward pass of the extractor takes at once on the CPU. At the evaluation's
# batch of 500 the first block's activations (500 x 16 x 28 x 28 floats, 25 MB) outgrow the
# CPU's caches: 1,000 images took 143 ms in batches of 500 and 81 ms in chunks of 128 (AMD
# EPYC, 1 thread; torch-fidelity's batches of 64 gain the same), the same bits either way.
CPU_CHUNK = 128


class DomainClassifier(nn.Module):
    """Three conv blocks (3x3 conv, batch norm, ReLU; max-pool after the first two), global
    average pooling to ``widths[-1]`` features, and a linear layer to the class logits.
    Input: float images in [-1, 1] of shape ``data_shape`` (side >= 4)."""

    def __init__(
        self,
        *,
        data_shape: tuple[int, ...],
        num_classes: int,
        widths: tuple[int, ...] = DEFAULT_WIDTHS,
    ) -> None:
        super().__init__()
        channels = data_shape[0]
        layers: list[nn.Module] = []
        for i, width in enumerate(widths):
            layers += [
                nn.Conv2d(channels, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            channels = width
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(channels, num_classes)
        self.num_features = channels

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.features(x)
        return h, self.head(h)


class DomainExtractor(FeatureExtractor):
    """uint8 images -> (penultimate features, logits) of a frozen :class:`DomainClassifier`."""

    name = "domain"
    feature_layer = "penultimate layer (global average pool of the last conv block)"

    def __init__(self, classifier: DomainClassifier, weights_sha256: str) -> None:
        super().__init__()
        self.classifier = classifier.eval().requires_grad_(False)
        self.weights_sha256 = weights_sha256
        self.num_features = classifier.num_features
        self.num_logits = classifier.head.out_features

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """In chunks of :data:`CPU_CHUNK` images on the CPU (each image's outputs do not
        depend on the others': the network is in eval mode)."""
        x = images.to(self.dtype) / 127.5 - 1.0
        if x.device.type != "cpu" or len(x) <= CPU_CHUNK:
            return self.classifier(x)
        parts = [self.classifier(chunk) for chunk in x.split(CPU_CHUNK)]
        return torch.cat([f for f, _ in parts]), torch.cat([lg for _, lg in parts])


# ----------------------------------------------------------------------------- identity
def classifier_key(datamodule) -> dict[str, Any]:
    """Everything that determines which images the classifier trains on and its input shape:
    the data's registry key plus the training recipe's version. It trains on the images the
    test split was held out from, validation split included (:func:`train_and_val`), so
    ``val_size`` is not part of its key."""
    key = {**cache_key(datamodule), "recipe": RECIPE_VERSION}
    key.pop("val_size", None)
    return key


def committed_weights(datamodule) -> Path | None:
    """The committed weights file matching ``datamodule``'s data and split, if any."""
    return frozen.committed_weights("domain", classifier_key(datamodule))


def load_classifier(path: str | Path, data_shape, num_classes: int) -> tuple[DomainClassifier, str]:
    """A classifier from a state-dict file; returns it with the file's sha256."""
    digest = frozen.verified_sha256(path, "domain classifier", SCRIPT)
    model = DomainClassifier(data_shape=tuple(data_shape), num_classes=num_classes)
    return frozen.load_state(model, path), digest


def load_domain_extractor(
    datamodule, *, weights_path: str | None = None, cache_dir: str | Path | None = None
) -> DomainExtractor:
    """The domain extractor for ``datamodule``: explicit ``weights_path``, else the committed
    weights for this data and split, else a cached one, else train one now (and cache it)."""
    if datamodule.is_toy:
        raise ConfigError(
            f"extractor: 'domain' is for image datasets; {datamodule.dataset_name!r} is toy data"
        )
    if datamodule.num_classes < 2:
        raise ConfigError(
            f"extractor: 'domain' needs labelled data; {datamodule.dataset_name!r} has "
            f"{datamodule.num_classes} classes (use extractor: inception)"
        )
    shape, classes = datamodule.data_shape, datamodule.num_classes
    path = weights_path or committed_weights(datamodule)
    if path is None:
        path = cached_weights_path(datamodule, cache_dir)
        if not path.is_file():
            save_classifier(*train_classifier(datamodule), path)
    model, digest = load_classifier(path, shape, classes)
    return DomainExtractor(model, digest)


def cached_weights_path(datamodule, cache_dir: str | Path | None = None) -> Path:
    return frozen.cached_weights_path("domain", "classifiers", classifier_key(datamodule), cache_dir)


# ----------------------------------------------------------------------------- training
def _augment(x: Tensor, generator: torch.Generator) -> Tensor:
    """Random shifts of up to ``MAX_SHIFT`` pixels and rotations of up to ``MAX_ROTATION``
    degrees, drawn per image."""
    n, side = x.shape[0], x.shape[-1]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(MAX_ROTATION)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 * MAX_SHIFT / side)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # pad with the background value (-1) rather than zero (mid-gray)
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


@torch.no_grad()
def accuracy(model: nn.Module, dataset, batch_size: int = 500) -> float:
    model.eval()
    correct = total = 0
    for x, y in DataLoader(dataset, batch_size=batch_size):
        _, logits = model(x)
        correct += int((logits.argmax(1) == y).sum())
        total += len(y)
    return correct / total


def train_classifier(
    datamodule,
    *,
    seed: int = 0,
    steps: int = DEFAULT_STEPS,
    batch_size: int = 64,
    lr: float = 3e-3,
) -> tuple[DomainClassifier, dict[str, Any]]:
    """Train a :class:`DomainClassifier` on ``datamodule``'s **train** split; accuracy on its
    test split. Seeded; ``steps`` Adam steps (a fixed budget whatever the dataset size) with a
    one-cycle learning rate and shift/rotation augmentation. Trained long enough to be
    confident: the Inception Score of real data needs near one-hot predictions.

    Returns:
        The model (eval mode) and a report: key, seed, steps, accuracies, seconds.
    """
    datamodule.setup("fit")
    train, test = train_and_val(datamodule), datamodule.split("test")
    torch.manual_seed(seed)
    model = DomainClassifier(data_shape=datamodule.data_shape, num_classes=datamodule.num_classes)
    order = torch.Generator().manual_seed(seed)
    aug = torch.Generator().manual_seed(seed + 1)
    loader = DataLoader(train, batch_size=batch_size, shuffle=True, generator=order, drop_last=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    start = time.time()
    frozen.train_steps(
        model, loader, lambda batch: F.cross_entropy(model(_augment(batch[0].float(), aug))[1],
                                                     batch[1]), opt, sched, steps)
    report = {
        "key": classifier_key(datamodule),
        "seed": seed,
        "steps": steps,
        "augmentation": {"max_shift_px": MAX_SHIFT, "max_rotation_deg": MAX_ROTATION},
        "widths": list(DEFAULT_WIDTHS),
        "batch_size": batch_size,
        "lr": lr,
        "train_size": len(train),
        "test_size": len(test),
        "train_accuracy": round(accuracy(model, train), 4),
        "test_accuracy": round(accuracy(model, test), 4),
        "train_seconds": round(time.time() - start, 1),
        "torch": torch.__version__,
    }
    return model, report


def save_classifier(model: DomainClassifier, report: dict[str, Any], path: str | Path) -> dict:
    """Write the state dict to ``path`` and ``report`` + its sha256 to ``path.json``."""
    return frozen.save_weights(model, report, path)
