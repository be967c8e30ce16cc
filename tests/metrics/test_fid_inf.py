"""FID∞ (Chong & Forsyth 2020): the intercept of FID against 1/N, checked on Gaussian features
whose Fréchet distance is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

from ganzoo.metrics.fidelity import frechet_distance
from ganzoo.metrics.scores.fid_inf import extrapolate, fid_infinity, subset_sizes

DIM = 64


def test_the_line_through_exact_points_gives_its_intercept_and_slope():
    sizes = [250, 500, 750, 1000]
    assert extrapolate(sizes, [3.0 + 500.0 / n for n in sizes]) == pytest.approx((3.0, 500.0))
    assert subset_sizes(1000) == sizes and subset_sizes(200) == [50, 100, 150, 200]
    assert subset_sizes(3) == [2, 3]


def gaussians():
    """Reference N(0, I) (100,000 samples: its own bias is negligible) and the fakes'
    N(mu, S) with a random covariance; their Fréchet distance in closed form."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(DIM, DIM, generator=g, dtype=torch.float64) / DIM**0.5
    cov = (a @ a.T).numpy() + 0.5 * np.eye(DIM)
    mean = np.full(DIM, 0.1)
    true = float(mean @ mean + np.trace(np.eye(DIM) + cov - 2 * linalg.sqrtm(cov).real))
    real = torch.randn(100_000, DIM, generator=g, dtype=torch.float64)
    return real, torch.tensor(mean), torch.tensor(np.linalg.cholesky(cov)), true


def test_extrapolation_is_closer_to_the_true_distance_than_fid_at_the_largest_n():
    real, mean, chol, true = gaussians()
    errors = []
    for seed in range(5):
        g = torch.Generator().manual_seed(100 + seed)
        fake = torch.randn(1000, DIM, generator=g, dtype=torch.float64) @ chol.T + mean
        fid_inf, sizes = fid_infinity(real, fake, seed=seed)
        fid_n = frechet_distance(real, fake)
        assert sizes == [250, 500, 750, 1000]
        assert fid_n > true  # FID at finite N is biased upwards ...
        errors.append((abs(fid_n - true), abs(fid_inf - true)))
        assert errors[-1][1] < errors[-1][0], (seed, true, fid_n, fid_inf)  # ... FID∞ less so
    bias_n, bias_inf = np.mean(errors, axis=0)
    assert bias_inf < 0.4 * bias_n, (true, errors)
