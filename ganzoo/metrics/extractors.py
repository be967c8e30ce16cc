"""Feature extractors for FID / IS / KID and how images reach them.

Every extractor is an ``nn.Module`` that takes **uint8** images ``(N, C, H, W)`` and returns
``(features, logits)``: ``features`` for FID and KID (Inception's 2048-d pool3, or the domain
classifier's penultimate layer) and ``logits`` for the Inception Score and label metrics.

Quantisation. Generators and the DataModule give floats in [-1, 1]; both are turned into
uint8 by :func:`to_uint8`, ``round((x + 1) * 127.5)`` clipped to 0..255, before any extractor
sees them. This is exact for the embedded datasets (stored as uint8) and is the input format
torch-fidelity expects, so the torchmetrics path and torch-fidelity's own API see identical
bytes.

Every result names the extractor and the sha256 of its weights (``name``,
``weights_sha256``), so a number can be traced to the network that produced it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

Tensor = torch.Tensor

def to_uint8(x: Tensor) -> Tensor:
    """Images in [-1, 1] (any float dtype) to uint8 0..255 by rounding; uint8 passes through."""
    if x.dtype == torch.uint8:
        return x
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FeatureExtractor(nn.Module):
    """Base class: ``forward(uint8 images) -> (features, logits)``; never trains.

    Attributes:
        name: ``"domain"``, ``"inception"`` or ``"autoencoder"`` (written next to every number).
        feature_layer: which layer the features are (written into the protocol).
        weights_sha256: sha256 of the weights file that was loaded.
        num_features: size of the FID/KID features.
        num_logits: size of the logits (classes; 0 for an extractor without them).
    """

    name: str = ""
    feature_layer: str = ""
    weights_sha256: str = ""
    num_features: int = 0
    num_logits: int = 0

    def train(self, mode: bool = True) -> FeatureExtractor:
        return super().train(False)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


def iter_batches(images: Tensor | Dataset, batch_size: int) -> Iterator[Tensor]:
    """Batches of images from a tensor or from a Dataset of ``(x, label)`` / ``x`` items."""
    if isinstance(images, Tensor):
        yield from images.split(batch_size)
        return
    # an own generator: iterating a DataLoader otherwise draws a seed from the global RNG
    loader = DataLoader(
        images, batch_size=batch_size, shuffle=False, num_workers=0, generator=torch.Generator()
    )
    for batch in loader:
        yield batch[0] if isinstance(batch, list | tuple) else batch


@torch.no_grad()
def extract(
    extractor: FeatureExtractor, images: Tensor | Dataset, batch_size: int = 500
) -> tuple[Tensor, Tensor]:
    """``(features, logits)`` of all ``images`` (floats in [-1, 1] or uint8), on the CPU."""
    feats, logits = [], []
    for batch in iter_batches(images, batch_size):
        f, lg = extractor(to_uint8(batch).to(extractor.device))
        feats.append(f.cpu())
        logits.append(lg.cpu())
    return torch.cat(feats), torch.cat(logits)
