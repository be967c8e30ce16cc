"""A class-agnostic feature space: a small convolutional autoencoder trained without labels.

The domain classifier's features (:mod:`ganzoo.metrics.domain`) are trained to tell the
classes apart, so they discard what does not decide the class (stroke width, slant, a digit's
individual shape). A ranking of GANs by FID in that space may reflect how well the fakes fit
the classifier rather than the images. The autoencoder's bottleneck is trained only to
reconstruct each image (mean squared error, no labels), so it keeps the individual image: FID
and KID in it (:mod:`ganzoo.metrics.scores.autoencoder_space`) are a second opinion, and
nearest-neighbour distances in it compare individual images (the memorization test,
:mod:`ganzoo.metrics.scores.memorization`; Meehan et al. 2020 measure MNIST in an
autoencoder's latent space for the same reason).

Architecture: two 3x3 stride-2 conv blocks (ReLU), a linear bottleneck of ``BOTTLENECK``
features, and the mirror image (linear, two 4x4 stride-2 transposed convs, tanh); any image
side >= 4 works (the decoder crops back to the encoder's sizes). The bottleneck ends in a batch
norm without affine parameters, so the features have about zero mean and unit variance per
dimension on the training images: KID's polynomial kernel ``(x.y / d + 1)^3`` then sees the
scale it was designed for (unscaled codes made its values swing by units between real sets). Training is seeded, on the
images the test split was held out from (``train_and_val``), with Adam for a fixed number of
steps. The weights for mnist5k and digits are committed in ``ganzoo/metrics/weights/`` (made
by ``python scripts/train_autoencoder.py --dataset <name>``; time, loss and sha256 in the
json); any other dataset or split gets one trained on demand and cached
(:mod:`ganzoo.metrics.frozen`).
"""

from __future__ import annotations

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

Tensor = torch.Tensor

RECIPE_VERSION = 1  # bump when the architecture or the training recipe changes
BOTTLENECK = 64
WIDTHS = (16, 32)
DEFAULT_STEPS = 3000
SCRIPT = "scripts/train_autoencoder.py"


class ConvAutoencoder(nn.Module):
    """Encoder ``x -> z`` (``BOTTLENECK`` features) and decoder ``z -> x`` for images in
    [-1, 1] of shape ``data_shape``."""

    def __init__(self, *, data_shape: tuple[int, ...], bottleneck: int = BOTTLENECK,
                 widths: tuple[int, int] = WIDTHS) -> None:
        super().__init__()
        channels, side = data_shape[0], data_shape[-1]
        self.sizes = [side, (side + 1) // 2, (side + 3) // 4]  # each stride-2 conv: ceil(n / 2)
        inner = widths[1] * self.sizes[2] ** 2
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, widths[0], 3, 2, 1), nn.ReLU(),
            nn.Conv2d(widths[0], widths[1], 3, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(inner, bottleneck),
            nn.BatchNorm1d(bottleneck, affine=False),  # standardised codes (see below)
        )
        self.expand = nn.Sequential(nn.Linear(bottleneck, inner), nn.ReLU())
        self.up1 = nn.ConvTranspose2d(widths[1], widths[0], 4, 2, 1)
        self.up2 = nn.ConvTranspose2d(widths[0], channels, 4, 2, 1)
        self.widths = widths
        self.num_features = bottleneck

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        s = self.sizes
        h = self.expand(z).view(len(z), self.widths[1], s[2], s[2])
        h = F.relu(self.up1(h)[..., : s[1], : s[1]])
        return torch.tanh(self.up2(h)[..., : s[0], : s[0]])

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


class AutoencoderExtractor(FeatureExtractor):
    """uint8 images -> (bottleneck features, no logits) of a frozen :class:`ConvAutoencoder`."""

    name = "autoencoder"
    feature_layer = "bottleneck of a convolutional autoencoder trained without labels"
    num_logits = 0

    def __init__(self, autoencoder: ConvAutoencoder, weights_sha256: str) -> None:
        super().__init__()
        self.autoencoder = autoencoder.eval().requires_grad_(False)
        self.weights_sha256 = weights_sha256
        self.num_features = autoencoder.num_features

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        z = self.autoencoder.encode(images.to(self.dtype) / 127.5 - 1.0)
        return z, z.new_empty(len(z), 0)


