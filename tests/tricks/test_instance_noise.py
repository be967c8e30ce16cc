"""Instance noise on D's inputs (seed 001; Sonderby et al. 2016)."""

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.models import DCGAN
from ganzoo.tricks import InstanceNoise
from tests.helpers import TinyData, cpu_trainer, fitted, tiny_kwargs


def test_instance_noise_reaches_d_with_the_annealed_std():
    """Seed 001, noise on D's inputs: D sees data and fakes plus N(0, s^2), in the D step
    and in the G step, s falling linearly from std to 0 over the anneal steps."""
    model, data = fitted(DCGAN, tricks=[InstanceNoise(std=0.5, anneal_steps=10)])
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    d_in, g_out = [], []
    model.discriminator.register_forward_pre_hook(lambda m, args: d_in.append(args[0].detach()))
    model.generator.register_forward_hook(lambda m, args, out: g_out.append(out.detach()))
    for d_steps, std in [(2, 0.4), (5, 0.25), (10, 0.0), (12, 0.0)]:
        model.d_steps = d_steps
        d_in.clear(), g_out.clear()
        model.discriminator_step(opt_d, x, y, stats=False)
        model.d_steps = d_steps
        model.generator_step(opt_g, x, y, stats=False)
        real_noise, fake_noise = d_in[0] - x, d_in[1] - g_out[0]
        g_step_noise = d_in[2] - g_out[1]
        for noise in (real_noise, fake_noise, g_step_noise):
            if std == 0:
                assert torch.equal(noise, torch.zeros_like(noise))
            else:
                assert noise.std().item() == pytest.approx(std, rel=0.1)
                assert abs(noise.mean().item()) < 0.1 * std




def test_instance_noise_is_annealed_over_d_steps_and_logged():
    model = DCGAN(**tiny_kwargs(tricks=[InstanceNoise(std=0.2, anneal_steps=4)]))
    assert model.noise_std() == pytest.approx(0.2)
    cpu_trainer(max_epochs=1).fit(model, TinyData(n=32, batch_size=16))
    assert model.noise_std() == pytest.approx(0.1)
    assert model.tricks[0].stats(model)["train/instance_noise_std"].item() == pytest.approx(0.1)
    with pytest.raises(ConfigError, match=r"^InstanceNoise.std: must be >= 0, got -1$"):
        InstanceNoise(std=-1)
