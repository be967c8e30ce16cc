"""The shared GAN training loop (manual optimization) that every variant builds on.

Schedule (Goodfellow et al. 2014, Algorithm 1; seed 000): every training batch is one
discriminator/critic step on a fresh data minibatch; after every ``n_critic``-th D step the
generator takes one step. So each "training iteration" of Algorithm 1 spans ``n_critic``
batches, each D step sees new data as the algorithm prescribes, and the position inside the
iteration (the critic phase, ``d_steps % n_critic``) is part of the checkpoint.

What a variant supplies: its defaults, its networks' choices, how its latent input is drawn
(:meth:`GANModule.sample_latent`), its own loss terms (:meth:`GANModule.d_terms`,
:meth:`GANModule.g_terms`) and hooks such as :meth:`GANModule.after_critic_step`. What a trick
supplies (:mod:`ganzoo.tricks`): transforms of D's inputs, extra loss terms and where a step's
fakes come from, from the config's ``tricks`` list. What every fit gets besides (budget,
divergence guard, per-rank random streams, speed knobs, checkpoints) are callbacks in
:mod:`ganzoo.training`. Networks come from :mod:`ganzoo.nets.factory`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import lightning as L
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ganzoo.errors import ConfigError, require
from ganzoo.losses import LossPair, get_loss
from ganzoo.models.codes import LatentCodes
from ganzoo.models.optimizers import OptimizerSpec
from ganzoo.models.sampling import Sampling
from ganzoo.nets.blocks import REFERENCE_NORMS, GNorm
from ganzoo.nets.factory import Arch, make_discriminator, make_generator
from ganzoo.training.rng import capture_rng_state, restore_rng_state
from ganzoo.tricks.base import Step, Trick, from_config, plain

Tensor = torch.Tensor
Latent = dict[str, Tensor]
FIXED_NOISE_SEED = 0  # seed of the fixed latent batch of the sample grids


def grad_norm(params) -> Tensor:
    """Global L2 norm of the gradients of ``params`` (torch's ``get_total_norm``; 0 when none
    has a gradient)."""
    grads = [p.grad for p in params if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


class GANModule(Sampling, L.LightningModule):
    """Base GAN LightningModule: manual optimization of a generator G and a discriminator D.

    Args:
        data_shape: shape of one data sample, (C, H, W) or (D,); linked from the DataModule.
        num_classes: number of labels in the data (0 = unlabelled); linked from the DataModule.
        latent_dim: size of the noise vector z.
        arch: network family, ``"mlp"`` or ``"dcgan"``.
        g_width: generator width (DCGAN: ngf; MLP: base hidden width).
        d_width: discriminator width (DCGAN: ndf; MLP: base hidden width).
        g_norm: normalisation in the generator (DCGAN and MLP): ``"batch"``, ``"reference"``
            (reference batch norm, seed 003: every sample normalised with the statistics of a
            fixed reference batch alone, 64 latents drawn once from this model's latent
            distribution and kept in the checkpoint), ``"virtual"`` (virtual batch norm,
            seed 003: with those of the reference batch plus the sample itself), ``"class"``
            (class-conditional batch norm: each sample's label, or InfoGAN's categorical code,
            picks the norm's scale and shift) or ``"none"``. Under reference and virtual batch
            norm, a sample does not depend on the rest of its minibatch.
        d_norm: normalisation in D's conv layers: ``"batch"``, ``"layer"`` or ``"none"``.
        loss: a name from :data:`ganzoo.losses.LOSSES`, or a :class:`ganzoo.losses.LossPair`
            chosen by ``class_path`` (e.g. :class:`ganzoo.tricks.LabelSmoothing`).
        n_critic: D steps per G step (k in Algorithm 1).
        optimizer: both players' optimizer class and settings
            (:class:`ganzoo.models.optimizers.OptimizerSpec`).
        lr_g: generator learning rate.
        lr_d: discriminator learning rate.
        tricks: attachments of the loop, by ``class_path`` (:mod:`ganzoo.tricks`), applied in
            the list's order.
        num_fixed_samples: size of the fixed latent batch used for sample grids.
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
        arch: Arch = "mlp",
        g_width: int = 64,
        d_width: int = 64,
        g_norm: GNorm = "batch",
        d_norm: Literal["batch", "layer", "none"] = "batch",
        loss: LossPair | str = "nonsaturating",
        n_critic: int = 1,
        optimizer: OptimizerSpec = OptimizerSpec(),
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        tricks: list[Trick] | None = None,
        num_fixed_samples: int = 64,
    ) -> None:
        resolved = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        super().__init__()
        # Lightning collects the args of every __init__ in the chain, a subclass's winning;
        # a variant may pass None ("the paper's value"), so the values resolved here overwrite,
        # in hparams (the checkpoint) and hparams_initial (what the loggers get) alike, as
        # plain data.
        self.save_hyperparameters()
        self.save_hyperparameters({k: plain(v) for k, v in {**self.hparams, **resolved}.items()})
        self.automatic_optimization = False
        loss = from_config(loss)  # a config dict: a model rebuilt from its checkpoint's hparams
        self.loss_pair = loss if isinstance(loss, LossPair) else get_loss(loss)
        self.optimizer_spec = OptimizerSpec(**optimizer) if isinstance(optimizer, dict) else optimizer
        self.tricks = [from_config(t) for t in tricks or []]
        self.data_shape = tuple(data_shape)
        self.num_classes = num_classes
        self.latent_dim = latent_dim
        self.n_critic = n_critic
        self._check_settings()
        self._build_networks()
        self.build_extra_modules()
        # Training progress beyond what Lightning tracks; saved in the checkpoint.
        self.d_steps = 0
        self.g_steps = 0
        self.images_seen = 0  # real images shown to D on this process (x world size in total)
        self.diverged = False
        generator = torch.Generator().manual_seed(FIXED_NOISE_SEED)
        for key, value in self.sample_latent(num_fixed_samples, generator=generator).items():
            self.register_buffer(f"fixed_{key}", value)

    def _check_settings(self) -> None:
        """One-line errors for settings that cannot train (read from ``hparams``)."""
        hp = self.hparams
        require(
            self.loss_pair.name != "wasserstein" or self.lipschitz_critic,
            "model.loss: 'wasserstein' needs a Lipschitz constraint on the critic; "
            "use ganzoo.models.WGANClip or ganzoo.models.WGANGP",
        )
        require(hp.arch in ("mlp", "dcgan"), f"model.arch: unknown {hp.arch!r}; allowed: mlp, dcgan")
        for name, low in (("n_critic", 1), ("latent_dim", 1)):
            require(hp[name] >= low, f"model.{name}: must be >= {low}, got {hp[name]}")
        for name in ("lr_g", "lr_d"):
            require(hp[name] > 0, f"model.{name}: must be > 0, got {hp[name]}")
        for trick in self.tricks:
            trick.check(self)

    def _build_networks(self) -> None:
        hp = self.hparams
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
        self.discriminator = self.build_discriminator()
        self.generator_ema: nn.Module | None = None  # ganzoo.tricks.GeneratorEMA attaches it

    def build_discriminator(self, **options: Any) -> nn.Module:
        """D (for unlabelled data: :mod:`ganzoo.models.conditional` gives it the labels), with
        the options the tricks ask for (:meth:`ganzoo.tricks.Trick.discriminator_options`),
        then as they change it (:meth:`ganzoo.tricks.Trick.wrap_discriminator`)."""
        hp = self.hparams
        for trick in self.tricks:
            options.update(trick.discriminator_options())
        options = {"num_classes": 0, "conditioning": "concat", "minibatch_features": False, **options}
        net = make_discriminator(hp.arch, data_shape=self.data_shape, width=hp.d_width,
                                 norm=hp.d_norm, **options)
        for trick in self.tricks:
            net = trick.wrap_discriminator(self, net)
        return net

    def _draw_reference_batch(self) -> None:
        """Reference and virtual batch norm normalise with the features of G's fixed reference
        batch, so its latents must look like G's real inputs: draw them from this model's
        own latent distribution (uniform noise, InfoGAN's one-hot and uniform codes), with the
        reference batch's seed and its balanced labels. For N(0, I) noise and no codes this is
        the generator's own draw."""
        reference = self.generator.reference
        latent = self.sample_latent(
            reference.size,
            labels=self.batch_labels(reference.labels),
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
        name, loss = type(self).__name__, self.loss_pair.name
        if loss not in ("nonsaturating", "wasserstein"):
            return f"{name} ({loss})"
        return name

    def convolutional(self) -> bool:
        """True for conv networks (the channels-last speed knob applies)."""
        return self.hparams.arch == "dcgan"

    def batch_labels(self, y: Tensor) -> Tensor | None:
        """The labels of a data batch that G and D take (none for an unconditional model)."""
        return None

    def generator_classes(self) -> int:
        """How many values the labels G takes have (0: G takes none)."""
        return 0

    def generator_labels(self, latent: Latent) -> Tensor | None:
        """The labels G takes from a latent dict (see :meth:`generator_classes`)."""
        return latent.get("labels")

    def build_extra_modules(self) -> None:
        """Create modules beyond G and D (InfoGAN's Q head)."""

    def d_parameters(self) -> list[nn.Parameter]:
        """Parameters updated by the discriminator optimizer."""
        return list(self.discriminator.parameters())

    def sample_latent(
        self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Latent:
        """Draw the generator's input for ``n`` samples: ``z`` and the variant's codes (a
        conditional model adds labels)."""
        device = self.device if generator is None else "cpu"
        z = self.draw_noise((n, self.latent_dim), generator, device)
        return {"z": z, **self.latent_codes().sample(n, generator=generator, device=device)}

    def draw_noise(self, shape: tuple[int, int], generator, device) -> Tensor:
        """The noise z: N(0, I) (InfoGAN draws its own)."""
        return torch.randn(shape, generator=generator, device=device)

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
        """D's logits on ``x`` and auxiliary outputs for the loss terms (default none)."""
        return self.discriminator(x, labels), None

    def d_terms(self, step: Step) -> dict[str, Tensor]:
        """The variant's named extra terms of D's loss (gradient penalty, InfoGAN's info
        loss), before the tricks' terms."""
        return {}

    def g_terms(self, step: Step) -> dict[str, Tensor]:
        """The variant's named extra terms of G's loss."""
        return {}

    def after_critic_step(self) -> None:
        """Runs after every D optimizer step (WGAN weight clipping)."""

    def compiled_modules(self) -> list[nn.Module]:
        """Modules ``speed.compile`` compiles (a variant whose D loss needs a double backward,
        such as the gradient penalty, leaves D out: compiled graphs do not support it)."""
        return [self.generator, self.discriminator]

    # ----------------------------------------------------------------- public API
    @property
    def real_label(self) -> float:
        """D's target on real data (BCE losses; 1 unless the loss smooths it)."""
        return self.loss_pair.targets[0]

    @property
    def fake_label(self) -> float:
        return self.loss_pair.targets[1]

    def noise_std(self) -> float:
        """Std of the Gaussian noise on D's inputs at the current D step (instance noise)."""
        return sum(trick.input_noise_std(self) for trick in self.tricks)

    # ----------------------------------------------------------------- the loop
    def d_inputs(self, x: Tensor) -> Tensor:
        """What D sees of a batch in training: ``x`` through every trick's transform."""
        for trick in self.tricks:
            x = trick.d_input(self, x)
        return x

    def terms(self, player: Literal["d", "g"], step: Step) -> dict[str, Tensor]:
        """The named extra terms of a player's loss: the variant's, then each trick's."""
        terms = self.d_terms(step) if player == "d" else self.g_terms(step)
        for trick in self.tricks:
            terms.update(trick.d_terms(self, step) if player == "d" else trick.g_terms(self, step))
        return terms

    def fake_batch(self, player: Literal["d", "g"], x: Tensor, labels: Tensor | None) -> tuple[Latent, Tensor]:
        """The latent and the fake batch of a D or G step: the first trick's that supplies one
        (:meth:`ganzoo.tricks.Trick.fake_batch`), else a new draw, generated without a graph
        for D."""
        for trick in self.tricks:
            if (batch := trick.fake_batch(self, player, x, labels)) is not None:
                return batch
        latent = self.sample_latent(x.shape[0], labels=labels)
        with torch.set_grad_enabled(player == "g"):
            return latent, self.generate(latent)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> dict[str, Tensor]:
        """One D step on the batch; after every ``n_critic``-th, one G step. Returns the
        losses (the divergence guard reads them)."""
        x, y = batch
        opt_g, opt_d = self.optimizers()
        stats = self.logging_step()
        logs = self.discriminator_step(opt_d, x, y, stats=stats)
        if self.d_steps % self.n_critic == 0:
            logs.update(self.generator_step(opt_g, x, y, stats=stats))
        losses = {k: logs.pop(k) for k in ("train/d_loss", "train/g_loss") if k in logs}
        if stats:
            self.log_dict(losses, prog_bar=True)
            self.log_dict(logs)
            self.log("g_steps", float(self.g_steps), prog_bar=True, logger=False)
        return losses

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
        labels = self.batch_labels(y)
        latent, fake = self.fake_batch("d", x, labels)  # outside the toggle: G's graph may be kept
        with self.toggled_optimizer(opt_d):
            real_logits, real_aux = self.discriminate(self.d_inputs(x), labels)
            fake_logits, fake_aux = self.discriminate(self.d_inputs(fake), latent.get("labels"))
            step = Step(x, fake, latent, fake_logits, fake_aux, real_logits, real_aux)
            adv = self.loss_pair.d(real_logits, fake_logits)
            extra = self.terms("d", step)
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
            for trick in self.tricks:
                logs.update(trick.stats(self))
        return logs

    def generator_step(self, opt_g, x: Tensor, y: Tensor, stats: bool = True) -> dict[str, Tensor]:
        """One G step (``x``: the real batch, which only a relativistic loss reads); returns
        its losses and, with ``stats``, G's gradient norm."""
        labels = self.batch_labels(y)
        latent, fake = self.fake_batch("g", x, labels)
        with self.toggled_optimizer(opt_g):
            fake_logits, fake_aux = self.discriminate(self.d_inputs(fake), latent.get("labels"))
            step = Step(x, fake, latent, fake_logits, fake_aux)
            if self.loss_pair.needs_real_in_g:
                step.real_logits, step.real_aux = self.discriminate(self.d_inputs(x), labels)
            adv = self.loss_pair.g(fake_logits, step.real_logits)
            extra = self.terms("g", step)
            loss = adv + sum(extra.values())
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            norm = grad_norm(self.generator.parameters()) if stats else None
            opt_g.step()
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

    # ----------------------------------------------------------------- optimizers
    def configure_optimizers(self):
        spec, hp = self.optimizer_spec, self.hparams
        opt_g = spec.build(self.generator.parameters(), hp.lr_g)
        opt_d = spec.build(self.d_parameters(), hp.lr_d)
        factor = spec.lr_factor(self.trainer.max_epochs if self._trainer is not None else None)
        scheds = [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in (opt_g, opt_d)]
        return [opt_g, opt_d], scheds

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():
            scheduler.step()

    # ----------------------------------------------------------------- checkpoint
    def _world_size(self) -> int:
        return int(getattr(self._trainer, "world_size", 1) or 1) if self._trainer else 1

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["ganzoo"] = {
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "images_seen": self.images_seen,
            # over all processes: a run resumed on another device count keeps its budget
            "images_seen_global": self.images_seen * self._world_size(),
            "diverged": self.diverged,
            "rng": capture_rng_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("ganzoo")
        if state is None:
            raise ConfigError("ckpt_path: checkpoint was not written by a ganzoo GAN model")
        self.d_steps = state["d_steps"]
        self.g_steps = state["g_steps"]
        self.images_seen = state["images_seen"]
        if "images_seen_global" in state:  # the share of this process at today's world size
            self.images_seen = state["images_seen_global"] // self._world_size()
        self.diverged = state["diverged"]
        restore_rng_state(state["rng"])
        if self.generator_ema is None and "generator_ema.n_averaged" in checkpoint["state_dict"]:
            # the average ganzoo.tricks.GeneratorEMA kept, loaded outside a fit for sampling
            self.generator_ema = AveragedModel(self.generator, use_buffers=True).requires_grad_(False)
