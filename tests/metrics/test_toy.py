"""Toy-data metrics: mode coverage, high-quality samples, reverse KL, and the optimal D."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.data import GANDataModule
from ganzoo.data.sources import toy_centers
from ganzoo.metrics import evaluate
from ganzoo.metrics.toy import (
    GeneratorDensity,
    ModeCoverage,
    optimal_discriminator,
    optimal_discriminator_gap,
)
from ganzoo.models import WGAN, VanillaGAN


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


def test_evaluate_on_toy_data_reports_toy_metrics_only(tmp_path):
    dm = GANDataModule(dataset="gauss1d", toy_samples=500)
    torch.manual_seed(0)
    model = VanillaGAN(data_shape=dm.data_shape, num_classes=dm.num_classes, g_width=16, d_width=16)
    result = evaluate(model, dm, num_samples=400, batch_size=200, cache_dir=tmp_path)
    assert set(result["metrics"]) == {"modes_covered", "hq_percent", "reverse_kl", "d_optimal_gap"}
    assert result["protocol"]["extractor"] == "none"
    assert 0 <= result["metrics"]["d_optimal_gap"] <= 1


def test_no_optimal_d_for_a_critic(tmp_path):
    dm = GANDataModule(dataset="ring8", toy_samples=500)
    model = WGAN(
        data_shape=dm.data_shape, num_classes=dm.num_classes, arch="mlp", g_width=16, d_width=16
    )
    result = evaluate(model, dm, num_samples=400, batch_size=200, cache_dir=tmp_path)
    assert "d_optimal_gap" not in result["metrics"]
    assert "modes_covered" in result["metrics"] and "fid" not in result["metrics"]
