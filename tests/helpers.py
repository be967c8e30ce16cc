"""Small builders shared by the model tests: tiny data, tiny nets, a CPU trainer."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

TINY_SHAPE = (1, 8, 8)


class TinyData(L.LightningDataModule):
    """64 random 8x8 'images' in [-1, 1] with 4 balanced labels."""

    def __init__(self, n: int = 64, batch_size: int = 16, shape=TINY_SHAPE, num_classes: int = 4):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.x = torch.rand(n, *shape, generator=g) * 2 - 1
        self.y = torch.arange(n) % num_classes
        self.batch_size = batch_size

    def train_dataloader(self):
        return DataLoader(TensorDataset(self.x, self.y), batch_size=self.batch_size,
                          shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(0))


def tiny_kwargs(**overrides):
    kw = dict(data_shape=TINY_SHAPE, num_classes=4, latent_dim=8, g_width=8, d_width=8,
              num_fixed_samples=4)
    kw.update(overrides)
    return kw


def cpu_trainer(**overrides) -> L.Trainer:
    kw = dict(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
              enable_progress_bar=False, enable_model_summary=False, max_epochs=1)
    kw.update(overrides)
    return L.Trainer(**kw)
