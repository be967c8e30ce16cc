"""Building blocks shared by the MLP and DCGAN networks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import torch
from torch import nn

from ganzoo.errors import ConfigError

Tensor = torch.Tensor


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode inside the block, its previous mode restored after it."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


class MinibatchDiscrimination(nn.Module):
    """Minibatch features of Salimans et al. (2016), Sec. 3.2 (seed 003, "Minibatch features").

    Each sample's features ``f`` are projected by a tensor ``T`` to ``B`` rows of ``C`` values;
    for every row, ``o_b(x_i) = sum_j exp(-||M_i,b - M_j,b||_1)`` measures how close the other
    samples of the batch are. A collapsed batch gives large values, which D can detect.
    The output is the input with the ``B`` minibatch features appended.

    With ``average`` the sum is divided by ``N - 1``: the mean closeness to the other samples,
    in [0, 1] at any batch size. Salimans et al.'s sum grows with the batch: at the toy
    configs' batch of 256, a collapsed batch gives features near 255 against D's other
    features of std 0.25, D's logits on G's samples start in the tens (of either sign), so
    the non-saturating G loss gives G no gradient or a very large one, and G then gets the
    kernel's cusp gradients at a near-collapse
    (``labs/minibatch_features_gradient.py``; README, "Mode collapse on toy data").
    """

    def __init__(
        self, *, in_features: int, num_kernels: int = 16, kernel_dim: int = 8, average: bool = False
    ) -> None:
        super().__init__()
        self.average = average
        self.num_kernels = num_kernels
        self.kernel_dim = kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) * 0.1)

    @property
    def out_extra(self) -> int:
        return self.num_kernels

    def forward(self, h: Tensor) -> Tensor:
        m = (h @ self.T).view(-1, self.num_kernels, self.kernel_dim).transpose(0, 1)  # (B, N, C)
        # torch.cdist instead of the (N, N, B, C) difference tensor: the same distances, 8x
        # faster for N = 256, B = 16, C = 8 (136 against 17 ms forward and backward, one thread)
        l1 = torch.cdist(m, m, p=1)  # (B, N, N)
        o = torch.exp(-l1).sum(dim=2).T - 1.0  # (N, B); exclude the sample itself (exp(0) = 1)
        if self.average:
            o = o / max(1, h.shape[0] - 1)
        return torch.cat([h, o], dim=1)


MinibatchFeatures = bool | Literal["mean"]


def minibatch_layer(in_features: int, kind: MinibatchFeatures) -> MinibatchDiscrimination | None:
    """D's minibatch-features layer for the ``minibatch_features`` option: none for False,
    Salimans et al.'s sum for True, the mean over the other samples for ``"mean"``."""
    if not kind:
        return None
    return MinibatchDiscrimination(in_features=in_features, average=kind == "mean")


class QHead(nn.Module):
    """InfoGAN's Q network head on top of the discriminator trunk (Chen et al. 2016, Sec. 5).

    Outputs the logits of a categorical code and the means of the continuous codes
    (a factored Gaussian with unit variance, so its log-likelihood is a squared error).
    The hidden layer is the paper's MNIST Q head (Appendix C.1): FC 128, batch norm,
    LeakyReLU(0.2).
    """

    def __init__(
        self, *, in_features: int, categorical_dim: int, continuous_dim: int, hidden: int = 128
    ) -> None:
        super().__init__()
        self.categorical_dim = categorical_dim
        self.continuous_dim = continuous_dim
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, categorical_dim + continuous_dim),
        )

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        out = self.net(h)
        return out[:, : self.categorical_dim], out[:, self.categorical_dim :]


Conditioning = Literal["concat", "projection", "both"]
"""How a conditional D reads the label: concatenated to its input (Mirza & Osindero), as a
projection term on its features (Miyato & Koyama), or both."""


def concatenates(conditioning: str) -> bool:
    return conditioning in ("concat", "both")


def projects(conditioning: str) -> bool:
    return conditioning in ("projection", "both")


class LabelProjection(nn.Module):
    """Projection discriminator term ``<embed(y), h>`` (Miyato & Koyama 2018, Eq. 3)."""

    def __init__(self, *, num_classes: int, features: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, h: Tensor, labels: Tensor) -> Tensor:
        return (self.embed(labels) * h).sum(dim=1, keepdim=True)


