"""n_critic D steps per G step, and what the training budget fields mean."""

import pytest

from ganzoo.models import DCGAN, WGANGP, OptimizerSpec
from ganzoo.training import Budget
from tests.helpers import TinyData, cpu_trainer, tiny_kwargs


def adam_steps(optimizer) -> int:
    """How many times an Adam/RMSprop optimizer really stepped (from its state)."""
    return int(next(iter(optimizer.state.values()))["step"])


@pytest.mark.parametrize("k", [1, 3, 5])
def test_exactly_k_d_steps_per_g_step(k):
    model = DCGAN(**tiny_kwargs(n_critic=k))
    cpu_trainer(max_epochs=5).fit(model, TinyData(n=48, batch_size=16))  # 15 batches
    opt_g, opt_d = model.optimizers()
    assert model.d_steps == adam_steps(opt_d) == 15
    assert model.g_steps == adam_steps(opt_g) == 15 // k


def test_max_steps_counts_d_and_g_steps_together():
    """Lightning #17958: with manual optimization every optimizer.step() is a global step,
    so max_steps = N * (n_critic + 1) means N generator steps."""
    k, n = 3, 4
    model = WGANGP(**tiny_kwargs(n_critic=k))
    trainer = cpu_trainer(max_epochs=-1, max_steps=n * (k + 1))
    trainer.fit(model, TinyData(n=64, batch_size=16))
    assert model.g_steps == n
    assert model.d_steps == n * k
    assert trainer.global_step == model.d_steps + model.g_steps


@pytest.mark.parametrize("k", [1, 5])
def test_max_g_steps_is_the_generator_budget(k):
    model = DCGAN(**tiny_kwargs(n_critic=k))
    trainer = cpu_trainer(max_epochs=100, callbacks=[Budget(max_g_steps=3)])
    trainer.fit(model, TinyData(n=64, batch_size=16))
    assert model.g_steps == 3
    assert model.d_steps == 3 * k


def test_linear_lr_schedule_is_stepped_per_epoch():
    spec = OptimizerSpec(schedule="linear")
    model = DCGAN(**tiny_kwargs(optimizer=spec, lr_g=1e-3, lr_d=1e-3))
    cpu_trainer(max_epochs=4).fit(model, TinyData(n=32, batch_size=16))
    opt_g, opt_d = model.optimizers()
    # after 4 epochs of a linear decay over 4 epochs the factor is 1 - 4/4 = 0
    assert opt_g.param_groups[0]["lr"] == pytest.approx(0.0)
    assert opt_d.param_groups[0]["lr"] == pytest.approx(0.0)
