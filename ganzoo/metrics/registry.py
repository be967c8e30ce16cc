"""The metric registry: every metric an evaluation can compute, by name.

A metric is a function from an :class:`EvalContext` (this rank's generated features, logits
and conditioning, the real reference features, the plan, the evaluator's settings) to a dict
of named floats, registered with :func:`register` together with the plan flag that says
when it applies. The :class:`~ganzoo.metrics.evaluate.Evaluator` computes every registered
metric that applies (or the ones named in its ``metrics`` setting, as the callback's config
picks them) and records each one's settings in the protocol it writes.

Each output a metric returns is described by a :class:`Measure`: how tables print it, which
direction is better, the scale on which two result sets are compared (log for FID and KID,
whose differences are ratios), the equivalence margin of ``ganzoo verdict`` and whether it is
a headline metric that tables rank and group. Tables and verdicts ask :func:`measure` instead
of keeping their own lists of metric names.

A metric that reads only the images (not the model, its labels or codes) is registered with
``on_real=True``: the evaluation then also computes it for real training images in place of
the fakes, the *real floor* every row is read against (:mod:`ganzoo.metrics.floor`). A metric
that measures in a second feature space names its extractor in ``extractors`` and asks the
context for it (:meth:`EvalContext.space`); the evaluation builds it before training.

Adding a metric is one file that computes and registers it (for example
:mod:`ganzoo.metrics.scores.prdc`), imported by :mod:`ganzoo.metrics.builtin`, plus its test.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from ganzoo.errors import ConfigError
from ganzoo.metrics.extractors import extract
from ganzoo.metrics.fidelity import shard

Tensor = torch.Tensor


@dataclass(frozen=True)
class FeatureSpace:
    """The generated and the real images in one extractor's features.

    Attributes:
        extractor: the extractor (``name``, ``weights_sha256``, ``feature_layer``, ...).
        fake: this rank's share of the generated images' features.
        real: the whole reference set (:class:`~ganzoo.metrics.real_stats.RealFeatures`).
        real_share: this rank's share of the reference features.
    """

    extractor: Any
    fake: Tensor
    real: Any
    real_share: Tensor


@dataclass
class EvalContext:
    """What a metric may read. Tensors are this rank's share unless said otherwise.

    Attributes:
        model, datamodule, plan: what is evaluated and which flags apply.
        settings: the evaluator (num_samples, seed, KID sizes, ...).
        generated: ``features``, ``logits`` (extractor outputs of the fakes), ``images`` (the
            fakes as uint8, on the CPU), ``cond`` (the labels or categorical codes they were
            drawn with) and ``pred`` (the domain classifier's classes); None where the plan
            does not need them. For the real floor they hold real training images.
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
    _spaces: dict[str, FeatureSpace] = field(default_factory=dict, repr=False)

    def space(self, name: str) -> FeatureSpace:
        """The generated images and the reference split in the features of extractor ``name``
        (built and extracted once per context; the real features come from the disk cache).
        The extractor and its features are recorded in the protocol as ``<name>_sha256``,
        ``<name>_layer`` and ``<name>_features``."""
        if name not in self._spaces:
            device = self.real_features.device
            extractor = self.settings.extractor(name, self.datamodule, device)
            if name == self.settings.extractor_name:  # the evaluation's own features
                space = FeatureSpace(extractor, self.generated["features"], self.real,
                                     self.real_features)
            else:
                real = self.settings.split_features(
                    self.datamodule, self.settings.reference_split, extractor)
                fake, _ = extract(extractor, self.generated["images"], self.settings.batch_size)
                space = FeatureSpace(extractor, fake.to(device), real,
                                     shard(real.features).to(device))
            self._spaces[name] = space
            self.protocol.update({f"{name}_sha256": extractor.weights_sha256,
                                  f"{name}_layer": extractor.feature_layer,
                                  f"{name}_features": extractor.num_features})
        return self._spaces[name]


@dataclass(frozen=True)
class Margin:
    """The equivalence margin of a measure: two result sets agree when the difference of their
    means lies within ``(-delta, delta)`` on the measure's comparison scale.

    ``ratio`` (FID, KID): ``delta = log(value)`` on the log scale, i.e. the means' ratio within
    ``[1 / value, value]``; ``relative``: ``delta = value * |reference mean|``; ``absolute``:
    ``delta = value`` in the measure's own units.
    """

    kind: Literal["ratio", "relative", "absolute"]
    value: float

    def __post_init__(self) -> None:
        if self.kind not in ("ratio", "relative", "absolute"):
            raise ConfigError(f"margin: unknown kind {self.kind!r}; allowed: ratio, relative, absolute")
        if not (self.value > 1 if self.kind == "ratio" else self.value > 0):
            raise ConfigError(f"margin: {self.kind} {self.value} must be {'> 1' if self.kind == 'ratio' else '> 0'}")

    @property
    def log_scale(self) -> bool:
        return self.kind == "ratio"

    def delta(self, reference_mean: float) -> float:
        """Half-width of the equivalence region on the comparison scale."""
        if self.kind == "ratio":
            return math.log(self.value)
        if self.kind == "relative":
            return self.value * abs(reference_mean)
        return self.value

    def describe(self) -> str:
        return {"ratio": f"ratio within {self.value:g}x", "relative": f"within {100 * self.value:g}%",
                "absolute": f"within ±{self.value:g}"}[self.kind]


@dataclass(frozen=True)
class Measure:
    """One named output of a metric, as tables and verdicts read it.

    Attributes:
        name: the key in the evaluation's results (a glob such as ``fid_class_*`` covers a family).
        title: the column title in tables.
        format: format spec of its values in tables (one rounding rule per column).
        higher_is_better: True or False; None for a value with no better direction.
        margin: the equivalence margin (None: never judged, information only).
        headline: tables rank it and give it significance groups.
        per_run: False for a spread inside one evaluation (``is_std``), not a value over seeds.
        curves: the x axes (``g_steps``, ``wall_time_s``, ``epoch``) tables plot it against.
    """

    name: str
    title: str | None = None
    format: str = ".3g"
    higher_is_better: bool | None = None
    margin: Margin | None = None
    headline: bool = False
    per_run: bool = True
    curves: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.title or self.name

    @property
    def log_scale(self) -> bool:
        return self.margin is not None and self.margin.log_scale


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric: ``compute(ctx) -> {name: value}`` where ``applies(plan)``; one
    :class:`Measure` per output, the first being its headline value. ``on_real``: it reads only
    the images, so the real floor computes it too; ``extractors``: the feature spaces beyond
    the evaluation's own that it measures in; ``classifier``: it reads the domain classifier's
    predictions (``generated["pred"]``), which the evaluator then builds (trains, for a dataset
    without committed weights)."""

    name: str
    applies: Callable[[Any], bool]
    compute: Callable[[EvalContext], dict[str, float]]
    measures: tuple[Measure, ...]
    on_real: bool = False
    extractors: tuple[str, ...] = ()
    classifier: bool = False

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.measures)


METRICS: dict[str, MetricSpec] = {}

# Equivalence margin of the Fréchet and kernel distances (ganzoo verdict), shared by every
# metric file that reports one: two result sets agree when their ratio is within 1.15.
FID_MARGIN = Margin("ratio", 1.15)


def register(
    name: str,
    *,
    applies: Callable[[Any], bool],
    outputs: Sequence[Measure | str],
    on_real: bool = False,
    extractors: Sequence[str] = (),
    classifier: bool = False,
):
    """Decorator: register ``fn(ctx) -> dict`` as metric ``name``; ``outputs`` describe the keys
    it returns (a plain string: a measure with default settings); ``on_real``, ``extractors``
    and ``classifier`` as in :class:`MetricSpec`."""

    def add(fn: Callable[[EvalContext], dict[str, float]]):
        if name in METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        measures = tuple(o if isinstance(o, Measure) else Measure(o) for o in outputs)
        METRICS[name] = MetricSpec(name, applies, fn, measures, on_real, tuple(extractors),
                                   classifier)
        return fn

    return add


def measure(name: str) -> Measure:
    """The measure of output ``name`` (a default one for names no metric declares)."""
    for spec in METRICS.values():
        for m in spec.measures:
            if m.name == name or fnmatch.fnmatchcase(name, m.name):
                return m
    return Measure(name)


def measures_in_order(names) -> list[str]:
    """``names`` in registry order (the order metrics are registered and list their
    outputs), names no metric declares last, sorted."""
    names = set(names)
    declared = [m.name for spec in METRICS.values() for m in spec.measures]
    head = [n for n in declared if n in names]
    return head + sorted(names - set(head))


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