class ReferenceBatch(nn.Module):
    """The fixed reference batch R of reference and virtual batch norm (seed 003).

    ``size`` latent vectors drawn once from N(0, I) with a fixed ``seed`` (a model whose G
    reads other inputs replaces them with a draw of its own, :meth:`replace`), and labels
    cycling over the classes, kept as buffers (checkpointed, moved with the model). A generator
    whose norm layers read R prepends it to every input (:meth:`prepend`) and drops R's rows
    from its output, so the norm layers find R's features, computed with G's current
    parameters, in the first rows.
    """

    def __init__(self, *, size: int, latent_dim: int, num_classes: int = 0, seed: int = 12345):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.size = size
        self.seed = seed
        self.register_buffer("z", torch.randn(size, latent_dim, generator=g))
        self.register_buffer("labels", torch.arange(size) % max(num_classes, 1))

    @torch.no_grad()
    def replace(self, z: Tensor) -> None:
        """Make ``z`` (``size`` rows of G's input) the reference latents."""
        self.z.copy_(z)

    def prepend(self, z: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """``R.z`` before ``z`` (and ``R.labels`` before ``labels``, when given)."""
        if labels is not None:
            labels = torch.cat([self.labels, labels])
        return torch.cat([self.z, z]), labels


class ReferenceBatchNorm(nn.Module):
    """Reference batch norm (Salimans et al. 2016, Sec. 3.4; seed 003, "Reference Batch Norm").

    The first ``reference_size`` rows of every input are the reference batch R
    (:class:`ReferenceBatch`). Every row, R's and the others', is normalised with the mean and
    (biased) variance of R alone, per channel over R's rows and spatial positions:
    ``(h - mean_R) / sqrt(var_R + eps) * weight + bias``. So an example is always treated the
    same whatever else is in its minibatch, and one equal to a reference example gets exactly
    what batch norm over R gives it. R's statistics are computed on the fly in train and eval
    mode alike; gradients flow through them (R's features change with G's parameters).
    Inputs ``(N, C)`` or ``(N, C, H, W)``. The notes' caveat: it can overfit to R, which
    :class:`VirtualBatchNorm` softens.
    """

    def __init__(self, channels: int, reference_size: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.reference_size = reference_size
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def statistics(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and variance that normalise each row of ``h``, broadcastable to ``h``: R's."""
        dims = (0, *range(2, h.dim()))
        var, mean = torch.var_mean(h[: self.reference_size], dim=dims, correction=0, keepdim=True)
        return mean, var

    def forward(self, h: Tensor) -> Tensor:
        mean, var = self.statistics(h)
        shape = (1, -1) + (1,) * (h.dim() - 2)
        out = (h - mean) / torch.sqrt(var + self.eps)
        return out * self.weight.view(shape) + self.bias.view(shape)


class VirtualBatchNorm(ReferenceBatchNorm):
    """Virtual batch norm (Salimans et al. 2016, Sec. 3.4; seed 003, "Virtual Batch Norm").

    As :class:`ReferenceBatchNorm`, but each other example ``x_i`` is normalised with the mean
    and variance of the virtual batch ``{x_i} U R`` over batch and spatial positions (R counts
    ``reference_size`` times, ``x_i`` once), so it still does not depend on the other samples
    of its minibatch, and R overfits less; R itself is normalised with its own statistics.
    """

    def statistics(self, h: Tensor) -> tuple[Tensor, Tensor]:
        m = self.reference_size
        ref, x = h[:m], h[m:]
        spatial = tuple(range(2, h.dim()))
        ref_mean = ref.mean(dim=(0, *spatial), keepdim=True)
        ref_sq = (ref**2).mean(dim=(0, *spatial), keepdim=True)
        x_mean = x.mean(dim=spatial, keepdim=True) if spatial else x
        x_sq = (x**2).mean(dim=spatial, keepdim=True) if spatial else x**2
        c = 1.0 / (m + 1)
        ref_rows = (m, *ref_mean.shape[1:])
        mean = torch.cat([ref_mean.expand(ref_rows), (1 - c) * ref_mean + c * x_mean])
        sq = torch.cat([ref_sq.expand(ref_rows), (1 - c) * ref_sq + c * x_sq])
        return mean, (sq - mean**2).clamp_min(0)


class ClassBatchNorm(nn.Module):
    """Class-conditional batch norm (de Vries et al. 2017; the generator of Miyato & Koyama
    2018): batch norm without its own affine, then a scale and shift looked up for each
    sample's label, so the label acts on every layer of G, not only through its input.
    Scales start at N(1, 0.02) and shifts at 0, the DCGAN init of batch norm. Called as
    ``norm(h, labels)`` (see :func:`run_generator_layers`)."""

    def __init__(self, channels: int, num_classes: int, batch_norm: type[nn.Module]) -> None:
        super().__init__()
        self.norm = batch_norm(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.normal_(self.scale.weight, 1.0, 0.02)
        nn.init.zeros_(self.shift.weight)

    def forward(self, h: Tensor, labels: Tensor) -> Tensor:
        shape = (len(h), -1) + (1,) * (h.dim() - 2)
        return self.norm(h) * self.scale(labels).view(shape) + self.shift(labels).view(shape)


def run_generator_layers(layers: nn.Sequential, h: Tensor, labels: Tensor | None) -> Tensor:
    """``layers(h)``, handing ``labels`` to the :class:`ClassBatchNorm` layers among them."""
    for layer in layers:
        h = layer(h, labels) if isinstance(layer, ClassBatchNorm) else layer(h)
    return h


GNorm = Literal["batch", "class", "virtual", "reference", "none"]
REFERENCE_NORMS: dict[str, type[ReferenceBatchNorm]] = {
    "reference": ReferenceBatchNorm,
    "virtual": VirtualBatchNorm,
}


def generator_norm(
    kind: GNorm,
    channels: int,
    *,
    batch_norm: type[nn.Module],
    reference_size: int,
    num_classes: int = 0,
) -> nn.Module:
    """One norm layer of a generator: ``batch_norm(channels)`` (``nn.BatchNorm1d`` or ``2d``),
    its class-conditional form (``"class"``, a generator with labels only), a
    :data:`REFERENCE_NORMS` layer over the first ``reference_size`` rows, or none."""
    if kind in REFERENCE_NORMS:
        return REFERENCE_NORMS[kind](channels, reference_size)
    if kind == "batch":
        return batch_norm(channels)
    if kind == "class":
        if not num_classes:
            raise ConfigError(
                "model.g_norm: 'class' (class-conditional batch norm) needs a generator that "
                "gets labels: ganzoo.models.ConditionalGAN, or InfoGAN (its categorical code)"
            )
        return ClassBatchNorm(channels, num_classes, batch_norm)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(
        f"model.g_norm: unknown {kind!r}; allowed: batch, class, {', '.join(REFERENCE_NORMS)}, "
        f"none"
    )
