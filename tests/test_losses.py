"""Loss functions against their closed forms (seeds 000, 002, 003, 004)."""

import math

import pytest
import torch

from ganzoo import losses
from ganzoo.errors import ConfigError

A = torch.tensor([-30.0, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0], dtype=torch.float64)


def D(a):
    return torch.sigmoid(a)


def test_d_bce_matches_log_form():
    real, fake = A[2:5], A[1:4]
    expected = -(torch.log(D(real))).mean() - torch.log(1 - D(fake)).mean()
    assert torch.allclose(losses.d_bce(real, fake), expected)


def test_d_bce_smoothed_targets():
    real, fake = A[2:5], A[1:4]
    a, b = 0.1, 0.05
    expected = -((1 - a) * torch.log(D(real)) + a * torch.log(1 - D(real))).mean() - (
        b * torch.log(D(fake)) + (1 - b) * torch.log(1 - D(fake))
    ).mean()
    assert torch.allclose(losses.d_bce(real, fake, 1 - a, b), expected)


def test_generator_costs_closed_forms():
    a = A[1:-1]
    assert torch.allclose(losses.g_minimax(a), torch.log(1 - D(a)).mean())
    assert torch.allclose(losses.g_nonsaturating(a), -torch.log(D(a)).mean())
    # sigma^-1(D(G(z))) is the logit itself (seed 004)
    assert torch.allclose(losses.g_maximum_likelihood(a), -0.5 * torch.exp(a).mean())


def test_losses_are_finite_for_extreme_logits():
    for pair in losses.LOSSES.values():
        if pair.name == "ml":
            continue  # exp overflows by design; the divergence guard handles it
        assert torch.isfinite(pair.d(A, A.flip(0)))
        assert torch.isfinite(pair.g(A))


def grad_wrt_logit(fn, a: float) -> float:
    x = torch.tensor([a], dtype=torch.float64, requires_grad=True)
    fn(x).backward()
    return x.grad.item()


@pytest.mark.parametrize("a", [-20.0, -5.0, 0.0, 2.0])
def test_saturation_result(a):
    """d/da log(1 - sigmoid(a)) = -sigmoid(a): vanishes where D(G(z)) -> 0 (seed 002)."""
    assert grad_wrt_logit(losses.g_minimax, a) == pytest.approx(-1 / (1 + math.exp(-a)), rel=1e-9)
    # The non-saturating cost -log D has gradient sigmoid(a) - 1, close to -1 there.
    assert grad_wrt_logit(losses.g_nonsaturating, a) == pytest.approx(
        1 / (1 + math.exp(-a)) - 1, rel=1e-9
    )


def test_nonsaturating_gradient_stays_large_where_minimax_vanishes():
    a = -10.0  # D(G(z)) ~ 4.5e-5: the discriminator rejects the samples
    assert abs(grad_wrt_logit(losses.g_minimax, a)) < 1e-4
    assert abs(grad_wrt_logit(losses.g_nonsaturating, a)) > 0.99


@pytest.mark.parametrize("alpha,beta", [(0.0, 0.0), (0.1, 0.0), (0.1, 0.2)])
def test_optimal_discriminator(alpha, beta):
    """Minimising ganzoo's d_bce over D's values at four points, with 20 data samples and 10
    fakes spread over them as p_data and p_g, gives D* = ((1-a) p_data + b p_g) / (p_data +
    p_g) (Proposition 1 of Goodfellow et al. 2014; the alpha/beta form of seed 003). The
    batches differ in size: each expectation is a mean over its own batch."""
    data_counts, fake_counts = torch.tensor([10, 6, 3, 1]), torch.tensor([1, 2, 3, 4])
    real_at = torch.repeat_interleave(torch.arange(4), data_counts)  # where each sample lies
    fake_at = torch.repeat_interleave(torch.arange(4), fake_counts)
    logits = torch.zeros(4, dtype=torch.float64, requires_grad=True)  # D's logit per point
    opt = torch.optim.LBFGS([logits], max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = losses.d_bce(logits[real_at], logits[fake_at], 1 - alpha, beta)
        loss.backward()
        return loss

    opt.step(closure)
    p_data, p_g = data_counts / 20, fake_counts / 10
    expected = ((1 - alpha) * p_data + beta * p_g) / (p_data + p_g)
    assert torch.allclose(torch.sigmoid(logits), expected.double(), atol=1e-6)


def test_optimal_value_is_minus_log4_at_equilibrium():
    """With p_g = p_data, D* = 1/2 and V(D*, G) = -log 4 (seed 002)."""
    half = torch.zeros(1000, dtype=torch.float64)  # logit 0 -> D = 1/2
    assert -losses.d_bce(half, half).item() == pytest.approx(-math.log(4))


def test_wasserstein_hinge_least_squares():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.5])
    assert losses.d_wasserstein(real, fake).item() == pytest.approx(-0.75 - 2.0)
    assert losses.g_wasserstein(fake).item() == pytest.approx(0.75)
    assert losses.d_hinge(real, fake).item() == pytest.approx(0.0 + (0.0 + 1.5) / 2)
    assert losses.d_least_squares(real, fake).item() == pytest.approx(
        0.5 * (0 + 4) / 2 + 0.5 * (4 + 0.25) / 2
    )
    assert losses.g_least_squares(fake).item() == pytest.approx(0.5 * (9 + 0.25) / 2)


def test_unknown_loss_names_the_field_and_choices():
    with pytest.raises(ConfigError, match=r"model.loss: unknown loss 'foo'; allowed: .*nonsaturating"):
        losses.get_loss("foo")
