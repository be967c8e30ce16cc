"""Latent codes a generator takes besides the noise z (InfoGAN's, Chen et al. 2016).

:class:`LatentCodes` is the one description of them: how they are drawn for training, how
balanced codes are drawn for evaluation, and how they enter G. The base model asks its
variant's :meth:`~ganzoo.models.base.GANModule.latent_codes`; evaluation and sample grids ask
the model, never an attribute of one variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


@dataclass(frozen=True)
class LatentCodes:
    """One categorical code with ``categorical`` values (0 = none) and ``continuous`` codes
    drawn from Uniform(-1, 1); in a latent dict they are ``"cat"`` (LongTensor, (n,)) and
    ``"cont"`` (float, (n, continuous))."""

    categorical: int = 0
    continuous: int = 0

    def __bool__(self) -> bool:
        return self.categorical > 0 or self.continuous > 0

    @property
    def input_dim(self) -> int:
        """Width the codes add to G's input (the categorical code is one-hot)."""
        return self.categorical + self.continuous

    def draw_continuous(self, n: int, generator=None, device=None) -> Tensor:
        return torch.rand(n, self.continuous, generator=generator, device=device) * 2 - 1

    def sample(self, n: int, generator=None, device=None) -> dict[str, Tensor]:
        """Codes for training: uniform categorical, uniform continuous."""
        if not self:
            return {}
        cat = torch.randint(max(self.categorical, 1), (n,), generator=generator, device=device)
        return {"cat": cat, "cont": self.draw_continuous(n, generator, device)}

    def balanced(self, index: Tensor, generator=None) -> dict[str, Tensor]:
        """Codes for the samples with global indices ``index``: categorical ``index % K`` (every
        value equally often), continuous uniform from ``generator``."""
        if not self:
            return {}
        cat = index % max(self.categorical, 1)
        return {"cat": cat, "cont": self.draw_continuous(len(index), generator)}

    def as_input(self, latent: dict[str, Tensor], dtype: torch.dtype) -> list[Tensor]:
        """The tensors appended to z for G: the one-hot categorical code, the continuous codes."""
        parts = []
        if self.categorical:
            parts.append(F.one_hot(latent["cat"], self.categorical).to(dtype))
        if self.continuous:
            parts.append(latent["cont"].to(dtype))
        return parts
