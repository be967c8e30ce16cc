"""The shared GAN training loop (manual optimization) that every variant builds on.

Schedule (Goodfellow et al. 2014, Algorithm 1; seed 000): every training batch is one
discriminator/critic step on a fresh data minibatch; after every ``n_critic``-th D step the
generator takes one step. So each "training iteration" of Algorithm 1 spans ``n_critic``
batches, each D step sees new data as the algorithm prescribes, and the position inside the
iteration (the critic phase, ``d_steps % n_critic``) is part of the checkpoint.

Budget. With manual optimization Lightning increments ``trainer.global_step`` on *every*
``optimizer.step()`` (Lightning issue 17958), so ``trainer.max_steps`` counts D and G steps
together: ``max_steps = N * (n_critic + 1)`` stops after ``N`` generator steps. Prefer
``model.max_g_steps`` (stops after exactly that many generator steps) or
``trainer.max_epochs`` (an epoch is one pass over the training split in D steps).

What a variant supplies: its defaults, how its latent input is drawn
(:meth:`GANModule.sample_latent`), extra loss terms (:meth:`extra_d_loss`,
:meth:`extra_g_loss`) and hooks such as :meth:`after_critic_step`. Networks come from
:mod:`ganzoo.nets.factory`.
"""

from __future__ import annotations

import os
import random
import shutil
from typing import Any, ClassVar, Literal

import lightning as L
import numpy as np
import torch
from lightning.pytorch.accelerators import CUDAAccelerator
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ganzoo.errors import ConfigError, require
from ganzoo.losses import get_loss
from ganzoo.models.codes import LatentCodes
from ganzoo.nets.blocks import (
    REFERENCE_NORMS,
    Conditioning,
    GNorm,
    MinibatchFeatures,
    eval_mode,
)
from ganzoo.nets.factory import Arch, make_discriminator, make_generator
from ganzoo.regularizers import (
    add_instance_noise,
    instance_noise_std,
    random_affine,
    smoothed_targets,
    weight_penalty,
)

Tensor = torch.Tensor
Latent = dict[str, Tensor]

OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}


