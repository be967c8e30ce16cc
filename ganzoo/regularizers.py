"""Discriminator regularisers: gradient penalty, weight clipping, weight penalty, instance noise,
differentiable augmentation, label targets, and the two terms of InfoGAN's Q on real images
(clustering, self-augmentation)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP penalty ``E (||grad_x f(x_hat)||_2 - 1)^2`` (Gulrajani et al. 2017, Eq. 3).

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per sample. The graph
    is kept (``create_graph=True``) so the penalty's own gradient reaches the critic. Under
    mixed precision (``trainer.precision=bf16-mixed`` / ``16-mixed``) the critic is evaluated
    here with autocast off and the inputs in float32: a norm of bf16 gradients (8-bit
    mantissa) would carry a ~1% error into a term that is squared and weighted by 10.

    Args:
        critic: maps a batch of inputs to one value per sample (extra inputs bound already).
        real: data batch.
        fake: generated batch of the same shape (detached from the generator).

    Returns:
        the scalar penalty, without the lambda weight.
    """
    real, fake = real.float(), fake.float()
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    with torch.autocast(real.device.type, enabled=False):  # the double backward's ops too
        out = critic(x_hat).float()
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, clip_value: float) -> None:
    """Clamp every parameter of ``module`` to [-c, c] (Arjovsky et al. 2017, Algorithm 1)."""
    for p in module.parameters():
        p.clamp_(-clip_value, clip_value)


def penalized_weights(module: nn.Module) -> list[nn.Parameter]:
    """The parameters :func:`weight_penalty` covers: every weight matrix or kernel of ``module``
    (parameters with two or more dimensions: linear and conv weights, the minibatch-features
    tensor, label embeddings), not the biases nor the norm layers' scales and shifts (1-D).

    The matrices are what set how steeply D's output can change with its input (D's Lipschitz
    constant is at most the product of their spectral norms), which is what penalising D's
    weights is meant to restrain. A bias only shifts a layer's output, so shrinking it to 0
    limits nothing of the kind; a norm layer's scale and shift would be pulled towards 0 and
    fight the normalisation that sets them. This is the usual weight-decay split (matrices
    decayed, biases and norm parameters not), for the same reasons.
    """
    return [p for p in module.parameters() if p.dim() >= 2]


def weight_penalty(module: nn.Module) -> Tensor:
    """L2 penalty ``sum_W ||W||_F^2`` over :func:`penalized_weights` (seed 001, "Penalizing
    discriminator weights"), without the lambda weight: its gradient is ``2 W``.

    Unlike an optimizer's weight decay it is a term of the loss, so it is logged as one and
    every optimizer (Adam's adaptive steps included) follows its gradient like the others'.
    Where a norm layer follows a layer, that layer's weights are scale-invariant: for them the
    penalty changes the effective step size, not D's function; the layers with no norm after
    them (a DCGAN D's first conv, every D's output layer) bound D's output scale.

    Args:
        module: the discriminator.

    Returns:
        the scalar penalty (0 for a module without weight matrices).
    """
    weights = penalized_weights(module)
    if not weights:
        return torch.zeros(())
    return torch.stack([w.pow(2).sum() for w in weights]).sum()


def instance_noise_std(initial_std: float, step: int, anneal_steps: int) -> float:
    """Std of Gaussian instance noise after ``step`` steps, annealed linearly to 0.

    Noise on the discriminator's inputs (seed 001, "adding noise to discriminator inputs";
    Sonderby et al. 2016) makes the supports of p_data and p_g overlap early on. ``anneal_steps
    = 0`` keeps the noise constant.
    """
    if anneal_steps <= 0:
        return initial_std
    return initial_std * max(0.0, 1.0 - step / anneal_steps)


def add_instance_noise(x: Tensor, std: float) -> Tensor:
    """``x + N(0, std^2)``; the identity when ``std == 0``."""
    if std <= 0:
        return x
    return x + std * torch.randn_like(x)


