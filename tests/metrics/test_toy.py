"""Toy-data metrics: mode coverage, high-quality samples, reverse KL, and the optimal D."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.data import GANDataModule
from ganzoo.data.registry import toy_centers
from ganzoo.metrics import evaluate
from ganzoo.metrics.toy import (
    GeneratorDensity,
    ModeCoverage,
    optimal_discriminator,
    optimal_discriminator_gap,
)
from ganzoo.models import WGANGP, VanillaGAN
from ganzoo.tricks import InstanceNoise, LabelSmoothing


def mixture(name: str, n: int, std: float = 0.05, only_mode: int | None = None) -> torch.Tensor:
    centers = toy_centers(name)
    g = torch.Generator().manual_seed(0)
    comp = torch.randint(len(centers), (n,), generator=g)
    if only_mode is not None:
        comp[:] = only_mode
    return centers[comp] + std * torch.randn(n, centers.shape[1], generator=g)


def coverage(name: str, samples: torch.Tensor) -> dict[str, float]:
    metric = ModeCoverage(toy_centers(name), 0.05)
    metric.update(samples)
    return {k: float(v) for k, v in metric.compute().items()}


def test_samples_from_the_data_cover_every_mode():
    out = coverage("grid25", mixture("grid25", 2500))
    assert out["modes_covered"] == 25
    assert out["hq_percent"] > 98.0  # 3 sigma in 2D holds 98.9%
    assert out["reverse_kl"] < 0.02


def test_a_collapsed_generator_covers_one_mode():
    out = coverage("ring8", mixture("ring8", 1000, only_mode=2))
    assert out["modes_covered"] == 1
    assert out["reverse_kl"] == pytest.approx(math.log(8))


def test_reverse_kl_is_of_the_high_quality_samples_only():
    """500 high-quality samples on one grid25 mode, 2,000 more 10 std away from the other 24
    modes (nearest to them, not high quality): the high-quality histogram is one mode, so the
    reverse KL is log 25, although the nearest-mode histogram of all samples is near uniform
    (its KL would be 0.18)."""
    centers = toy_centers("grid25")
    g = torch.Generator().manual_seed(0)
    good = centers[0] + 0.02 * torch.randn(500, 2, generator=g)  # all within 3 std (0.15)
    others = centers[1:].repeat_interleave(2000 // 24 + 1, dim=0)[:2000]
    far = others + torch.tensor([0.5, 0.0]) + 0.05 * torch.randn(2000, 2, generator=g)
    out = coverage("grid25", torch.cat([good, far]))
    assert out["hq_percent"] == pytest.approx(20.0)
    assert out["modes_covered"] == 1
    assert out["reverse_kl"] == pytest.approx(math.log(25))


def test_no_high_quality_sample_has_no_reverse_kl():
    """Samples halfway between modes: none is high quality, no mode is covered, and the mode
    histogram of high-quality samples is empty, so there is no reverse KL to report."""
    centers = toy_centers("grid25")
    out = coverage("grid25", (centers + 1.0).repeat(40, 1))
    assert out["hq_percent"] == 0 and out["modes_covered"] == 0
    assert math.isnan(out["reverse_kl"])


def test_far_samples_are_not_high_quality():
    out = coverage("ring8", mixture("ring8", 1000, std=0.5))
    assert out["hq_percent"] < 40


def test_optimal_discriminator_is_one_half_for_a_perfect_generator():
    density = GeneratorDensity(toy_centers("gauss1d"), 0.05)
    density.update(mixture("gauss1d", 20000))
    grid, p_data, p_g = density.compute()
    d_star = optimal_discriminator(p_data, p_g)
    mass = p_data > 0.1
    assert (d_star[mass] - 0.5).abs().max() < 0.05
    assert optimal_discriminator_gap(torch.full_like(grid, 0.5), p_data, p_g) < 0.02
    assert optimal_discriminator_gap(torch.ones_like(grid), p_data, p_g) > 0.4


def normal_mixture_pdf(x: torch.Tensor, means: list[float], std: float) -> torch.Tensor:
    parts = [torch.exp(-0.5 * ((x - m) / std) ** 2) / (std * math.sqrt(2 * math.pi)) for m in means]
    return sum(parts) / len(parts)


class Oracle(VanillaGAN):
    """A gauss1d model with known densities: G draws the data mixture (modes -2 and +2, std
    0.05) shifted by ``shift``; D outputs ``d_fn(x)``."""

    shift = 0.0

    def d_fn(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, 0.5)

    def generate(self, latent):
        z = latent["z"]
        mode = torch.where(z[:, 1] > 0, 2.0, -2.0)
        return (mode + self.shift + 0.05 * z[:, 0]).view(-1, 1)

    def discriminate(self, x, labels):
        d = self.d_fn(x.double().view(-1)).clamp(1e-12, 1 - 1e-12)
        return torch.logit(d).to(x.dtype), None


def oracle(dm, d_fn=None, shift=0.0, **kwargs) -> Oracle:
    model = Oracle(data_shape=dm.data_shape, num_classes=dm.num_classes, g_width=8, d_width=8,
                   **kwargs)
    model.shift = shift
    if d_fn is not None:
        model.d_fn = d_fn
    return model


def optimum(real_label: float, fake_label: float, noise: float, shift: float):
    """D* from first principles: D sees data and fakes plus N(0, noise^2), so it separates
    the two mixtures with their component std widened to sqrt(0.05^2 + noise^2)."""
    std = math.sqrt(0.05**2 + noise**2)

    def d(x):
        p = normal_mixture_pdf(x, [-2.0, 2.0], std)
        q = normal_mixture_pdf(x, [-2.0 + shift, 2.0 + shift], std)
        return (real_label * p + fake_label * q) / (p + q).clamp_min(1e-300)

    return d


def test_evaluate_on_toy_data_reports_toy_metrics_only(tmp_path):
    """G = the data distribution, so D* = 1/2 everywhere: a D that says 0.8 is off by 0.3."""
    dm = GANDataModule(dataset="gauss1d", toy_samples=500)
    model = oracle(dm, d_fn=lambda x: torch.full_like(x, 0.8))
    result = evaluate(model, dm, num_samples=4000, batch_size=1000, cache_dir=tmp_path)
    assert set(result["metrics"]) == {"modes_covered", "hq_percent", "reverse_kl", "d_optimal_gap"}
    assert result["protocol"]["extractor"] == "none"
    assert result["metrics"]["d_optimal_gap"] == pytest.approx(0.3, abs=0.01)
    assert result["metrics"]["modes_covered"] == 2 and result["metrics"]["hq_percent"] > 99


@pytest.mark.parametrize(
    "alpha, beta, noise, anneal_steps, d_steps",
    [
        (0.1, 0.0, 0.0, 0, 0),  # one-sided smoothing
        (0.1, 0.2, 0.0, 0, 0),  # alpha/beta smoothing
        (0.0, 0.0, 0.5, 0, 0),  # constant instance noise
        (0.1, 0.2, 0.5, 10, 5),  # both, noise annealed to half its std by D step 5
    ],
)
def test_d_optimal_gap_measures_against_the_optimum_of_what_d_is_trained_on(
    tmp_path, alpha, beta, noise, anneal_steps, d_steps
):
    """A D equal to the optimum of its smoothed targets and noisy inputs has gap ~0; the
    unsmoothed, noiseless p_data / (p_data + p_g) is far from it (the old comparison)."""
    dm = GANDataModule(dataset="gauss1d", toy_samples=500)
    shift = 0.5
    current_noise = noise * (1 - d_steps / anneal_steps) if anneal_steps else noise
    right = optimum(1 - alpha, beta, current_noise, shift)
    kwargs = dict(loss=LabelSmoothing(alpha=alpha, beta=beta),
                  tricks=[InstanceNoise(std=noise, anneal_steps=anneal_steps)])
    model = oracle(dm, d_fn=right, shift=shift, **kwargs)
    model.d_steps = d_steps
    result = evaluate(model, dm, num_samples=4000, batch_size=1000, cache_dir=tmp_path)
    assert result["metrics"]["d_optimal_gap"] < 0.01
    assert result["protocol"]["d_optimal_targets"] == [1 - alpha, beta]
    assert result["protocol"]["d_optimal_noise_std"] == pytest.approx(current_noise)

    old = oracle(dm, d_fn=optimum(1.0, 0.0, 0.0, shift), shift=shift, **kwargs)
    old.d_steps = d_steps
    result = evaluate(old, dm, num_samples=4000, batch_size=1000, cache_dir=tmp_path)
    assert result["metrics"]["d_optimal_gap"] > 0.04  # 0.05 for one-sided smoothing alone


def test_no_optimal_d_for_a_critic(tmp_path):
    dm = GANDataModule(dataset="ring8", toy_samples=500)
    model = WGANGP(
        data_shape=dm.data_shape, num_classes=dm.num_classes, arch="mlp", g_width=16, d_width=16
    )
    result = evaluate(model, dm, num_samples=400, batch_size=200, cache_dir=tmp_path)
    assert "d_optimal_gap" not in result["metrics"]
    assert "modes_covered" in result["metrics"] and "fid" not in result["metrics"]
