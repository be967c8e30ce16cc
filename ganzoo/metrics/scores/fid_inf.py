"""FID∞ (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find
them"): FID extrapolated to infinitely many generated images.

FID estimated from ``N`` generated images is biased upwards, and the bias depends on the
generator (Chong & Forsyth), so two models compared at one ``N`` may swap places at
another. To first order the bias is linear in ``1 / N``: ``FID_N = FID∞ + b / N``. FID is
computed for nested seeded subsets of the generated features of ``N / 4, N / 2, 3N / 4`` and
``N`` images (250 ... 1,000 at the main protocol; the paper fits sizes from 5,000 to 50,000
images), each against the whole reference set, and FID∞ is the intercept of the least-squares
line through ``(1 / N_i, FID_{N_i})``. Only the generated side is extrapolated: the reference
set's own finite size (1,000 test images here) still biases the value, for every row alike.
The sizes used are recorded in the protocol (``fid_inf_sizes``).

Libraries: the FIDs are torchmetrics' (:func:`ganzoo.metrics.fidelity.frechet_distance`), the
line is ``scipy.stats.linregress``.
"""

from __future__ import annotations

import torch
from scipy import stats

from ganzoo.metrics.fidelity import frechet_distance, gather_rows, shard
from ganzoo.metrics.registry import FID_MARGIN, EvalContext, Measure, register

Tensor = torch.Tensor

FRACTIONS = (0.25, 0.5, 0.75, 1.0)  # of the generated images


def subset_sizes(n: int, fractions=FRACTIONS) -> list[int]:
    """The distinct subset sizes for ``n`` generated images (at least 2 images each)."""
    return sorted({max(2, round(f * n)) for f in fractions if round(f * n) <= n})


def fid_curve(real_share: Tensor, fake: Tensor, sizes: list[int], seed: int) -> list[float]:
    """FID of nested seeded subsets of ``fake`` (every rank's generated features, in the same
    order on every rank) of each size against the reference (this rank's ``real_share``)."""
    order = torch.randperm(len(fake), generator=torch.Generator().manual_seed(seed))
    return [frechet_distance(real_share, shard(fake[order[:n]].to(real_share.device)))
            for n in sizes]


def extrapolate(sizes: list[int], fids: list[float]) -> tuple[float, float]:
    """``(FID∞, slope b)`` of the least-squares line ``FID = FID∞ + b / N``."""
    fit = stats.linregress([1.0 / n for n in sizes], fids)
    return float(fit.intercept), float(fit.slope)


def fid_infinity(real_share: Tensor, fake: Tensor, *, seed: int = 0,
                 fractions=FRACTIONS) -> tuple[float, list[int]]:
    """FID∞ and the subset sizes it was fitted on."""
    sizes = subset_sizes(len(fake), fractions)
    if len(sizes) < 2:
        raise ValueError(f"FID∞ needs two subset sizes; {len(fake)} images give {sizes}")
    return extrapolate(sizes, fid_curve(real_share, fake, sizes, seed))[0], sizes


@register("fid_inf", applies=lambda plan: plan.fidelity, on_real=True, outputs=(
    Measure("fid_inf", "FID∞", ".2f", higher_is_better=False, margin=FID_MARGIN),))
def _fid_inf(ctx: EvalContext) -> dict[str, float]:
    fake = gather_rows(ctx.generated["features"])
    if len(subset_sizes(len(fake))) < 2:
        return {}
    value, sizes = fid_infinity(ctx.real_features, fake, seed=ctx.settings.seed)
    ctx.protocol["fid_inf_sizes"] = sizes
    return {"fid_inf": value}
