"""Where the networks the evaluation trains for itself keep their frozen weights.

The domain classifier (:mod:`ganzoo.metrics.domain`) and the autoencoder
(:mod:`ganzoo.metrics.autoencoder`) are trained once per dataset and split, then frozen and
identified by the sha256 of their weights file. Each file ``<kind>_<name>.pt`` has a json
beside it that records the key it was trained for (the data's identity and the recipe's
version), its sha256 and how it was made. The weights for the embedded datasets are committed
in ``ganzoo/metrics/weights/`` and found by their key; any other dataset or split gets one
trained on demand and cached under ``$GANZOO_CACHE/<folder>/``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganzoo.atomic import atomic_path, write_json_atomic
from ganzoo.data.sources import cache_dir as default_cache_dir
from ganzoo.errors import ConfigError
from ganzoo.metrics.extractors import sha256_file

WEIGHTS_DIR = Path(__file__).parent / "weights"


def key_hash(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def committed_weights(kind: str, key: dict[str, Any]) -> Path | None:
    """The committed ``<kind>_*.pt`` whose json records ``key``, if any."""
    for meta_path in sorted(WEIGHTS_DIR.glob(f"{kind}_*.json")):
        if json.loads(meta_path.read_text()).get("key") == key:
            return meta_path.with_suffix(".pt")
    return None


def cached_weights_path(kind: str, folder: str, key: dict[str, Any],
                        cache_dir: str | Path | None = None) -> Path:
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    return root / folder / f"{kind}_{key['dataset']}_{key_hash(key)}.pt"


def verified_sha256(path: str | Path, what: str, script: str) -> str:
    """The sha256 of the weights file ``path``; a one-line error when it is missing or differs
    from the one its json records (``what`` names the network, ``script`` what remakes it)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"weights_path: {what} weights {str(path)!r} not found")
    digest = sha256_file(path)
    meta_path = path.with_suffix(".json")
    if meta_path.is_file():
        expected = json.loads(meta_path.read_text()).get("sha256")
        if expected and expected != digest:
            raise ConfigError(
                f"weights_path: {path.name} has sha256 {digest[:12]}..., its json records "
                f"{expected[:12]}...; the file was modified: retrain it with {script}"
            )
    return digest


def load_state(model: nn.Module, path: str | Path) -> nn.Module:
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def save_weights(model: nn.Module, report: dict[str, Any], path: str | Path) -> dict:
    """Write the state dict to ``path`` and ``report`` + its sha256 to ``path.json``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)
        meta = {**report, "sha256": sha256_file(tmp), "file": path.name}
        write_json_atomic(path.with_suffix(".json"), meta)
    return meta


def train_steps(model: nn.Module, loader: Iterable, loss: Callable[[Any], torch.Tensor],
                opt: torch.optim.Optimizer, sched, steps: int) -> float:
    """``steps`` optimizer steps of ``loss(batch)`` over ``loader`` (cycled), the scheduler
    stepped after each; ``model`` left in eval mode. Returns the seconds it took."""
    start = time.time()
    model.train()
    step = 0
    while step < steps:
        for batch in loader:
            value = loss(batch)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            sched.step()
            step += 1
            if step == steps:
                break
    model.eval()
    return time.time() - start
