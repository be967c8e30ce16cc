"""An L2 penalty on D's weights (seed 001)."""

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.models import DCGAN
from ganzoo.tricks import DWeightPenalty
from tests.helpers import Collect, TinyData, cpu_trainer, snapshot, tiny_kwargs


def test_d_weight_penalty_adds_two_lambda_w_to_ds_gradient_and_is_logged():
    """Seed 001, penalising D's weights: the D step's loss gains the term lambda * sum ||W||^2
    over D's conv and linear weights (logged as train/d_weight_penalty), so its gradient gains
    exactly 2 lambda W on those weights and nothing on biases and norm parameters. It is a
    loss term, not the optimizer's weight decay."""
    lam, data = 0.25, TinyData(shape=(1, 16, 16))  # 16 x 16: a D with a batch-norm layer
    logger = Collect()
    model = DCGAN(**tiny_kwargs(tricks=[DWeightPenalty(weight=lam)], data_shape=(1, 16, 16)))
    cpu_trainer(logger=logger, log_every_n_steps=1, limit_train_batches=2).fit(model, data)
    written = [m for _, m in logger.steps if "train/d_loss" in m]
    assert written and all("train/d_weight_penalty" in m for m in written)
    assert all(group["weight_decay"] == 0 for opt in model.optimizers()
               for group in opt.optimizer.param_groups)

    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    params = dict(model.discriminator.named_parameters())
    weights = {f"{name}.weight" for name, m in model.discriminator.named_modules()
               if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)}
    start = snapshot(params.values())
    grads, logs = {}, {}
    for on in (True, False):
        model.tricks = [DWeightPenalty(weight=lam)] if on else []
        with torch.no_grad():
            for p, s in zip(params.values(), start, strict=True):
                p.copy_(s)
        torch.manual_seed(3)  # the same z for both steps
        logs[on] = model.discriminator_step(opt_d, x, y)
        grads[on] = {name: p.grad.clone() for name, p in params.items()}

    expected = lam * sum((s**2).sum() for name, s in zip(params, start, strict=True)
                         if name in weights)
    assert logs[True]["train/d_weight_penalty"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert logs[True]["train/d_loss"].item() == pytest.approx(
        logs[True]["train/d_adv_loss"].item() + expected.item(), rel=1e-5)
    assert "train/d_weight_penalty" not in logs[False]
    assert logs[False]["train/d_loss"].item() == logs[False]["train/d_adv_loss"].item()
    assert weights == {"trunk.0.weight", "trunk.2.weight", "head.weight"}  # 2 convs, the head
    assert set(params) - weights == {"trunk.0.bias", "trunk.3.weight", "trunk.3.bias", "head.bias"}
    for (name, on), off, s in zip(grads[True].items(), grads[False].values(), start, strict=True):
        added = 2 * lam * s if name in weights else torch.zeros_like(s)
        assert torch.allclose(on - off, added, atol=1e-6), name




def test_d_weight_penalty_must_not_be_negative():
    with pytest.raises(ConfigError, match=r"^DWeightPenalty.weight: must be >= 0, got -0.1$"):
        DWeightPenalty(weight=-0.1)
