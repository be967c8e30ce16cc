"""Memorization: the data-copying test C_T of Meehan, Chaudhuri & Dasgupta 2020 ("A
Non-Parametric Test to Detect Data-Copying in Generative Models"), registered as the metric
``memorization``; Stein et al. 2023 ("Exposing flaws of generative model evaluation metrics")
report it beside FID for GANs and diffusion models.

A generator that copies its training images places its samples closer to a training image
than new images from the same distribution are. C_T compares exactly that: for each generated
image ``q`` and each held-out image ``p`` (the reference split, which training never saw) the
distance to its nearest training image, ``d(q)`` and ``d(p)``. The training images are cut
into ``CELLS`` cells by k-means; in each cell with at least ``MIN_PER_CELL`` generated images
(Meehan et al.'s threshold tau), the Mann-Whitney U statistic of the ``d(q)`` against the
``d(p)`` (the number of pairs in which the generated image is the farther one) becomes a z-score,
``Z_U = (U - mn / 2) / sqrt(mn (m + n + 1) / 12)``, and C_T is their average weighted by the
cells' share of held-out images.

* C_T ~ 0: generated images are as far from the training set as new real images are;
* C_T << 0 (below -3, say): closer than new images: data copying;
* C_T >> 0: farther than new images: no copying (and a model FID already calls worse).

So higher is better as a memorization score (it is a two-sample z statistic: the margin is
one unit of it). Cells are local: a model that copies in one region and underfits in another
cannot cancel out, as one global test would let it.

Feature space: the autoencoder's bottleneck (:mod:`ganzoo.metrics.autoencoder`), not the
domain classifier's features nor pixels. The classifier is trained to map every digit of a
class to the same place, so a copy and a new digit of that class look alike to it; pixel
distances are dominated by strokes misaligned by a pixel. The autoencoder keeps what is needed
to redraw the individual image, and Meehan et al. measure MNIST in an autoencoder's latent
space for the same reasons. Libraries: k-means is scikit-learn's, U is ``scipy.stats.
mannwhitneyu``'s, the nearest-neighbour distances are :mod:`ganzoo.metrics.scores.prdc`'s.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats
from sklearn.cluster import KMeans

from ganzoo.metrics.fidelity import gather_rows
from ganzoo.metrics.registry import EvalContext, Margin, Measure, register
from ganzoo.metrics.scores.prdc import nearest_distances

Tensor = torch.Tensor

SPACE = "autoencoder"
TRAIN_SPLIT = "train"
CELLS = 10
MIN_PER_CELL = 20  # generated images a cell needs to be tested (Meehan et al.'s tau)


def z_u(fake_distances: np.ndarray, heldout_distances: np.ndarray) -> float:
    """Meehan et al.'s Z_U: the Mann-Whitney U of the generated images' distances against the
    held-out images', standardised (negative: the generated images are closer)."""
    m, n = len(fake_distances), len(heldout_distances)
    u = stats.mannwhitneyu(fake_distances, heldout_distances).statistic
    return float((u - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12))


def heldout_reference(train: Tensor, heldout: Tensor, *, cells: int = CELLS,
                      seed: int = 0) -> tuple[KMeans, np.ndarray, np.ndarray]:
    """What C_T takes from the real images alone: the cells (k-means on the training
    features), each held-out image's cell and its distance to the nearest training image."""
    kmeans = KMeans(n_clusters=min(cells, len(train)), n_init=3, random_state=seed)
    kmeans.fit(train.double().cpu().numpy())
    return (kmeans, kmeans.predict(heldout.double().cpu().numpy()),
            nearest_distances(heldout, train).cpu().numpy())


def data_copying(train: Tensor, heldout: Tensor, fake: Tensor, *, cells: int = CELLS,
                 min_per_cell: int = MIN_PER_CELL, seed: int = 0,
                 reference: tuple[KMeans, np.ndarray, np.ndarray] | None = None) -> float:
    """C_T of the generated features ``fake`` (NaN when no cell holds ``min_per_cell`` of
    them). ``reference``: :func:`heldout_reference` of the same arguments, when already
    computed."""
    if reference is None:
        reference = heldout_reference(train, heldout, cells=cells, seed=seed)
    kmeans, cell_h, d_h = reference
    cell_f = kmeans.predict(fake.double().cpu().numpy())
    d_f = nearest_distances(fake, train).cpu().numpy()
    scores, weights = [], []
    for c in range(kmeans.n_clusters):
        in_h, in_f = cell_h == c, cell_f == c
        if in_f.sum() >= min_per_cell and in_h.any():
            scores.append(z_u(d_f[in_f], d_h[in_h]))
            weights.append(in_h.mean())
    return float(np.average(scores, weights=weights)) if scores else math.nan


@register("memorization", applies=lambda plan: plan.fidelity, extractors=(SPACE,), outputs=(
    Measure("memorization", "memorization C_T", ".2f", higher_is_better=True,
            margin=Margin("absolute", 1.0)),))
def memorization(ctx: EvalContext) -> dict[str, float]:
    s = ctx.settings
    if s.reference_split == TRAIN_SPLIT:  # no held-out images to compare with
        ctx.protocol["memorization"] = "not computed: the reference split is the training split"
        return {}
    space = ctx.space(SPACE)
    train_set = s.split_features(ctx.datamodule, TRAIN_SPLIT, space.extractor)
    device = space.real_share.device
    train, heldout = train_set.features.to(device), space.real.features.to(device)
    # the cells and the held-out distances, once per run (the real features do not change)
    key = ("memorization", CELLS, s.seed, str(device), repr(sorted(space.real.key.items())))
    reference = train_set.once(key, lambda: heldout_reference(train, heldout, cells=CELLS,
                                                              seed=s.seed))
    value = data_copying(train, heldout, gather_rows(space.fake), seed=s.seed,
                         reference=reference)
    ctx.protocol.update(memorization_space=SPACE, memorization_cells=CELLS,
                        memorization_min_per_cell=MIN_PER_CELL,
                        memorization_heldout=s.reference_split)
    return {"memorization": value}
