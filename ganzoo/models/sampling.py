"""What evaluation and the sample grids ask of a model: samples from G (or its moving
average) in eval mode, D's probabilities, the fixed latent batch."""

from __future__ import annotations

import torch

from ganzoo.nets.blocks import eval_mode

Tensor = torch.Tensor
Latent = dict[str, Tensor]


class Sampling:
    """The sampling API of :class:`ganzoo.models.GANModule` (a mixin: it reads the model's
    ``sample_latent``, ``generate``, ``run_generator``, ``discriminate`` and networks)."""

    @torch.no_grad()
    def sample(
        self,
        n: int,
        labels: Tensor | None = None,
        codes: dict[str, Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Generate ``n`` samples in data space ([-1, 1] for images) with G in eval mode.

        Args:
            n: number of samples.
            labels: class labels (conditional models); uniform if omitted.
            codes: InfoGAN codes, ``{"cat": LongTensor, "cont": FloatTensor}``; drawn if omitted.
            generator: a ``torch.Generator`` (on the CPU) for reproducible draws.
        """
        latent = self.sample_latent(n, labels=labels, generator=generator)
        latent.update(codes or {})
        return self.generate_eval(latent)

    @torch.no_grad()
    def generate_eval(self, latent: Latent) -> Tensor:
        """G(latent) with G in eval mode (batch norm on running statistics); with G's moving
        average (:class:`ganzoo.tricks.GeneratorEMA`), the averaged G."""
        latent = {k: v.to(self.device) for k, v in latent.items()}
        if self.generator_ema is None:
            with eval_mode(self.generator):
                return self.generate(latent)
        with eval_mode(self.generator_ema.module):
            return self.run_generator(self.generator_ema.module, latent)

    @torch.no_grad()
    def d_probability(self, x: Tensor) -> Tensor:
        """sigmoid(D(x)) in float64 on the CPU, with D in eval mode (unconditional data)."""
        with eval_mode(self.discriminator):
            logits, _ = self.discriminate(x.to(self.device, self.dtype), None)
        return torch.sigmoid(logits.double().view(-1)).cpu()

    def fixed_latent(self) -> Latent:
        """The fixed latent batch stored with the model (for sample grids)."""
        return {
            name.removeprefix("fixed_"): buf
            for name, buf in self.named_buffers()
            if name.startswith("fixed_")
        }
