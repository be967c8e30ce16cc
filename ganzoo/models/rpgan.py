"""RpGAN + R1 + R2 (Huang, Gokaslan, Kuleshov & Tompkin 2024, "The GAN is dead; long live the
GAN! A Modern GAN Baseline"): the relativistic pairing loss with zero-centred gradient
penalties on real and on fake data, here on the DCGAN networks."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ganzoo.errors import require
from ganzoo.losses import LossPair
from ganzoo.models.base import GANModule
from ganzoo.models.optimizers import OptimizerSpec
from ganzoo.tricks.base import Step, from_config

Tensor = torch.Tensor


class RelativisticPairing(LossPair):
    """The relativistic pairing losses (RpGAN; Jolicoeur-Martineau 2019, Huang et al.): each
    real logit is paired with the fake logit of the same batch position,
    ``L_D = E softplus(-(D(x) - D(G(z))))`` and ``L_G = E softplus(-(D(G(z)) - D(x)))``. G's
    loss reads D's logits on the real batch, so the loop computes them in G's step."""

    name = "relativistic_pairing"
    needs_real_in_g = True

    def d(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.softplus(-(real - fake)).mean()

    def g(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return F.softplus(-(fake - real)).mean()


def zero_centred_penalty(critic, x: Tensor) -> Tensor:
    """``E ||grad_x D(x)||^2`` at the samples themselves (R1 of Mescheder et al. 2018 on real
    data; Huang et al.'s R2 on fake data), with the graph kept so that the penalty
    trains D; in float32 with autocast off, as the WGAN-GP penalty."""
    x = x.detach().float().requires_grad_(True)
    with torch.autocast(x.device.type, enabled=False):
        (grad,) = torch.autograd.grad(critic(x).float().sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


class RpGAN(GANModule):
    """D minimises ``L_D + gamma/2 E_x ||grad D(x)||^2 + gamma/2 E_z ||grad D(G(z))||^2`` (R1
    and R2: with both, Huang et al. show RpGAN to converge locally), G
    minimises ``L_G`` (:class:`RelativisticPairing`). The penalties are taken where D reads its
    inputs, after the tricks' transforms, as the terms ``r1`` and ``r2``.

    Args:
        gamma: the weight of R1 and R2 (the paper tunes it per dataset).
        d_norm: ``"layer"`` or ``"none"``: batch norm mixes the samples, which a per-sample
            gradient penalty must not (as for WGAN-GP).
        optimizer: Adam with betas (0, 0.99), the paper's choice.
    """

    def __init__(
        self,
        *,
        gamma: float = 1.0,
        arch: str = "dcgan",
        latent_dim: int = 100,
        d_norm: str = "layer",
        loss: LossPair | str | None = None,
        optimizer: OptimizerSpec = OptimizerSpec(name="adam", betas=(0.0, 0.99)),
        **kwargs: Any,
    ) -> None:
        require(gamma >= 0, f"model.gamma: must be >= 0, got {gamma}")
        require(d_norm != "batch", "model.d_norm: 'batch' mixes samples, which invalidates the "
                "per-sample R1 and R2 penalties; allowed with RpGAN: layer, none")
        require(loss is None or isinstance(from_config(loss), RelativisticPairing),
                f"model.loss: RpGAN trains with its relativistic pairing loss, not {loss!r}")
        super().__init__(arch=arch, latent_dim=latent_dim, d_norm=d_norm,
                         loss=RelativisticPairing(), optimizer=optimizer, **kwargs)

    def d_terms(self, step: Step) -> dict[str, Tensor]:
        labels = step.latent.get("labels")

        def critic(x):
            return self.discriminate(self.d_inputs(x), labels)[0]

        half = self.hparams.gamma / 2
        return {"r1": half * zero_centred_penalty(critic, step.real),
                "r2": half * zero_centred_penalty(critic, step.fake)}

    def table_label(self) -> str:
        return "RpGAN"  # its loss is the variant

    def compiled_modules(self):
        # R1 and R2 need a double backward, which compiled graphs do not support
        return [self.generator]
