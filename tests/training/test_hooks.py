"""The per-step hooks no callback implements are skipped; the implemented ones still run."""

import lightning as L

from ganzoo.models import DCGAN
from ganzoo.training.hooks import STEP_HOOKS, skip_unused_step_hooks
from tests.helpers import TinyData, cpu_trainer, tiny_kwargs


class CountsBatches(L.Callback):
    def __init__(self):
        self.batches = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.batches += 1


def test_unused_step_hooks_are_none_and_implemented_ones_run():
    counts, plain = CountsBatches(), L.Callback()
    skip_unused_step_hooks([counts, plain])
    assert all(getattr(plain, hook) is None for hook in STEP_HOOKS)
    assert counts.on_train_batch_end.__func__ is CountsBatches.on_train_batch_end
    assert counts.on_before_backward is None
    assert plain.on_train_epoch_end.__func__ is L.Callback.on_train_epoch_end  # not per step
    cpu_trainer(limit_train_batches=3, callbacks=[counts, plain]).fit(DCGAN(**tiny_kwargs()),
                                                                       TinyData())
    assert counts.batches == 3
