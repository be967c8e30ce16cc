"""Training machinery every fit gets, as callbacks the CLI adds (:mod:`ganzoo.cli`): the
budget in real images and G steps, the divergence guard, the per-rank random streams, the
speed knobs and the checkpoints (mid-epoch, on interruption, never of a diverged model), with
the per-step hooks no callback implements skipped (:mod:`ganzoo.training.hooks`); and
what the CLI checks around them: the resume guard (:mod:`ganzoo.training.resume_guard`), the
multi-node launch (:mod:`ganzoo.training.distributed`) and Slurm's requeue
(:mod:`ganzoo.training.slurm`)."""

from ganzoo.training.budget import Budget
from ganzoo.training.checkpoints import (
    GuardedCheckpoint,
    InterruptCheckpoint,
    LocalCheckpointIO,
    PeriodicCheckpoint,
)
from ganzoo.training.divergence import DivergenceGuard
from ganzoo.training.rng import RankStreams
from ganzoo.training.speed import SpeedKnobs

__all__ = ["Budget", "DivergenceGuard", "GuardedCheckpoint", "InterruptCheckpoint",
           "LocalCheckpointIO", "PeriodicCheckpoint", "RankStreams", "SpeedKnobs"]
