"""The standard InceptionV3 feature extractor (TF 2015-12-05 weights, as torch-fidelity uses).

Numbers comparable with papers need this exact network: it is torch-fidelity's own
``FeatureExtractorInceptionV3`` (the weights converted from the TensorFlow graph used by the
original FID and IS code), with features ``"2048"`` (pool3, for FID and KID) and
``"logits_unbiased"`` (for IS).

Resize: torch-fidelity's TF1-style bilinear resize to 299 x 299
(``interpolate_bilinear_2d_like_tensorflow1x``, no antialiasing) inside the network's forward,
so the torchmetrics path here and torch-fidelity's API resize identically. (torchmetrics' own
Inception, >= 1.8, defaults to ``antialias=True``, which gives different numbers; it is not
used.) Grayscale images are tiled to 3 channels (compare_gan's convention).

Weights, in this order: an explicit path (``weights_path``, the callback's ``weights_path``
field), the environment variable ``GANZOO_INCEPTION_WEIGHTS``, the torch hub cache
(``$TORCH_HOME/hub/checkpoints/weights-inception-2015-12-05-6726825d.pth``, where
torch-fidelity puts it), else a download unless ``GANZOO_OFFLINE=1``. Offline with no weights
raises :class:`InceptionWeightsNotFoundError`, one line naming the file and where to put it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_inceptionv3 import (
    URL_INCEPTION_V3,
    FeatureExtractorInceptionV3,
)

from ganzoo.errors import GanzooError
from ganzoo.metrics.extractors import FeatureExtractor, sha256_file

Tensor = torch.Tensor

INCEPTION_FILE = URL_INCEPTION_V3.rsplit("/", 1)[1]  # weights-inception-2015-12-05-6726825d.pth
INCEPTION_ENV = "GANZOO_INCEPTION_WEIGHTS"
OFFLINE_ENV = "GANZOO_OFFLINE"


class InceptionWeightsNotFoundError(GanzooError, FileNotFoundError):
    """The Inception weights file is not on this machine and cannot be downloaded."""


def hub_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def resolve_inception_weights(
    weights_path: str | os.PathLike | None = None, *, allow_download: bool | None = None
) -> Path:
    """The path of the Inception weights: explicit path, ``$GANZOO_INCEPTION_WEIGHTS``, hub
    cache, else a download into the hub cache (unless offline)."""
    explicit = weights_path or os.environ.get(INCEPTION_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            source = "weights_path" if weights_path else INCEPTION_ENV
            raise InceptionWeightsNotFoundError(
                f"{source}: Inception weights {str(path)!r} not found; it should be the file "
                f"{INCEPTION_FILE} ({URL_INCEPTION_V3})"
            )
        return path
    cached = hub_weights_path()
    if cached.is_file():
        return cached
    if allow_download is None:
        allow_download = os.environ.get(OFFLINE_ENV, "0") in ("", "0")
    why = f"downloads are off (${OFFLINE_ENV}=1)"
    if allow_download:
        cached.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(URL_INCEPTION_V3, str(cached), progress=False)
            return cached
        except OSError as err:  # URLError and socket errors: reported below, with the reason
            why = f"the download failed: {type(err).__name__}: {err}"
    raise InceptionWeightsNotFoundError(
        f"weights_path: Inception weights {INCEPTION_FILE} not found and {why}; "
        f"put the file at {cached} or set weights_path / ${INCEPTION_ENV} to it "
        f"(from {URL_INCEPTION_V3})"
    )


class InceptionExtractor(FeatureExtractor):
    """torch-fidelity's InceptionV3: uint8 (N, 1 or 3, H, W) -> (pool3 2048-d, logits 1008-d)."""

    name = "inception"
    feature_layer = "pool3 (the average pool before the logits)"
    num_features = 2048
    num_logits = 1008

    def __init__(self, weights_path: str | os.PathLike | None = None) -> None:
        super().__init__()
        path = resolve_inception_weights(weights_path)
        self.weights_path = path
        self.weights_sha256 = sha256_file(path)
        self.net = FeatureExtractorInceptionV3(
            "inception-v3-compat",
            ["2048", "logits_unbiased"],
            feature_extractor_weights_path=str(path),
        )

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        features, logits = self.net(images.contiguous())
        return features, logits
