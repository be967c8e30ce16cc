"""Slurm requeue: what Lightning does, and what ganzoo adds to it.

Lightning, with no code here: under Slurm (``SLURM_NTASKS`` set and a job name other than
``bash`` or ``interactive``) the Trainer uses ``SLURMEnvironment`` (ranks from
``SLURM_PROCID``, ``SLURM_LOCALID``, ``SLURM_NODEID``; the address from ``SLURM_NODELIST``;
the port from the job id unless ``MASTER_PORT`` is set). Its signal connector takes the
requeue signal (``SIGUSR1``; ``scripts/slurm_fit.sbatch`` asks for it 90 s before the time
limit), saves ``hpc_ckpt_<N+1>.ckpt`` in ``trainer.default_root_dir`` and runs ``scontrol
requeue $SLURM_JOB_ID``; Slurm then ends the job and starts it again with the same command,
and a fit with ``ckpt_path=None`` under Slurm resumes from the highest ``hpc_ckpt_<N>.ckpt``
there (``_CheckpointConnector._hpc_resume_path``).

What that lacks, added here:

- Lightning saves from inside the signal handler, wherever Python is when the signal lands:
  between a D step and its G step, or, under DDP, on each rank at its own moment while
  saving is collective (a barrier; :class:`ganzoo.training.RankStreams` gathers every rank's
  stream), which can deadlock. :class:`RequeueAtBatchEnd` holds the signal and runs
  Lightning's own handler at the end of the batch in which any rank received it (the ranks
  agree with one all-reduce per batch, only under Slurm with auto-requeue), or at the end of
  training. The hpc checkpoint is then a batch-boundary one, like
  :class:`ganzoo.training.PeriodicCheckpoint`'s, and the requeued job ends bitwise equal to
  the uninterrupted run (one process, same machine; ``tests/cluster/test_slurm_requeue.py``).
- The CLI treats the automatic hpc resume as a resume (:func:`hpc_checkpoint` finds the file
  Lightning will pick): it passes ``ckpt_path="hpc"`` so that the resume guard
  (:mod:`ganzoo.training.resume_guard`) checks the config, the W&B run continues, and a
  truncated hpc checkpoint (a kill while Lightning wrote it) is one line, not a traceback.

Lightning's handler also finalizes the loggers before it saves; the W&B run of a job that
keeps training until Slurm ends it is continued by the requeued job (its id is in the record).
"""

from __future__ import annotations

import re
import signal
import threading
from pathlib import Path

from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info

HPC_PREFIX = "hpc_ckpt_"


def hpc_checkpoint(run_dir: str | Path, below: Path | None = None) -> Path | None:
    """The hpc checkpoint Lightning resumes from in ``run_dir`` (the highest
    ``hpc_ckpt_<N>.ckpt``, as ``_CheckpointConnector._hpc_resume_path`` picks it), or None;
    with ``below``, the highest one before that file."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return None
    versions = [int(m.group(1)) for p in run_dir.iterdir()
                if (m := re.fullmatch(rf"{HPC_PREFIX}(\d+)\.ckpt", p.name))]
    if below is not None:
        limit = int(re.sub(r"\D", "", below.name))
        versions = [v for v in versions if v < limit]
    return run_dir / f"{HPC_PREFIX}{max(versions)}.ckpt" if versions else None


def under_slurm() -> bool:
    """Whether Lightning will run this process under ``SLURMEnvironment``."""
    return SLURMEnvironment.detect()


class RequeueAtBatchEnd(Callback):
    """Runs Lightning's requeue handler (hpc checkpoint, ``scontrol requeue``) at the end of
    the batch in which any rank got the requeue signal, instead of wherever the signal
    interrupted the step (see the module docstring). Does nothing outside Slurm."""

    def __init__(self) -> None:
        self._lightning_handler = None
        self._signum: int | None = None
        self._pending = False

    def on_train_start(self, trainer, pl_module) -> None:
        # the environment Lightning's signal connector reads, which registered its handler
        # before training started
        env = trainer._accelerator_connector.cluster_environment
        if not (isinstance(env, SLURMEnvironment) and env.auto_requeue and env.requeue_signal):
            return
        if threading.current_thread() is not threading.main_thread():
            return
        handler = signal.getsignal(env.requeue_signal)
        if not callable(handler) or handler == self._hold:
            return
        self._lightning_handler, self._signum = handler, env.requeue_signal
        signal.signal(env.requeue_signal, self._hold)

    def _hold(self, signum, frame) -> None:
        self._pending = True

    def _requeue_if_signalled(self, trainer) -> None:
        if self._lightning_handler is None:
            return
        pending = self._pending
        if trainer.world_size > 1:  # every rank saves at the same batch
            pending = trainer.strategy.reduce_boolean_decision(pending, all=False)
        if pending:
            self._pending = False
            rank_zero_info(f"requeue signal: saving the hpc checkpoint at G step "
                           f"{getattr(trainer.lightning_module, 'g_steps', '?')} (end of batch)")
            self._lightning_handler(self._signum, None)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._requeue_if_signalled(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        self._requeue_if_signalled(trainer)
