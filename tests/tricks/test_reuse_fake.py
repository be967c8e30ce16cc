"""ReuseFake: the G step reads the critic step's fakes, one G pass fewer per G step."""

import pytest
import torch

from ganzoo.models import DCGAN, WGANGP
from ganzoo.models.legacy import upgrade_config
from ganzoo.tricks import ReuseFake
from tests.helpers import changed, fitted, snapshot


class Calls:
    """Wraps a model method, recording the first tensor argument of every call."""

    def __init__(self, model, name):
        self.seen, self.method = [], getattr(model, name)
        setattr(model, name, self)

    def __call__(self, first, *args, **kwargs):
        self.seen.append(first)
        return self.method(first, *args, **kwargs)


@pytest.mark.parametrize("cls", [DCGAN, WGANGP])
def test_reuse_fake_lets_the_g_step_read_the_critic_steps_batch(cls):
    """With ReuseFake, the last critic step before a G step generates the fakes once, D
    reads them detached and the G step reads the same batch through G's graph: one generator
    pass fewer per G step. Without it, every step draws its own."""
    for reuse in (False, True):
        model, data = fitted(cls, tricks=[ReuseFake()] if reuse else [])
        opt_g, opt_d = model.optimizers()
        x, y = data.x[:16], data.y[:16]
        generated, seen = Calls(model, "generate"), Calls(model, "d_inputs")
        model.d_steps = 0
        for _ in range(model.n_critic - 1):
            model.discriminator_step(opt_d, x, y)
        start = len(seen.seen)
        model.discriminator_step(opt_d, x, y)
        d_fake = seen.seen[start + 1]  # the last critic step's inputs: real, fake, (penalty)
        before = snapshot(model.generator.parameters())
        start = len(seen.seen)
        model.generator_step(opt_g, x, y)
        g_fake = seen.seen[start]
        assert len(generated.seen) == model.n_critic + (not reuse)
        assert torch.equal(g_fake.detach(), d_fake) == reuse
        assert not d_fake.requires_grad and g_fake.requires_grad  # D steps never train G
        assert any(changed(before, model.generator.parameters())), "the G step must move G"
        assert all(t._kept is None for t in model.tricks)  # nothing held past the G step


def test_a_g_step_without_a_kept_batch_draws_its_own():
    """A G step with no critic step before it (nothing kept) falls back to a new draw."""
    model, data = fitted(DCGAN, tricks=[ReuseFake()])
    opt_g, _ = model.optimizers()
    generated = Calls(model, "generate")
    model.generator_step(opt_g, data.x[:16], data.y[:16])
    assert len(generated.seen) == 1


def test_the_former_reuse_fake_flag_becomes_the_trick():
    """Records made with ``model.init_args.reuse_fake`` (the flag before the trick) rerun
    with ReuseFake, and ``false`` with nothing."""
    def config(flag):
        return {"model": {"class_path": "ganzoo.models.DCGAN", "init_args": {"reuse_fake": flag}}}

    assert upgrade_config(config(True))["model"]["init_args"] == {
        "tricks": [{"class_path": "ganzoo.tricks.ReuseFake", "init_args": {}}]}
    assert upgrade_config(config(False))["model"]["init_args"] == {}
    recorded = config(True)  # a record of today's layout but for the flag: the rest stays
    recorded["model"]["init_args"]["optimizer"] = {"name": "adam", "betas": [0.5, 0.999]}
    assert upgrade_config(recorded)["model"]["init_args"]["optimizer"] == {
        "name": "adam", "betas": [0.5, 0.999]}
