"""Label smoothing: a BCE loss pair with soft targets (seed 003)."""

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.losses import LOSSES, d_bce
from ganzoo.models import VanillaGAN
from ganzoo.tricks import LabelSmoothing
from tests.helpers import fitted, tiny_kwargs


@pytest.mark.parametrize("alpha, beta", [(0.0, 0.0), (0.1, 0.0), (0.1, 0.2)])
def test_label_smoothing_sets_where_d_settles(alpha, beta):
    """Seed 003: with targets 1 - alpha and beta, D* = ((1 - alpha) p_data + beta p_g) /
    (p_data + p_g): 1 - alpha where only data lie, beta where only fakes lie. The real batch
    is one all-white image, which G (tanh outputs near 0) never makes."""
    model, data = fitted(VanillaGAN, loss=LabelSmoothing(alpha=alpha, beta=beta), lr_d=5e-3)
    opt_g, opt_d = model.optimizers()
    real, y = torch.ones(16, *data.x.shape[1:]), data.y[:16]
    for _ in range(150):
        model.discriminator_step(opt_d, real, y, stats=False)
    with torch.no_grad():
        d_real = torch.sigmoid(model.discriminate(real, None)[0]).mean().item()
        d_fake = torch.sigmoid(model.discriminate(model.sample(256), None)[0]).mean().item()
    assert d_real == pytest.approx(1 - alpha, abs=0.02)
    assert d_fake == pytest.approx(beta, abs=0.02)




def test_label_smoothing_is_a_bce_loss_pair_with_its_targets():
    pair = LabelSmoothing(alpha=0.1, beta=0.2, generator="minimax")
    real, fake = torch.randn(8), torch.randn(8)
    assert pair.targets == (0.9, 0.2) and pair.probabilistic
    assert torch.equal(pair.d(real, fake), d_bce(real, fake, 0.9, 0.2))
    assert torch.equal(pair.g(fake), LOSSES["minimax"].g(fake))
    model = VanillaGAN(**tiny_kwargs(loss=pair))
    assert (model.real_label, model.fake_label) == (0.9, 0.2)
    assert model.hparams.loss["init_args"] == {"alpha": 0.1, "beta": 0.2, "generator": "minimax"}
    with pytest.raises(ConfigError, match=r"^LabelSmoothing.alpha / LabelSmoothing.beta: must be"):
        LabelSmoothing(alpha=1.5)
    with pytest.raises(ConfigError, match="LabelSmoothing.generator: a BCE loss"):
        LabelSmoothing(generator="hinge")
