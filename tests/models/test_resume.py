"""A run resumed from an epoch checkpoint ends bitwise equal to an uninterrupted one:
optimizers, counters, the critic phase, RNG states and the batch order are all restored."""

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from ganzoo.data import GANDataModule
from ganzoo.models import WGANGP
from tests.helpers import cpu_trainer


def make():
    L.seed_everything(0, verbose=False)
    dm = GANDataModule(dataset="digits", batch_size=32, seed=0)
    # n_critic=3 does not divide the 44 batches of an epoch: the critic phase crosses epochs
    model = WGANGP(data_shape=dm.data_shape, num_classes=10, g_width=8, d_width=8, latent_dim=8,
                   n_critic=3, num_fixed_samples=4)
    return dm, model


def test_resume_from_epoch_checkpoint_is_bitwise_equal(tmp_path):
    dm, full = make()
    cpu_trainer(max_epochs=3).fit(full, dm)

    dm, first = make()
    ckpt = ModelCheckpoint(dirpath=tmp_path, save_last=True)
    cpu_trainer(max_epochs=1, enable_checkpointing=True, callbacks=[ckpt]).fit(first, dm)

    dm, resumed = make()
    cpu_trainer(max_epochs=3, enable_checkpointing=True, callbacks=[ModelCheckpoint(dirpath=tmp_path)]
                ).fit(resumed, dm, ckpt_path=tmp_path / "last.ckpt")
    assert (resumed.d_steps, resumed.g_steps) == (full.d_steps, full.g_steps)
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
