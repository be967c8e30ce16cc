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
from ganzoo.regularizers import clustering_loss, random_affine, self_augmentation_loss


class InfoGAN(GANModule):
    """``min_{G,Q} max_D V(D, G) - lambda L_I(G, Q)`` (Chen et al., Eq. 6).

    The generator input is ``[z, one_hot(c_cat), c_cont]`` with ``c_cat ~ Cat(K)`` and
    ``c_cont ~ U(-1, 1)``. A Q head on D's trunk predicts the codes from a sample; ``L_I`` is
    the cross-entropy of the categorical code plus (for the unit-variance Gaussian posterior)
    half the squared error of the continuous codes, weighted by ``info_weight`` and
    ``continuous_weight``. Q is trained with D's optimizer on detached fakes and also drives
    G's update (through frozen D/Q weights), so each optimizer step changes only its player.

    Args:
        categorical_dim: K, values of the categorical code (10 for MNIST digits).
        continuous_dim: number of continuous codes.
        info_weight: lambda for the categorical term (1 in the paper).
        continuous_weight: lambda for the continuous terms (smaller; the paper uses < 1).
        latent_dim, noise: the paper's MNIST noise, 62 dimensions of U(-1, 1) (the authors'
            launcher). With ganzoo's former N(0, I) of 64 dimensions the one-hot code carried
            1/65 of G's input variance instead of 1/21, G learned the digits from z first, and
            the code ended up selecting style more than digit: code accuracy 0.38-0.48 against
            0.47-0.66 (median 0.64, 3 seeds) with the paper's noise at the same budget, with
            FID 0.95-1.63 (experiments/infogan_mnist5k.yaml).
        q_augment: Q reads D's trunk features of a randomly rotated, zoomed and shifted copy
            of each fake (:func:`ganzoo.regularizers.random_affine`, one extra trunk pass per
            step), while D's real/fake logits see the fakes as they are. G must then make the
            code recognisable under small rotations and shifts, so it cannot carry it in a
            digit's slant or position and puts it in the digit's identity. Unlike
            ``d_augment`` (which augments every D input), the adversarial game is untouched.
            ``"shape"``: the same, plus a random slant (shear up to 0.3), width (aspect up to
            15%) and stroke width (up to half a pixel) per copy, so that G cannot carry the
            code in those either (``True`` is ``"affine"``, the rotation, zoom and shift alone).
        real_info_weight: weight of a term in D's loss (0, the paper's objective, leaves it
            out) that makes Q sort the real images too: ``real_info_weight *``
            :func:`ganzoo.regularizers.clustering_loss` of Q's categorical prediction on each
            real batch, read from the trunk features D computed for its own logits (the batch
            as D sees it; no extra trunk pass, and never ``q_augment``'s copy). This is
            CatGAN's objective on real data (Springenberg 2016). Q must then name one value of
            the code for each real image, with confidence, and use the K values about equally
            often. Without it nothing ties the code's values to the data's clusters: G can give
            two values to two styles of one digit and one value to two look-alike digits, and
            Q learns to read that split back. With it, Q's split is one of the real images
            into K balanced clusters, and G must follow it. Alone, on mnist5k, it did not raise
            code accuracy (results/infogan_real_info): Q's clusters could still follow style.
        real_consistency_weight: weight of a second such term (0 leaves it out; needs
            ``q_augment``): :func:`ganzoo.regularizers.self_augmentation_loss`, Q's categorical
            prediction on :meth:`q_copy` of each real image against its prediction on the image
            itself (IMSAT's self-augmented training, Hu et al. 2017; one extra trunk pass per D
            step). With ``real_info_weight`` alone Q's clusters of the real images can still
            split a digit by its slant or width and merge two look-alikes; under this term a
            cluster must not change when the slant, width, stroke, rotation or position does.
            The two together took mnist5k's code accuracy from 0.89 to 0.99 (mean of 8
            held-out seeds; experiments/infogan_mnist5k.yaml).
        g_norm: as for every model; ``"class"`` here makes the categorical code act as G's
            class (class-conditional batch norm on ``c_cat``: the code picks every norm
            layer's scale and shift, besides entering G's input).
    """

    def __init__(
        self,
        *,
        categorical_dim: int = 10,
        continuous_dim: int = 2,
        info_weight: float = 1.0,
        continuous_weight: float = 0.1,
        arch: str = "dcgan",
        latent_dim: int = 62,
        noise: str = "uniform",
        q_augment: bool | Literal["affine", "shape"] = False,
        real_info_weight: float = 0.0,
        real_consistency_weight: float = 0.0,
        **kwargs: Any,
    ) -> None:
        require(categorical_dim >= 2, f"model.categorical_dim: must be >= 2, got {categorical_dim}")
        require(continuous_dim >= 0, f"model.continuous_dim: must be >= 0, got {continuous_dim}")
        require(real_info_weight >= 0,
                f"model.real_info_weight: must be >= 0, got {real_info_weight}")
        require(real_consistency_weight >= 0,
                f"model.real_consistency_weight: must be >= 0, got {real_consistency_weight}")
        require(not real_consistency_weight or q_augment,
                "model.real_consistency_weight: compares Q's reading of each real image with its "
                "reading of q_augment's copy; set model.q_augment too")
        require(q_augment in (False, True, "affine", "shape"),
                f"model.q_augment: false, true (= affine), affine or shape; got {q_augment!r}")
        super().__init__(arch=arch, latent_dim=latent_dim, noise=noise, **kwargs)
        require(
            not q_augment or len(self.hparams.data_shape) == 3,
            f"model.q_augment: augments images; this data has shape {tuple(self.hparams.data_shape)}",
        )
        require(
            not (q_augment and self.hparams.d_augment),
            "model.q_augment: d_augment already shows Q (and D) augmented fakes; set one of them",
        )

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
        self.q_head = QHead(
            in_features=self.discriminator.feature_dim,
            categorical_dim=codes.categorical,
            continuous_dim=codes.continuous,
        )

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

    def q_copy(self, x):
        """The copy of D's input that Q reads with ``q_augment``: randomly rotated, zoomed and
        shifted, with ``"shape"`` also slanted, stretched and with its strokes thickened or
        thinned."""
        shape = self.hparams.q_augment == "shape"
        ranges = {"stroke": 0.5, "shear": 0.3, "aspect": 0.15} if shape else {}
        return random_affine(self.d_inputs(x), **ranges)

    def q_features(self, fake, fake_aux):
        """D's trunk features that Q reads: those of D's own input, or with ``q_augment`` (in
        training) those of :meth:`q_copy` (one extra trunk pass)."""
        if self.hparams.q_augment and self.training:
            return self.discriminator.features(self.q_copy(fake))
        return fake_aux

    def extra_d_loss(self, real, fake, latent, fake_aux, real_aux=None):
        terms = self.info_loss(latent, self.q_features(fake, fake_aux))
        hp = self.hparams
        if hp.real_info_weight or hp.real_consistency_weight:
            cat_logits, _ = self.q_head(real_aux)  # D's own features of the real batch
        if hp.real_info_weight:
            terms["info_real"] = hp.real_info_weight * clustering_loss(cat_logits)
        if hp.real_consistency_weight:
            copy_logits, _ = self.q_head(self.discriminator.features(self.q_copy(real)))
            terms["info_real_consistency"] = hp.real_consistency_weight * self_augmentation_loss(
                cat_logits, copy_logits
            )
        return terms

    def extra_g_loss(self, fake, latent, fake_aux):
        return self.info_loss(latent, self.q_features(fake, fake_aux))
