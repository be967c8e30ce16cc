"""Speed knobs (``speed.*`` in a config): channels-last memory, ``torch.compile``, TF32."""

from __future__ import annotations

import os
import shutil

import lightning as L
import torch
from lightning.pytorch.accelerators import CUDAAccelerator
from lightning.pytorch.utilities import rank_zero_warn

from ganzoo.errors import require


def compile_unavailable(accelerator) -> str | None:
    """Why ``torch.compile`` cannot build kernels here (None if it can): inductor needs a C++
    compiler for CPU code and Triton for GPU code."""
    if isinstance(accelerator, CUDAAccelerator):
        try:
            import triton  # noqa: F401
        except ImportError:
            return "inductor needs Triton for GPU kernels (pip install triton)"
        return None
    if not any(shutil.which(c) for c in (os.environ.get("CXX", "c++"), "g++", "clang++")):
        return "inductor needs a C++ compiler for CPU kernels (none on PATH; set CXX)"
    return None


class SpeedKnobs(L.Callback):
    """Applied once when fit sets up, before the optimizers are built and a checkpoint is
    restored; none changes what is learned beyond rounding.

    Args:
        channels_last: keep the conv networks' weights (G, D and G's moving average) in
            channels-last memory format. None (default): on for conv networks
            (:meth:`ganzoo.models.GANModule.convolutional`), off for MLPs. Measured here with
            one thread, interleaved: DCGAN 1.13x, WGAN-gp 1.06x the images/s
            (results/performance.md).
        compile: ``torch.compile`` the model's :meth:`~ganzoo.models.GANModule.compiled_modules`;
            with no C++ compiler for inductor on CPU it warns once and trains uncompiled.
        tf32: TensorFloat-32 matmuls and convolutions (Ampere and later GPUs); stops with a
            one-line error on other accelerators.
    """

    def __init__(self, *, channels_last: bool | None = None, compile: bool = False,
                 tf32: bool = False) -> None:
        self.channels_last, self.compile, self.tf32 = channels_last, compile, tf32

    def setup(self, trainer, pl_module, stage: str) -> None:
        if stage != "fit" or getattr(pl_module, "_speed_knobs_applied", False):
            return
        pl_module._speed_knobs_applied = True
        if self.tf32:
            require(isinstance(trainer.accelerator, CUDAAccelerator),
                    "speed.tf32: TensorFloat-32 needs a CUDA GPU (trainer.accelerator=gpu)")
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        channels_last = pl_module.convolutional() if self.channels_last is None else self.channels_last
        if channels_last:
            require(pl_module.convolutional(),
                    "speed.channels_last: a memory format for conv networks; needs arch dcgan")
            for net in (pl_module.generator, pl_module.generator_ema, pl_module.discriminator):
                if net is not None:
                    net.to(memory_format=torch.channels_last)
        if self.compile:
            missing = compile_unavailable(trainer.accelerator)
            if missing:
                rank_zero_warn(f"speed.compile: {missing}; training uncompiled")
            else:
                for module in pl_module.compiled_modules():
                    module.compile()
