"""The metrics every evaluation offers, registered by name (:mod:`ganzoo.metrics.registry`).

Each adapter below reads the evaluation context and calls the module that computes the
metric: FID / IS / KID through torchmetrics (:mod:`ganzoo.metrics.fidelity`), label and code
accuracy (:mod:`ganzoo.metrics.labels`), toy-mixture mode metrics and the optimal-D gap
(:mod:`ganzoo.metrics.toy`). Importing this module registers them, and the metrics that live
in their own files (:mod:`ganzoo.metrics.scores`, imported at the end of this one).
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np

from ganzoo.metrics import scores
from ganzoo.metrics.fidelity import (
    frechet_distance,
    global_count,
    inception_score,
    kernel_distance,
    shard,
)
from ganzoo.metrics.labels import confusion_matrix, label_consistency, matched_accuracy
from ganzoo.metrics.registry import FID_MARGIN, EvalContext, Margin, Measure, register
from ganzoo.metrics.toy import optimal_discriminator_gap

# Equivalence margins (ganzoo verdict): FID and KID agree when their ratio is within 1.15
# (registry.FID_MARGIN), IS within 3%, accuracies within 0.015 (absolute); a table may
# override them in the margins.yaml beside its runs.json.
ACCURACY_MARGIN = Margin("absolute", 0.015)


@register("fid", applies=lambda plan: plan.fidelity, on_real=True, outputs=(
    Measure("fid", "FID", ".2f", higher_is_better=False, margin=FID_MARGIN, headline=True,
            curves=("g_steps", "wall_time_s")),))
def fid(ctx: EvalContext) -> dict[str, float]:
    return {"fid": frechet_distance(ctx.real_features, ctx.generated["features"])}


@register("is", applies=lambda plan: plan.fidelity, on_real=True, outputs=(
    Measure("is", "IS", ".3f", higher_is_better=True, margin=Margin("relative", 0.03),
            curves=("g_steps",)),
    Measure("is_std", format=".3f", per_run=False)))
def inception(ctx: EvalContext) -> dict[str, float]:
    if ctx.generated["logits"].shape[1] == 0:  # an extractor without classes (autoencoder)
        return {}
    mean, std = inception_score(ctx.generated["logits"], splits=10, seed=ctx.settings.seed)
    return {"is": mean, "is_std": std}


@register("kid", applies=lambda plan: plan.fidelity, on_real=True, outputs=(
    Measure("kid", "KID", ".4f", higher_is_better=False, margin=FID_MARGIN, headline=True),
    Measure("kid_std", format=".4f", per_run=False)))
def kid(ctx: EvalContext) -> dict[str, float]:
    s = ctx.settings
    mean, std, size, subsets = kernel_distance(
        ctx.real_features, ctx.generated["features"],
        subset_size=s.kid_subset_size, subsets=s.kid_subsets, seed=s.seed,
    )
    ctx.protocol.update(kid_subset_size=size, kid_subsets=subsets)
    return {"kid": mean, "kid_std": std}


@register("label_accuracy", applies=lambda plan: plan.label_metrics, classifier=True, outputs=(
    Measure("label_accuracy", format=".3f", higher_is_better=True, margin=ACCURACY_MARGIN,
            headline=True),))
def label_accuracy(ctx: EvalContext) -> dict[str, float]:
    classes = ctx.datamodule.num_classes
    conf = confusion_matrix(ctx.generated["cond"], ctx.generated["pred"], classes, classes)
    return {"label_accuracy": label_consistency(conf)}


@register("code_accuracy", applies=lambda plan: plan.code_accuracy, classifier=True, outputs=(
    Measure("code_accuracy", format=".3f", higher_is_better=True, margin=ACCURACY_MARGIN,
            headline=True),))
def code_accuracy(ctx: EvalContext) -> dict[str, float]:
    codes = ctx.model.latent_codes().categorical
    conf = confusion_matrix(
        ctx.generated["cond"], ctx.generated["pred"], codes, ctx.datamodule.num_classes
    )
    return {"code_accuracy": matched_accuracy(conf)[0]}


@register("fid_per_class", applies=lambda plan: plan.label_metrics and plan.fidelity, outputs=(
    Measure("fid_per_class_mean", format=".2f", higher_is_better=False, margin=FID_MARGIN),
    Measure("fid_class_*", format=".2f", higher_is_better=False)))
def fid_per_class(ctx: EvalContext) -> dict[str, float]:
    """FID of the samples generated for class c against the real images of class c."""
    real_feats = ctx.real_features
    real_labels = shard(ctx.real.labels).to(real_feats.device)
    fake, cond, dev = ctx.generated["features"], ctx.generated["cond"], real_feats.device
    out = {}
    for c in range(ctx.datamodule.num_classes):
        fake_c, real_c = fake[cond == c], real_feats[real_labels == c]
        if global_count(len(fake_c), dev) < 2 or global_count(len(real_c), dev) < 2:
            continue
        out[f"fid_class_{c}"] = frechet_distance(real_c, fake_c)
    if out:
        out["fid_per_class_mean"] = float(np.mean(list(out.values())))
    return out


# Read together, in this order: the reverse KL of the high-quality mode histogram means little
# without the modes covered and the high-quality share beside it (ganzoo.metrics.toy).
@register("modes", applies=lambda plan: plan.toy_modes, on_real=True, outputs=(
    Measure("modes_covered", format=".2f", higher_is_better=True,
            margin=Margin("absolute", 0.5), headline=True, curves=("epoch",)),
    Measure("hq_percent", format=".1f", higher_is_better=True,
            margin=Margin("absolute", 3.0), headline=True, curves=("epoch",)),
    Measure("reverse_kl", format=".3f", higher_is_better=False,
            margin=Margin("absolute", 0.05))))
def modes(ctx: EvalContext) -> dict[str, float]:
    return {k: float(v) for k, v in ctx.toy[0].compute().items()}


@register("d_optimal_gap", applies=lambda plan: plan.optimal_d, outputs=(
    Measure("d_optimal_gap", format=".3f", higher_is_better=False,
            margin=Margin("absolute", 0.02)),))
def d_optimal_gap(ctx: EvalContext) -> dict[str, float]:
    """Mean |D - D*| for the optimum of what D is trained on: BCE targets (label smoothing)
    and densities convolved with the current instance noise (ganzoo.metrics.toy)."""
    density = ctx.toy[1]
    grid, p_data, p_g = density.compute()
    d = ctx.model.d_probability(grid.view(-1, 1).float())
    targets = (ctx.model.real_label, ctx.model.fake_label)
    ctx.protocol.update(d_optimal_targets=list(targets), d_optimal_noise_std=density.noise_std)
    return {"d_optimal_gap": optimal_discriminator_gap(d, p_data.cpu(), p_g.cpu(), *targets)}


# metrics in their own files register on import (after the ones above: table order)
for _module in sorted(m.name for m in pkgutil.iter_modules(scores.__path__)):
    importlib.import_module(f"{scores.__name__}.{_module}")
