"""RpGAN + R1 + R2 (Huang et al. 2024): the relativistic pairing losses, G's step reading D's
logits on the real batch, and the zero-centred penalties on real and fake data."""

import pytest
import torch
import torch.nn.functional as F

from ganzoo.errors import ConfigError
from ganzoo.models.rpgan import RelativisticPairing, RpGAN, zero_centred_penalty
from ganzoo.tricks import Step
from tests.helpers import fitted, tiny_kwargs


def test_the_pairing_losses_compare_each_real_logit_with_its_fake():
    pair = RelativisticPairing()
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.0, 1.0, 0.5])
    assert torch.allclose(pair.d(real, fake), F.softplus(fake - real).mean())
    assert torch.allclose(pair.g(fake, real), F.softplus(real - fake).mean())
    assert pair.needs_real_in_g and not pair.probabilistic
    # relativistic: shifting every logit by the same constant changes nothing
    assert torch.allclose(pair.d(real + 3, fake + 3), pair.d(real, fake))


def test_zero_centred_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    w = torch.tensor([3.0, -4.0], requires_grad=True)
    penalty = zero_centred_penalty(lambda x: x @ w, torch.randn(5, 2))
    assert penalty.item() == pytest.approx(25.0)
    penalty.backward()  # the graph is kept: the penalty trains the critic
    assert torch.allclose(w.grad, 2 * w.detach())


def test_g_step_reads_d_on_the_real_batch_and_d_step_adds_r1_and_r2():
    model, data = fitted(RpGAN, gamma=2.0)
    assert model.d_steps == 2 and not model.diverged
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    seen = []
    model.discriminator.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach()))
    g_logs = model.generator_step(opt_g, x, y, stats=False)
    assert len(seen) == 2 and torch.equal(seen[1], x)  # the fakes, then the real batch
    assert torch.isfinite(g_logs["train/g_loss"])
    logs = model.discriminator_step(opt_d, x, y, stats=False)
    assert logs["train/r1"] > 0 and logs["train/r2"] > 0
    total = sum(logs[f"train/{k}"].item() for k in ("d_adv_loss", "r1", "r2"))
    assert logs["train/d_loss"].item() == pytest.approx(total)
    assert model.table_label() == "RpGAN" and model.compiled_modules() == [model.generator]


def test_r1_r2_scale_with_gamma_and_settings_are_checked():
    torch.manual_seed(0)
    model = RpGAN(**tiny_kwargs(gamma=4.0))
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    step_terms = model.d_terms(Step(real=x, fake=-x, latent={}, fake_logits=torch.zeros(8)))
    critic = lambda inp: model.discriminate(inp, None)[0]  # noqa: E731
    assert step_terms["r1"].item() == pytest.approx(2.0 * zero_centred_penalty(critic, x).item())
    with pytest.raises(ConfigError, match="model.d_norm: 'batch' mixes samples"):
        RpGAN(**tiny_kwargs(d_norm="batch"))
    with pytest.raises(ConfigError, match="model.loss: RpGAN trains with its relativistic"):
        RpGAN(**tiny_kwargs(loss="hinge"))
