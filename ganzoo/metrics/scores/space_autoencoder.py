"""FID and KID in a second, class-agnostic feature space: the bottleneck of the autoencoder
trained without labels (:mod:`ganzoo.metrics.autoencoder`), registered as the metric
``autoencoder_space`` with the outputs ``fid_ae`` and ``kid_ae``.

The evaluation's own features (the domain classifier's) are trained to separate the classes;
a generator can score well in them by producing what the classifier finds typical of a class.
The autoencoder's features keep what its decoder needs to redraw each image, so the same FID
and KID there say whether the ranking is a property of the images or of the classifier.
Tables report Kendall's τ between the two rankings (:mod:`ganzoo.bench.spaces`).

Libraries: torchmetrics computes both (:func:`ganzoo.metrics.fidelity.frechet_distance` and
:func:`~ganzoo.metrics.fidelity.kernel_distance`, with the evaluation's KID settings); the
extractor, its layer and sha256 are recorded in the protocol (``autoencoder_*``).
"""

from __future__ import annotations

from ganzoo.metrics.fidelity import frechet_distance, kernel_distance
from ganzoo.metrics.registry import FID_MARGIN, EvalContext, Measure, register

SPACE = "autoencoder"


@register("autoencoder_space", applies=lambda plan: plan.fidelity, on_real=True,
          extractors=(SPACE,), outputs=(
              Measure("fid_ae", "FID (AE)", ".2f", higher_is_better=False, margin=FID_MARGIN),
              Measure("kid_ae", "KID (AE)", ".4f", higher_is_better=False, margin=FID_MARGIN),
              Measure("kid_ae_std", format=".4f", per_run=False)))
def autoencoder_space(ctx: EvalContext) -> dict[str, float]:
    space, s = ctx.space(SPACE), ctx.settings
    kid, kid_std, _, _ = kernel_distance(space.real_share, space.fake,
                                         subset_size=s.kid_subset_size, subsets=s.kid_subsets,
                                         seed=s.seed)
    return {"fid_ae": frechet_distance(space.real_share, space.fake), "kid_ae": kid,
            "kid_ae_std": kid_std}
