"""Where the time goes: ganzoo's training and evaluation against bare PyTorch, CPU knobs, scaling.

    .venv/bin/python benchmarks/bench_speed.py [--sections overhead lightning roofline eval
        eval_protocol knobs scaling]
        [--rounds 3] [--out results/performance.md]

Writes a markdown report (machine, versions, date, command) and prints each table as it is
measured. Every figure is measured in this process on the embedded mnist5k data (28 x 28), one
torch thread unless a row says otherwise. Sections:

- ``overhead``: for VanillaGAN and DCGAN (what the bare loop can keep equal), real images/s
  of ``ganzoo fit`` as the ``experiments/<variant>_mnist5k.yaml`` config runs it (LightningModule, Trainer, the W&B
  logger offline, the run record, checkpoints, the config's callbacks) against a bare loop
  written here over copies of the *same* networks, the same losses, optimizers, ``n_critic``
  and algorithm (a fresh noise batch for every D and G step). Interleaved: at the start of
  every ganzoo epoch the bare loop runs one epoch's worth of batches, so both share the
  machine's state; epoch 0 is warm-up; ratio = ganzoo seconds / bare seconds per round, median
  over rounds. The config's evaluation and grid callbacks are kept but moved past the
  measured epochs (evaluation is the ``eval`` section's subject). Then, for both,
  Lightning's own floor: the bare step inside a bare ``LightningModule`` and Trainer
  (:class:`LightningFloor`), with and without ``manual_backward`` and the optimizer wrappers.
- ``lightning``: for every main-job variant (:data:`MAIN_VARIANTS`), ganzoo's own share: real
  images/s of ``ganzoo fit`` as above (evaluation moved past the measured epochs) against
  Lightning's loop running the same step (:func:`lightning_row`): a deep copy of the same built
  model, before training, fitted by a bare ``L.Trainer`` (no logger, no checkpointing, no
  progress bar, no model summary) whose only callbacks are the config's that change the
  computation (G's moving average, the speed knobs), with ganzoo's logging off
  (``logging_step`` False: no diagnostics, no ``self.log``). So the floor runs ganzoo's own
  step code (the variant's equations, its latent dicts and tricks loops; the ``overhead``
  section's bare loop prices those for VanillaGAN and DCGAN) and the ratio is what ganzoo adds
  around it: its callbacks (budget, divergence guard, RNG streams, run record, checkpoints,
  the evaluation and grid callbacks' per-batch checks), the W&B logger and the logging steps.
  The two fits take turns an epoch at a time (:class:`Turns`: the floor's Trainer runs in a
  second thread, and only one of the two runs at any moment).
- ``roofline``: ``benchmarks/roofline.py``'s tables at its defaults for every main-job variant
  (FLOPs per image, achieved GFLOP/s against the measured peak, the profiler's breakdown).
- ``eval``: one FID/IS/KID pass over 5,000 generated samples (domain extractor, real features
  cached) by ``ganzoo.metrics.evaluate`` against torch-fidelity's own ``calculate_metrics`` on
  the same samples and extractor (its real statistics cached too), interleaved rounds.
- ``eval_protocol``: for every main-job variant, one evaluation pass at the main job's full
  protocol (every column of the table: FID-inf, both feature spaces, PR/DC, memorization, the
  floor) as its run's EvaluationCallback makes it, against the row's committed run wall time;
  and the part torch-fidelity computes (FID, IS, KID, PR in the domain features, FID and KID in
  the autoencoder's) by ganzoo against ``torch_fidelity.calculate_metrics`` (issue [5/6]).
- ``knobs``: the CPU fast path, images/s of DCGAN and WGAN-gp through the Trainer (logger
  off): threads per run versus runs side by side, channels_last, torch.compile, oneDNN off,
  in-memory batches versus the per-sample DataLoader.
- ``scaling``: DCGAN images/s at batch 32-256 and image size 28/32/64; evaluation time versus
  the number of samples.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

import lightning as L  # noqa: E402
import run_times  # noqa: E402  (benchmarks/run_times.py, beside this script)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# The variants the bare loop below reproduces (and Lightning's own floor is measured on): the
# smallest and a typical step. Any other variant is measured through the Trainer alone (the
# knobs and scaling sections name configs), so a new variant needs no edit here.
VARIANTS = {"VanillaGAN": "vanilla_mnist5k.yaml", "DCGAN": "dcgan_mnist5k.yaml"}
FLOOR_VARIANTS = tuple(VARIANTS)
# The main job's variants, each against Lightning's loop running its own step (``lightning``).
MAIN_VARIANTS = {**VARIANTS, "WGAN-clip": "wgan_clip_mnist5k.yaml",
                 "WGAN-gp": "wgan_gp_mnist5k.yaml", "ConditionalGAN": "cgan_mnist5k.yaml",
                 "InfoGAN": "infogan_mnist5k.yaml"}
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
# what torch-fidelity computes (FID, IS, KID): the evaluation pass is timed on the same work
SAME_AS_FIDELITY = ["fid", "is", "kid"]


def build(config: str, *overrides: str, runs_dir: str):
    """Model, data and trainer exactly as ``ganzoo fit --config <config>`` builds them."""
    from ganzoo.cli import run_lightning_cli

    args = ["--config", str(ROOT / "experiments" / config), f"--runs_dir={runs_dir}", *QUIET]
    return run_lightning_cli([*args, *overrides], run=False)


# ----------------------------------------------------------------------------- bare loop
class BareLoop:
    """Plain PyTorch over deep copies of a VanillaGAN's or DCGAN's networks: the same algorithm
    as ``GANModule.training_step`` (a D step on every batch with fresh noise, a G step with
    fresh noise after every ``n_critic``-th D step), on the BCE losses, written without
    Lightning or ganzoo's model code. G's moving average is kept as
    :class:`ganzoo.tricks.GeneratorEMA` keeps it (``ema``: its decay, 0 = none), and the G step
    reuses the critic step's fakes where the model has :class:`ganzoo.tricks.ReuseFake`. Only
    what it can keep equal: no other trick, no other variant."""

    def __init__(self, model, images: torch.Tensor, labels: torch.Tensor, batch: int,
                 ema: float = 0.0) -> None:
        from ganzoo.tricks import ReuseFake

        hp = model.hparams
        others = [t for t in model.tricks if not isinstance(t, ReuseFake)]
        if type(model).__name__ not in VARIANTS or others or hp.loss not in (
                "nonsaturating", "minimax"):
            raise ValueError(f"the bare loop reproduces {', '.join(VARIANTS)} on the BCE losses "
                             f"without tricks but ReuseFake, not {model.table_label()}")
        # ReuseFake: the G step trains on the last critic step's fakes, as ganzoo's does
        self.reuse = any(isinstance(t, ReuseFake) for t in model.tricks)
        self.g = copy.deepcopy(model.generator)
        self.d = copy.deepcopy(model.discriminator)
        self.loss, self.n_critic, self.spec = hp.loss, hp.n_critic, model.optimizer_spec
        self.latent_dim = model.latent_dim
        self.opt_g = self.spec.build(self.g.parameters(), hp.lr_g)
        self.opt_d = self.spec.build(self.d.parameters(), hp.lr_d)
        self.x, self.y, self.batch = images, labels, batch
        self.order: list[torch.Tensor] = []
        self.d_steps = 0
        self.backward = torch.Tensor.backward  # LightningFloor swaps in manual_backward
        self.g_ema, self.g_avg, self.g_updates = ema, None, 0

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.order:
            self.order = list(torch.randperm(len(self.x)).split(self.batch))
            if len(self.order[-1]) < self.batch:
                self.order.pop()
        idx = self.order.pop(0)
        return self.x[idx], self.y[idx]

    def _d_loss(self, real, fake):
        ones, zeros = torch.ones_like(real), torch.zeros_like(fake)
        return F.binary_cross_entropy_with_logits(
            real, ones
        ) + F.binary_cross_entropy_with_logits(fake, zeros)

    def _g_loss(self, fake):
        if self.loss == "minimax":
            return -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))

    def step(self) -> None:
        x, _ = self._next_batch()
        z = torch.randn(len(x), self.latent_dim)
        kept = None
        if self.reuse and (self.d_steps + 1) % self.n_critic == 0:  # a G step follows
            kept = self.g(z, None)
            fake = kept.detach()
        else:
            with torch.no_grad():
                fake = self.g(z, None)
        loss = self._d_loss(self.d(x, None), self.d(fake, None))
        self.opt_d.zero_grad(set_to_none=True)
        self.backward(loss)
        self.opt_d.step()
        self.d_steps += 1
        if self.d_steps % self.n_critic:
            return
        if kept is None:
            kept = self.g(torch.randn(len(x), self.latent_dim), None)
        for p in self.d.parameters():
            p.requires_grad_(False)
        loss = self._g_loss(self.d(kept, None))
        self.opt_g.zero_grad(set_to_none=True)
        self.backward(loss)
        self.opt_g.step()
        for p in self.d.parameters():
            p.requires_grad_(True)
        if self.g_ema:
            self._average_g()

    @torch.no_grad()
    def _average_g(self) -> None:
        """G's moving average as GeneratorEMA keeps it: a copy first, then decay
        min(decay, (1 + n) / (10 + n)) after n updates."""
        if self.g_avg is None:
            self.g_avg = copy.deepcopy(self.g).requires_grad_(False)
        else:
            beta = min(self.g_ema, (1 + self.g_updates) / (10 + self.g_updates))
            pairs = zip([*self.g_avg.parameters(), *self.g_avg.buffers()],
                        [*self.g.parameters(), *self.g.buffers()], strict=True)
            for avg, now in pairs:
                if avg.is_floating_point():
                    avg.lerp_(now, 1 - beta)
                else:  # batch norm's step counter
                    avg.copy_(now)
        self.g_updates += 1

    def run(self, batches: int) -> float:
        start = time.perf_counter()
        for _ in range(batches):
            self.step()
        return time.perf_counter() - start


def ema_decay(trainer) -> float:
    """The decay of the run's G average (its GeneratorEMA callback), 0 without one."""
    from ganzoo.tricks import GeneratorEMA

    return next((c.decay for c in trainer.callbacks if isinstance(c, GeneratorEMA)), 0.0)


