"""Small builders shared by the model tests: tiny data, tiny nets, a CPU trainer."""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.loggers.logger import Logger
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


def snapshot(params):
    return [p.detach().clone() for p in params]


def changed(before, params):
    return [not torch.equal(b, p.detach()) for b, p in zip(before, params, strict=True)]


def fitted(cls, callbacks=None, **kw):
    """A tiny ``cls`` trained for two batches (``callbacks`` for the trainer, e.g. G's
    moving average or a speed knob), and its data."""
    model = cls(**tiny_kwargs(**kw))
    data = TinyData()
    cpu_trainer(limit_train_batches=2, callbacks=callbacks or []).fit(model, data)
    return model, data


def trace_trunk(model):
    """Records every input to D's trunk, and its output, from now on."""
    inputs, outputs = [], []
    features = model.discriminator.features

    def traced(inp):
        inputs.append(inp)
        outputs.append(features(inp))
        return outputs[-1]

    model.discriminator.features = traced
    return inputs, outputs


class Collect(Logger):
    """A logger that keeps what it is given, in memory."""

    def __init__(self):
        super().__init__()
        self.steps: list[tuple[int, dict]] = []

    name = "collect"
    version = 0

    def log_metrics(self, metrics, step=None):
        self.steps.append((step, dict(metrics)))

    def log_hyperparams(self, params, *args, **kwargs):
        pass
