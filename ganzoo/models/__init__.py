"""The GAN LightningModules: one base loop, one small subclass per variant."""

from ganzoo.models.base import GANModule
from ganzoo.models.cgan import ConditionalGAN
from ganzoo.models.dcgan import DCGAN
from ganzoo.models.infogan import InfoGAN
from ganzoo.models.vanilla import VanillaGAN
from ganzoo.models.wgan import WGAN

__all__ = ["DCGAN", "WGAN", "ConditionalGAN", "GANModule", "InfoGAN", "VanillaGAN"]