# ----------------------------------------------------------------------------- identity
def autoencoder_key(datamodule) -> dict[str, Any]:
    """The data's identity and the recipe's version. It trains on the images the test split
    was held out from, validation split included, so ``val_size`` is not part of it."""
    key = {**cache_key(datamodule), "recipe": RECIPE_VERSION, "kind": "autoencoder"}
    key.pop("val_size", None)
    return key


def committed_weights(datamodule) -> Path | None:
    return frozen.committed_weights("autoencoder", autoencoder_key(datamodule))


def cached_weights_path(datamodule, cache_dir: str | Path | None = None) -> Path:
    return frozen.cached_weights_path("autoencoder", "autoencoders", autoencoder_key(datamodule),
                                      cache_dir)


def load_autoencoder_extractor(datamodule, *, weights_path: str | None = None,
                               cache_dir: str | Path | None = None) -> AutoencoderExtractor:
    """Explicit ``weights_path``, else the committed weights for this data and split, else a
    cached one, else one trained now (and cached)."""
    if datamodule.is_toy:
        raise ConfigError(
            f"extractor: 'autoencoder' is for image datasets; {datamodule.dataset_name!r} is "
            "toy data"
        )
    path = weights_path or committed_weights(datamodule)
    if path is None:
        path = cached_weights_path(datamodule, cache_dir)
        if not path.is_file():
            frozen.save_weights(*train_autoencoder(datamodule), path)
    digest = frozen.verified_sha256(path, "autoencoder", SCRIPT)
    model = frozen.load_state(ConvAutoencoder(data_shape=tuple(datamodule.data_shape)), path)
    return AutoencoderExtractor(model, digest)


# ----------------------------------------------------------------------------- training
@torch.no_grad()
def reconstruction_error(model: ConvAutoencoder, dataset, batch_size: int = 500) -> float:
    """Mean squared error per pixel (images in [-1, 1])."""
    model.eval()
    total = count = 0.0
    for x, _ in DataLoader(dataset, batch_size=batch_size):
        total += float(F.mse_loss(model(x.float()), x.float(), reduction="sum"))
        count += x.numel()
    return total / count


def train_autoencoder(datamodule, *, seed: int = 0, steps: int = DEFAULT_STEPS,
                      batch_size: int = 64, lr: float = 2e-3) -> tuple[ConvAutoencoder, dict]:
    """Train a :class:`ConvAutoencoder` on ``train_and_val(datamodule)`` without its labels
    (mean squared error, Adam, cosine-annealed learning rate, ``steps`` steps), seeded.

    Returns:
        The model (eval mode) and a report: key, seed, steps, reconstruction errors on the
        training images and on the test split, seconds, torch threads.
    """
    datamodule.setup("fit")
    train, test = train_and_val(datamodule), datamodule.split("test")
    torch.manual_seed(seed)
    model = ConvAutoencoder(data_shape=tuple(datamodule.data_shape))
    order = torch.Generator().manual_seed(seed)
    loader = DataLoader(train, batch_size=batch_size, shuffle=True, generator=order, drop_last=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    seconds = frozen.train_steps(
        model, loader, lambda batch: F.mse_loss(model(batch[0].float()), batch[0].float()),
        opt, sched, steps)
    report = {
        "key": autoencoder_key(datamodule),
        "seed": seed,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "bottleneck": model.num_features,
        "widths": list(WIDTHS),
        "train_size": len(train),
        "test_size": len(test),
        "train_mse": round(reconstruction_error(model, train), 5),
        "test_mse": round(reconstruction_error(model, test), 5),
        "train_seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    return model, report
