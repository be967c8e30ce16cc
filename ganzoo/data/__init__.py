"""Data: the shared :class:`GANDataModule` and its embedded, torchvision and toy sources."""

from ganzoo.data.datamodule import GANDataModule

__all__ = ["GANDataModule"]
