"""Launching DDP over several nodes: the checks and messages Lightning and torch leave out.

What Lightning does: with ``--trainer.num_nodes=N --trainer.devices=D`` it reads the
launcher's environment (``LightningEnvironment``: ``MASTER_ADDR``, ``MASTER_PORT``,
``NODE_RANK``, and ``LOCAL_RANK`` when the user starts every process; torchrun's
``TorchElasticEnvironment``; ``SLURMEnvironment``), computes each process's global rank
(``NODE_RANK x D + LOCAL_RANK``) and calls ``torch.distributed.init_process_group``, whose
rendezvous on ``MASTER_ADDR:MASTER_PORT`` waits ``DDPStrategy(timeout=...)`` for every
process (30 minutes by default). What it lacks, added here:

- :func:`check_launch_env`: ``NODE_RANK`` (or torchrun's ``GROUP_RANK``) outside ``0..N-1``
  and a ``WORLD_SIZE`` that is not ``N x D`` stop with one line before anything starts
  (Lightning computes a rank beyond the world and torch fails or waits);
- :func:`ddp_strategy`: the ``ddp_timeout`` setting (``--ddp_timeout=SECONDS`` or
  ``$GANZOO_DDP_TIMEOUT``), so a node that never joins ends the run after that long;
- :func:`distributed_error`: torch's rendezvous errors (a port already in use, a node that
  never joined, an address nobody answers on) as one line naming the variable to fix.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta

from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry

from ganzoo.errors import ConfigError

TIMEOUT_ENV = "GANZOO_DDP_TIMEOUT"


def ddp_timeout(configured: float | None) -> float | None:
    """The rendezvous and collective timeout in seconds: ``--ddp_timeout``, else
    ``$GANZOO_DDP_TIMEOUT``, else None (Lightning's default, 30 minutes)."""
    value = configured if configured is not None else os.environ.get(TIMEOUT_ENV) or None
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{TIMEOUT_ENV}: seconds, got {value!r}") from None
    if seconds <= 0:
        raise ConfigError(f"ddp_timeout: must be > 0 seconds, got {value}")
    return seconds


def ddp_strategy(name: str, seconds: float) -> DDPStrategy:
    """The registered DDP strategy ``name`` (``ddp``, ``ddp_find_unused_parameters_true``,
    ...) with ``timeout=seconds``."""
    entry = StrategyRegistry[name] if name in StrategyRegistry else None
    if entry is None or not issubclass(entry["strategy"], DDPStrategy):
        raise ConfigError(f"ddp_timeout: applies to the ddp strategies; trainer.strategy is {name!r}")
    return entry["strategy"](**entry["init_params"], timeout=timedelta(seconds=seconds))


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}: an integer, got {value!r}") from None


def check_launch_env(num_nodes: int, devices) -> None:
    """One line for a launch environment that cannot form the world of ``num_nodes`` x
    ``devices`` processes (see the module docstring)."""
    for name in ("NODE_RANK", "GROUP_RANK"):
        rank = _int_env(name)
        if rank is not None and not 0 <= rank < num_nodes:
            raise ConfigError(
                f"{name}={rank}: out of range for trainer.num_nodes={num_nodes} (node ranks "
                f"0..{num_nodes - 1}; start node i with {name}=i)")
    world = _int_env("WORLD_SIZE")
    try:
        per_node = int(devices)
    except (TypeError, ValueError):
        return  # "auto", a list of GPUs: Lightning's own checks
    if world is not None and world != num_nodes * per_node:
        raise ConfigError(
            f"WORLD_SIZE={world}: trainer.num_nodes x trainer.devices is {num_nodes} x "
            f"{per_node} = {num_nodes * per_node}; set WORLD_SIZE to that (or the flags to match)")


def distributed_error(err: BaseException, timeout: float | None) -> str | None:
    """The one line for a rendezvous failure (None if ``err`` is not one)."""
    import torch.distributed as dist

    if not isinstance(err, dist.DistError | RuntimeError):
        return None
    text = str(err)
    where = f"{os.environ.get('MASTER_ADDR', '127.0.0.1')}:{os.environ.get('MASTER_PORT', '?')}"
    waited = f"{timeout:g} s (ddp_timeout)" if timeout else "the rendezvous timeout"
    if "EADDRINUSE" in text or "address already in use" in text.lower():
        return (f"MASTER_PORT={os.environ.get('MASTER_PORT', '?')}: the port is already in use on "
                f"this machine (another job or run?); start every node with another free port")
    joined = re.search(r"(\d+)/(\d+) clients joined", text)
    if joined:
        return (f"trainer.num_nodes: only {joined.group(1)} of {joined.group(2)} processes joined "
                f"{where} within {waited}; start every node with the same MASTER_ADDR, "
                f"MASTER_PORT and trainer.num_nodes, each with its own NODE_RANK")
    if isinstance(err, dist.DistError) and ("timed out" in text.lower() or "timeout" in text.lower()
                                            or "connect" in text.lower()):
        return (f"MASTER_ADDR: no rank-0 node answered at {where} within {waited}; start node 0 "
                f"(NODE_RANK=0) with the same MASTER_ADDR and MASTER_PORT as this node")
    return None
