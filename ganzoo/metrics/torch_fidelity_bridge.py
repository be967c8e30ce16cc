"""Run torch-fidelity's own API with a ganzoo extractor, to cross-check the torchmetrics path.

    name = register_with_torch_fidelity(extractor)
    torch_fidelity.calculate_metrics(input1=UInt8Images(fakes), input2=UInt8Images(reals),
                                     feature_extractor=name, fid=True, isc=True, kid=True,
                                     cuda=False, cache=False, save_cpu_ram=True, verbose=False)

Inputs are handed over as a Dataset of uint8 images (quantised with
:func:`~ganzoo.metrics.extractors.to_uint8`), never as a generator: torch-fidelity 0.4.0's
conditional-generator path uses the removed ``np.int`` and fails with numpy 2.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset
from torch_fidelity import FeatureExtractorBase, register_feature_extractor
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from ganzoo.metrics.extractors import FeatureExtractor, to_uint8

Tensor = torch.Tensor

FEATURES = {"fid": "pool", "kid": "pool", "isc": "logits", "prc": "pool"}


class UInt8Images(Dataset):
    """A Dataset of uint8 images (C, H, W), as torch-fidelity reads them."""

    def __init__(self, images: Tensor) -> None:
        self.images = to_uint8(images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Tensor:
        return self.images[i]


def register_with_torch_fidelity(extractor: FeatureExtractor) -> str:
    """Register ``extractor`` in torch-fidelity's registry (features ``"pool"``, ``"logits"``)
    and return its name there, ``ganzoo-<name>-<sha256 prefix>``."""
    name = f"ganzoo-{extractor.name}-{extractor.weights_sha256[:12]}"
    if name in FEATURE_EXTRACTORS_REGISTRY:
        return name

    class Registered(FeatureExtractorBase):
        def __init__(self, name, features_list, **kwargs) -> None:
            super().__init__(name, features_list)
            self.inner = extractor

        @staticmethod
        def get_provided_features_list():
            return ("pool", "logits")

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return FEATURES[metric]

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return None

        def forward(self, x: Tensor) -> tuple[Tensor, ...]:
            features, logits = self.inner(x)
            out = {"pool": features, "logits": logits}
            return tuple(out[f] for f in self.features_list)

    register_feature_extractor(name, Registered)
    return name
