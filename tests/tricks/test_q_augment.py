"""InfoGAN's q_augment: Q reads a randomly moved copy of each fake."""

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.models import InfoGAN
from ganzoo.regularizers import random_affine
from ganzoo.tricks import QAugment
from ganzoo.tricks import q_augment as q_augment_module
from tests.helpers import fitted, tiny_kwargs


@pytest.mark.parametrize("q_augment", ["affine", "shape"])
def test_q_augment_moves_only_qs_input_in_training_only(q_augment, monkeypatch):
    """InfoGAN's q_augment: in D's and G's steps D's logits read the fakes as they are and Q
    reads a second trunk pass over a transformed copy (every image moved, G's gradients
    flowing through it); in evaluation Q reads D's own features. ``"shape"`` adds the
    stroke, shear and aspect ranges to the transform; ``"affine"`` uses rotation, zoom and shift
    alone."""
    model, data = fitted(InfoGAN, q_augment=QAugment(ranges=q_augment))
    ranges = []
    monkeypatch.setattr(q_augment_module, "random_affine",
                        lambda x, **kw: (ranges.append(kw), random_affine(x, **kw))[1])
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    trunk_in, g_out = [], []
    features = model.discriminator.features
    model.discriminator.features = lambda inp: (trunk_in.append(inp), features(inp))[1]
    model.generator.register_forward_hook(lambda m, args, out: g_out.append(out.detach()))
    model.discriminator_step(opt_d, x, y, stats=False)
    model.generator_step(opt_g, x, y, stats=False)
    assert len(trunk_in) == 5  # D step: real, fake, Q's copy; G step: fake, Q's copy
    assert torch.equal(trunk_in[0], x)
    for plain, q_copy, fake in ((trunk_in[1], trunk_in[2], g_out[0]),
                                (trunk_in[3], trunk_in[4], g_out[1])):
        assert torch.equal(plain.detach(), fake)
        assert (q_copy.detach() - fake).abs().amax(dim=(1, 2, 3)).min() > 1e-3
    assert trunk_in[4].requires_grad
    shape = {"stroke": 0.5, "shear": 0.3, "aspect": 0.15}
    assert ranges == [shape if q_augment == "shape" else {}] * 2
    model.eval()
    h = torch.randn(4, model.discriminator.feature_dim)
    assert model.q_features(g_out[1][:4], h) is h




def test_q_augment_needs_images_and_a_known_range():
    with pytest.raises(ConfigError, match="model.q_augment: augments images"):
        InfoGAN(**tiny_kwargs(data_shape=(2,), arch="mlp", q_augment=QAugment()))
    with pytest.raises(ConfigError, match=r"^QAugment.ranges: affine or shape; got 'slant'$"):
        QAugment(ranges="slant")