class Interleave(L.Callback):
    """Runs the bare loop for one epoch's batches at the start of every ganzoo epoch and
    times both: ganzoo's epoch e is the time from just after the bare round at its start to
    the start of epoch e + 1 (its epoch-end work, checkpoint included)."""

    def __init__(self, batches: int, bare: BareLoop | None = None) -> None:
        self.batches = batches
        self.bare = bare  # built from the trained model at the first epoch if not given
        self.ganzoo_s: list[float] = []
        self.bare_s: list[float] = []
        self.mark: float | None = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        now = time.perf_counter()
        if self.mark is not None:
            self.ganzoo_s.append(now - self.mark)
        if self.bare is None:
            train = trainer.datamodule.split("train")
            x, y = train.tensors
            self.bare = BareLoop(pl_module, x, y, trainer.datamodule.batch_size,
                                 ema_decay(trainer))
        self.bare_s.append(self.bare.run(self.batches))
        self.mark = time.perf_counter()


class LightningFloor(L.LightningModule):
    """A BareLoop's step as a manual-optimization ``training_step``, no logging, no callbacks:
    what Lightning's loop costs by itself around the same work (batch fetching, hooks, the
    loop's bookkeeping). With ``wrappers`` the step also goes through ``manual_backward`` and
    Lightning's optimizer wrappers, as every LightningModule with manual optimization does."""

    def __init__(self, bare: BareLoop, wrappers: bool) -> None:
        super().__init__()
        self.bare, self.wrappers = bare, wrappers
        self.nets = torch.nn.ModuleList([bare.g, bare.d])
        self.automatic_optimization = False

    def configure_optimizers(self):
        return [self.bare.opt_g, self.bare.opt_d]

    def training_step(self, batch, batch_idx) -> None:
        if self.wrappers:
            self.bare.backward = self.manual_backward
            self.bare.opt_g, self.bare.opt_d = self.optimizers()
        self.bare.step()


