"""What a table's header says about how its numbers were measured, read from the records only.

Three parts of :mod:`ganzoo.bench.table`'s output come from the evaluation protocol each run
recorded (:mod:`ganzoo.metrics.evaluate`):

* the protocol lines: the extractor, its layer, dimension and full weights sha256, n on both
  sides, the reference split and its size, the KID subsets, k of precision/recall and of
  density/coverage, the second feature space, FID∞'s sizes and the memorization test's
  settings (for toy data: what is measured instead of features). A field a run did not record
  (it was evaluated before the field existed) is printed as ``not recorded``, never guessed.
* the real floor: the same metrics for real training images in place of the generated ones
  (:mod:`ganzoo.metrics.floor`), shown as a row of its own, not ranked; a note when the runs
  did not record it.
* the agreement of the two feature spaces: Kendall's τ (``scipy.stats.kendalltau``) between
  the rows' rankings by mean FID in the evaluation's features and in the autoencoder's, and
  the pairs of rows the two order differently.
"""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats

NOT_RECORDED = "not recorded"
MEASURED = ("real_floor",)  # protocol entries that are measured values, not settings
FLOOR_ROW = "real (train vs {split})"


def settings_of(protocol: dict[str, Any]) -> dict[str, Any]:
    """A protocol without its measured values: what tells two protocols apart."""
    return {k: v for k, v in protocol.items() if k not in MEASURED}


