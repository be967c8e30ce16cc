"""Metrics for the toy mixtures (gauss1d, ring8, grid25), whose density is known.

Mode metrics (VEEGAN, Srivastava et al. 2017, Sec. 5.1; PacGAN, Lin et al. 2018, Sec. 5):
every generated sample is assigned to its nearest mode; it is *high quality* when it lies
within 3 standard deviations of that mode. A mode is *covered* when it holds at least one
fifth of its expected share of high-quality samples (PacGAN: 20 of 2,500 samples for 25
modes). The *reverse KL* is ``KL(p_g || p_data)`` between the histogram of the
**high-quality** samples over the modes and the data's mode weights (uniform for these
sources), as those papers compute it; NaN when no sample is high quality. Alone it misleads:
a diffuse blob over the grid25 modes has a nearly uniform nearest-mode histogram (reverse KL
0.03 over all samples) with almost no sample near any mode, and even the high-quality
histogram of such a blob rests on a handful of samples. Read it only beside modes covered
and the high-quality share, as every report here shows it.

1D optimal discriminator (Goodfellow et al. 2014, Prop. 1): ``D*(x) = p_data(x) /
(p_data(x) + p_g(x))``. ``p_g`` is a Gaussian kernel density estimate of the samples with
bandwidth ``std`` (the components' std); ``p_data`` is smoothed by the same kernel (each
component then has std ``sqrt(2) * std``) so that a perfect generator gives exactly 1/2.
``d_optimal_gap`` is the mean of ``|D(x) - D*(x)|`` under ``(p_data + p_g) / 2`` on a grid;
it applies to probabilistic (sigmoid) discriminators only. D* is the optimum of the cost the
model's D actually minimises:

- label smoothing: with targets ``1 - alpha`` (real) and ``beta`` (fake), the model's
  ``real_label`` and ``fake_label``, D* is ``((1 - alpha) p_data + beta p_g) / (p_data +
  p_g)`` (seed 003); comparing such a D with ``p_data / (p_data + p_g)`` would report a gap
  of up to ``max(alpha, beta)`` for a perfect D.
- instance noise: D sees ``x + N(0, s^2)`` for real and fake samples alike, so it is trained
  on both densities convolved with that Gaussian and its optimum is D* of the convolved
  densities. For Gaussian noise of known std (ganzoo's ``instance_noise``, at the std of the
  current D step when it is annealed) the convolution is exact here: it widens the kernel of
  both densities to ``sqrt(std^2 + s^2)`` on top of their smoothing. For noise of another
  shape or unknown std the gap against any D* would not be comparable, and should not be
  reported.

Both are torchmetrics ``Metric``s with summed states, so they sync across DDP ranks.
"""

from __future__ import annotations

import math

import torch
from torchmetrics import Metric

from ganzoo.data.registry import toy_centers

Tensor = torch.Tensor

HQ_SIGMAS = 3.0
COVERED_FRACTION = 0.2  # of the expected per-mode count (PacGAN: 20 of 2,500 / 25)


