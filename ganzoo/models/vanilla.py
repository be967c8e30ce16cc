"""Vanilla GAN (Goodfellow et al. 2014; seed 000): MLP generator and discriminator."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.utilities import rank_zero_info

from ganzoo.errors import require
from ganzoo.losses import LossPair
from ganzoo.models.base import GANModule
from ganzoo.models.optimizers import OptimizerSpec

# Algorithm 1 as trained by the paper's released code (pylearn2, MNIST): the minimax G cost
# and SGD with learning rate 0.1 and momentum 0.5 (there growing to 0.7).
ALGORITHM1 = {"loss": "minimax", "optimizer": OptimizerSpec(name="sgd", momentum=0.5),
              "lr_g": 0.1, "lr_d": 0.1}


class VanillaGAN(GANModule):
    """The original GAN, ``min_G max_D E log D(x) + E log(1 - D(G(z)))`` (Eq. 1), with MLP
    networks and, by default, the non-saturating G loss ``-E log D(G(z))`` (Sec. 3).

    Args:
        algorithm1: train as Algorithm 1 of the paper: the minimax (saturating) G cost, SGD
            with lr 0.1 and momentum 0.5, and ``n_critic`` = k D steps per G step. A ``loss``
            or ``optimizer`` that contradicts it is an error.
        loss, optimizer, lr_g, lr_d: None takes Algorithm 1's value with ``algorithm1``, else
            :class:`GANModule`'s default; the model's hparams (checkpoint, record) hold the
            value that runs.
        **kwargs: everything else :class:`GANModule` takes.

    The defaults are not the paper's recipe; :attr:`paper_recipe` is (Algorithm 1), and row
    labels (:mod:`ganzoo.bench.recipe`) show a row's differences to it.
    """

    paper_recipe = {"algorithm1": True, **ALGORITHM1}

    def __init__(
        self,
        *,
        algorithm1: bool = False,
        arch: str = "mlp",
        loss: LossPair | str | None = None,
        optimizer: OptimizerSpec | None = None,
        lr_g: float | None = None,
        lr_d: float | None = None,
        **kwargs: Any,
    ) -> None:
        given = dict(loss=loss, optimizer=optimizer, lr_g=lr_g, lr_d=lr_d)
        if algorithm1:
            require(loss in (None, "minimax"), f"model.loss: algorithm1 trains with 'minimax', "
                    f"not {loss!r}; leave model.loss unset or set algorithm1: false")
            name = (optimizer or ALGORITHM1["optimizer"]).name
            require(name == "sgd", f"model.optimizer: algorithm1 trains with 'sgd', not "
                    f"{name!r}; leave model.optimizer unset or set algorithm1: false")
            given = {k: ALGORITHM1[k] if v is None else v for k, v in given.items()}
            rank_zero_info(
                f"VanillaGAN: algorithm1=true -> minimax loss, SGD lr_g={given['lr_g']} "
                f"lr_d={given['lr_d']} momentum={given['optimizer'].momentum}"
            )
        explicit = {k: v for k, v in given.items() if v is not None}  # the rest: base defaults
        super().__init__(arch=arch, **explicit, **kwargs)