def lightning_floor(rounds: int, variant: str, wrappers: bool) -> dict:
    """The overhead row of :class:`LightningFloor` for ``variant``'s networks and batches."""
    with tempfile.TemporaryDirectory() as tmp:
        cli = build(VARIANTS[variant], runs_dir=tmp)
        dm = cli.datamodule
        dm.setup("fit")
        x, y = dm.split("train").tensors
        batches = len(x) // dm.batch_size
        ema = ema_decay(cli.trainer)
        floor = LightningFloor(BareLoop(cli.model, x, y, dm.batch_size, ema), wrappers)
        watch = Interleave(batches, bare=BareLoop(cli.model, x, y, dm.batch_size, ema))
        trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=rounds + 2, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, callbacks=[watch], default_root_dir=tmp)
        trainer.fit(floor, dm)
    what = "manual_backward + optimizer wrappers" if wrappers else "plain backward and step"
    return overhead_row(f"{variant}: Lightning's loop alone ({what})", watch, rounds,
                        batches * dm.batch_size, batches)


def overhead_row(name: str, watch: Interleave, rounds: int, images: int, batches: int) -> dict:
    # epoch 0 and the bare round before it are warm-up; the Trainer's last epoch is unpaired
    ours, bare = watch.ganzoo_s[1 : rounds + 1], watch.bare_s[1 : rounds + 1]
    return ratio_row(name, ours, bare, "bare", images, batches)


def ratio_row(name: str, ours: list[float], other: list[float], other_name: str, images: int,
              batches: int) -> dict:
    """One row of an interleaved comparison: ganzoo's seconds per round against ``other``'s."""
    ratios = [a / b for a, b in zip(ours, other, strict=True)]
    row = {
        "variant": name,
        "ganzoo img/s": images / statistics.median(ours),
        f"{other_name} img/s": images / statistics.median(other),
        "ratio (median)": statistics.median(ratios),
        "ratio range": f"{min(ratios):.3f}-{max(ratios):.3f}",
        "extra ms/step": 1000 * (statistics.median(ours) - statistics.median(other)) / batches,
        "rounds": len(ratios),
    }
    print(row, flush=True)
    return row


