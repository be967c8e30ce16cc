"""The GAN LightningModules: one base loop, one small subclass per variant.

:data:`VARIANTS` is the registry of the variants a config can name (``class_path``): the
CLI's list of model names and the tests' cases derive from it. A new variant is one module
here (imported below with every module of the package, so nothing else lists it), one test
and one config.
"""

import importlib
import pkgutil

from ganzoo.models.base import GANModule
from ganzoo.models.cgan import ConditionalGAN
from ganzoo.models.conditional import ConditionalModule
from ganzoo.models.dcgan import DCGAN
from ganzoo.models.infogan import InfoGAN
from ganzoo.models.optimizers import OptimizerSpec
from ganzoo.models.vanilla import VanillaGAN
from ganzoo.models.wgan import WGAN, WGANGP, WGANClip

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def _variants() -> dict[str, type[GANModule]]:
    """Every concrete GANModule subclass defined in ganzoo.models, by class name."""
    found, todo = {}, [GANModule]
    while todo:
        cls = todo.pop(0)
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("ganzoo.models.") and not sub.__name__.endswith(
                ("Base", "Module")
            ):
                found.setdefault(sub.__name__, sub)
    return found


VARIANTS: dict[str, type[GANModule]] = _variants()

__all__ = ["DCGAN", "VARIANTS", "WGAN", "WGANGP", "ConditionalGAN", "ConditionalModule", "GANModule",
           "InfoGAN", "OptimizerSpec", "VanillaGAN", "WGANClip"]
