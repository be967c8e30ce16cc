import math

import pytest
import torch
from torch import nn

from ganzoo.regularizers import (
    add_instance_noise,
    clip_weights,
    clustering_loss,
    gradient_penalty,
    instance_noise_std,
    random_affine,
    self_augmentation_loss,
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


def _ink_columns(x: torch.Tensor, rows: slice) -> torch.Tensor:
    """Per image, the mean column of the ink in ``rows``."""
    ink = (x[:, 0, rows] + 1).sum(dim=1)  # (N, W)
    return (ink * torch.arange(x.shape[-1])).sum(dim=1) / ink.sum(dim=1)


def test_random_affine_shear_slants_a_vertical_bar_about_the_centre():
    """shear alone: x' = x + k y, so the bar's top and bottom move sideways in opposite
    directions by up to k times their height (k <= 0.3), its middle stays, its ink too."""
    torch.manual_seed(0)
    x = _digit_like(16)
    out = random_affine(x, rotation=0, scale=0, translation=0, shear=0.3)
    top, middle, bottom = (_ink_columns(out, rows) for rows in (slice(6, 9), slice(13, 15),
                                                                slice(19, 22)))
    assert torch.allclose(middle, _ink_columns(x, slice(13, 15)), atol=0.5)
    slant = top - bottom  # 0 for the upright bar
    assert slant.abs().max() > 1.5 and slant.abs().max() <= 0.3 * 13 + 0.5
    assert (slant > 0).any() and (slant < 0).any()  # each image its own draw
    assert torch.allclose((out + 1).sum(dim=(1, 2, 3)), (x + 1).sum(dim=(1, 2, 3)), rtol=0.05)


def _ink_spread(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Per image, the standard deviation of the ink's coordinate along ``dim`` (2: rows)."""
    ink = (x[:, 0] + 1).sum(dim=1 if dim == 3 else 2)  # (N, side): the profile along dim
    pos = torch.arange(ink.shape[1], dtype=x.dtype)
    mean = (ink * pos).sum(1) / ink.sum(1)
    return ((ink * (pos - mean[:, None]) ** 2).sum(1) / ink.sum(1)).sqrt()


def test_random_affine_aspect_widens_and_shortens_together():
    """aspect alone: one axis stretched by s, the other by 1 / s (s in [0.85, 1.15]): the
    ink's spread across is multiplied by about s and its spread along by about 1 / s."""
    torch.manual_seed(0)
    x = -torch.ones(16, 1, 28, 28)
    x[:, :, 6:22, 8:20] = 1.0  # a block 12 wide: interpolation blurs it by little
    out = random_affine(x, rotation=0, scale=0, translation=0, aspect=0.15)
    across = _ink_spread(out, 3) / _ink_spread(x, 3)
    along = _ink_spread(out, 2) / _ink_spread(x, 2)
    assert (across > 1.05).any() and (across < 0.95).any()
    assert ((across - 1) * (along - 1) < 0).all()  # wider and shorter, or narrower and taller
    assert torch.allclose(across * along, torch.ones(16), atol=0.03)
    assert across.min() > 0.85 and across.max() < 1.16


def test_random_affine_stroke_lies_between_the_erosion_and_the_dilation():
    """stroke alone: each image blends with its 3x3 dilation (thicker) or erosion (thinner),
    by up to ``stroke``; both directions are drawn."""
    torch.manual_seed(0)
    x = _digit_like(16)
    out = random_affine(x, rotation=0, scale=0, translation=0, stroke=0.5)
    dilated = torch.nn.functional.max_pool2d(x, 3, 1, 1)
    eroded = -torch.nn.functional.max_pool2d(-x, 3, 1, 1)
    assert (out >= eroded - 1e-5).all() and (out <= dilated + 1e-5).all()
    ink, before = (out + 1).sum(dim=(1, 2, 3)), (x + 1).sum(dim=(1, 2, 3))
    assert (ink > before * 1.05).any() and (ink < before * 0.95).any()
    # up to half of the way from the image to its dilation or its erosion
    grown, shrunk = ((y + 1).sum(dim=(1, 2, 3)) - before for y in (dilated, eroded))
    assert (ink <= before + 0.5 * grown + 1e-3).all() and (ink >= before + 0.5 * shrunk - 1e-3).all()


def test_random_affine_draws_nothing_more_for_a_range_left_at_zero():
    """The shape ranges draw only when set: the default call keeps its random stream (the
    committed d_augment and q_augment runs replay), and a set range changes the result."""
    x = _digit_like(4)
    torch.manual_seed(3)
    plain, after = random_affine(x), torch.rand(1)
    torch.manual_seed(3)
    zeros, after_zeros = random_affine(x, stroke=0.0, shear=0.0, aspect=0.0), torch.rand(1)
    assert torch.equal(plain, zeros) and torch.equal(after, after_zeros)
    torch.manual_seed(3)
    assert not torch.allclose(random_affine(x, shear=0.3), plain, atol=1e-3)


def test_random_affine_is_differentiable_and_reproducible():
    x = _digit_like(3).requires_grad_()
    torch.manual_seed(1)
    a = random_affine(x)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.manual_seed(1)
    assert torch.equal(random_affine(x.detach()), a.detach())


def test_clustering_loss_is_lowest_for_confident_balanced_classes():
    """-I(x; c): -log K when each image gets one class for sure and the K classes are used
    equally; 0 when every image gets the same distribution, confident (one class for all) or
    not (uniform); in between for a confident split that leaves classes unused."""
    k, big = 4, 30.0
    balanced = torch.eye(k).repeat(2, 1) * big
    assert clustering_loss(balanced).item() == pytest.approx(-math.log(k), abs=1e-6)
    one_class = torch.zeros(8, k)
    one_class[:, 2] = big
    assert clustering_loss(one_class).item() == pytest.approx(0.0, abs=1e-6)
    assert clustering_loss(torch.zeros(8, k)).item() == pytest.approx(0.0, abs=1e-6)
    two_classes = torch.eye(k)[[0, 1] * 4] * big  # half the images each in 2 of 4 classes
    assert clustering_loss(two_classes).item() == pytest.approx(-math.log(2), abs=1e-6)
    logits = torch.randn(8, k, requires_grad=True)
    loss = clustering_loss(logits)
    loss.backward()
    assert -math.log(k) < loss.item() < 0 and logits.grad.abs().sum() > 0


def test_self_augmentation_loss_pulls_the_copys_prediction_to_the_fixed_original():
    """IMSAT's term: cross-entropy of the copy's prediction against the original's, which is
    held fixed: the KL divergence plus the original's entropy, lowest when the two agree, and
    its gradient reaches the copy's logits only."""
    torch.manual_seed(0)
    logits = torch.randn(6, 5, requires_grad=True)
    copy = torch.randn(6, 5, requires_grad=True)
    loss = self_augmentation_loss(logits, copy)
    p, log_q = logits.softmax(1), copy.log_softmax(1)
    kl = (p * (p.log() - log_q)).sum(1).mean()
    entropy = -(p * p.log()).sum(1).mean()
    assert loss.item() == pytest.approx((kl + entropy).item(), rel=1e-6)
    assert self_augmentation_loss(logits, logits).item() == pytest.approx(entropy.item(), rel=1e-6)
    loss.backward()
    assert logits.grad is None and copy.grad.abs().sum() > 0