def overhead(rounds: int, variants: list[str]) -> list[dict]:
    from ganzoo.metrics import EvaluationCallback, SampleGridCallback

    rows = []
    for name in variants:
        config = VARIANTS[name]
        with tempfile.TemporaryDirectory() as tmp:
            cli = build(config, f"--trainer.max_epochs={rounds + 2}", runs_dir=tmp)
            dm = cli.datamodule
            dm.setup("fit")
            batches = len(dm.split("train")) // dm.batch_size
            for cb in cli.trainer.callbacks:  # evaluation and grids after the measured epochs
                if isinstance(cb, EvaluationCallback | SampleGridCallback):
                    cb.every_n_epochs = 10**6
            watch = Interleave(batches)
            cli.trainer.callbacks.insert(0, watch)
            cli.trainer.fit(cli.model, dm)
        rows.append(overhead_row(name, watch, rounds, batches * dm.batch_size, batches))
    for name in FLOOR_VARIANTS:
        if name in variants:
            rows += [lightning_floor(rounds, name, wrappers) for wrappers in (False, True)]
    return rows


# ----------------------------------------------------------------------------- ganzoo over Lightning
class Turns(L.Callback):
    """One of two fits that take turns an epoch at a time, each in its own thread and each
    with its own ``Turns``: at the start of every epoch it records the seconds since its mark
    (its previous epoch, the epoch-end work included), hands the turn to the other fit, waits
    until the turn comes back and marks. Only the fit holding the turn runs, so both see the
    same machine state, as :class:`Interleave` gives the bare loop. At the end of its fit it
    hands the turn over for good."""

    def __init__(self, name: str, other: str, baton: dict) -> None:
        self.name, self.other, self.baton = name, other, baton
        self.epoch_s: list[float] = []
        self.mark: float | None = None

    def _hand_over(self, wait: bool) -> None:
        cond = self.baton["cond"]
        with cond:
            self.baton["holder"] = self.other
            cond.notify_all()
            if wait:
                cond.wait_for(lambda: self.baton["holder"] in (self.name, "done"))

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        now = time.perf_counter()
        if self.mark is not None:
            self.epoch_s.append(now - self.mark)
        self._hand_over(wait=True)
        self.mark = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self._hand_over(wait=False)


def same_computation(trainer) -> list[L.Callback]:
    """Copies of the run's callbacks that change what a step computes: G's moving average
    (the generator evaluated) and the speed knobs (channels-last memory)."""
    from ganzoo.training import SpeedKnobs
    from ganzoo.tricks import GeneratorEMA

    return [copy.deepcopy(c) for c in trainer.callbacks if isinstance(c, GeneratorEMA | SpeedKnobs)]


def lightning_row(rounds: int, name: str) -> dict:
    """``ganzoo fit`` of ``MAIN_VARIANTS[name]`` against the same model and step in a bare
    Trainer, :class:`Turns` about: ratio = ganzoo s / Lightning s per round, median."""
    from ganzoo.metrics import EvaluationCallback, SampleGridCallback

    epochs = rounds + 2  # epoch 0 is warm-up; the last one only closes the last round
    with tempfile.TemporaryDirectory() as tmp:
        cli = build(MAIN_VARIANTS[name], f"--trainer.max_epochs={epochs}", runs_dir=tmp)
        dm = cli.datamodule
        dm.setup("fit")
        for cb in cli.trainer.callbacks:  # evaluation and grids after the measured epochs
            if isinstance(cb, EvaluationCallback | SampleGridCallback):
                cb.every_n_epochs = 10**6
        floor = copy.deepcopy(cli.model)  # the same weights and settings, before training
        floor.logging_step = lambda: False  # a step that logs nothing
        baton = {"cond": threading.Condition(), "holder": "start"}
        ours, theirs = Turns("ganzoo", "lightning", baton), Turns("lightning", "ganzoo", baton)
        bare = L.Trainer(accelerator="cpu", devices=1, max_epochs=epochs, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp,
                         limit_train_batches=cli.trainer.limit_train_batches,
                         callbacks=[theirs, *same_computation(cli.trainer)])

        def run_floor() -> None:
            try:
                bare.fit(floor, copy.deepcopy(dm))
            finally:
                with baton["cond"]:
                    baton["holder"] = "done"
                    baton["cond"].notify_all()

        thread = threading.Thread(target=run_floor, name="lightning-floor")
        thread.start()
        with baton["cond"]:  # the floor is built and waits at its first epoch
            baton["cond"].wait_for(lambda: baton["holder"] in ("ganzoo", "done"))
        cli.trainer.callbacks.insert(0, ours)
        try:
            cli.trainer.fit(cli.model, dm)
        finally:
            with baton["cond"]:
                baton["holder"] = "done"
                baton["cond"].notify_all()
            thread.join()
        batches = cli.trainer.num_training_batches
    ganzoo_s, lightning_s = ours.epoch_s[1 : rounds + 1], theirs.epoch_s[1 : rounds + 1]
    if len(ganzoo_s) < rounds or len(lightning_s) < rounds:
        raise RuntimeError(f"{name}: {len(ganzoo_s)} ganzoo and {len(lightning_s)} Lightning "
                           f"rounds of {rounds} (a fit stopped early)")
    return ratio_row(name, ganzoo_s, lightning_s, "Lightning", batches * dm.batch_size, batches)