def random_affine(
    x: Tensor, rotation: float = 15.0, scale: float = 0.1, translation: float = 0.125,
    *, stroke: float = 0.0, shear: float = 0.0, aspect: float = 0.0,
) -> Tensor:
    """Differentiable augmentation of D's inputs (Zhao et al. 2020, "Differentiable
    Augmentation for Data-Efficient GAN Training"): each image of the batch ``(N, C, H, W)``,
    in [-1, 1], gets its own random rotation of up to ``rotation`` degrees, scaling by up to
    ``scale`` (0.1 = +-10%) and shift by up to ``translation`` of half the side (0.125 = 1.75
    pixels at 28x28), drawn from torch's global generator; the area moved in is background
    (-1). Written here because torchvision's ``RandomAffine`` draws one transform per call,
    not one per image, and kornia is not a dependency.

    Optionally, per image as well: ``stroke`` changes the stroke width before the transform
    (a blend of up to ``stroke`` towards the 3x3 dilation, or the erosion, of the image: 0.5 =
    up to half a pixel on each side); ``shear`` slants it (horizontal shear factor up to
    +-``shear``: 0.3 = 17 degrees); ``aspect`` stretches one axis by up to ``1 + aspect`` and
    shrinks the other by the same factor. All three default to 0: no draw, no change.

    Gradients flow to ``x`` (``grid_sample``), so G learns through it: applied to real and
    fake images alike, D never sees an unaugmented image and the augmentation does not leak
    into G's samples."""
    n, device = x.shape[0], x.device

    def uniform(*shape: int) -> Tensor:
        return torch.rand(*shape, device=device, dtype=x.dtype) * 2 - 1
    angle = uniform(n) * math.radians(rotation)
    zoom = 1 + uniform(n) * scale
    shift = uniform(n, 2) * translation
    if stroke:
        width = (uniform(n) * stroke).view(n, 1, 1, 1)
        dilated, eroded = F.max_pool2d(x, 3, 1, 1), -F.max_pool2d(-x, 3, 1, 1)
        x = x + width.abs() * (torch.where(width > 0, dilated, eroded) - x)
    slant = uniform(n) * shear if shear else torch.zeros_like(angle)
    stretch = 1 + uniform(n) * aspect if aspect else torch.ones_like(angle)
    # output -> input coordinates: rotation and zoom, then shear [[1, slant], [0, 1]], then
    # diag(stretch, 1 / stretch)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([
        torch.stack([cos * stretch, (cos * slant - sin) / stretch, shift[:, 0]], 1),
        torch.stack([sin * stretch, (sin * slant + cos) / stretch, shift[:, 1]], 1),
    ], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False) - 1


def clustering_loss(logits: Tensor) -> Tensor:
    """Minus the mutual information between a batch's images and the classes a classifier
    gives them, from the classifier's ``logits`` ``(N, K)``: ``E_x H[p(c|x)] - H[E_x p(c|x)]``,
    in nats. It is lowest (``-log K``) when each image gets one class with certainty and the
    classes are used equally; it is 0 when every image gets the same distribution. CatGAN's
    discriminator maximises this on real data (Springenberg 2016, "Unsupervised and
    Semi-supervised Learning with Categorical Generative Adversarial Networks", Eq. 7), so that
    it sorts the unlabelled images into K confident, balanced clusters. The marginal
    ``E_x p(c|x)`` is the batch's (each process's own under DDP), so small batches estimate it
    with some noise."""
    log_p = F.log_softmax(logits, dim=1)
    p = log_p.exp()
    conditional = -(p * log_p).sum(dim=1).mean()
    marginal = p.mean(dim=0)
    return conditional + (marginal * marginal.clamp_min(1e-12).log()).sum()


def self_augmentation_loss(logits: Tensor, copy_logits: Tensor) -> Tensor:
    """Cross-entropy of a classifier's prediction on transformed copies of a batch
    (``copy_logits``) against its prediction on the batch itself (``logits``, held fixed): the
    KL divergence between the two, up to the fixed prediction's entropy. IMSAT's
    self-augmented training (Hu et al. 2017, "Learning Discrete Representations via
    Information Maximizing Self-Augmented Training"): the classes must not change under the
    transform, so a clustering cannot split the images by what the transform changes."""
    target = logits.detach().softmax(dim=1)
    return -(target * F.log_softmax(copy_logits, dim=1)).sum(dim=1).mean()


def smoothed_targets(
    label_smoothing: float = 0.0, fake_label: float = 0.0
) -> tuple[float, float]:
    """Targets for the BCE discriminator loss (seed 003, "One-sided label smoothing").

    ``label_smoothing = alpha`` gives the real target ``1 - alpha`` (0.1 -> 0.9, the one-sided
    form of Salimans et al. 2016); ``fake_label = beta`` gives the alpha/beta form, under which
    the optimal discriminator is ``((1 - alpha) p_data + beta p_model) / (p_data + p_model)``.
    The notes advise against ``beta > 0`` (it reinforces the generator's current mistakes).
    """
    return 1.0 - label_smoothing, fake_label
