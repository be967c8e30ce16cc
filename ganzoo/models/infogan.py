"""InfoGAN (Chen et al. 2016; seed 003): latent codes made meaningful by maximising a
variational lower bound of the mutual information I(c; G(z, c))."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F

from ganzoo.errors import require
from ganzoo.models.base import GANModule
from ganzoo.models.codes import LatentCodes
from ganzoo.nets import QHead
from ganzoo.tricks.base import Step, from_config
from ganzoo.tricks.q_augment import QAugment


class InfoGAN(GANModule):
    """``min_{G,Q} max_D V(D, G) - lambda L_I(G, Q)`` (Chen et al., Eq. 6).

    The generator input is ``[z, one_hot(c_cat), c_cont]`` with ``c_cat ~ Cat(K)`` and
    ``c_cont ~ U(-1, 1)``. A Q head on D's trunk predicts the codes; ``L_I`` is the categorical
    code's cross-entropy plus half the squared error of the continuous codes (a unit-variance
    Gaussian posterior). Q trains with D's optimizer and drives G's update through frozen D/Q.

    Args:
        categorical_dim: K, values of the categorical code (10 for MNIST digits).
        continuous_dim: number of continuous codes.
        info_weight: lambda for the categorical term (1 in the paper).
        continuous_weight: lambda for the continuous terms (smaller; the paper uses < 1).
        latent_dim, noise: the paper's MNIST noise, 62 dimensions of U(-1, 1) (the authors'
            launcher), which leaves the codes a larger share of G's input than N(0, I).
        lr_g, lr_d: Adam's rates in the paper's MNIST setting (Appendix C.1): 1e-3 and 2e-4.
        q_augment: a :class:`ganzoo.tricks.QAugment` (None: Q reads D's own input). Q's terms
            on the real images are tricks (:class:`ganzoo.tricks.RealInfo`,
            :class:`ganzoo.tricks.RealConsistency`).
        g_norm: ``"class"`` here makes the categorical code pick every norm layer's scale and
            shift in G (class-conditional batch norm on ``c_cat``)."""

    def __init__(
        self,
        *,
        categorical_dim: int = 10,
        continuous_dim: int = 2,
        info_weight: float = 1.0,
        continuous_weight: float = 0.1,
        arch: str = "dcgan", latent_dim: int = 62, lr_g: float = 1e-3, lr_d: float = 2e-4,
        noise: Literal["normal", "uniform"] = "uniform",
        q_augment: QAugment | None = None,
        **kwargs: Any,
    ) -> None:
        require(categorical_dim >= 2, f"model.categorical_dim: must be >= 2, got {categorical_dim}")
        require(continuous_dim >= 0, f"model.continuous_dim: must be >= 0, got {continuous_dim}")
        self.q_augment = q_augment = from_config(q_augment)
        require(noise in ("normal", "uniform"),
                f"model.noise: unknown {noise!r}; allowed: normal, uniform")
        super().__init__(arch=arch, latent_dim=latent_dim, lr_g=lr_g, lr_d=lr_d, **kwargs)
        if q_augment is not None:
            q_augment.check(self)

    def draw_noise(self, shape, generator, device) -> torch.Tensor:
        if self.hparams.noise == "uniform":
            return torch.rand(shape, generator=generator, device=device) * 2 - 1
        return torch.randn(shape, generator=generator, device=device)

    def latent_codes(self) -> LatentCodes:
        return LatentCodes(self.hparams.categorical_dim, self.hparams.continuous_dim)

    def generator_classes(self) -> int:
        return self.hparams.categorical_dim if self.hparams.g_norm == "class" else 0

    def generator_labels(self, latent):
        return latent["cat"] if self.hparams.g_norm == "class" else None

    def model_metrics(self) -> tuple[str, ...]:
        return (*super().model_metrics(), "code_accuracy")

    def build_extra_modules(self) -> None:
        codes = self.latent_codes()
        self.q_head = QHead(in_features=self.discriminator.feature_dim,
                            categorical_dim=codes.categorical, continuous_dim=codes.continuous)

    def compiled_modules(self):
        return [*super().compiled_modules(), self.q_head]

    def d_parameters(self):
        return list(self.discriminator.parameters()) + list(self.q_head.parameters())

    def discriminate(self, x, labels):
        h = self.discriminator.features(x)
        return self.discriminator(x, h=h), h

    def info_loss(self, latent, h) -> dict[str, torch.Tensor]:
        cat_logits, cont_mean = self.q_head(h)
        terms = {"info_cat": self.hparams.info_weight * F.cross_entropy(cat_logits, latent["cat"])}
        if self.hparams.continuous_dim:
            sq = 0.5 * ((cont_mean - latent["cont"]) ** 2).sum(dim=1).mean()
            terms["info_cont"] = self.hparams.continuous_weight * sq
        return terms

    def code_logits(self, h: torch.Tensor) -> torch.Tensor:
        """Q's categorical logits from D's trunk features ``h``."""
        return self.q_head(h)[0]

    def real_code_logits(self, step: Step) -> torch.Tensor:
        """Q's categorical logits on D's own trunk features of the real batch (once a step)."""
        if "real_code_logits" not in step.cache:
            step.cache["real_code_logits"] = self.code_logits(step.real_aux)
        return step.cache["real_code_logits"]

    def q_copy(self, x):
        """The copy of D's input that Q reads with ``q_augment``."""
        return self.q_augment(self.d_inputs(x))

    def q_features(self, fake, fake_aux):
        """D's trunk features Q reads: of D's own input, or in training of :meth:`q_copy`."""
        if self.q_augment is not None and self.training:
            return self.discriminator.features(self.q_copy(fake))
        return fake_aux

    def d_terms(self, step: Step):
        return self.info_loss(step.latent, self.q_features(step.fake, step.fake_aux))

    g_terms = d_terms  # L_I enters D's (with Q's) and G's losses alike
