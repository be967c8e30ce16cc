"""Building blocks shared by the MLP and DCGAN networks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

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
    """

    def __init__(self, *, in_features: int, num_kernels: int = 16, kernel_dim: int = 8) -> None:
        super().__init__()
        self.num_kernels = num_kernels
        self.kernel_dim = kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) * 0.1)

    @property
    def out_extra(self) -> int:
        return self.num_kernels

    def forward(self, h: Tensor) -> Tensor:
        m = (h @ self.T).view(-1, self.num_kernels, self.kernel_dim)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(dim=3)  # (N, N, B)
        o = torch.exp(-l1).sum(dim=1) - 1.0  # exclude the sample itself (exp(0) = 1)
        return torch.cat([h, o], dim=1)


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


class LabelProjection(nn.Module):
    """Projection discriminator term ``<embed(y), h>`` (Miyato & Koyama 2018, Eq. 3)."""

    def __init__(self, *, num_classes: int, features: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, h: Tensor, labels: Tensor) -> Tensor:
        return (self.embed(labels) * h).sum(dim=1, keepdim=True)


class VirtualBatchNorm2d(nn.Module):
    """Virtual batch norm (Salimans et al. 2016, Sec. 3.4; seed 003, "Virtual Batch Norm").

    The first ``reference_size`` rows of every input are a fixed *reference batch* R (the
    generator prepends them). Each other example ``x_i`` is normalised with the mean and
    variance of the virtual batch ``{x_i} U R`` over batch and spatial positions, so a sample
    no longer depends on the other samples of its minibatch; R itself is normalised with its
    own statistics. Statistics are computed on the fly in train and eval mode alike.
    """

    def __init__(self, channels: int, reference_size: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.reference_size = reference_size
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, h: Tensor) -> Tensor:
        m = self.reference_size
        ref, x = h[:m], h[m:]
        ref_mean = ref.mean(dim=(0, 2, 3), keepdim=True)
        ref_sq = (ref**2).mean(dim=(0, 2, 3), keepdim=True)
        c = 1.0 / (m + 1)
        mean = torch.cat([ref_mean.expand(m, -1, -1, -1),
                          (1 - c) * ref_mean + c * x.mean(dim=(2, 3), keepdim=True)])
        sq = torch.cat([ref_sq.expand(m, -1, -1, -1),
                        (1 - c) * ref_sq + c * (x**2).mean(dim=(2, 3), keepdim=True)])
        var = (sq - mean**2).clamp_min(0)
        out = (h - mean) / torch.sqrt(var + self.eps)
        return out * self.weight[None, :, None, None] + self.bias[None, :, None, None]