class ModeCoverage(Metric):
    """Modes covered, percent of high-quality samples, and the reverse KL of the histogram of
    high-quality samples over the modes."""

    full_state_update = False

    def __init__(self, centers: Tensor, std: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.register_buffer("centers", centers.double(), persistent=False)
        self.std = float(std)
        k = len(centers)
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("high_quality", torch.zeros(k, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, samples: Tensor) -> None:
        dist = torch.cdist(samples.double().view(len(samples), -1), self.centers)
        nearest_dist, nearest = dist.min(dim=1)
        self.count += len(samples)
        hq = nearest[nearest_dist <= HQ_SIGMAS * self.std]
        self.high_quality += torch.bincount(hq, minlength=len(self.centers)).double()

    def compute(self) -> dict[str, Tensor]:
        k = len(self.centers)
        total = self.count
        covered = self.high_quality >= COVERED_FRACTION * total / k
        hq_total = self.high_quality.sum()
        if hq_total > 0:
            p_g = self.high_quality / hq_total
            p_data = torch.full_like(p_g, 1.0 / k)
            nonzero = p_g > 0
            reverse_kl = (p_g[nonzero] * (p_g[nonzero] / p_data[nonzero]).log()).sum()
        else:
            reverse_kl = torch.tensor(math.nan, dtype=torch.float64)
        return {
            "modes_covered": covered.sum().double(),
            "hq_percent": 100.0 * self.high_quality.sum() / total,
            "reverse_kl": reverse_kl,
        }


def _normal_pdf(x: Tensor, mean: Tensor, std: float) -> Tensor:
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


class GeneratorDensity(Metric):
    """Kernel density estimate of 1D samples on a grid, next to the smoothed data density.

    ``noise_std``: the std of Gaussian instance noise on D's inputs; both densities are then
    convolved with it (the kernel's variance grows by ``noise_std^2``), giving the densities
    D is trained to tell apart. ``compute()`` returns ``(grid, p_data, p_g)``; see
    :func:`optimal_discriminator_gap`.
    """

    full_state_update = False

    def __init__(
        self, centers: Tensor, std: float, num_points: int = 601, noise_std: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        centers = centers.double().view(-1)
        lo, hi = float(centers.min()) - 1.0, float(centers.max()) + 1.0
        self.register_buffer(
            "grid", torch.linspace(lo, hi, num_points, dtype=torch.float64), persistent=False
        )
        self.register_buffer("centers", centers, persistent=False)
        self.std = float(std)
        self.noise_std = float(noise_std)
        self.kernel_std = math.sqrt(self.std**2 + self.noise_std**2)
        self.add_state(
            "kde_sum", torch.zeros(num_points, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, samples: Tensor) -> None:
        x = samples.double().view(-1, 1)
        self.kde_sum += _normal_pdf(self.grid.view(1, -1), x, self.kernel_std).sum(dim=0)
        self.count += len(x)

    def compute(self) -> tuple[Tensor, Tensor, Tensor]:
        p_g = self.kde_sum / self.count
        smoothed = math.sqrt(self.std**2 + self.kernel_std**2)  # component std, then kernel
        p_data = _normal_pdf(self.grid.view(-1, 1), self.centers.view(1, -1), smoothed).mean(1)
        return self.grid, p_data, p_g


def optimal_discriminator(
    p_data: Tensor, p_g: Tensor, real_label: float = 1.0, fake_label: float = 0.0
) -> Tensor:
    """The discriminator that minimises the BCE cost with targets ``real_label`` and
    ``fake_label`` pointwise: ``(t_r p_data + t_f p_g) / (p_data + p_g)``.

    With the hard targets (1, 0) this is ``p_data / (p_data + p_g)`` (Goodfellow et al. 2014,
    Prop. 1; seed 000); with ``1 - alpha`` and ``beta`` it is the smoothed optimum
    ``((1 - alpha) p_data + beta p_g) / (p_data + p_g)`` (Salimans et al. 2016; seed 003).
    Where neither density has mass D* is undefined; this returns 0 there.
    """
    total = (p_data + p_g).clamp_min(1e-300)
    return (real_label * p_data + fake_label * p_g) / total


def optimal_discriminator_gap(
    d_probs: Tensor, p_data: Tensor, p_g: Tensor, real_label: float = 1.0, fake_label: float = 0.0
) -> float:
    """Mean ``|D(x) - D*(x)|`` weighted by ``(p_data + p_g) / 2`` over the grid points, D* for
    the BCE targets ``real_label`` and ``fake_label`` the model trains D with."""
    weight = (p_data + p_g) / 2
    d_star = optimal_discriminator(p_data, p_g, real_label, fake_label)
    gap = (d_probs.double() - d_star).abs()
    return float((weight * gap).sum() / weight.sum())


def toy_states(datamodule, noise_std: float, device) -> list[Metric]:
    """The toy metrics' states for one evaluation: mode coverage and, for the optimal-D gap,
    the densities D is trained on: convolved with the instance noise D sees now
    (``noise_std``, its std at the current D step)."""
    centers = toy_centers(datamodule.dataset_name)
    std = datamodule.hparams.toy_std
    return [ModeCoverage(centers, std).to(device),
            GeneratorDensity(centers, std, noise_std=noise_std).to(device)]
