"""The theory lab's checks (labs.theory) at small budgets and loose tolerances.

Each test fails on a plausible broken implementation: a BCE term that ignores its soft
target, a generator cost with the wrong closed form, a wrong V or D*.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from ganzoo.regularizers import smoothed_targets
from labs import theory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("alpha, beta", [(0.0, 0.0), (0.1, 0.2)])
def test_trained_discriminator_reaches_the_optimum_of_its_targets(alpha, beta):
    """Proposition 1 (seed 000) and the alpha/beta optimum (seed 003), 2,000 D steps."""
    real_label, fake_label = smoothed_targets(alpha, beta)
    result = theory.proposition1(
        real_label=real_label, fake_label=fake_label, steps=2000, batch=512, seed=0
    )
    assert result["region_mass"] > 0.99
    assert result["max_error"] < 0.06, result["max_error"]
    assert result["mean_error"] < 0.005, result["mean_error"]


def test_optimal_value_is_minus_log4_plus_twice_the_jsd():
    """Seed 002: V(D*, G) = -log 4 + 2 JSD, = -log 4 when p_g = p_data; the JSD also against
    its closed form for the uniform pairs."""
    rows = theory.global_optimum()
    assert len(rows) >= 6
    for row in rows:
        assert row["error"] < 1e-3, row
        if row["exact_jsd"] is not None:
            assert row["jsd_error"] < 1e-3, row
        if row["exact_jsd"] == 0.0:
            assert row["value"] == pytest.approx(-math.log(4), abs=1e-9)
    disjoint = next(r for r in rows if r["pair"] == "disjoint uniforms")
    assert disjoint["value"] == pytest.approx(0.0, abs=1e-9)  # D* = 1 on data, 0 on fakes


def test_d_star_is_the_maximum_of_v():
    """Any other D gives a lower V: a constant D = 1/2 gives exactly -log 4."""
    p_data, p_g = theory.PROP1_DATA, theory.PROP1_G
    best = theory.optimal_value(p_data, p_g)
    assert theory.value(lambda x: torch.zeros_like(x), p_data, p_g) == pytest.approx(
        -math.log(4), abs=1e-9
    )
    off = theory.optimal_logit(p_data, p_g)
    assert theory.value(lambda x: off(x) + 0.3, p_data, p_g) < best - 1e-3


@pytest.mark.parametrize("loss", theory.SATURATION_LOSSES)
def test_generator_cost_gradients_match_their_closed_forms(loss):
    """Seeds 002-004: dJ/da = -D (minimax), D - 1 (non-saturating), -D / (2 (1 - D)) (ML),
    by autograd through ganzoo.losses."""
    d = torch.logspace(-4, math.log10(0.999), 40, dtype=torch.float64)
    auto = theory.cost_gradients(d, loss)
    exact = theory.analytic_cost_gradient(loss, d)
    assert torch.allclose(auto, exact, rtol=1e-9, atol=0)


def test_minimax_generator_stalls_against_a_confident_discriminator():
    runs = theory.strong_discriminator_runs(
        ("minimax", "nonsaturating"), pretrain_steps=300, steps=60, batch=128, seed=0
    )
    assert runs["initial_d_fake"] < 0.01  # D rejects G's samples
    minimax, nonsaturating = runs["runs"]["minimax"], runs["runs"]["nonsaturating"]
    assert abs(minimax["grad_mean"][0]) < 0.05 < 1.0 < abs(nonsaturating["grad_mean"][0])
    assert abs(minimax["mean"][-1] - minimax["mean"][0]) < 0.2
    assert abs(nonsaturating["mean"][-1] - runs["data_mean"]) < 1.0


def test_mean_only_generator_curve_and_descent():
    """Seed 002's graphical explanation: C(mu) = max_D V has its minimum -log 4 at the data
    mean and flattens far away; descending with D* of the current G held fixed follows C's
    gradient (minimax) and reaches the minimum."""
    p_data = theory.Gaussians((0.0,), (1.0,))
    mus = torch.tensor([-6.0, -2.0, -1.0, 0.0, 1.0, 2.0, 6.0], dtype=torch.float64)
    curve = theory.mean_only_curve(p_data, 1.0, mus)
    assert curve[3] == pytest.approx(-math.log(4), abs=1e-9)
    assert torch.allclose(curve, curve.flip(0), atol=1e-9)  # symmetric about the data mean
    assert (curve[4:].diff() > 0).all() and curve[-1] > -0.02
    for loss in ("minimax", "nonsaturating"):
        path = theory.mean_only_descent(p_data, 1.0, 2.0, loss=loss, lr=0.5, steps=40,
                                        samples=2001)
        assert abs(path["mu"][-1]) < 0.1, (loss, path["mu"][-1])
        assert path["value"][-1] < path["value"][0]
    assert theory.danskin_check(p_data, 1.0, [2.5, 1.0, 0.3], samples=2001) < 1e-3


def test_theory_script_writes_the_report_and_plots(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("theory_script", ROOT / "labs" / "theory_report.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["--out", str(tmp_path), "--prop1-steps", "100", "--seed", "3"])
    report = (tmp_path / "theory.md").read_text()
    assert "`.venv/bin/python labs/theory_report.py --out" in report and "--seed 3`" in report
    for section in ("Proposition 1", "Global optimum", "Saturation", "mean-only generator"):
        assert section in report
    for plot in ("proposition1.png", "saturation.png", "mean_only.png"):
        assert (tmp_path / "theory" / plot).stat().st_size > 10_000
        assert f"(theory/{plot})" in report
    assert "[4/4]" in capsys.readouterr().out
