"""Matplotlib without a display: every figure ganzoo writes (a table's curves and grids over
time, the toy scatter plots) is drawn off-screen."""

from __future__ import annotations

from types import ModuleType


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend, imported on first use (training runs that
    draw nothing do not pay for importing matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
