"""Random streams: the global RNG states a checkpoint keeps, and one torch stream per rank
under DDP."""

from __future__ import annotations

import os
import random
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_warn

Tensor = torch.Tensor
CHECKPOINT_KEY = "ganzoo_rank_rng"


def capture_rng_state() -> dict[str, Any]:
    """Every global RNG a training step may draw from, for the checkpoint."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        # plain types and tensors only, so the checkpoint loads with weights_only=True
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def run_seed() -> int:
    """The run's seed (``seed_everything``; Lightning exports it as ``PL_GLOBAL_SEED``)."""
    return int(os.environ.get("PL_GLOBAL_SEED", 0))


def stream_seed(*keys: int) -> int:
    """A 63-bit seed mixed from ``keys`` (numpy's SeedSequence), e.g. ``(seed, rank)``: unlike
    ``seed + rank``, run 0's rank 1 and run 1's rank 0 do not share a stream."""
    entropy = [k % 2**32 for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1)


class RankStreams(L.Callback):
    """Under DDP, every rank draws its own noise. ``seed_everything`` seeds every rank alike,
    so without this each rank would generate the same fakes (and draw the same labels, codes,
    instance noise and gradient-penalty weights), and N devices would train G on N copies of
    one batch (Lightning issue 16166). Each rank's torch stream is re-seeded from ``(seed,
    rank)`` once the model is built (so the replicas start equal), or restored per rank from
    the checkpoint on resume (every rank's stream is gathered into it). One process keeps the
    seeded stream untouched."""

    def __init__(self) -> None:
        self._restored = False

    def on_fit_start(self, trainer, pl_module) -> None:
        if trainer.world_size == 1 or self._restored:
            return
        keys = [run_seed(), trainer.global_rank]
        if trainer.ckpt_path:  # resumed from a checkpoint without this world size's streams
            keys.append(pl_module.d_steps)
            rank_zero_warn(
                f"ckpt_path: the checkpoint holds no random streams for {trainer.world_size} "
                f"processes; each rank continues from a fresh stream seeded by (seed, rank, "
                f"D step {pl_module.d_steps}), so the resumed run is not bitwise the "
                f"uninterrupted one"
            )
        torch.manual_seed(stream_seed(*keys))

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        if trainer.world_size == 1:
            return
        # every rank runs this hook (Trainer.save_checkpoint is called on all ranks)
        states = {"torch": torch.get_rng_state()}
        if pl_module.device.type == "cuda":
            states["cuda"] = torch.cuda.get_rng_state(pl_module.device)
        checkpoint[CHECKPOINT_KEY] = {
            name: trainer.strategy.all_gather(state.to(pl_module.device)).cpu()
            for name, state in states.items()
        }

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        """Runs after the model restored the global streams (Lightning restores the model's
        state before the callbacks')."""
        ranks = checkpoint.get(CHECKPOINT_KEY) or (checkpoint.get("ganzoo") or {}).get("rank_rng")
        world = trainer.world_size
        if world > 1 and ranks is not None and len(ranks["torch"]) == world:
            rank = trainer.global_rank
            torch.set_rng_state(ranks["torch"][rank].clone())
            if "cuda" in ranks and pl_module.device.type == "cuda":
                torch.cuda.set_rng_state(ranks["cuda"][rank].clone(), pl_module.device)
            self._restored = True