# ----------------------------------------------------------------------------- evaluation
def eval_pass(rounds: int, num_samples: int = 5000) -> list[dict]:
    """``ganzoo.metrics.evaluate`` versus generating the same number of samples and handing
    them to ``torch_fidelity.calculate_metrics`` with the same extractor and KID settings."""
    import torch_fidelity

    from ganzoo.data import GANDataModule
    from ganzoo.metrics import build_extractor, evaluate
    from ganzoo.metrics.torch_fidelity_bridge import UInt8Images, register_with_torch_fidelity
    from ganzoo.models import DCGAN

    dm = GANDataModule(dataset="mnist5k")
    dm.setup("fit")
    torch.manual_seed(0)
    model = DCGAN(data_shape=dm.data_shape, num_classes=dm.num_classes, g_width=32, d_width=32)
    name = register_with_torch_fidelity(build_extractor("domain", dm))
    real = UInt8Images(dm.split("test").tensors[0])
    with tempfile.TemporaryDirectory() as cache:

        def ours() -> float:
            start = time.perf_counter()
            evaluate(model, dm, num_samples=num_samples, reference_split="test", metrics=SAME_AS_FIDELITY)
            return time.perf_counter() - start

        def theirs() -> float:
            start = time.perf_counter()
            fakes = torch.cat([model.sample(500) for _ in range(num_samples // 500)])
            torch_fidelity.calculate_metrics(
                input1=UInt8Images(fakes), input2=real, feature_extractor=name, fid=True,
                isc=True, kid=True, cuda=False, cache=True, cache_root=cache,
                input2_cache_name="mnist5k-test", save_cpu_ram=True, verbose=False,
            )
            return time.perf_counter() - start

        ours(), theirs()  # warm-up: both cache the real split's features
        times = [(ours(), theirs()) for _ in range(rounds)]
    speedups = [t / o for o, t in times]
    row = {
        "pass": f"FID+IS+KID, {num_samples} samples, domain extractor",
        "ganzoo s": statistics.median(o for o, _ in times),
        "torch-fidelity s": statistics.median(t for _, t in times),
        "speed vs torch-fidelity (median)": statistics.median(speedups),
        "rounds": rounds,
    }
    print(row, flush=True)
    return [row]


# what torch-fidelity computes of the main job's protocol: FID, IS, KID and precision/recall
# (k = 3 on both sides) in the domain features, FID and KID in the autoencoder's
FIDELITY_PART = ["fid", "is", "kid", "precision_recall", "autoencoder_space"]


def committed_walls(table: Path) -> dict[str, float]:
    """Each row's mean run wall time (s) in a committed table's ``runs.json``."""
    return {row: statistics.mean(w) for row, w in run_times.walls(table).items()}


def eval_protocol(rounds: int, table: Path = ROOT / "results" / "mnist5k") -> list[dict]:
    """Per main-job variant: one evaluation pass as its run's EvaluationCallback makes it
    (the config's settings and every metric of the protocol: FID, IS, KID, FID-inf, PR/DC,
    label or code accuracy, both feature spaces, memorization, the real floor from its disk
    cache), on the model the config builds, against the row's mean run wall time in the
    committed table (made on this machine type), one pass and the run's passes. Then the part
    torch-fidelity computes (FIDELITY_PART) by ganzoo and by torch-fidelity over the same
    extractors, samples and KID settings, interleaved."""
    walls = committed_walls(table)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in MAIN_VARIANTS.items():
            rows.append(eval_protocol_row(name, config, rounds, walls.get(name, float("nan")),
                                          tmp))
            print(rows[-1], flush=True)
    return rows


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def fidelity_pass(model, dm, evaluator, kid: dict, cache: str) -> None:
    """What torch-fidelity computes of the protocol, for ``evaluator``'s sample count: the
    samples, then FID, IS, KID and PR (k = 3) in the domain features, FID and KID in the
    autoencoder's (both extractors registered with torch-fidelity)."""
    import torch_fidelity

    from ganzoo.metrics.torch_fidelity_bridge import UInt8Images, register_with_torch_fidelity

    n, batch = evaluator.num_samples, evaluator.batch_size
    with torch.no_grad():
        fakes = UInt8Images(torch.cat([model.sample(min(batch, n - i)) for i in range(0, n, batch)]))
    real = UInt8Images(dm.split(evaluator.reference_split).tensors[0])
    common = {"input1": fakes, "input2": real, "cuda": False, "cache": True, "cache_root": cache,
              "save_cpu_ram": True, "verbose": False, **kid}
    domain = register_with_torch_fidelity(evaluator.extractor("domain", dm, model.device))
    torch_fidelity.calculate_metrics(**common, feature_extractor=domain,
                                     input2_cache_name=f"{domain}-real", fid=True, isc=True,
                                     kid=True, prc=True, prc_neighborhood=3)
    ae = register_with_torch_fidelity(evaluator.extractor("autoencoder", dm, model.device))
    torch_fidelity.calculate_metrics(**common, feature_extractor=ae,
                                     input2_cache_name=f"{ae}-real", fid=True, kid=True)


def eval_protocol_row(name: str, config: str, rounds: int, wall: float, tmp: str) -> dict:
    from ganzoo.metrics import EvaluationCallback
    from ganzoo.metrics.registry import select

    cli = build(config, runs_dir=tmp)
    model, dm = cli.model, cli.datamodule
    callback = next(c for c in cli.trainer.callbacks if isinstance(c, EvaluationCallback))
    every, epochs = callback.every_n_epochs, cli.trainer.max_epochs
    passes = len(set(range(every, epochs + 1, every)) | {epochs}) if every else 1
    full = callback.evaluator
    full.prepare(model, dm)  # as on_fit_start: extractors and real features, once
    part = copy.copy(full)  # shares the built extractors and cached features
    part.metrics, part.real_floor = select(FIDELITY_PART), False
    protocol = full(model, dm)["protocol"]  # warm-up (and the floor's disk cache)
    kid = {"kid_subset_size": protocol["kid_subset_size"], "kid_subsets": protocol["kid_subsets"]}
    cache = str(Path(tmp) / f"fidelity-{name}")
    fidelity_pass(model, dm, full, kid, cache)  # warm-up: torch-fidelity caches the reals
    part(model, dm)
    times = [(timed(full, model, dm), timed(part, model, dm),
              timed(fidelity_pass, model, dm, full, kid, cache)) for _ in range(rounds)]
    full_s = statistics.median(t[0] for t in times)
    return {
        "variant": name,
        "full pass s": full_s,
        "passes per run": passes,
        "run wall s (committed)": wall,
        "one pass / run": full_s / wall,
        "all passes / run": passes * full_s / wall,
        "torch-fidelity's part: ganzoo s": statistics.median(t[1] for t in times),
        "torch-fidelity s": statistics.median(t[2] for t in times),
        "speed vs torch-fidelity (median)": statistics.median(t[2] / t[1] for t in times),
        "rounds": rounds,
    }


def eval_scaling() -> list[dict]:
    from ganzoo.data import GANDataModule
    from ganzoo.metrics import evaluate
    from ganzoo.models import DCGAN

    dm = GANDataModule(dataset="mnist5k")
    dm.setup("fit")
    model = DCGAN(data_shape=dm.data_shape, num_classes=dm.num_classes, g_width=32, d_width=32)
    evaluate(model, dm, num_samples=1000, reference_split="test", metrics=SAME_AS_FIDELITY)
    rows = []
    for n in (1000, 5000, 10000):
        start = time.perf_counter()
        evaluate(model, dm, num_samples=n, reference_split="test", metrics=SAME_AS_FIDELITY)
        rows.append({"num_samples": n, "FID+IS+KID pass s": time.perf_counter() - start})
        print(rows[-1], flush=True)
    return rows


# ----------------------------------------------------------------------------- knobs, scaling
class Stopwatch(L.Callback):
    """Seconds from the start of batch ``warmup`` to the end of the last batch."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.start = self.end = 0.0
        self.first_batches_s = 0.0
        self.fit_start = 0.0

    def on_train_start(self, trainer, pl_module) -> None:
        self.fit_start = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.start = time.perf_counter()
            self.first_batches_s = self.start - self.fit_start

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.end = time.perf_counter()


def throughput(config: str, *overrides: str, batches: int = 30, warmup: int = 5) -> dict:
    """Real images/s of the Trainer loop for ``config`` (logger, callbacks, checkpoints off)."""
    with tempfile.TemporaryDirectory() as tmp:
        cli = build(
            config, "--trainer.logger=false", "--trainer.callbacks=[]",
            "--trainer.enable_checkpointing=false", "--trainer.max_epochs=1",
            f"--trainer.limit_train_batches={warmup + batches}", *overrides, runs_dir=tmp,
        )
        watch = Stopwatch(warmup)
        cli.trainer.callbacks.append(watch)
        cli.trainer.fit(cli.model, cli.datamodule)
        done = cli.model.d_steps - warmup
        return {
            "img/s": done * cli.datamodule.batch_size / (watch.end - watch.start),
            "warm-up s": watch.first_batches_s,
        }


def parallel_runs(config: str, runs: int, batches: int) -> list[float]:
    """images/s of each of ``runs`` one-thread processes training side by side."""
    cmd = [sys.executable, __file__, "--single", config, "--batches", str(batches)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(runs)]
    return [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def knobs(batches: int) -> list[dict]:
    rows = []
    for name, config in (("DCGAN", "dcgan_mnist5k.yaml"), ("WGAN-gp", "wgan_gp_mnist5k.yaml")):
        n = batches * (2 if name == "DCGAN" else 1)
        default: list[float] = []

        def row(knob, result, note="", name=name, default=default):
            rows.append({"variant": name, "knob": knob, "img/s per run": result["img/s"],
                         "machine img/s": result.get("machine", result["img/s"]),
                         "vs default": result["img/s"] / default[0], "note": note})
            print(rows[-1], flush=True)

        base = throughput(config, batches=n)
        default.append(base["img/s"])
        row("default (1 thread, tensor batches, channels_last)", base)
        torch.set_num_threads(2)
        row("2 threads, one run", throughput(config, batches=n))
        torch.set_num_threads(1)
        both = parallel_runs(config, 2, n)
        row("2 runs side by side, 1 thread each",
            {"img/s": statistics.mean(both), "machine": sum(both)}, "what `ganzoo compare` does")
        row("data.tensor_batches=false (per-sample DataLoader)",
            throughput(config, "--data.tensor_batches=false", batches=n))
        row("speed.channels_last=false",
            throughput(config, "--speed.channels_last=false", batches=n))
        with torch.backends.mkldnn.flags(enabled=False):
            row("oneDNN off (torch.backends.mkldnn)", throughput(config, batches=n))
        compiled = throughput(config, "--speed.compile=true", batches=n)
        row("speed.compile=true", compiled,
            f"{compiled['warm-up s']:.0f} s to compile (first 5 batches)"
            + ("; G only (the penalty's double backward)" if name == "WGAN-gp" else ""))
    return rows


def scaling(batches: int) -> list[dict]:
    rows = []
    for size in (28, 32, 64):
        for batch in (32, 64, 128, 256):
            steps = max(4, batches * 64 // batch // (4 if size == 64 else 1))
            result = throughput("dcgan_mnist5k.yaml", f"--data.batch_size={batch}",
                                f"--data.image_size={size}", batches=steps, warmup=2)
            rows.append({"image size": size, "batch": batch, "img/s": result["img/s"]})
            print(rows[-1], flush=True)
    return rows


# ----------------------------------------------------------------------------- reporting
def markdown(rows: list[dict], floats: str = ".3f") -> str:
    keys = list(rows[0])
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = []
        for k in keys:
            v = row[k]
            if isinstance(v, float):
                cells.append(f"{v:,.0f}" if k.endswith("/s") else format(v, floats))
            else:
                cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


OVERHEAD_NOTE = (
    "Per variant: `ganzoo fit` as its `experiments/<variant>_mnist5k.yaml` runs (W&B offline, "
    "run record, checkpoints, callbacks; evaluation excluded) against a bare loop over copies "
    "of the same networks, losses, optimizers and n_critic; one epoch (the config's batches) "
    "each per round, interleaved, after a warm-up epoch. Ratio = ganzoo s / bare s (goal <= "
    "1.05); extra ms/step = (ganzoo s - bare s) / batches, medians. The rows \"Lightning's loop "
    "alone\" run the bare loop's own step as a manual-optimization `training_step` in a "
    "Trainer with no logger and no callbacks, with plain `backward()` and `step()`, then "
    "through `manual_backward` and Lightning's optimizer wrappers: the part of the overhead "
    "that is Lightning's, whatever ganzoo does."
)
LIGHTNING_NOTE = (
    "Per main-job variant: `ganzoo fit` as its `experiments/<variant>_mnist5k.yaml` runs (W&B "
    "offline, run record, checkpoints, every callback; evaluation moved past the measured "
    "epochs) against Lightning's loop running the same step: a deep copy of the same built "
    "model in a bare `L.Trainer` (no logger, checkpointing, progress bar or model summary) with "
    "only the config's callbacks that change the computation (G's moving average, the speed "
    "knobs) and ganzoo's logging off. The floor runs ganzoo's own step code (the variant's "
    "equations, latent dicts, tricks loops: the bare loop above prices those), so the ratio is "
    "what ganzoo adds around the step: its callbacks, the W&B logger, the logging steps (every "
    "`log_every_n_steps`). The two fits take turns an epoch at a time (the floor's Trainer in a "
    "second thread, one of the two running at any moment), after a warm-up epoch each. Ratio = "
    "ganzoo s / Lightning s per round (goal <= 1.03); extra ms/step = (ganzoo s - Lightning s) "
    "/ batches, medians."
)
EVAL_NOTE = (
    "One evaluation of a DCGAN (widths 32): generate 5,000 samples, FID/IS/KID (KID 100 "
    "subsets of 1,000) against the 1,000-image test split with the domain extractor, real "
    "features cached on both sides. Speed = torch-fidelity s / ganzoo s (goal >= 1.0)."
)


EVAL_PROTOCOL_NOTE = (
    "Per main-job variant, on the model its `experiments/<variant>_mnist5k.yaml` builds: one "
    "evaluation pass exactly as its run's EvaluationCallback makes it (1,000 samples against "
    "the 1,000-image test split; FID, IS, KID, FID-inf, precision/recall, density/coverage, "
    "label or code accuracy, FID and KID in the autoencoder's space, memorization, the real "
    "floor read from its disk cache), median s, against the row's mean run wall time in `results/mnist5k/runs.json` "
    "(made on this machine type): one pass / run (goal <= 0.10) and all the run's passes / run. Then the "
    "part of the pass torch-fidelity computes (FID, IS, KID, precision/recall with k = 3 in the "
    "domain features; FID and KID in the autoencoder's), by ganzoo and by "
    "`torch_fidelity.calculate_metrics` over the same extractors (registered with it), "
    "sample count and KID subsets, real features cached on both sides, interleaved. Speed = "
    "torch-fidelity s / ganzoo s (goal >= 1.0).")


def header(argv: list[str]) -> str:
    from ganzoo.runs.records import cpu_model, git_info, package_versions

    versions = ", ".join(f"{k} {v}" for k, v in package_versions().items() if v)
    commit = git_info(ROOT).get("commit", "?")
    return "\n".join([
        "# Performance: ganzoo against bare PyTorch, CPU knobs, scaling",
        "",
        f"- Command: `.venv/bin/python benchmarks/bench_speed.py {' '.join(argv)}`".rstrip() + "",
        f"- Date: {datetime.now(UTC):%Y-%m-%dT%H:%MZ}; commit {str(commit)[:12]}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} CPU cores, "
        f"{'CUDA ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}",
        f"- Versions: {versions}",
        "",
    ])


SECTIONS = ("overhead", "lightning", "roofline", "eval", "eval_protocol", "knobs", "scaling")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(MAIN_VARIANTS),
                        choices=list(MAIN_VARIANTS),
                        help="variants of the lightning section (and of the overhead section, "
                        f"which measures {', '.join(VARIANTS)})")
    parser.add_argument("--batches", type=int, default=25, help="timed batches per knob")
    parser.add_argument("--out", default=str(ROOT / "results" / "performance.md"))
    parser.add_argument("--single", help=argparse.SUPPRESS)  # one knobs run, prints img/s
    args = parser.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*LightningCLI's args parameter.*")
    if args.single:
        print(throughput(args.single, batches=args.batches)["img/s"])
        return
    torch.set_num_threads(1)
    parts = [header(sys.argv[1:])]
    if "overhead" in args.sections and any(v in VARIANTS for v in args.variants):
        rows = overhead(args.rounds, [v for v in args.variants if v in VARIANTS])
        parts += ["## Training overhead: ganzoo fit versus a bare loop", "", OVERHEAD_NOTE, "",
                  markdown(rows), ""]
    if "lightning" in args.sections:
        rows = [lightning_row(args.rounds, name) for name in args.variants]
        parts += ["## ganzoo's own overhead: ganzoo fit versus Lightning's loop on the same step",
                  "", LIGHTNING_NOTE, "", markdown(rows), ""]
    if "eval" in args.sections:
        parts += ["## Evaluation: ganzoo versus torch-fidelity", "", EVAL_NOTE, "",
                  markdown(eval_pass(args.rounds)), ""]
    if "eval_protocol" in args.sections:
        parts += ["## Evaluation at the main job's protocol: its share of a run, and against "
                  "torch-fidelity", "", EVAL_PROTOCOL_NOTE, "",
                  markdown(eval_protocol(args.rounds)), ""]
    if "roofline" in args.sections:
        import roofline  # benchmarks/roofline.py, beside this script

        settings = argparse.Namespace(variants=list(MAIN_VARIANTS), steps=100, rounds=3,
                                      warmup=10, peak_batch=1024)
        parts += ["## A roofline per variant (benchmarks/roofline.py, its defaults)", "",
                  roofline.tables(settings)]
    if "knobs" in args.sections:
        parts += ["## CPU knobs (images/s through the Trainer, logger and callbacks off)", "",
                  markdown(knobs(args.batches), ".2f"), ""]
    if "scaling" in args.sections:
        parts += ["## Scaling", "", "DCGAN (widths 32), images/s through the Trainer, 1 thread:",
                  "", markdown(scaling(args.batches)), "",
                  "Evaluation pass (DCGAN, domain extractor, real features cached):", "",
                  markdown(eval_scaling(), ".1f"), ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(parts) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