def grad_norm(params) -> Tensor:
    """Global L2 norm of the gradients of ``params`` (torch's ``get_total_norm``; 0 when none
    has a gradient)."""
    grads = [p.grad for p in params if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def ema_warmup(decay: float):
    """The update of an exponential moving average whose decay after ``n`` updates is
    ``min(decay, (1 + n) / (10 + n))`` (TensorFlow's ``ExponentialMovingAverage`` with
    ``num_updates``), for ``AveragedModel(multi_avg_fn=...)``. torch's
    ``get_ema_multi_avg_fn`` keeps the decay fixed from the first update, so the first copy of
    G, random weights, keeps the weight ``decay ** n``: at 0.999, 47% of the average after
    WGAN's 750 G steps in the mnist5k budget (its samples were noise, FID over 600) and 2% after
    3,750. With the ramp the average covers roughly the last tenth of the steps early on and
    the last ``1 / (1 - decay)`` steps once the ramp reaches ``decay``."""

    def update(averaged: list[Tensor], current: list[Tensor], num_averaged: Tensor) -> None:
        n = int(num_averaged)
        beta = min(decay, (1 + n) / (10 + n))
        for a, c in zip(averaged, current, strict=True):
            if a.is_floating_point():
                a.lerp_(c, 1.0 - beta)
            else:  # batch norm's step counter
                a.copy_(c)

    return update


def fill_unset(given: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``given`` with each None (unset by the user) replaced by its value in ``defaults``: how
    a variant applies its paper's recipe, so that the hparams hold the values that run."""
    return {key: defaults[key] if value is None else value for key, value in given.items()}


def capture_rng_state() -> dict[str, Any]:
    """Every global RNG a training step may draw from, for the checkpoint."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        # plain types and tensors only, so the checkpoint loads with weights_only=True
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


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


def run_seed() -> int:
    """The run's seed (``seed_everything``; Lightning exports it as ``PL_GLOBAL_SEED``)."""
    return int(os.environ.get("PL_GLOBAL_SEED", 0))


def stream_seed(*keys: int) -> int:
    """A 63-bit seed mixed from ``keys`` (numpy's SeedSequence), e.g. ``(seed, rank)``: unlike
    ``seed + rank``, run 0's rank 1 and run 1's rank 0 do not share a stream."""
    entropy = [k % 2**32 for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1)


class GANModule(L.LightningModule):
    """Base GAN LightningModule: manual optimization of a generator G and a discriminator D.

    Args:
        data_shape: shape of one data sample, (C, H, W) or (D,); linked from the DataModule.
        num_classes: number of labels in the data (0 = unlabelled); linked from the DataModule.
        latent_dim: size of the noise vector z.
        noise: distribution of z: ``"normal"`` N(0, I) or ``"uniform"`` U(-1, 1) per dimension
            (InfoGAN's, Chen et al. 2016; its variance 1/3 leaves the latent codes a larger
            share of G's input).
        arch: network family, ``"mlp"`` or ``"dcgan"``.
        g_width: generator width (DCGAN: ngf; MLP: base hidden width).
        d_width: discriminator width (DCGAN: ndf; MLP: base hidden width).
        g_norm: normalisation in the generator (DCGAN and MLP): ``"batch"``, ``"reference"``
            (reference batch norm, seed 003: every sample normalised with the statistics of a
            fixed reference batch alone, 64 latents drawn once from this model's latent
            distribution and kept in the checkpoint), ``"virtual"`` (virtual batch norm,
            seed 003: with those of the reference batch plus the sample itself), ``"class"``
            (class-conditional batch norm: each sample's label, or InfoGAN's categorical code,
            picks the norm's scale and shift) or ``"none"``. Under reference and virtual batch norm,
            a sample does not depend on the rest of its minibatch.
        d_norm: normalisation in D's conv layers: ``"batch"``, ``"layer"`` or ``"none"``.
        minibatch_features: append Salimans et al. minibatch features in D (seed 003): True
            for their sum over the other samples of the batch, ``"mean"`` for its mean (in
            [0, 1] at any batch size; :class:`ganzoo.nets.blocks.MinibatchDiscrimination` says
            why the sum fails at the toy configs' batch of 256).
        loss: a name from :data:`ganzoo.losses.LOSSES`.
        n_critic: D steps per G step (k in Algorithm 1).
        optimizer: ``"adam"``, ``"rmsprop"`` or ``"sgd"``, used for both players.
        lr_g: generator learning rate.
        lr_d: discriminator learning rate.
        betas: Adam betas.
        momentum: SGD/RMSprop momentum.
        lr_schedule: ``"constant"`` or ``"linear"`` (decay to 0 over ``trainer.max_epochs``),
            stepped once per epoch.
        label_smoothing: alpha of one-sided label smoothing (real target 1 - alpha), BCE losses.
        fake_label: beta, the fake target of the alpha/beta form (seed 003 advises 0).
        instance_noise: initial std of Gaussian noise added to every D input (seed 001).
        instance_noise_anneal_steps: D steps over which that std decays linearly to 0
            (0 = constant).
        d_augment: differentiable augmentation of every D input, real and fake, in D's and
            G's steps (Zhao et al. 2020): a random rotation (up to 15 degrees), scaling (10%)
            and shift (1/16 of the side) per image (:func:`ganzoo.regularizers.random_affine`).
            Images only. InfoGAN's Q head then reads augmented fakes, so G can only encode
            the codes in what the augmentation keeps (the digit, not its slant or position).
        d_weight_penalty: lambda of an L2 penalty on D's weights (seed 001, "Penalizing
            discriminator weights"): ``lambda * sum ||W||^2`` over the discriminator's weight
            matrices and kernels, not its biases or norm parameters
            (:func:`ganzoo.regularizers.penalized_weights` says why; InfoGAN's Q head is not
            D), added to D's loss in every D step as the term ``d_weight_penalty`` (logged as
            ``train/d_weight_penalty``). A loss term, not the optimizer's weight decay.
            0 (default) = off.
        g_ema: decay of an exponential moving average of G's weights and batch-norm
            statistics, updated after every G step (Yazici et al. 2019, "The Unusual
            Effectiveness of Averaging in GAN Training"; Karras et al. 2018). Sampling and
            evaluation then use the averaged G; training uses G itself. 0 (default) = off. The
            average is torch's ``AveragedModel``; it starts as a copy of G at the first G step
            and, after n updates, moves with decay ``min(g_ema, (1 + n) / (10 + n))`` (see
            :func:`ema_warmup`).
        max_g_steps: stop after this many generator steps (None = no limit here). Optimizer
            steps are global under DDP: N devices take the same G steps as one.
        max_images: stop once this many real images were shown to D, counted over all
            processes (per-rank batch x world size per D step), so the budget does not depend
            on the device count (an epoch does: under DDP each rank sees 1/N of the data).
        num_fixed_samples: size of the fixed latent batch used for sample grids.
        fixed_noise_seed: seed of that fixed batch.
        channels_last: keep the conv networks' weights in channels-last memory format (arch
            dcgan). None (default): on for dcgan, off for mlp. Measured here with one thread,
            interleaved: DCGAN 1.13x, WGAN-gp 1.06x the images/s (results/performance.md).
        compile: ``torch.compile`` the networks (:meth:`compiled_modules`); with no C++
            compiler for inductor on CPU it warns once and trains uncompiled.
        tf32: TensorFloat-32 matmuls and convolutions (Ampere and later GPUs); stops with a
            one-line error on other accelerators.
        fused_optimizer: Adam's fused kernel (one kernel for all parameters instead of a
            Python loop over them): 0.84 ms against 2.37 ms per step for the mnist5k DCGAN's
            G and D on one CPU thread (results/performance.md); same update up to rounding.
    """

    conditional: ClassVar[bool] = False
    # True where the variant keeps D Lipschitz (WGAN's clipping or gradient penalty), which
    # the Wasserstein loss needs: without it the critic's scores grow without bound.
    lipschitz_critic: ClassVar[bool] = False

    def __init__(
        self,
        *,
        data_shape: tuple[int, ...] = (1, 28, 28),
        num_classes: int = 10,
        latent_dim: int = 64,
        noise: Literal["normal", "uniform"] = "normal",
        arch: Arch = "mlp",
        g_width: int = 64,
        d_width: int = 64,
        g_norm: GNorm = "batch",
        d_norm: Literal["batch", "layer", "none"] = "batch",
        minibatch_features: MinibatchFeatures = False,
        conditioning: Conditioning = "concat",
        loss: str = "nonsaturating",
        n_critic: int = 1,
        optimizer: Literal["adam", "rmsprop", "sgd"] = "adam",
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        momentum: float = 0.0,
        lr_schedule: Literal["constant", "linear"] = "constant",
        label_smoothing: float = 0.0,
        fake_label: float = 0.0,
        instance_noise: float = 0.0,
        instance_noise_anneal_steps: int = 0,
        d_augment: bool = False,
        d_weight_penalty: float = 0.0,
        g_ema: float = 0.0,
        max_g_steps: int | None = None,
        max_images: int | None = None,
        num_fixed_samples: int = 64,
        fixed_noise_seed: int = 0,
        channels_last: bool | None = None,
        compile: bool = False,
        tf32: bool = False,
        fused_optimizer: bool = True,
    ) -> None:
        if channels_last is None:  # on for conv networks: measured faster here
            channels_last = arch == "dcgan"
        resolved = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        super().__init__()
        # Lightning collects the args of every __init__ in the chain, a subclass's winning;
        # a variant may pass None ("the paper's value"), so the values resolved here overwrite,
        # in hparams (the checkpoint) and hparams_initial (what the loggers get) alike.
        self.save_hyperparameters()
        self.save_hyperparameters({**self.hparams, **resolved})
        self.automatic_optimization = False
        self.loss_pair = get_loss(loss)
        self._check_settings()
        self.data_shape = tuple(data_shape)
        self.num_classes = num_classes
        self.latent_dim = latent_dim
        self.n_critic = n_critic
        self.real_label, self.fake_label = smoothed_targets(label_smoothing, fake_label)
        self._build_networks()
        self.build_extra_modules()
        # Training progress beyond what Lightning tracks; saved in the checkpoint.
        self.d_steps = 0
        self.g_steps = 0
        self.images_seen = 0  # real images shown to D on this process (x world size in total)
        self.diverged = False
        generator = torch.Generator().manual_seed(fixed_noise_seed)
        for key, value in self.sample_latent(num_fixed_samples, generator=generator).items():
            self.register_buffer(f"fixed_{key}", value)

    def _check_settings(self) -> None:
        """One-line errors for settings that cannot train (read from ``hparams``)."""
        hp = self.hparams
        require(
            hp.loss != "wasserstein" or self.lipschitz_critic,
            "model.loss: 'wasserstein' needs a Lipschitz constraint on the critic; "
            "use ganzoo.models.WGAN (penalty: clip or gp)",
        )
        require(
            not hp.d_augment or len(hp.data_shape) == 3,
            f"model.d_augment: augments images; this data has shape {tuple(hp.data_shape)}",
        )
        require(
            hp.minibatch_features in (False, True, "mean"),
            f"model.minibatch_features: true, false or 'mean', got {hp.minibatch_features!r}",
        )
        require(hp.arch in ("mlp", "dcgan"), f"model.arch: unknown {hp.arch!r}; allowed: mlp, dcgan")
        require(
            hp.noise in ("normal", "uniform"),
            f"model.noise: unknown {hp.noise!r}; allowed: normal, uniform",
        )
        for name, low in (("n_critic", 1), ("latent_dim", 1)):
            require(hp[name] >= low, f"model.{name}: must be >= {low}, got {hp[name]}")
        for name in ("lr_g", "lr_d"):
            require(hp[name] > 0, f"model.{name}: must be > 0, got {hp[name]}")
        for name in ("max_g_steps", "max_images"):
            require(hp[name] is None or hp[name] >= 1, f"model.{name}: must be >= 1, got {hp[name]}")
        require(
            hp.optimizer in OPTIMIZERS,
            f"model.optimizer: unknown {hp.optimizer!r}; allowed: {', '.join(OPTIMIZERS)}",
        )
        require(
            0.0 <= hp.label_smoothing < 1.0 and 0.0 <= hp.fake_label < 1.0,
            "model.label_smoothing / model.fake_label: must be in [0, 1)",
        )
        require(
            self.loss_pair.probabilistic or (hp.label_smoothing == 0 and hp.fake_label == 0),
            f"model.label_smoothing: only for the BCE losses (minimax, nonsaturating, ml), "
            f"not {hp.loss!r}",
        )
        require(
            hp.instance_noise >= 0, f"model.instance_noise: must be >= 0, got {hp.instance_noise}"
        )
        require(0.0 <= hp.g_ema < 1.0, f"model.g_ema: a decay in [0, 1), got {hp.g_ema}")
        require(
            hp.d_weight_penalty >= 0,
            f"model.d_weight_penalty: must be >= 0, got {hp.d_weight_penalty}",
        )
        require(
            not hp.channels_last or hp.arch == "dcgan",
            "model.channels_last: a memory format for conv networks; needs arch dcgan",
        )
        require(
            not self.conditional or hp.num_classes >= 2,
            f"model: {type(self).__name__} needs labelled data (data.num_classes >= 2); "
            f"the dataset has {hp.num_classes} classes",
        )

    def _build_networks(self) -> None:
        hp = self.hparams
        cond_classes = self.num_classes if self.conditional else 0
        self.generator = make_generator(
            hp.arch,
            latent_dim=self.latent_dim + self.latent_codes().input_dim,
            data_shape=self.data_shape,
            num_classes=self.generator_classes(),
            width=hp.g_width,
            norm=hp.g_norm,
        )
        if hp.g_norm in REFERENCE_NORMS:
            self._draw_reference_batch()
        self.discriminator = make_discriminator(
            hp.arch,
            data_shape=self.data_shape,
            num_classes=cond_classes,
            width=hp.d_width,
            norm=hp.d_norm,
            conditioning=hp.conditioning,
            minibatch_features=hp.minibatch_features,
        )
        self.generator_ema = None
        if hp.g_ema > 0:
            self.generator_ema = AveragedModel(
                self.generator, multi_avg_fn=ema_warmup(hp.g_ema), use_buffers=True
            ).requires_grad_(False)

    def _draw_reference_batch(self) -> None:
        """Reference and virtual batch norm normalise with the features of G's fixed reference
        batch, so its latents must look like G's real inputs: draw them from this model's
        own latent distribution (uniform noise, InfoGAN's one-hot and uniform codes), with the
        reference batch's seed and its balanced labels. For N(0, I) noise and no codes this is
        the generator's own draw."""
        reference = self.generator.reference
        latent = self.sample_latent(
            reference.size,
            labels=reference.labels if self.conditional else None,
            generator=torch.Generator().manual_seed(reference.seed),
        )
        reference.replace(self.generator_input(latent))

    # ----------------------------------------------------------------- variant hooks
    def latent_codes(self) -> LatentCodes:
        """The codes G takes besides z (InfoGAN's); none by default. Read from ``hparams``, so
        a variant sets no attribute before ``super().__init__()``."""
        return LatentCodes()

    def model_metrics(self) -> tuple[str, ...]:
        """Names of the model-specific metrics that apply to this model; evaluation asks this
        instead of probing attributes. Base: the gap to the optimal discriminator, where D
        outputs a probability (the BCE losses)."""
        return ("d_optimal_gap",) if self.loss_pair.probabilistic else ()

    def table_label(self) -> str:
        """The model's row label in results tables: its class, with a non-default loss."""
        name, loss = type(self).__name__, self.hparams.get("loss")
        if loss and loss not in ("nonsaturating", "wasserstein"):
            return f"{name} ({loss})"
        return name

    def generator_classes(self) -> int:
        """How many values the labels G takes have (0: G takes none): the data's classes for a
        conditional model."""
        return self.num_classes if self.conditional else 0

    def generator_labels(self, latent: Latent) -> Tensor | None:
        """The labels G takes from a latent dict (see :meth:`generator_classes`)."""
        return latent.get("labels")

    def build_extra_modules(self) -> None:
        """Create modules beyond G and D (InfoGAN's Q head)."""

    def d_parameters(self) -> list[nn.Parameter]:
        """Parameters updated by the discriminator optimizer."""
        return list(self.discriminator.parameters())

    def sample_latent(
        self,
        n: int,
        labels: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Latent:
        """Draw the generator's input for ``n`` samples: ``z``, the variant's codes and, if
        conditional, labels.

        Labels default to uniform over the classes; training passes the batch's labels.
        """
        device = self.device if generator is None else "cpu"
        shape = (n, self.latent_dim)
        if self.hparams.noise == "uniform":
            z = torch.rand(shape, generator=generator, device=device) * 2 - 1
        else:
            z = torch.randn(shape, generator=generator, device=device)
        latent = {"z": z}
        latent.update(self.latent_codes().sample(n, generator=generator, device=device))
        if self.conditional:
            if labels is None:
                labels = torch.randint(
                    self.num_classes, (n,), generator=generator, device=device
                )
            latent["labels"] = labels
        return latent

    def generator_input(self, latent: Latent) -> Tensor:
        """The tensor fed to G besides the labels: z, with the variant's codes appended."""
        codes = self.latent_codes().as_input(latent, latent["z"].dtype)
        return torch.cat([latent["z"], *codes], dim=1) if codes else latent["z"]

    def generate(self, latent: Latent) -> Tensor:
        return self.run_generator(self.generator, latent)

    def run_generator(self, net: nn.Module, latent: Latent) -> Tensor:
        """A generator network (G, or its moving average) applied to ``latent``."""
        return net(self.generator_input(latent), self.generator_labels(latent))

    def discriminate(self, x: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """D's logits on ``x`` and auxiliary outputs for :meth:`extra_d_loss` (default none)."""
        return self.discriminator(x, labels if self.conditional else None), None

    def extra_d_loss(
        self, real: Tensor, fake: Tensor, latent: Latent, fake_aux: Tensor | None,
        real_aux: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Named extra terms of D's loss (gradient penalty, InfoGAN's info loss); ``fake_aux``
        and ``real_aux`` are :meth:`discriminate`'s auxiliary outputs on the two batches."""
        return {}

    def extra_g_loss(self, fake: Tensor, latent: Latent, fake_aux: Tensor | None) -> dict[str, Tensor]:
        """Named extra terms of G's loss."""
        return {}

    def after_critic_step(self) -> None:
        """Runs after every D optimizer step (WGAN weight clipping)."""

    def compiled_modules(self) -> list[nn.Module]:
        """Modules ``compile=True`` compiles (a variant whose D loss needs a double backward,
        such as the gradient penalty, leaves D out: compiled graphs do not support it)."""
        return [self.generator, self.discriminator]

    # ----------------------------------------------------------------- public API
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
        """G(latent) with G in eval mode (batch norm on running statistics); with ``g_ema``,
        the averaged G."""
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

    # ----------------------------------------------------------------- the loop
    def noise_std(self) -> float:
        """Std of the Gaussian instance noise on D's inputs at the current D step."""
        return instance_noise_std(
            self.hparams.instance_noise, self.d_steps, self.hparams.instance_noise_anneal_steps
        )

    def d_inputs(self, x: Tensor) -> Tensor:
        """What D sees of a batch in training: instance noise, then the augmentation."""
        x = add_instance_noise(x, self.noise_std())
        return random_affine(x) if self.hparams.d_augment and self.training else x

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        opt_g, opt_d = self.optimizers()
        stats = self.logging_step()
        logs = self.discriminator_step(opt_d, x, y, stats=stats)
        if self.d_steps % self.n_critic == 0:
            logs.update(self.generator_step(opt_g, x.shape[0], y, stats=stats))
            if self.hparams.max_g_steps and self.g_steps >= self.hparams.max_g_steps:
                self.trainer.should_stop = True
        max_images = self.hparams.max_images
        if max_images and self.images_seen * self.trainer.world_size >= max_images:
            self.trainer.should_stop = True
        self.check_divergence(logs)
        if self.logging_step():
            shown = {k: logs.pop(k) for k in ("train/d_loss", "train/g_loss") if k in logs}
            self.log_dict(shown, prog_bar=True)
            self.log_dict(logs)
            self.log("g_steps", float(self.g_steps), prog_bar=True, logger=False)

    def logging_step(self) -> bool:
        """True when Lightning writes this step's logged values to the loggers (every
        ``trainer.log_every_n_steps`` and on the last step). Only then does the loop compute
        its diagnostics (gradient norms, D's outputs) and call ``self.log``: each ``log`` call
        costs about a millisecond of Python, 8 per step, which at the mnist5k configs' sizes
        was up to a third of a step (results/performance.md)."""
        connector = getattr(self._trainer, "_logger_connector", None)
        return bool(getattr(connector, "should_update_logs", True))

    def discriminator_step(self, opt_d, x: Tensor, y: Tensor, stats: bool = True) -> dict[str, Tensor]:
        """One D step; returns its losses and, with ``stats``, its diagnostics for the logs."""
        labels = y if self.conditional else None
        with self.toggled_optimizer(opt_d):
            latent = self.sample_latent(x.shape[0], labels=labels)
            with torch.no_grad():
                fake = self.generate(latent)
            real_logits, real_aux = self.discriminate(self.d_inputs(x), labels)
            fake_logits, fake_aux = self.discriminate(self.d_inputs(fake), latent.get("labels"))
            if self.loss_pair.probabilistic:
                adv = self.loss_pair.d(real_logits, fake_logits, self.real_label, self.fake_label)
            else:
                adv = self.loss_pair.d(real_logits, fake_logits)
            extra = self.extra_d_loss(x, fake, latent, fake_aux, real_aux)
            if self.hparams.d_weight_penalty > 0:
                extra["d_weight_penalty"] = self.hparams.d_weight_penalty * weight_penalty(
                    self.discriminator
                )
            loss = adv + sum(extra.values())
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            norm = grad_norm(self.d_parameters()) if stats else None
            opt_d.step()
        self.after_critic_step()
        self.d_steps += 1
        self.images_seen += x.shape[0]
        logs = {"train/d_loss": loss.detach(), "train/d_adv_loss": adv.detach()}
        logs.update({f"train/{k}": v.detach() for k, v in extra.items()})
        if stats:
            logs["train/grad_norm_d"] = norm
            logs.update(self.output_stats("real", real_logits))
            logs.update(self.output_stats("fake", fake_logits))
            if self.hparams.instance_noise > 0:
                logs["train/instance_noise_std"] = torch.tensor(self.noise_std())
        return logs

    def generator_step(self, opt_g, n: int, y: Tensor, stats: bool = True) -> dict[str, Tensor]:
        """One G step; returns its losses and, with ``stats``, G's gradient norm."""
        with self.toggled_optimizer(opt_g):
            latent = self.sample_latent(n, labels=y if self.conditional else None)
            fake = self.generate(latent)
            fake_logits, fake_aux = self.discriminate(self.d_inputs(fake), latent.get("labels"))
            adv = self.loss_pair.g(fake_logits)
            extra = self.extra_g_loss(fake, latent, fake_aux)
            loss = adv + sum(extra.values())
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            norm = grad_norm(self.generator.parameters()) if stats else None
            opt_g.step()
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)
        self.g_steps += 1
        logs = {"train/g_loss": loss.detach()}
        logs.update({f"train/g_{k}": v.detach() for k, v in extra.items()})
        if stats:
            logs["train/grad_norm_g"] = norm
        return logs

    def output_stats(self, which: str, logits: Tensor) -> dict[str, Tensor]:
        """Mean D(x) / D(G(z)) as probabilities for BCE losses, raw critic values otherwise."""
        logits = logits.detach()
        if self.loss_pair.probabilistic:
            return {f"train/D_{which}": torch.sigmoid(logits).mean()}
        return {f"train/critic_{which}": logits.mean()}

    def check_divergence(self, logs: dict[str, Tensor]) -> None:
        """Divergence guard: a non-finite loss stops training cleanly, marks the run and says
        which loss went non-finite at which step. The checkpoints already written (epoch ends)
        are from before it."""
        losses = [k for k in ("train/d_loss", "train/g_loss") if k in logs]
        bad = [k for k in losses if not torch.isfinite(logs[k]).all()]
        if self.trainer.world_size > 1:  # every rank stops together
            anywhere = self.trainer.strategy.reduce_boolean_decision(bool(bad), all=False)
            if anywhere and not bad:
                bad = ["a loss on another process"]
        if bad and not self.diverged:
            self.diverged = True
            self.trainer.should_stop = True
            names = ", ".join(k.removeprefix("train/") for k in bad)
            rank_zero_warn(
                f"training diverged: {names} non-finite at D step {self.d_steps}, generator "
                f"step {self.g_steps}; stopping (the run is marked diverged)"
            )

    # ----------------------------------------------------------------- speed knobs
    def configure_model(self) -> None:
        """Applies ``tf32``, ``channels_last`` and ``compile`` once, when the Trainer sets up."""
        if getattr(self, "_knobs_applied", False):
            return
        self._knobs_applied = True
        hp = self.hparams
        if hp.tf32:
            require(
                isinstance(self.trainer.accelerator, CUDAAccelerator),
                "model.tf32: TensorFloat-32 needs a CUDA GPU (trainer.accelerator=gpu)",
            )
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        if hp.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            if self.generator_ema is not None:
                self.generator_ema.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)
        if hp.compile:
            missing = compile_unavailable(self.trainer.accelerator)
            if missing:
                rank_zero_warn(f"model.compile: {missing}; training uncompiled")
            else:
                for module in self.compiled_modules():
                    module.compile()

    # ----------------------------------------------------------------- optimizers
    def configure_optimizers(self):
        hp = self.hparams
        cls = OPTIMIZERS[hp.optimizer]

        def make(params, lr):
            if hp.optimizer == "adam":
                return cls(params, lr=lr, betas=tuple(hp.betas), fused=hp.fused_optimizer or None)
            return cls(params, lr=lr, momentum=hp.momentum)

        opt_g = make(self.generator.parameters(), hp.lr_g)
        opt_d = make(self.d_parameters(), hp.lr_d)
        factor = self.lr_factor()
        scheds = [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in (opt_g, opt_d)]
        return [opt_g, opt_d], scheds

    def lr_factor(self):
        if self.hparams.lr_schedule == "constant":
            return lambda epoch: 1.0
        max_epochs = self.trainer.max_epochs if self._trainer is not None else None
        require(
            max_epochs is not None and max_epochs > 0,
            "model.lr_schedule: 'linear' needs trainer.max_epochs > 0",
        )
        return lambda epoch: max(0.0, 1.0 - epoch / max_epochs)

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():
            scheduler.step()

    # ----------------------------------------------------------------- random streams
    def on_fit_start(self) -> None:
        """Under DDP, every rank draws its own noise. ``seed_everything`` seeds every rank
        alike, so without this each rank would generate the same fakes (and draw the same
        labels, codes, instance noise and gradient-penalty weights), and N devices would train
        G on N copies of one batch (Lightning issue 16166). Each rank's torch stream is
        re-seeded from ``(seed, rank)`` once the model is built (so the replicas start equal),
        or restored per rank from the checkpoint on resume. One process keeps the seeded
        stream untouched."""
        trainer = self.trainer
        if trainer.world_size == 1 or self._rank_rng_restored:
            return
        keys = [run_seed(), trainer.global_rank]
        if trainer.ckpt_path:  # resumed from a checkpoint without this world size's streams
            keys.append(self.d_steps)
            rank_zero_warn(
                f"ckpt_path: the checkpoint holds no random streams for {trainer.world_size} "
                f"processes; each rank continues from a fresh stream seeded by (seed, rank, "
                f"D step {self.d_steps}), so the resumed run is not bitwise the uninterrupted one"
            )
        seed = stream_seed(*keys)
        torch.manual_seed(seed)

    _rank_rng_restored = False

    def rank_rng_states(self) -> dict[str, Tensor]:
        """The torch (and CUDA) generator state of every rank, gathered: ``(world, n)`` uint8."""
        states = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            states["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            name: self.trainer.strategy.all_gather(state.to(self.device)).cpu()
            for name, state in states.items()
        }

    # ----------------------------------------------------------------- checkpoint
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["ganzoo"] = {
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "images_seen": self.images_seen,
            "diverged": self.diverged,
            "rng": capture_rng_state(),
        }
        if self._trainer is not None and self.trainer.world_size > 1:
            # every rank runs this hook (Trainer.save_checkpoint is called on all ranks)
            checkpoint["ganzoo"]["rank_rng"] = self.rank_rng_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("ganzoo")
        if state is None:
            raise ConfigError("ckpt_path: checkpoint was not written by a ganzoo GAN model")
        self.d_steps = state["d_steps"]
        self.g_steps = state["g_steps"]
        self.images_seen = state["images_seen"]
        self.diverged = state["diverged"]
        restore_rng_state(state["rng"])
        ranks = state.get("rank_rng")
        world = self.trainer.world_size if self._trainer is not None else 1
        if world > 1 and ranks is not None and len(ranks["torch"]) == world:
            rank = self.trainer.global_rank
            torch.set_rng_state(ranks["torch"][rank].clone())
            if "cuda" in ranks and self.device.type == "cuda":
                torch.cuda.set_rng_state(ranks["cuda"][rank].clone(), self.device)
            self._rank_rng_restored = True
