"""Spectral normalization of D (Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral
Normalization for Generative Adversarial Networks")."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.errors import require
from ganzoo.tricks.base import Trick

NORMALIZED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


class SpectralNorm(Trick):
    """Every weight of D's convolutions, linear layers and label embeddings is divided by its
    largest singular value, ``W / sigma(W)`` (Eq. 8), estimated by ``power_iterations`` steps
    of the power method per training forward pass (Algorithm 1; torch's
    ``parametrizations.spectral_norm``), so each layer is 1-Lipschitz and D's Lipschitz
    constant is bounded by the product of its other layers' (Eq. 7). Biases, norm layers and
    InfoGAN's Q head are left as they are. Miyato et al. pair it with the hinge loss and no
    batch norm in D (``model.init_args.loss: hinge``, ``d_norm: none``).

    Args:
        power_iterations: power-method steps per forward pass in training (the paper: 1).
    """

    short = "SN"  # its token in results tables' row labels (ganzoo.bench.recipe)

    def __init__(self, *, power_iterations: int = 1) -> None:
        require(power_iterations >= 1,
                f"SpectralNorm.power_iterations: must be >= 1, got {power_iterations}")
        self.power_iterations = power_iterations

    def wrap_discriminator(self, model, net: nn.Module) -> nn.Module:
        for module in list(net.modules()):
            if isinstance(module, NORMALIZED):
                # dim 1 for transposed convolutions: their output channels are the second axis
                dim = 1 if isinstance(module, nn.ConvTranspose2d) else 0
                spectral_norm(module, n_power_iterations=self.power_iterations, dim=dim)
        return net
