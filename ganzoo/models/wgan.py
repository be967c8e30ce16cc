"""Wasserstein GANs: weight clipping (Arjovsky et al. 2017) and gradient penalty (Gulrajani
et al. 2017). The critic outputs an unbounded score (no sigmoid)."""

from __future__ import annotations

from typing import Any, ClassVar

from ganzoo.errors import require
from ganzoo.models.base import GANModule
from ganzoo.models.optimizers import OptimizerSpec
from ganzoo.regularizers import clip_weights, gradient_penalty
from ganzoo.tricks.base import Step


class WGANBase(GANModule):
    """``min_G max_{f 1-Lipschitz} E f(x) - E f(G(z))`` (Arjovsky et al., Eq. 2) with
    ``n_critic`` = 5; a subclass keeps the critic Lipschitz."""

    lipschitz_critic: ClassVar[bool] = True
    penalty: ClassVar[str] = ""

    def __init__(self, *, arch: str = "dcgan", loss: str = "wasserstein", n_critic: int = 5,
                 **kwargs: Any) -> None:
        require(loss == "wasserstein", f"model.loss: WGAN trains with 'wasserstein', not {loss!r}")
        super().__init__(arch=arch, loss=loss, n_critic=n_critic, **kwargs)

    def table_label(self) -> str:
        return f"WGAN-{self.penalty}"


class WGANClip(WGANBase):
    """WGAN with weight clipping (Arjovsky et al., Algorithm 1): every critic parameter is
    clamped to [-c, c] after every critic step; RMSprop 5e-5, batch norm in the critic.

    Args:
        clip_value: c of weight clipping.
    """

    penalty: ClassVar[str] = "clip"

    def __init__(
        self,
        *,
        clip_value: float = 0.01,
        optimizer: OptimizerSpec = OptimizerSpec(name="rmsprop"),
        lr_g: float = 5e-5,
        lr_d: float = 5e-5,
        d_norm: str = "batch",
        **kwargs: Any,
    ) -> None:
        require(clip_value > 0, f"model.clip_value: must be > 0, got {clip_value}")
        super().__init__(optimizer=optimizer, lr_g=lr_g, lr_d=lr_d, d_norm=d_norm, **kwargs)

    def after_critic_step(self) -> None:
        clip_weights(self.discriminator, self.hparams.clip_value)


class WGANGP(WGANBase):
    """WGAN-GP (Gulrajani et al., Algorithm 1 and Sec. 4): the critic's loss gains
    ``gp_weight * E (||grad f(x_hat)||_2 - 1)^2`` at random interpolates x_hat of real and fake
    (Eq. 3); Adam 1e-4 with betas (0, 0.9), no batch norm in the critic (layer norm).

    Args:
        gp_weight: lambda of the gradient penalty.
        gp_every: lazy regularization (Karras et al. 2020, StyleGAN2 Sec. 3.1): the penalty
            on every ``gp_every``-th critic step only, weighted by ``gp_every`` so that its
            expected gradient is the same; the other steps skip its double backward, which
            costs about as much as the rest of a critic step. 1 is the paper's recipe.
    """

    penalty: ClassVar[str] = "gp"

    def __init__(
        self,
        *,
        gp_weight: float = 10.0,
        gp_every: int = 1,
        optimizer: OptimizerSpec = OptimizerSpec(name="adam", betas=(0.0, 0.9)),
        lr_g: float = 1e-4,
        lr_d: float = 1e-4,
        d_norm: str = "layer",
        **kwargs: Any,
    ) -> None:
        require(d_norm != "batch", "model.d_norm: 'batch' mixes samples, which invalidates the "
                "per-sample gradient penalty; allowed with WGANGP: layer, none")
        require(gp_weight >= 0, f"model.gp_weight: must be >= 0, got {gp_weight}")
        require(gp_every >= 1, f"model.gp_every: must be >= 1, got {gp_every}")
        super().__init__(optimizer=optimizer, lr_g=lr_g, lr_d=lr_d, d_norm=d_norm, **kwargs)

    def d_terms(self, step: Step):
        every = self.hparams.get("gp_every", 1)
        if self.d_steps % every:  # lazy: not this critic step (d_steps counts those done)
            return {}
        labels = step.latent.get("labels")

        def critic(x):
            return self.discriminate(self.d_inputs(x), labels)[0]

        penalty = gradient_penalty(critic, step.real, step.fake)
        return {"gradient_penalty": every * self.hparams.gp_weight * penalty}

    def compiled_modules(self):
        # the gradient penalty's double backward does not run through compiled graphs
        return [self.generator]


#: The former name of the gradient-penalty WGAN (its default penalty), so that configs naming
#: ``ganzoo.models.WGAN`` without a penalty keep running; with ``penalty: clip`` they go
#: through :func:`ganzoo.models.legacy.upgrade_config`.
WGAN = WGANGP
