"""Loading the InceptionV3 extractor offline.

The weights used here are a state dict of the right keys and shapes that the test writes
itself from the randomly initialised network: its numbers are NOT reference numbers, they
only show that the loading path, the grayscale tiling and the resize work as documented.
"""

from __future__ import annotations

from unittest import mock

import pytest
import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
from torchmetrics.image.fid import NoTrainInceptionV3

from ganzoo.metrics.inception import (
    INCEPTION_ENV,
    INCEPTION_FILE,
    InceptionExtractor,
    InceptionWeightsNotFoundError,
    resolve_inception_weights,
)


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """A random-init InceptionV3 state dict, built without loading any weights."""
    with (
        mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None),
        mock.patch("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url"),
    ):
        torch.manual_seed(0)
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    path = tmp_path_factory.mktemp("inception") / INCEPTION_FILE
    torch.save(net.state_dict(), path)
    return path


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.fixture
def offline_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def test_offline_without_weights_gives_one_clear_error(offline_home):
    with pytest.raises(InceptionWeightsNotFoundError) as err:
        resolve_inception_weights()
    message = str(err.value)
    assert INCEPTION_FILE in message and str(offline_home) in message
    assert "\n" not in message


def test_missing_explicit_path_names_the_field(offline_home, tmp_path):
    with pytest.raises(InceptionWeightsNotFoundError, match="weights_path"):
        resolve_inception_weights(tmp_path / "nope.pth")


def test_search_order_explicit_env_hub(offline_home, random_weights, tmp_path, monkeypatch):
    offline_home.mkdir(parents=True)
    hub = offline_home / INCEPTION_FILE
    hub.write_bytes(b"x")
    assert resolve_inception_weights() == hub
    monkeypatch.setenv(INCEPTION_ENV, str(random_weights))
    assert resolve_inception_weights() == random_weights
    other = tmp_path / "explicit.pth"
    other.write_bytes(b"y")
    assert resolve_inception_weights(other) == other


def test_loads_weights_tiles_gray_and_resizes_like_torch_fidelity(offline_home, random_weights):
    extractor = InceptionExtractor(weights_path=random_weights)
    gray = torch.randint(
        0, 256, (2, 1, 28, 28), generator=torch.Generator().manual_seed(0), dtype=torch.uint8
    )
    rgb = gray.expand(-1, 3, -1, -1).contiguous()
    with torch.no_grad():
        features, logits = extractor(gray)
        assert features.shape == (2, 2048) and logits.shape == (2, 1008)
        assert torch.equal(features, extractor(rgb)[0])  # grayscale tiled to 3 channels
        # torchmetrics' own Inception agrees only with antialias=False (TF1-style resize)
        tm_tf1 = NoTrainInceptionV3(
            "inception-v3-compat", ["2048"], str(random_weights), antialias=False
        )
        tm_aa = NoTrainInceptionV3(
            "inception-v3-compat", ["2048"], str(random_weights), antialias=True
        )
        # random weights give tiny activations: compare relative to the features' norm
        assert relative_error(tm_tf1(rgb), features) < 1e-5
        assert relative_error(tm_aa(rgb), features) > 1e-3
    from ganzoo.metrics.extractors import sha256_file

    assert extractor.weights_sha256 == sha256_file(random_weights)
