import pytest
import torch
from torch import nn

from ganzoo.regularizers import (
    add_instance_noise,
    clip_weights,
    gradient_penalty,
    instance_noise_std,
    random_affine,
    smoothed_targets,
    weight_penalty,
)


@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5])
def test_gradient_penalty_of_linear_critic_is_analytic(scale):
    """f(x) = w.x + b has grad w everywhere, so the penalty is (||w|| - 1)^2 exactly."""
    torch.manual_seed(0)
    critic = nn.Linear(12, 1)
    with torch.no_grad():
        critic.weight.mul_(scale / critic.weight.norm())
    real, fake = torch.randn(32, 3, 2, 2), torch.randn(32, 3, 2, 2)
    gp = gradient_penalty(lambda x: critic(x.flatten(1)).squeeze(1), real, fake)
    assert gp.item() == pytest.approx((scale - 1.0) ** 2, rel=1e-5, abs=1e-7)


def test_gradient_penalty_reaches_critic_parameters():
    critic = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    gp = gradient_penalty(lambda x: critic(x).squeeze(1), torch.randn(8, 4), torch.randn(8, 4))
    gp.backward()
    assert critic[0].weight.grad is not None and critic[0].weight.grad.abs().sum() > 0


def test_clip_weights_bounds_every_parameter():
    net = nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.Linear(7, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 1)
    clip_weights(net, 0.01)
    for p in net.parameters():
        assert p.abs().max().item() <= 0.01
    assert any((p.abs() == 0.01).any() for p in net.parameters())


def test_weight_penalty_is_the_sum_of_squared_conv_and_linear_weights():
    """Seed 001: sum ||W||^2 over the conv and linear weights, with gradient 2 W; biases and
    the norm layer's scale and shift are left out (no gradient at all)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(12, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 1)  # the norm's scale and bias too, so leaving them out shows
    conv, norm, linear = net[0], net[1], net[3]
    expected = (conv.weight**2).sum() + (linear.weight**2).sum()
    penalty = weight_penalty(net)
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-6)
    penalty.backward()
    for w in (conv.weight, linear.weight):
        assert torch.allclose(w.grad, 2 * w.detach())
    assert all(p.grad is None for p in (conv.bias, norm.weight, norm.bias, linear.bias))
    assert weight_penalty(nn.BatchNorm1d(4)).item() == 0.0


def test_instance_noise_anneals_linearly_to_zero():
    assert instance_noise_std(0.2, 0, 100) == pytest.approx(0.2)
    assert instance_noise_std(0.2, 50, 100) == pytest.approx(0.1)
    assert instance_noise_std(0.2, 150, 100) == 0.0
    assert instance_noise_std(0.2, 10_000, 0) == pytest.approx(0.2)  # no annealing
    x = torch.zeros(10_000)
    assert add_instance_noise(x, 0.0) is x
    assert add_instance_noise(x, 0.5).std().item() == pytest.approx(0.5, rel=0.05)


def test_smoothed_targets():
    assert smoothed_targets() == (1.0, 0.0)
    assert smoothed_targets(0.1) == pytest.approx((0.9, 0.0))
    assert smoothed_targets(0.1, 0.05) == pytest.approx((0.9, 0.05))


def test_gradient_penalty_is_computed_in_float32_under_autocast():
    """bf16-mixed training: the penalty must equal its float32 value, not a bf16 estimate
    (this fails if the critic runs under autocast inside the penalty)."""
    torch.manual_seed(0)
    critic = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, 2, 1), torch.nn.LeakyReLU(0.2), torch.nn.Flatten(),
        torch.nn.Linear(8 * 4 * 4, 1),
    )
    real, fake = torch.randn(16, 1, 8, 8), torch.randn(16, 1, 8, 8)
    torch.manual_seed(1)
    reference = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
    torch.manual_seed(1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
    assert mixed.dtype == torch.float32
    assert torch.allclose(mixed, reference, rtol=1e-6, atol=1e-7)
    mixed.backward()
    assert all(torch.isfinite(p.grad).all() for p in critic.parameters() if p.grad is not None)


def _digit_like(n: int) -> torch.Tensor:
    x = -torch.ones(n, 1, 28, 28)
    x[:, :, 6:22, 12:16] = 1.0  # a vertical bar in the middle
    return x


def test_random_affine_without_range_is_the_identity():
    x = _digit_like(4)
    assert torch.allclose(random_affine(x, rotation=0, scale=0, translation=0), x, atol=1e-5)


def test_random_affine_moves_each_image_its_own_way_and_keeps_the_background():
    torch.manual_seed(0)
    x = _digit_like(8)
    out = random_affine(x)
    assert out.shape == x.shape
    assert not torch.allclose(out, x, atol=1e-2)
    flat = out.flatten(1)
    assert all(not torch.allclose(flat[0], flat[i], atol=1e-2) for i in range(1, 8))
    blank = -torch.ones(2, 1, 28, 28)
    assert torch.allclose(random_affine(blank), blank)  # the area moved in is background
    # the bar moves but stays: ink is kept up to the interpolation (and a 10% zoom)
    ink = (x + 1).sum(dim=(1, 2, 3))
    assert torch.allclose((out + 1).sum(dim=(1, 2, 3)), ink, rtol=0.25)


def test_random_affine_is_differentiable_and_reproducible():
    x = _digit_like(3).requires_grad_()
    torch.manual_seed(1)
    a = random_affine(x)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.manual_seed(1)
    assert torch.equal(random_affine(x.detach()), a.detach())
