"""What a trick is: an attachment of the training loop, chosen by ``class_path``.

A model takes a list of tricks (``model.init_args.tricks``); each may change D's
architecture (:meth:`Trick.discriminator_options`, :meth:`Trick.wrap_discriminator`), what D
sees of a batch (:meth:`Trick.d_input`, applied in list order to the real and the fake batch,
in D's and G's steps), supply a step's fake batch (:meth:`Trick.fake_batch`), add named terms
to D's or G's loss (:meth:`Trick.d_terms`, :meth:`Trick.g_terms`, after the variant's own
terms, in list order) and add diagnostics to the logs (:meth:`Trick.stats`). The base loop
calls the hooks; it knows no trick by name, so a new trick is one module here and one test,
with no change under ``ganzoo/models``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

import torch

Tensor = torch.Tensor


@dataclass
class Step:
    """What one D or G step computed, for the loss terms: the real batch ``real`` (as loaded),
    the ``fake`` batch and its ``latent`` input, D's logits and auxiliary outputs (InfoGAN's
    trunk features) on each batch as D saw it (``real_*`` are None in G's step unless the loss
    needs them), and ``cache``, where terms share what they computed (e.g. Q's reading of the
    real batch, computed once however many terms use it)."""

    real: Tensor
    fake: Tensor
    latent: dict[str, Tensor]
    fake_logits: Tensor
    fake_aux: Tensor | None = None
    real_logits: Tensor | None = None
    real_aux: Tensor | None = None
    cache: dict[str, Any] = field(default_factory=dict)


class Trick:
    """Base of the tricks: every hook does nothing. A trick keeps each constructor argument
    as the attribute of the same name, so :func:`config_of` can say how it was chosen."""

    def check(self, model) -> None:
        """One-line errors (:func:`ganzoo.errors.require`) for a model this trick cannot serve."""

    def discriminator_options(self) -> dict[str, Any]:
        """Options of :func:`ganzoo.nets.factory.make_discriminator` this trick sets (D's
        architecture; read when the model builds D)."""
        return {}

    def wrap_discriminator(self, model, net: torch.nn.Module) -> torch.nn.Module:
        """D as this trick changes it once it is built (e.g. reparametrized weights); called
        in the list's order, before the optimizers see D's parameters."""
        return net

    def d_input(self, model, x: Tensor) -> Tensor:
        """What D sees of ``x`` (a real or a fake batch) in training."""
        return x

    def fake_batch(self, model, player: str, x: Tensor, labels: Tensor | None):
        """``(latent, fake)`` for this D (``player="d"``) or G step, or None to leave it to the
        next trick and then to the model's own draw (:meth:`ganzoo.models.GANModule.fake_batch`).
        Called before the step toggles its optimizer, so a graph through G built in D's step
        records G's parameters."""
        return None

    def d_terms(self, model, step: Step) -> dict[str, Tensor]:
        """Named terms added to D's loss (logged as ``train/<name>``)."""
        return {}

    def g_terms(self, model, step: Step) -> dict[str, Tensor]:
        """Named terms added to G's loss (logged as ``train/g_<name>``)."""
        return {}

    def stats(self, model) -> dict[str, Tensor]:
        """Diagnostics logged with D's step."""
        return {}

    def input_noise_std(self, model) -> float:
        """Std of the Gaussian noise this trick adds to D's inputs now (evaluation's optimal-D
        density convolves with it); 0 for every trick but instance noise."""
        return 0.0


def config_of(obj: Any) -> dict[str, Any]:
    """``{"class_path": ..., "init_args": ...}``: how a config chooses ``obj`` (a trick or a
    loss pair that keeps each constructor argument as the attribute of the same name)."""
    params = inspect.signature(type(obj).__init__).parameters
    init_args = {n: getattr(obj, n) for n, p in params.items()
                 if n != "self" and p.kind is p.KEYWORD_ONLY}
    return {"class_path": f"{type(obj).__module__}.{type(obj).__name__}", "init_args": init_args}


def from_config(value: Any) -> Any:
    """The object a ``{"class_path": ..., "init_args": ...}`` dict describes (the form
    :func:`config_of` gives the hparams, so that a checkpoint's hparams rebuild the model);
    any other value as it is."""
    if not (isinstance(value, dict) and "class_path" in value):
        return value
    module, _, name = value["class_path"].rpartition(".")
    return getattr(importlib.import_module(module), name)(**value.get("init_args") or {})


def plain(value: Any) -> Any:
    """``value`` as plain data for the hparams (the checkpoint loads with weights_only=True):
    an option dataclass as a dict, a trick or loss pair as its ``class_path`` config."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    if value is None or isinstance(value, str | int | float | bool | dict | Tensor):
        return value
    return config_of(value)
