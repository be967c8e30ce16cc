"""G's moving average (Yazici et al. 2019), a callback."""

import copy

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.models import DCGAN
from ganzoo.tricks import GeneratorEMA
from ganzoo.tricks.g_ema import ema_warmup
from tests.helpers import TinyData, cpu_trainer, tiny_kwargs


class GStates(DCGAN):
    """Records G's weights and buffers after every G step."""

    def generator_step(self, *args, **kwargs):
        logs = super().generator_step(*args, **kwargs)
        self.g_states = [*getattr(self, "g_states", []), copy.deepcopy(self.generator.state_dict())]
        return logs


def test_g_ema_averages_g_after_every_g_step_and_sampling_uses_the_average():
    model = GStates(**tiny_kwargs())
    cpu_trainer(limit_train_batches=3, callbacks=[GeneratorEMA(decay=0.2)]).fit(model, TinyData())
    g1, g2, g3 = model.g_states
    # the first update copies G; the n-th after it is beta * average + (1 - beta) * G with
    # beta = min(decay, (1 + n) / (10 + n)): 2/11 (the ramp), then 0.2 (the decay)
    b1, b2 = 2 / 11, 0.2
    expected = {
        k: b2 * (b1 * g1[k] + (1 - b1) * g2[k]) + (1 - b2) * g3[k]
        for k, v in g3.items() if v.is_floating_point()
    }
    averaged = model.generator_ema.module.state_dict()
    assert {k for k in averaged if averaged[k].is_floating_point()} == set(expected)
    for k, v in expected.items():  # weights and batch-norm statistics alike
        torch.testing.assert_close(averaged[k], v, msg=k)
    assert not torch.allclose(averaged["project.weight"], g3["project.weight"])
    assert not any(p.requires_grad for p in model.generator_ema.parameters())

    def draw(m):
        return m.sample(4, generator=torch.Generator().manual_seed(1))

    from_average = draw(model)
    model.generator_ema.module.load_state_dict(model.generator.state_dict())
    assert not torch.allclose(from_average, draw(model))  # sampling read the average
    assert model.generator.training  # G's own mode untouched by sampling


def test_g_ema_warmup_forgets_the_initial_weights():
    """A fixed decay of 0.999 keeps 0.999 ** 750 = 47% of the first copy (random weights) after
    750 updates (WGAN's G steps in the mnist5k budget); the ramp leaves under 1%."""
    averaged, current = [torch.zeros(3)], [torch.ones(3)]
    update = ema_warmup(0.999)
    for n in range(1, 751):
        update(averaged, current, torch.tensor(n))
    assert averaged[0].min() > 0.99


def test_g_ema_is_saved_and_must_be_a_decay(tmp_path):
    model = DCGAN(**tiny_kwargs())
    trainer = cpu_trainer(limit_train_batches=2, callbacks=[GeneratorEMA(decay=0.5)])
    trainer.fit(model, TinyData())
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    restored = DCGAN.load_from_checkpoint(tmp_path / "last.ckpt")
    for a, b in zip(restored.generator_ema.parameters(), model.generator_ema.parameters(),
                    strict=True):
        assert torch.equal(a, b)
    assert DCGAN(**tiny_kwargs()).generator_ema is None
    with pytest.raises(ConfigError, match=r"^GeneratorEMA.decay: a decay in \(0, 1\), got 1.0$"):
        GeneratorEMA(decay=1.0)


def test_g_ema_update_is_averaged_models_own_update_bit_for_bit():
    """The callback's own update (tensors grouped once, one foreach lerp) gives the bits of
    ``AveragedModel.update_parameters`` with :func:`ema_warmup`, batch-norm counters included."""
    from torch.optim.swa_utils import AveragedModel

    torch.manual_seed(0)
    model = DCGAN(**tiny_kwargs())
    reference = AveragedModel(model.generator, multi_avg_fn=ema_warmup(0.9), use_buffers=True)
    ema = GeneratorEMA(decay=0.9)
    ema.attach(model)
    for _ in range(15):
        with torch.no_grad():
            for t in [*model.generator.parameters(), *model.generator.buffers()]:
                t.add_(torch.randn_like(t) if t.is_floating_point() else torch.ones_like(t))
        reference.update_parameters(model.generator)
        ema.update(model)
    ours, theirs = model.generator_ema.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys()
    for k in ours:
        assert torch.equal(ours[k], theirs[k]), k
    assert int(model.generator_ema.n_averaged) == 15
