"""Shared test settings: offline W&B, few threads, quiet Lightning."""

import logging
import os

import pytest
import torch

import ganzoo.bench.precision

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(min(2, torch.get_num_threads()))
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_native_bf16(monkeypatch):
    """`ganzoo compare --precision auto` reads the CPU: tests see one without native bf16, so
    they plan the same runs on every machine (tests/bench/test_precision.py sets flags)."""
    monkeypatch.setattr(ganzoo.bench.precision, "cpu_bf16_flags", lambda *a, **k: ())
