"""Generator and discriminator networks: plain ``nn.Module``s with keyword-only constructors.

Every discriminator exposes ``features(x, labels) -> h`` (its trunk) and ``forward(x, labels)
-> logits`` so that InfoGAN's Q head and the projection discriminator can share the trunk.
"""

from ganzoo.nets.blocks import MinibatchDiscrimination, QHead
from ganzoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_canvas
from ganzoo.nets.mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "MinibatchDiscrimination",
    "QHead",
    "dcgan_canvas",
]
