"""Benchmarks: run records, W&B logging, sweeps, results tables and their reproduction.

Commands (``ganzoo <command> --help`` for options)::

    ganzoo sweep experiments/sweeps/mnist5k_compare.yaml --workers 2   # runs, resumable
    ganzoo table runs/mnist5k                                          # -> results/mnist5k/
    ganzoo reproduce results/mnist5k                                   # new vs committed
    ganzoo compare                                                     # the main job

Importing this package is cheap: the commands import what they need when they run.
"""

from __future__ import annotations

from ganzoo.bench.records import RunRecordCallback
from ganzoo.bench.wandb_logger import FailSafeWandbLogger

__all__ = ["FailSafeWandbLogger", "RunRecordCallback", "main"]


def main(argv: list[str]) -> int:
    """Run a benchmark command (``sweep``, ``table``, ``reproduce``, ``compare``, ``resume``)."""
    from ganzoo.bench.commands import main as run_command

    return run_command(argv)
