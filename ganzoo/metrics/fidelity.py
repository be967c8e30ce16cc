"""FID, IS and KID from extracted features, computed by torchmetrics (no hand-written math).

The extractor runs once per image (:func:`ganzoo.metrics.extractors.extract`) and the
torchmetrics objects receive the features through :class:`Precomputed`, a pass-through
"feature network", so one forward pass feeds all three metrics and cached real features can
be reused. FID's sums and IS's softmax are float64.

Distributed: each rank updates the metrics with its own share, **once** (a single
concatenated tensor per state, so the gathered order is rank 0's share, then rank 1's, ...,
the same order as one process over the same samples), and torchmetrics' sync gathers or sums
the states in ``compute()``, which every rank calls. KID's kernels are float32 (see
:func:`kernel_distance`). IS and KID draw random permutations and
subsets with ``torch.randperm``: they run under a forked, seeded RNG so the values are
reproducible and identical on every rank.

References: FID, Heusel et al. 2017 (Eq. 6); IS, Salimans et al. 2016 (Sec. 4, 10 splits);
KID, Binkowski et al. 2018 (unbiased MMD^2, cubic polynomial kernel, subsets of 1,000).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import torch
import torch.distributed as dist
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance, maximum_mean_discrepancy, poly_kernel
from torchmetrics.utilities import dim_zero_cat

Tensor = torch.Tensor


class Precomputed(nn.Module):
    """A torchmetrics ``feature=`` module for features computed beforehand: casts them to
    ``dtype`` (float64 by default)."""

    def __init__(self, num_features: int, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.num_features = num_features
        self.dtype = dtype

    def forward(self, features: Tensor) -> Tensor:
        return features.to(self.dtype)


@contextmanager
def seeded(seed: int):
    """Run a block with the CPU RNG seeded, restoring the global RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def shard(x: Tensor) -> Tensor:
    """This rank's contiguous share of a tensor every rank holds in full."""
    w, r = world_size(), rank()
    return x[r * len(x) // w : (r + 1) * len(x) // w]


def gather_rows(x: Tensor) -> Tensor:
    """All ranks' rows of ``x`` (shares of different lengths allowed), in rank order; ``x``
    itself without torch.distributed."""
    if world_size() == 1:
        return x
    counts = [torch.zeros(1, dtype=torch.long, device=x.device) for _ in range(world_size())]
    dist.all_gather(counts, torch.tensor([len(x)], device=x.device))
    longest = int(max(c.item() for c in counts))
    padded = torch.zeros(longest, *x.shape[1:], dtype=x.dtype, device=x.device)
    padded[: len(x)] = x
    parts = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(parts, padded)
    return torch.cat([p[: int(c.item())] for p, c in zip(parts, counts, strict=True)])


def global_count(n: int, device: torch.device | str = "cpu") -> int:
    """Sum of ``n`` over all ranks (``n`` itself without torch.distributed)."""
    if world_size() == 1:
        return n
    t = torch.tensor([n], dtype=torch.long, device=device)
    dist.all_reduce(t)
    return int(t.item())


def _quiet(cls, *args, **kwargs):
    with warnings.catch_warnings():  # "will save all extracted features in buffer"
        warnings.simplefilter("ignore", UserWarning)
        return cls(*args, **kwargs)


class WholeRealSetKID(KernelInceptionDistance):
    """torchmetrics' KID with one saving it lacks: when every real subset is the whole real
    set (the usual protocol here: 1,000 test images, subsets of 1,000), the real-real kernel
    is the same matrix in every subset up to a permutation, which changes none of the sums the
    unbiased MMD takes, so it is computed once instead of ``subsets`` times (a third of KID's
    time). The subsets drawn, the kernels and the MMD are torchmetrics' own
    (``torch.randperm`` per subset for the real then the fake set, ``poly_kernel``,
    ``maximum_mean_discrepancy``); otherwise ``compute`` is torchmetrics' unchanged."""

    def compute(self) -> tuple[Tensor, Tensor]:
        real = dim_zero_cat(self.real_features)
        if len(real) != self.subset_size:
            return super().compute()
        fake = dim_zero_cat(self.fake_features)
        if len(fake) < self.subset_size:
            return super().compute()  # its error message
        kernel = {"degree": self.degree, "gamma": self.gamma, "coef": self.coef}
        k_real = poly_kernel(real, real, **kernel)
        scores = []
        for _ in range(self.subsets):
            torch.randperm(len(real))  # the draw torchmetrics makes, so the fake subsets match
            f_fake = fake[torch.randperm(len(fake))[: self.subset_size]]
            k_fake = poly_kernel(f_fake, f_fake, **kernel)
            k_cross = poly_kernel(real, f_fake, **kernel)
            scores.append(maximum_mean_discrepancy(k_real, k_cross, k_fake))
        kid = torch.stack(scores)
        return kid.mean(), kid.std(unbiased=False)


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """FID between two feature sets (this rank's shares; synced across ranks)."""
    metric = FrechetInceptionDistance(feature=Precomputed(real.shape[1])).to(real.device)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return float(metric.compute())


def inception_score(logits: Tensor, *, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """Mean and std of the Inception Score over ``splits`` splits of the shuffled logits."""
    metric = _quiet(InceptionScore, feature=Precomputed(logits.shape[1]), splits=splits)
    metric = metric.to(logits.device)
    metric.update(logits)
    with seeded(seed):
        mean, std = metric.compute()
    return float(mean), float(std)


def kernel_distance(
    real: Tensor, fake: Tensor, *, subset_size: int = 1000, subsets: int = 100, seed: int = 0
) -> tuple[float, float, int, int]:
    """KID mean and std over random subsets; also the subset size and count used.

    torchmetrics raises when a set is smaller than ``subset_size``: it is clamped to the
    smaller set (over all ranks). When the subsets are then both whole sets, every subset
    gives the same (permutation-invariant) unbiased MMD, so one is computed (std 0): the
    same value as ``subsets`` of them. Both values used are returned to be recorded.

    The kernels are computed in float32 (as torch-fidelity does): their rounding error is
    orders of magnitude below KID's subset-to-subset spread, and it is 2-3x faster on CPU.
    """
    n_real, n_fake = global_count(len(real), real.device), global_count(len(fake), real.device)
    size = min(subset_size, n_real, n_fake)
    if size == n_real == n_fake:
        subsets = 1
    metric = _quiet(
        WholeRealSetKID,
        feature=Precomputed(real.shape[1], torch.float32),
        subset_size=size,
        subsets=subsets,
    ).to(real.device)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    with seeded(seed):
        mean, std = metric.compute()
    return float(mean), float(std), size, subsets


def fidelity_scores(
    real_features: Tensor,
    fake_features: Tensor,
    fake_logits: Tensor,
    *,
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
    is_splits: int = 10,
    seed: int = 0,
) -> tuple[dict[str, float], dict[str, int]]:
    """``({"fid", "is", "is_std", "kid", "kid_std"}, {"kid_subset_size", "kid_subsets"})``
    (the KID settings actually used)."""
    fid = frechet_distance(real_features, fake_features)
    is_mean, is_std = inception_score(fake_logits, splits=is_splits, seed=seed)
    kid, kid_std, size, subsets = kernel_distance(
        real_features, fake_features, subset_size=kid_subset_size, subsets=kid_subsets, seed=seed
    )
    scores = {"fid": fid, "is": is_mean, "is_std": is_std, "kid": kid, "kid_std": kid_std}
    return scores, {"kid_subset_size": size, "kid_subsets": subsets}
