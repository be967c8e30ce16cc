"""InfoGAN's Q sorts the real images: CatGAN's clustering term."""

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.models import DCGAN, InfoGAN
from ganzoo.regularizers import clustering_loss
from ganzoo.tricks import QAugment, RealInfo
from tests.helpers import fitted, tiny_kwargs, trace_trunk


@pytest.mark.parametrize("q_augment", [False, "shape"])
def test_real_info_makes_q_sort_the_real_batch_in_ds_step_only(q_augment):
    """RealInfo adds lambda * clustering_loss of Q's categorical logits on the real
    batch to D's loss: Q reads the trunk features of D's own pass over the real batch (no extra
    pass; never q_augment's copy), the term is part of D's loss, and G's step, which has no
    real images, neither computes nor logs it."""
    model, data = fitted(InfoGAN, q_augment=QAugment(ranges=q_augment) if q_augment else None,
                         tricks=[RealInfo(weight=2.0)])
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    trunk_in, trunk_out = trace_trunk(model)
    q_in, q_cat = [], []

    def hook(module, args, out):
        q_in.append(args[0].detach())
        q_cat.append(out[0].detach())

    model.q_head.register_forward_hook(hook)
    logs = model.discriminator_step(opt_d, x, y, stats=False)
    assert len(trunk_in) == (3 if q_augment else 2)  # real, fake, [Q's copy of the fake]
    assert torch.equal(trunk_in[0], x)
    assert len(q_in) == 2
    assert torch.equal(q_in[-1], trunk_out[0].detach())  # the pass D made for the real batch
    assert logs["train/info_real"].item() == pytest.approx(2 * clustering_loss(q_cat[-1]).item())

    terms = ("d_adv_loss", "info_cat", "info_cont", "info_real")
    assert logs["train/d_loss"].item() == pytest.approx(sum(logs[f"train/{t}"].item() for t in terms))

    g_logs = model.generator_step(opt_g, x, y, stats=False)
    assert not any("info_real" in k for k in g_logs)




def test_real_info_needs_codes_and_a_weight():
    with pytest.raises(ConfigError, match=r"^RealInfo.weight: must be >= 0, got -1"):
        RealInfo(weight=-1.0)
    with pytest.raises(ConfigError, match="RealInfo: reads Q's categorical code; DCGAN has none"):
        DCGAN(**tiny_kwargs(tricks=[RealInfo()]))
