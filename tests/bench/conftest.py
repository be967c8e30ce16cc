"""Benchmark tests: the stand-in callbacks (stand_ins.py) importable by class path, in this
process and in the run subprocesses that sweeps start (PYTHONPATH)."""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture
def subprocess_env(monkeypatch, tmp_path):
    """Environment for run subprocesses: stand-ins importable, W&B offline, a private HOME."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv(
        "GANZOO_CACHE", os.environ.get("GANZOO_CACHE", str(Path.home() / ".cache" / "ganzoo"))
    )
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return dict(os.environ)
