"""Vanilla GAN (Goodfellow et al. 2014; seed 000): MLP generator and discriminator."""

from __future__ import annotations

from typing import Any, Literal

from lightning.pytorch.utilities import rank_zero_info

from ganzoo.errors import require
from ganzoo.models.base import GANModule, fill_unset

# Algorithm 1 as trained by the paper's released code (pylearn2, MNIST): the minimax G cost
# and SGD with learning rate 0.1 and momentum 0.5 (there growing to 0.7).
ALGORITHM1 = {"loss": "minimax", "optimizer": "sgd", "lr_g": 0.1, "lr_d": 0.1, "momentum": 0.5}


class VanillaGAN(GANModule):
    """The original GAN with MLP networks and, by default, the non-saturating G loss.

    Args:
        algorithm1: train as Algorithm 1 of the paper: the minimax (saturating) G cost, SGD
            with lr 0.1 and momentum 0.5, and ``n_critic`` = k D steps per G step. A ``loss``
            or ``optimizer`` that contradicts it is an error.
        loss, optimizer, lr_g, lr_d, momentum: None takes Algorithm 1's value with
            ``algorithm1``, else :class:`GANModule`'s default; the model's hparams
            (checkpoint, record) hold the value that runs.
        **kwargs: everything else :class:`GANModule` takes.
    """

    def __init__(
        self,
        *,
        algorithm1: bool = False,
        arch: str = "mlp",
        loss: str | None = None,
        optimizer: Literal["adam", "rmsprop", "sgd"] | None = None,
        lr_g: float | None = None,
        lr_d: float | None = None,
        momentum: float | None = None,
        **kwargs: Any,
    ) -> None:
        given = dict(loss=loss, optimizer=optimizer, lr_g=lr_g, lr_d=lr_d, momentum=momentum)
        if algorithm1:
            for field in ("loss", "optimizer"):
                require(
                    given[field] in (None, ALGORITHM1[field]),
                    f"model.{field}: algorithm1 trains with {ALGORITHM1[field]!r}, not "
                    f"{given[field]!r}; leave model.{field} unset or set algorithm1: false",
                )
            given = fill_unset(given, ALGORITHM1)
            rank_zero_info(
                f"VanillaGAN: algorithm1=true -> minimax loss, SGD lr_g={given['lr_g']} "
                f"lr_d={given['lr_d']} momentum={given['momentum']}"
            )
        explicit = {k: v for k, v in given.items() if v is not None}  # the rest: base defaults
        super().__init__(arch=arch, **explicit, **kwargs)
