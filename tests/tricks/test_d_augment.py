"""Differentiable augmentation of every D input (Zhao et al. 2020)."""

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.models import InfoGAN, VanillaGAN
from ganzoo.tricks import DAugment, QAugment
from tests.helpers import changed, fitted, snapshot, tiny_kwargs


def test_d_augment_moves_every_d_input_in_training_only():
    """Differentiable augmentation: D sees transformed reals and fakes in the D step and
    transformed fakes in the G step (InfoGAN's Q reads those), each image its own way, and G
    gets gradients through the transform; evaluation sees the images as they are."""
    model, data = fitted(InfoGAN, tricks=[DAugment()])
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    d_in, g_out = [], []
    model.discriminator.register_forward_pre_hook(lambda m, args: d_in.append(args[0]))
    model.generator.register_forward_hook(lambda m, args, out: g_out.append(out.detach()))
    model.discriminator_step(opt_d, x, y, stats=False)
    before = snapshot(model.generator.parameters())
    model.generator_step(opt_g, x, y, stats=False)
    seen = [(d_in[0], x), (d_in[1], g_out[0]), (d_in[2], g_out[1])]
    for inp, original in seen:
        assert inp.shape == original.shape
        assert (inp.detach() - original).abs().amax(dim=(1, 2, 3)).min() > 1e-3  # every image moved
    assert d_in[2].requires_grad  # G's step goes through the transform
    assert all(changed(before, model.generator.parameters()))
    assert not torch.equal(model.d_inputs(x), x)
    model.eval()
    assert torch.equal(model.d_inputs(x), x)




def test_d_augment_needs_images_and_excludes_q_augment():
    with pytest.raises(ConfigError, match=r"^DAugment: augments images; this data has shape"):
        VanillaGAN(**tiny_kwargs(data_shape=(2,), tricks=[DAugment()]))
    with pytest.raises(ConfigError, match="model.q_augment: DAugment already"):
        InfoGAN(**tiny_kwargs(q_augment=QAugment(), tricks=[DAugment()]))
