"""InfoGAN's Q on the real images: CatGAN's clustering term (Springenberg 2016)."""

from __future__ import annotations

from ganzoo.errors import require
from ganzoo.regularizers import clustering_loss
from ganzoo.tricks.base import Step, Tensor, Trick


def require_codes(model, trick: str) -> None:
    require(model.latent_codes().categorical > 0,
            f"{trick}: reads Q's categorical code; {type(model).__name__} has none (use InfoGAN)")


class RealInfo(Trick):
    """``weight *`` :func:`ganzoo.regularizers.clustering_loss` of Q's categorical prediction
    on each real batch, read from the trunk features D computed for its own logits (the batch
    as D sees it; no extra trunk pass), added to D's loss as ``info_real``. This is CatGAN's
    objective on real data (Eq. 7): Q must name one value of the code for each real image, with
    confidence, and use the K values about equally often, so that Q's split of the codes is one
    of the real images into K balanced clusters, which G must then follow. Without it nothing
    ties the code's values to the data's clusters.

    Args:
        weight: the term's weight.
    """

    short = "CatGAN"  # its token in results tables' row labels (ganzoo.bench.recipe)

    def __init__(self, *, weight: float = 1.0) -> None:
        require(weight >= 0, f"RealInfo.weight: must be >= 0, got {weight}")
        self.weight = weight

    def check(self, model) -> None:
        require_codes(model, "RealInfo")

    def d_terms(self, model, step: Step) -> dict[str, Tensor]:
        return {"info_real": self.weight * clustering_loss(model.real_code_logits(step))}
