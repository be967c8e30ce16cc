"""Precision and recall (Kynkaanniemi et al. 2019) and density and coverage (Naeem et al.
2020), on the same features as FID, registered as the metrics ``precision_recall`` and
``density_coverage``.

Each real feature ``r_i`` gets a ball of radius ``NND_k(r_i)``, the distance to its k-th
nearest other real feature (and each fake ``f_j`` one of ``NND_k(f_j)`` among the fakes):

* precision = share of fakes inside some real ball (quality: fakes lie on the real manifold);
* recall = share of reals inside some fake ball (diversity: the fakes cover the reals);
* density = ``1 / (k M) * sum_j #{i : f_j in ball(r_i)}`` (1 when fakes and reals are
  distributed alike; robust to real outliers, unlike precision; can exceed 1);
* coverage = share of real balls that hold at least one fake (robust to fake outliers).

k is 3 for precision/recall and 5 for density/coverage, the papers' defaults; both are
recorded in the protocol. No library in our stack computes these (torchmetrics and
torch-fidelity do not as of 1.9 / 0.4), hence this module. Distances are computed in
float64 in row blocks, so memory stays ``O(block x n)``. Under DDP the fakes are gathered
from all ranks and every rank computes the same values.
"""

from __future__ import annotations

import torch

from ganzoo.metrics.fidelity import gather_rows
from ganzoo.metrics.registry import EvalContext, Margin, Measure, register

Tensor = torch.Tensor

PR_K = 3  # Kynkaanniemi et al. 2019
DC_K = 5  # Naeem et al. 2020
PRDC_MARGIN = Margin("absolute", 0.03)  # ganzoo verdict: the four agree within ±0.03
BLOCK = 1024
# cdist's fast |a|^2 + |b|^2 - 2ab form rounds d(a, b) and d(b, a) differently (~1e-15
# relative in float64): a point on a ball's boundary (a k-th neighbour itself) counts as
# inside within this relative tolerance. Exact differences are 20x slower at 5,000 samples.
ROUNDING = 1e-9


def _distances(a: Tensor, b: Tensor):
    """Blocks ``(start, cdist(a[start:start+BLOCK], b))`` in float64."""
    a, b = a.double(), b.double()
    for start in range(0, len(a), BLOCK):
        yield start, torch.cdist(a[start : start + BLOCK], b)


def knn_radii(x: Tensor, k: int) -> Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    if len(x) <= k:
        raise ValueError(f"k-NN radii need more than k={k} samples, got {len(x)}")
    out = torch.empty(len(x), dtype=torch.float64, device=x.device)
    for start, d in _distances(x, x):
        out[start : start + len(d)] = d.kthvalue(k + 1, dim=1).values  # the 0 to itself first
    return out


def _inside_counts(points: Tensor, centres: Tensor, radii: Tensor) -> Tensor:
    """For each point, how many balls ``(centres[i], radii[i])`` hold it."""
    counts = torch.empty(len(points), dtype=torch.float64, device=points.device)
    for start, d in _distances(points, centres):
        counts[start : start + len(d)] = (d <= radii[None, :] * (1 + ROUNDING)).sum(1).double()
    return counts


def nearest_distances(points: Tensor, others: Tensor) -> Tensor:
    """Distance from each point to its nearest row of ``others``."""
    out = torch.empty(len(points), dtype=torch.float64, device=points.device)
    for start, d in _distances(points, others):
        out[start : start + len(d)] = d.min(1).values
    return out


def precision_recall(real: Tensor, fake: Tensor, k: int = PR_K, *,
                     real_radii: Tensor | None = None) -> tuple[float, float]:
    """``real_radii``: ``knn_radii(real, k)`` when already computed."""
    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    precision = (_inside_counts(fake, real, real_radii) > 0).double().mean()
    recall = (_inside_counts(real, fake, knn_radii(fake, k)) > 0).double().mean()
    return float(precision), float(recall)


def density_coverage(real: Tensor, fake: Tensor, k: int = DC_K, *,
                     real_radii: Tensor | None = None) -> tuple[float, float]:
    """``real_radii``: ``knn_radii(real, k)`` when already computed."""
    radii = knn_radii(real, k) if real_radii is None else real_radii
    density = _inside_counts(fake, real, radii).sum() / (k * len(fake))
    coverage = (nearest_distances(real, fake) <= radii * (1 + ROUNDING)).double().mean()
    return float(density), float(coverage)


def _sets(ctx: EvalContext) -> tuple[Tensor, Tensor]:
    return ctx.real.features.to(ctx.real_features.device), gather_rows(ctx.generated["features"])


def _real_radii(ctx: EvalContext, real: Tensor, k: int) -> Tensor:
    """The reference set's k-NN radii, computed at its first evaluation only (the reference
    features are the same in every evaluation of a run:
    :meth:`ganzoo.metrics.real_stats.RealFeatures.once`)."""
    return ctx.real.once(("knn_radii", k, str(real.device)), lambda: knn_radii(real, k))


@register("precision_recall", applies=lambda plan: plan.fidelity, on_real=True, outputs=(
    Measure("precision", format=".3f", higher_is_better=True, margin=PRDC_MARGIN),
    Measure("recall", format=".3f", higher_is_better=True, margin=PRDC_MARGIN)))
def _precision_recall(ctx: EvalContext) -> dict[str, float]:
    real, fake = _sets(ctx)
    precision, recall = precision_recall(real, fake, real_radii=_real_radii(ctx, real, PR_K))
    ctx.protocol["precision_recall_k"] = PR_K
    return {"precision": precision, "recall": recall}


@register("density_coverage", applies=lambda plan: plan.fidelity, on_real=True, outputs=(
    # density estimates the fakes' share of real neighbourhoods and can exceed 1: more is
    # not always better, so it has no direction
    Measure("density", format=".3f", margin=PRDC_MARGIN),
    Measure("coverage", format=".3f", higher_is_better=True, margin=PRDC_MARGIN)))
def _density_coverage(ctx: EvalContext) -> dict[str, float]:
    real, fake = _sets(ctx)
    density, coverage = density_coverage(real, fake, real_radii=_real_radii(ctx, real, DC_K))
    ctx.protocol["density_coverage_k"] = DC_K
    return {"density": density, "coverage": coverage}
