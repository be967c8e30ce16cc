"""ganzoo: train, evaluate and compare GAN variants with PyTorch Lightning.

Importing the package needs no GPU and no network.
"""

__version__ = "0.1.0"
