"""Which metrics apply to a (model, data) pair: the one place that answers "does this model or
dataset support X". Everything else reads the :class:`EvalPlan` flags."""

from __future__ import annotations

from dataclasses import dataclass

import torch

Tensor = torch.Tensor


@dataclass(frozen=True)
class EvalPlan:
    """Flags for one evaluation.

    Attributes:
        fidelity: FID / IS / KID (image data).
        conditional: G takes class labels; samples are drawn with balanced labels.
        label_metrics: label consistency and per-class FID (conditional G, labelled images).
        codes: G has an InfoGAN categorical code (sample grids show code traversals).
        code_accuracy: InfoGAN categorical-code accuracy (categorical code, labelled images).
        toy_modes: modes covered, high-quality percent, reverse KL (toy mixtures).
        optimal_d: learned D against ``p_data / (p_data + p_g)`` (1D toy data, sigmoid D).
    """

    fidelity: bool
    conditional: bool
    label_metrics: bool
    codes: bool
    code_accuracy: bool
    toy_modes: bool
    optimal_d: bool

    @property
    def needs_classifier(self) -> bool:
        return self.label_metrics or self.code_accuracy


def plan_for(model, datamodule) -> EvalPlan:
    """The flags for ``model`` on ``datamodule``: what the data allows (images, labels, a 1D
    density) intersected with what the model declares (:meth:`GANModule.model_metrics`,
    :meth:`GANModule.latent_codes`)."""
    images = not datamodule.is_toy
    labelled = datamodule.num_classes >= 2
    wanted = set(model.model_metrics())
    return EvalPlan(
        fidelity=images,
        conditional=model.conditional,
        label_metrics=images and labelled and "label_accuracy" in wanted,
        codes=model.latent_codes().categorical >= 2,
        code_accuracy=images and labelled and "code_accuracy" in wanted,
        toy_modes=datamodule.is_toy,
        optimal_d=datamodule.is_toy
        and tuple(datamodule.data_shape) == (1,)
        and "d_optimal_gap" in wanted,
    )


def conditioning(
    plan: EvalPlan, model, index: Tensor, generator: torch.Generator
) -> tuple[Tensor | None, dict[str, Tensor] | None]:
    """Labels and codes for the samples with global indices ``index``: balanced class labels
    ``index % num_classes`` for conditional models, the model's balanced latent codes
    (:meth:`LatentCodes.balanced`) where code accuracy is measured."""
    labels = index % model.num_classes if plan.conditional else None
    codes = model.latent_codes().balanced(index, generator) if plan.code_accuracy else None
    return labels, codes
