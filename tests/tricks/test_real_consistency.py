"""InfoGAN's Q keeps its clusters under q_augment's transform (IMSAT)."""

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.models import InfoGAN
from ganzoo.regularizers import self_augmentation_loss
from ganzoo.tricks import QAugment, RealConsistency
from tests.helpers import fitted, tiny_kwargs, trace_trunk


def test_real_consistency_compares_q_on_each_real_image_and_on_its_copy():
    """RealConsistency: one more trunk pass in D's step, over q_augment's copy of the
    real batch (every image moved, with the q_augment ranges); the logged term is lambda times
    the cross-entropy of Q's prediction on the copy against its prediction on D's own pass over
    the batch; it is part of D's loss, and G's step neither computes nor logs it."""
    model, data = fitted(InfoGAN, q_augment=QAugment(ranges="shape"),
                         tricks=[RealConsistency(weight=2.0)])
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    trunk_in, _ = trace_trunk(model)
    q_cat = []
    model.q_head.register_forward_hook(lambda m, args, out: q_cat.append(out[0].detach()))
    logs = model.discriminator_step(opt_d, x, y, stats=False)
    assert len(trunk_in) == 4  # real, fake, Q's copy of the fake, Q's copy of the real batch
    assert torch.equal(trunk_in[0], x)
    assert (trunk_in[3].detach() - x).abs().amax(dim=(1, 2, 3)).min() > 1e-3
    assert len(q_cat) == 3  # the fake's copy, the real batch, the real batch's copy
    expected = 2 * self_augmentation_loss(q_cat[1], q_cat[2])
    assert logs["train/info_real_consistency"].item() == pytest.approx(expected.item())
    assert "train/info_real" not in logs
    terms = ("d_adv_loss", "info_cat", "info_cont", "info_real_consistency")
    assert logs["train/d_loss"].item() == pytest.approx(sum(logs[f"train/{t}"].item() for t in terms))
    g_logs = model.generator_step(opt_g, x, y, stats=False)
    assert not any("info_real" in k for k in g_logs)




def test_real_consistency_needs_q_augment_and_a_weight():
    with pytest.raises(ConfigError, match=r"^RealConsistency.weight: must be >= 0, got -1"):
        RealConsistency(weight=-1.0)
    with pytest.raises(ConfigError, match="RealConsistency: .* set model.q_augment too"):
        InfoGAN(**tiny_kwargs(tricks=[RealConsistency()]))