def distinct_settings(protocols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = sorted({json.dumps(settings_of(p), sort_keys=True) for p in protocols if p})
    return [json.loads(p) for p in found]


def _get(p: dict[str, Any], key: str, fmt: str = "{}", what: str = "") -> str:
    """``p[key]`` formatted, or ``<what> not recorded``."""
    value = p.get(key)
    if value is None or value == "":
        return f"{what} {NOT_RECORDED}".strip()
    return fmt.format(value)


def _space(p: dict[str, Any], name: str, layer: str, dim: str, sha: str) -> str:
    return (f"extractor `{name}` ({_get(p, layer, what='layer')}, "
            f"{_get(p, dim, '{}-d', 'dimension')}; weights sha256 {_get(p, sha)})")


def protocol_lines(p: dict[str, Any], metrics: list[str]) -> list[str]:
    """The header's lines for one protocol; ``metrics``: the table's columns."""
    if p.get("extractor") == "none":
        what = p.get("measured_on") or ("no feature extractor: modes and densities on the "
                                        f"generated samples (their dimension {NOT_RECORDED})")
        mixture = (f"{_get(p, 'toy_modes', '{} modes', 'modes')}, "
                   f"{_get(p, 'toy_std', 'std {}', 'std')}; high quality: "
                   f"{_get(p, 'hq_sigmas', 'within {} std of a mode', 'radius')}")
        return [f"- Protocol: {what}; {_get(p, 'num_fake')} generated samples against the "
                f"known mixture ({mixture}); seed {_get(p, 'seed')}"]
    subsets = p.get("kid_subsets")
    kid = (f"KID over {subsets} subset{'s' * (subsets != 1)} of {p.get('kid_subset_size')}"
           if subsets else f"KID subsets {NOT_RECORDED}")
    parts = [
        f"{_space(p, p.get('extractor'), 'feature_layer', 'num_features', 'weights_sha256')}",
        f"{_get(p, 'num_fake')} generated vs {_get(p, 'num_real')} real images of the "
        f"`{_get(p, 'reference_split')}` split "
        f"({_get(p, 'reference_size', '{} images', 'split size')})",
        kid,
    ]
    if {"precision", "recall"} & set(metrics):
        parts.append(f"precision/recall k = {_get(p, 'precision_recall_k')}")
    if {"density", "coverage"} & set(metrics):
        parts.append(f"density/coverage k = {_get(p, 'density_coverage_k')}")
    lines = [f"- Protocol: {'; '.join(parts)}; seed {_get(p, 'seed')}"]
    extra = []
    if {"fid_ae", "kid_ae", "memorization"} & set(metrics):
        extra.append("second feature space (FID (AE), KID (AE), memorization): " + _space(
            p, "autoencoder", "autoencoder_layer", "autoencoder_features", "autoencoder_sha256"))
    if "fid_inf" in metrics:
        sizes = p.get("fid_inf_sizes")
        extra.append("FID∞ (Chong & Forsyth 2020): FID at "
                     + (", ".join(map(str, sizes)) if sizes else f"sizes {NOT_RECORDED}")
                     + " generated images, extrapolated linearly in 1/N to 1/N = 0")
    if "memorization" in metrics:
        extra.append(f"memorization: C_T (Meehan et al. 2020; < -3: closer to the training "
                     f"images than new images are) in `{_get(p, 'memorization_space')}` "
                     f"features, {_get(p, 'memorization_cells')} k-means cells of the training "
                     f"images, cells with >= {_get(p, 'memorization_min_per_cell')} generated "
                     f"images, held out: the `{_get(p, 'memorization_heldout')}` split")
    return lines + (["- Protocol, new columns: " + "; ".join(extra)] if extra else [])


def complete(p: dict[str, Any]) -> bool:
    """Whether the protocol comes from an evaluation that records every header field (a
    later one than those made before the header printed them all)."""
    return "measured_on" in p if p.get("extractor") == "none" else "feature_layer" in p


# ------------------------------------------------------------------ the real floor
def floor(protocols: list[dict[str, Any]]) -> tuple[str | None, dict[str, float], list[str]]:
    """``(row label, {metric: value}, header lines)``: the mean of the floors the runs
    recorded (they are equal for runs of one protocol), or no row and a note saying so."""
    recorded = [p for p in protocols if isinstance(p.get("real_floor"), dict)]
    if not recorded:
        return None, {}, ["- Real floor: not recorded (these runs were evaluated before the "
                          "evaluation recorded it in its protocol); rerun them for the floor row"]
    names = sorted({k for p in recorded for k in p["real_floor"]})
    values = {k: float(np.mean([p["real_floor"][k] for p in recorded if k in p["real_floor"]]))
              for k in names}
    sizes = sorted({p.get("real_floor_n") for p in recorded}, key=str)
    split = recorded[0].get("real_floor_split", "train")
    label = FLOOR_ROW.format(split=recorded[0].get("reference_split"))
    lines = [f"- Real floor (row `{label}`, not ranked): the same metrics for "
             f"{'/'.join(map(str, sizes))} seeded real images of the `{split}` split in place "
             "of the generated ones, against the same reference in the same features: what "
             "a generator of the training distribution scores at this n"]
    if len(recorded) < len(protocols):
        lines.append(f"- Real floor: recorded by {len(recorded)} of {len(protocols)} runs")
    if len({json.dumps(p["real_floor"], sort_keys=True) for p in recorded}) > 1:
        lines.append("- Real floor: the runs recorded different floors; the row shows their "
                     "mean")
    return label, values, lines


# ------------------------------------------------------------------ the two feature spaces
def space_agreement(means: dict[str, dict[str, float]], titles: dict[str, str]) -> list[str]:
    """Kendall's τ between the rows' rankings by mean ``fid`` and by mean ``fid_ae``
    (``means[metric][row]``), and the pairs of rows they order differently."""
    fid, fid_ae = means.get("fid", {}), means.get("fid_ae", {})
    if not fid:
        return ["- Feature spaces: no FID in this table (toy data), so no second ranking"]
    if not fid_ae:
        return ["- Feature spaces: FID in the autoencoder features not recorded (these runs "
                "were evaluated before it was), so the agreement of the two rankings is not "
                "known"]
    rows = [r for r in fid if r in fid_ae and np.isfinite(fid[r]) and np.isfinite(fid_ae[r])]
    if len(rows) < 2:
        return ["- Feature spaces: fewer than two rows have FID in both spaces; no ranking to "
                "compare"]
    a, b = titles.get("fid", "FID"), titles.get("fid_ae", "FID (AE)")
    tau = stats.kendalltau([fid[r] for r in rows], [fid_ae[r] for r in rows])
    swapped = [(x, y) for x, y in combinations(sorted(rows, key=fid.get), 2)
               if np.sign(fid[x] - fid[y]) != np.sign(fid_ae[x] - fid_ae[y])]
    pairs = len(rows) * (len(rows) - 1) // 2
    if swapped:
        where = (f"they order {len(swapped)} of {pairs} pairs differently: "
                 + "; ".join(f"{x} ahead of {y} by {a}, not by {b}" for x, y in swapped))
    else:
        where = f"they order all {pairs} pairs alike"
    return [f"- Feature spaces: Kendall's τ = {tau.statistic:.2f} (p = {tau.pvalue:.2g}, "
            f"{len(rows)} rows) between the rankings by mean {a} (the evaluation's features) "
            f"and by mean {b} (the autoencoder's); {where}"]
