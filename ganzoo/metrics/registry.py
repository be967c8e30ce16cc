"""The metric registry: every metric an evaluation can compute, by name.

A metric is a function from an :class:`EvalContext` (this rank's generated features, logits
and conditioning, the real reference features, the plan, the evaluator's settings) to a dict
of named floats, registered with :func:`register` together with the plan flag that says
when it applies. The :class:`~ganzoo.metrics.evaluate.Evaluator` computes every registered
metric that applies (or the ones named in its ``metrics`` setting, as the callback's config
picks them) and records each one's settings in the protocol it writes.

Adding a metric is one file that computes and registers it (for example
:mod:`ganzoo.metrics.prdc`), imported in :mod:`ganzoo.metrics.builtin`, plus its test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ganzoo.errors import ConfigError

Tensor = torch.Tensor


@dataclass
class EvalContext:
    """What a metric may read. Tensors are this rank's share unless said otherwise.

    Attributes:
        model, datamodule, plan: what is evaluated and which flags apply.
        settings: the evaluator (num_samples, seed, KID sizes, ...).
        generated: ``features``, ``logits`` (extractor outputs of the fakes), ``cond`` (the
            labels or categorical codes they were drawn with) and ``pred`` (the domain
            classifier's classes); None where the plan does not need them.
        real_features: this rank's share of the reference features.
        real: the whole reference set (:class:`~ganzoo.metrics.real_stats.RealFeatures`).
        toy: the toy-data metric states updated with the samples.
        protocol: settings a metric used, recorded beside its numbers (a metric adds its own).
    """

    model: Any
    datamodule: Any
    plan: Any
    settings: Any
    generated: dict[str, Tensor | None]
    real_features: Tensor | None = None
    real: Any = None
    toy: list = field(default_factory=list)
    protocol: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric: ``compute(ctx) -> {name: value}`` where ``applies(plan)``."""

    name: str
    applies: Callable[[Any], bool]
    compute: Callable[[EvalContext], dict[str, float]]
    outputs: tuple[str, ...]
    higher_is_better: tuple[str, ...] = ()


METRICS: dict[str, MetricSpec] = {}


def register(
    name: str,
    *,
    applies: Callable[[Any], bool],
    outputs: Sequence[str],
    higher_is_better: Sequence[str] = (),
):
    """Decorator: register ``fn(ctx) -> dict`` as metric ``name``; ``outputs`` are the keys it
    returns (the first is its headline value) and ``higher_is_better`` those where more is
    better (the others are lower-is-better or informational)."""

    def add(fn: Callable[[EvalContext], dict[str, float]]):
        if name in METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        METRICS[name] = MetricSpec(name, applies, fn, tuple(outputs), tuple(higher_is_better))
        return fn

    return add


def select(names: Sequence[str] | None) -> list[MetricSpec]:
    """The metrics ``names`` in registry order (None: all); a one-line error for a typo."""
    if names is None:
        return list(METRICS.values())
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(
            f"metrics: unknown {', '.join(map(repr, unknown))}; allowed: {', '.join(METRICS)}"
        )
    return [m for n, m in METRICS.items() if n in names]
