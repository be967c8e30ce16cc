"""Spectral normalization of D (Miyato et al. 2018)."""

import pytest
import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.models import DCGAN, ConditionalGAN
from ganzoo.tricks.spectral_norm import SpectralNorm
from tests.helpers import TinyData, cpu_trainer, tiny_kwargs


def layer_matrices(net: nn.Module):
    """Each normalized layer's effective weight (what its forward uses) as a matrix."""
    for module in net.modules():
        if torch.nn.utils.parametrize.is_parametrized(module, "weight"):
            yield module, module.weight.flatten(1)


def test_every_weight_of_d_has_spectral_norm_one_and_g_is_untouched():
    model = DCGAN(**tiny_kwargs(tricks=[SpectralNorm()], data_shape=(1, 16, 16)))
    layers = [m for m in model.discriminator.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert layers and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(torch.nn.utils.parametrize.is_parametrized(m)
                   for m in model.generator.modules())
    x = torch.randn(8, 1, 16, 16)
    model.discriminator.train()
    for _ in range(30):  # the power method converges on the largest singular value
        model.discriminator(x, None)
    model.discriminator.eval()
    sigmas = [torch.linalg.matrix_norm(w.detach(), ord=2).item()
              for _, w in layer_matrices(model.discriminator)]
    assert len(sigmas) == len(layers) and sigmas == pytest.approx([1.0] * len(sigmas), abs=0.02)
    plain = DCGAN(**tiny_kwargs(data_shape=(1, 16, 16)))
    raw = [torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
           for m in plain.discriminator.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert max(abs(s - 1) for s in raw) > 0.1  # without it the norms are not 1


def test_label_embeddings_are_normalized_too():
    model = ConditionalGAN(**tiny_kwargs(tricks=[SpectralNorm()], data_shape=(1, 16, 16),
                                         conditioning="projection"))
    embeddings = [m for m in model.discriminator.modules() if isinstance(m, nn.Embedding)]
    assert embeddings and all(torch.nn.utils.parametrize.is_parametrized(m, "weight")
                              for m in embeddings)


def test_a_spectrally_normalized_d_trains_and_its_checkpoint_loads(tmp_path):
    data = TinyData(shape=(1, 16, 16))
    model = DCGAN(**tiny_kwargs(tricks=[SpectralNorm()], data_shape=(1, 16, 16), loss="hinge",
                                d_norm="none"))
    trainer = cpu_trainer(limit_train_batches=3, default_root_dir=tmp_path)
    trainer.fit(model, data)
    assert model.g_steps == 3
    trainer.save_checkpoint(tmp_path / "sn.ckpt")
    loaded = DCGAN.load_from_checkpoint(tmp_path / "sn.ckpt")
    for (_, a), (_, b) in zip(layer_matrices(model.discriminator),
                              layer_matrices(loaded.discriminator), strict=True):
        assert torch.equal(a, b)


def test_power_iterations_must_be_positive():
    with pytest.raises(ConfigError, match=r"^SpectralNorm.power_iterations: must be >= 1, got 0$"):
        SpectralNorm(power_iterations=0)
