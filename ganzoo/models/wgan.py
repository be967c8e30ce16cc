"""Wasserstein GAN with weight clipping (Arjovsky et al. 2017) or gradient penalty
(Gulrajani et al. 2017). The critic outputs an unbounded score (no sigmoid)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ganzoo.errors import require
from ganzoo.models.base import GANModule, fill_unset
from ganzoo.regularizers import clip_weights, gradient_penalty

# Paper defaults per penalty, for the settings left unset (None).
PAPER_DEFAULTS = {
    # Arjovsky et al., Algorithm 1
    "clip": {
        "optimizer": "rmsprop",
        "lr_g": 5e-5,
        "lr_d": 5e-5,
        "betas": (0.5, 0.999),
        "d_norm": "batch",
    },
    # Gulrajani et al., Algorithm 1 + Sec. 4
    "gp": {"optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.0, 0.9), "d_norm": "layer"},
}


class WGAN(GANModule):
    """WGAN: ``min_G max_{f 1-Lipschitz} E f(x) - E f(G(z))`` with ``n_critic`` = 5.

    Args:
        penalty: ``"clip"`` clamps critic weights to [-clip_value, clip_value] after every
            critic step (RMSprop 5e-5); ``"gp"`` adds ``gp_weight * E(||grad f(x_hat)|| - 1)^2``
            (Adam 1e-4, betas (0, 0.9), no batch norm in the critic).
        clip_value: c of weight clipping.
        gp_weight: lambda of the gradient penalty.
        optimizer, lr_g, lr_d, betas, d_norm: None takes the paper's value for ``penalty``;
            the model's hparams (checkpoint, record) hold the value that runs.
    """

    lipschitz_critic: ClassVar[bool] = True

    def __init__(
        self,
        *,
        penalty: Literal["clip", "gp"] = "gp",
        clip_value: float = 0.01,
        gp_weight: float = 10.0,
        arch: str = "dcgan",
        loss: str = "wasserstein",
        n_critic: int = 5,
        optimizer: str | None = None,
        lr_g: float | None = None,
        lr_d: float | None = None,
        betas: tuple[float, float] | None = None,
        d_norm: str | None = None,
        **kwargs: Any,
    ) -> None:
        require(penalty in PAPER_DEFAULTS, f"model.penalty: unknown {penalty!r}; allowed: clip, gp")
        chosen = fill_unset(
            dict(optimizer=optimizer, lr_g=lr_g, lr_d=lr_d, betas=betas, d_norm=d_norm),
            PAPER_DEFAULTS[penalty],
        )
        require(
            not (penalty == "gp" and chosen["d_norm"] == "batch"),
            "model.d_norm: 'batch' mixes samples, which invalidates the per-sample gradient "
            "penalty; allowed with penalty gp: layer, none",
        )
        require(loss == "wasserstein", f"model.loss: WGAN trains with 'wasserstein', not {loss!r}")
        require(clip_value > 0, f"model.clip_value: must be > 0, got {clip_value}")
        require(gp_weight >= 0, f"model.gp_weight: must be >= 0, got {gp_weight}")
        super().__init__(
            arch=arch,
            loss=loss,
            n_critic=n_critic,
            **chosen,
            **kwargs,
        )

    @property
    def penalty(self) -> str:
        return self.hparams.penalty

    def table_label(self) -> str:
        return f"{super().table_label()}-{self.penalty}"

    def extra_d_loss(self, real, fake, latent, fake_aux, real_aux=None):
        if self.penalty != "gp":
            return {}
        labels = latent.get("labels")

        def critic(x):
            return self.discriminate(self.d_inputs(x), labels)[0]

        return {"gradient_penalty": self.hparams.gp_weight * gradient_penalty(critic, real, fake)}

    def compiled_modules(self):
        # the gradient penalty's double backward does not run through compiled graphs
        return [self.generator] if self.penalty == "gp" else super().compiled_modules()

    def after_critic_step(self) -> None:
        if self.penalty == "clip":
            clip_weights(self.discriminator, self.hparams.clip_value)
