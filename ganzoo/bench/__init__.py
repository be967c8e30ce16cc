"""Benchmarks: sweeps, results tables, verdicts and their reproduction, over the runs that
:mod:`ganzoo.runs` records.

Commands (``ganzoo <command> --help`` for options)::

    ganzoo sweep experiments/sweeps/mnist5k_compare.yaml --workers 2   # runs, resumable
    ganzoo table runs/mnist5k                                          # -> results/mnist5k/
    ganzoo reproduce results/mnist5k                                   # new vs committed
    ganzoo compare                                                     # the main job
    ganzoo report results/* --out /tmp/site                            # a static site

Importing this package is cheap: the commands import what they need when they run. ``bench``
never imports :mod:`ganzoo.cli`: the one thing it needs from it, where ``ganzoo fit ARGS``
will put its run, comes in as the ``locate`` argument of :func:`main`.
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.runs.naming import RunLocation

__all__ = ["main"]


def main(argv: list[str], locate: Callable[[list[str]], RunLocation]) -> int:
    """Run a benchmark command (``sweep``, ``table``, ``verdict``, ``reproduce``, ``calibrate``,
    ``compare``, ``resume``, ``report``); ``locate(args)`` is where ``ganzoo <args>`` puts its run
    (:func:`ganzoo.cli.planned_location`)."""
    from ganzoo.bench.commands import main as run_command

    return run_command(argv, locate)
