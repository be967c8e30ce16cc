"""InfoGAN's Q on the real images: IMSAT's self-augmented training (Hu et al. 2017)."""

from __future__ import annotations

from ganzoo.errors import require
from ganzoo.regularizers import self_augmentation_loss
from ganzoo.tricks.base import Step, Tensor, Trick
from ganzoo.tricks.real_info import require_codes


class RealConsistency(Trick):
    """``weight *`` :func:`ganzoo.regularizers.self_augmentation_loss`: Q's categorical
    prediction on InfoGAN's ``q_augment`` copy of each real image against its prediction on
    the image itself (one extra trunk pass per D step), added to D's loss as
    ``info_real_consistency``. A cluster of Q's must then not change when the slant, width,
    stroke, rotation or position does, so Q cannot split a digit by its style and merge two
    look-alikes. With :class:`ganzoo.tricks.RealInfo`, Hu et al.'s full objective.

    Args:
        weight: the term's weight.
    """

    short = "IMSAT"  # its token in results tables' row labels (ganzoo.bench.recipe)

    def __init__(self, *, weight: float = 1.0) -> None:
        require(weight >= 0, f"RealConsistency.weight: must be >= 0, got {weight}")
        self.weight = weight

    def check(self, model) -> None:
        require_codes(model, "RealConsistency")
        require(model.q_augment is not None,
                "RealConsistency: compares Q's reading of each real image with its reading of "
                "q_augment's copy; set model.q_augment too")

    def d_terms(self, model, step: Step) -> dict[str, Tensor]:
        logits = model.real_code_logits(step)
        copy_logits = model.code_logits(model.discriminator.features(model.q_copy(step.real)))
        return {"info_real_consistency": self.weight * self_augmentation_loss(logits, copy_logits)}
