"""A roofline per variant: FLOPs per image, achieved GFLOP/s against this machine's peak for the
same operations, and where the time of a training step goes.

    .venv/bin/python benchmarks/roofline.py [--variants DCGAN WGAN-gp ...] [--steps 100]
        [--rounds 3] [--warmup 10] [--peak-batch 1024] [--out FILE]

Every figure comes from this process, one torch thread, CPU, on the embedded mnist5k data, for
the main job's configs ``experiments/<variant>_mnist5k.yaml`` (batch 16), trained by the
Trainer that ``ganzoo fit --config`` builds (W&B offline, run record, checkpoints, the config's
callbacks; evaluation and sample grids moved past the measured epochs, as bench_speed.py does).
Prints a markdown report; ``--out`` also writes it. One fit per variant of ``--rounds`` epochs
of ``warmup + 2 * steps + 1`` batches each:

- FLOPs (``torch.utils.flop_counter.FlopCounterMode``, torch's count of matmul, conv and
  attention FLOPs, forward and backward): at batch 1 of the first epoch a callback runs the
  model's own ``discriminator_step`` and ``generator_step`` (``stats=False``, as on a
  non-logging step) inside the counter, so the D step holds whatever the variant's does (G's
  no-grad fakes, D on real and fake, backward, WGAN-GP's penalty with its double backward,
  InfoGAN's Q terms), and G's and D's forward passes alone. Per image = / batch; per real image
  of training = (D step + G step / n_critic) / batch, since every batch is one D step.
- Achieved: train FLOPs per real image x real images/s, timed over ``steps`` batches from
  batch ``warmup`` on (each epoch a round; median), with no profiler running.
- Peak: G's and D's forward and backward (plain autograd, no optimizer) at ``--peak-batch``,
  the networks' own layer shapes, counted and timed the same way; plus a 1024 x 1024 float32
  matmul once. Fraction of peak = achieved / peak.
- Breakdown: ``torch.profiler.profile`` (CPU) over the next ``steps`` batches of each round.
  Written here: ``torch.profiler.record_function`` ranges patched (in this process only) around
  the batch fetch (Lightning's data fetcher and ``batch_to_device``), ``GeneratorEMA``'s
  update, Lightning's callback hooks, ``self.log`` and the logger connector's step write; torch
  itself marks ``Optimizer.step``/``zero_grad``. Walking the profiler's event tree, each range
  is charged its duration less the ranges of another category nested in it (g_ema inside the
  callback hooks), and compute is the duration of every top-level ``aten::`` op and
  ``autograd::engine`` backward function outside those ranges. Remainder = window wall time -
  the rest (Python and Lightning between the ops), so the shares sum to 100%.

torch provides the counting (FlopCounterMode, with its module tracker swapped for a stand-in:
see :class:`GlobalOnly`), the profiler and its event tree; Lightning the loop; written here are
the measuring callback (:class:`Probe`), the ranges, the charging walk and the peak passes.
Takes 3 to 5 minutes for the six variants on a 2-core machine (the defaults: 633 batches each).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # the profiler's start/stop lines on stderr
sys.path.insert(0, str(Path(__file__).resolve().parent))
import lightning as L  # noqa: E402
import torch  # noqa: E402
from bench_speed import ROOT, build  # noqa: E402  (sets W&B offline and silent)
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

VARIANTS = {
    "VanillaGAN": "vanilla_mnist5k.yaml", "DCGAN": "dcgan_mnist5k.yaml",
    "WGAN-clip": "wgan_clip_mnist5k.yaml", "WGAN-gp": "wgan_gp_mnist5k.yaml",
    "ConditionalGAN": "cgan_mnist5k.yaml", "InfoGAN": "infogan_mnist5k.yaml",
}
CATEGORIES = ("compute", "optimizer", "g_ema", "data", "logging/callbacks")


class GlobalOnly(contextlib.nullcontext):
    """Stands in for FlopCounterMode's module tracker, whose backward hooks raise under
    ``torch.autograd.grad`` (WGAN-GP's penalty: "A leaf node was passed to
    _will_engine_execute_node"); the total needs no per-module split."""

    parents = ("Global",)


def count_flops(fn) -> int:
    """FlopCounterMode's total FLOPs of ``fn()``, forward and backward."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = GlobalOnly()
    with counter:
        fn()
    return counter.get_total_flops()


def category(name: str) -> str | None:
    """The breakdown category of a profiler event, None for one that is none of them."""
    if name.startswith(("aten::", "autograd::engine::evaluate_function")):
        return "compute"
    if name.startswith(("Optimizer.step#", "Optimizer.zero_grad#")):
        return "optimizer"
    if name.startswith("roofline::"):
        return name.removeprefix("roofline::")
    return None


def charge(events) -> dict[str, float]:
    """Microseconds per category from a profiler's event tree (see the module docstring)."""
    totals: dict[str, float] = defaultdict(float)

    def visit(event, current: str | None) -> None:
        kind = category(event.name)
        span = event.time_range.end - event.time_range.start
        if kind == "compute":  # an op holds no ranges of ours: charge it or leave it in place
            if current is None:
                totals["compute"] += span
            return
        if kind is not None and kind != current:
            totals[kind] += span
            if current is not None:
                totals[current] -= span
            current = kind
        for child in event.cpu_children:
            visit(child, current)

    for event in events:
        if event.cpu_parent is None:
            visit(event, None)
    return totals


def ranged(fn, name: str):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch.profiler.record_function(f"roofline::{name}"):
            return fn(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def patched(targets):
    """Wraps each ``(owner, attribute, category)`` in a profiler range; restores them after."""
    with contextlib.ExitStack() as stack:
        for owner, attr, name in targets:
            stack.enter_context(mock.patch.object(owner, attr, ranged(getattr(owner, attr), name)))
        yield


def range_targets(trainer) -> list:
    from lightning.pytorch.loops import fetchers
    from lightning.pytorch.trainer import call
    from lightning.pytorch.trainer.connectors.logger_connector.logger_connector import (
        _LoggerConnector,
    )

    from ganzoo.tricks import GeneratorEMA

    return [
        (fetchers._DataFetcher, "__next__", "data"),
        (fetchers._PrefetchDataFetcher, "__next__", "data"),
        (trainer.strategy, "batch_to_device", "data"),
        (GeneratorEMA, "on_train_batch_end", "g_ema"),
        (call, "_call_callback_hooks", "logging/callbacks"),
        (L.LightningModule, "log", "logging/callbacks"),
        (_LoggerConnector, "update_train_step_metrics", "logging/callbacks"),
    ]


class Probe(L.Callback):
    """Counts one step's FLOPs at batch 1; per epoch, times ``steps`` batches from batch
    ``warmup`` on, then profiles the next ``steps``. First in the callback list, so each window
    runs from one batch's start hooks to another's: whole steps, fetches included."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.batches = warmup + 2 * steps + 1
        self.flops: dict[str, float] = {}
        self.timed_s: list[float] = []
        self.profiled_s: list[float] = []
        self.charged: dict[str, float] = defaultdict(float)  # microseconds, over all rounds
        self.mark = 0.0
        self.profiler: torch.profiler.profile | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 1 and not self.flops:
            self.flops = step_flops(pl_module, batch)
        now = time.perf_counter()
        if batch_idx == self.warmup + self.steps:
            self.timed_s.append(now - self.mark)
            self.profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            self.profiler.start()
        elif batch_idx == self.batches - 1:
            self.profiler.stop()
            self.profiled_s.append(now - self.mark)
            for name, us in charge(self.profiler.events()).items():
                self.charged[name] += us
            self.profiler = None
        if batch_idx in (self.warmup, self.warmup + self.steps):
            self.mark = time.perf_counter()


def step_flops(model, batch) -> dict[str, float]:
    """FLOPs per image of G's and D's forward passes and of the model's own D and G steps."""
    x, y = batch
    opt_g, opt_d = model.optimizers()
    labels = model.batch_labels(y)
    latent = model.sample_latent(len(x), labels=labels)
    with torch.no_grad():
        g_fwd = count_flops(lambda: model.generate(latent))
        d_fwd = count_flops(lambda: model.discriminate(model.d_inputs(x), labels))
    d_step = count_flops(lambda: model.discriminator_step(opt_d, x, y, stats=False))
    g_step = count_flops(lambda: model.generator_step(opt_g, x, y, stats=False))
    flops = {"G fwd": g_fwd, "D fwd": d_fwd, "D step": d_step, "G step": g_step}
    flops = {k: v / len(x) for k, v in flops.items()}
    flops["train"] = flops["D step"] + flops["G step"] / model.n_critic
    return flops


def timed(fn, reps: int) -> float:
    """Median seconds of ``fn`` over ``reps`` calls after one warm-up call."""
    fn()
    return statistics.median(seconds(fn) for _ in range(reps))


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak(model, batch: int, reps: int) -> dict[str, float]:
    """GFLOP/s of G's and D's forward + backward at ``batch`` (plain autograd, train mode)."""
    model.train()
    x = torch.rand(batch, *model.data_shape) * 2 - 1
    labels = model.batch_labels(torch.randint(max(model.num_classes, 1), (batch,)))
    latent = model.sample_latent(batch, labels=labels)

    def g_pass() -> None:
        model.zero_grad(set_to_none=True)
        model.generate(latent).sum().backward()

    def d_pass() -> None:
        model.zero_grad(set_to_none=True)
        model.discriminate(x, labels)[0].sum().backward()

    work = {name: (count_flops(fn), timed(fn, reps)) for name, fn in (("G", g_pass), ("D", d_pass))}
    rates = {name: f / s / 1e9 for name, (f, s) in work.items()}
    rates["G+D"] = sum(f for f, _ in work.values()) / sum(s for _, s in work.values()) / 1e9
    return rates


def matmul_peak(reps: int = 10, n: int = 1024) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / timed(lambda: a @ b, reps) / 1e9


def measure(name: str, args) -> tuple[dict, dict]:
    from ganzoo.metrics import EvaluationCallback, SampleGridCallback

    probe = Probe(args.warmup, args.steps)
    with tempfile.TemporaryDirectory() as tmp:
        cli = build(VARIANTS[name], f"--trainer.max_epochs={args.rounds}",
                    f"--trainer.limit_train_batches={probe.batches}", runs_dir=tmp)
        cli.datamodule.setup("fit")
        per_epoch = len(cli.datamodule.split("train")) // cli.datamodule.batch_size
        if probe.batches > per_epoch:
            raise SystemExit(f"--warmup + 2 * --steps + 1 = {probe.batches} batches; an epoch "
                             f"of {name} has {per_epoch}")
        print(f"{name}: {args.rounds} epochs of {probe.batches} batches", flush=True)
        for cb in cli.trainer.callbacks:  # evaluation and grids after the measured epochs
            if isinstance(cb, EvaluationCallback | SampleGridCallback):
                cb.every_n_epochs = 10**6
        cli.trainer.callbacks.insert(0, probe)
        with patched(range_targets(cli.trainer)):
            cli.trainer.fit(cli.model, cli.datamodule)
        model, batch = cli.model, cli.datamodule.batch_size
        rates = peak(model, args.peak_batch, args.rounds)
    f = probe.flops
    img_s = statistics.median(args.steps * batch / s for s in probe.timed_s)
    achieved = f["train"] * img_s / 1e9
    roof = {
        "variant": name, "n_critic": str(model.n_critic),
        **{f"{k} MFLOP/img": f"{f[k] / 1e6:.2f}" for k in ("G fwd", "D fwd", "D step", "G step")},
        "train MFLOP/real img": f"{f['train'] / 1e6:.2f}", "img/s": f"{img_s:,.0f}",
        "achieved GFLOP/s": f"{achieved:.2f}",
        f"peak GFLOP/s (own shapes, batch {args.peak_batch})": f"{rates['G+D']:.1f}",
        "peak G, D alone": f"{rates['G']:.1f}, {rates['D']:.1f}",
        "fraction of peak": f"{achieved / rates['G+D']:.3f}",
    }
    progress(roof)
    wall_us = 1e6 * sum(probe.profiled_s)
    shares = {k: probe.charged.get(k, 0.0) / wall_us for k in CATEGORIES}
    shares["remainder"] = 1 - sum(shares.values())
    steps = args.steps * len(probe.profiled_s)
    split = {
        "variant": name, **{f"{k} %": f"{100 * v:.1f}" for k, v in shares.items()},
        "ms/step (profiled)": f"{wall_us / 1e3 / steps:.2f}",
        "ms/step (unprofiled)": f"{1e3 * batch / img_s:.2f}",
    }
    progress(split)
    return roof, split


def progress(row: dict) -> None:
    print(f"{row['variant']}: " + ", ".join(f"{k} {v}" for k, v in list(row.items())[1:]), flush=True)


def markdown(rows: list[dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    return "\n".join(lines + ["| " + " | ".join(row[k] for k in keys) + " |" for row in rows])


ROOF_NOTE = (
    "FlopCounterMode's FLOPs (2 per multiply-add of matmuls and convolutions, forward and "
    "backward; elementwise ops, norms, losses and optimizer updates count zero) per image of the "
    "batch of 16: G and D forward alone, the model's own D step (no-grad fakes, D on real and "
    "fake, backward, any penalty or Q term) and G step. Train = D step + G step / n_critic per "
    "real image. Achieved = that x real images/s through `ganzoo fit`'s Trainer (median over "
    "rounds, profiler off). Peak = G's and D's forward + backward at the large batch, plain "
    "autograd, FLOPs over seconds of both (and of each alone)."
)
SPLIT_NOTE = (
    "Shares of the wall time of the profiled steps (torch.profiler, CPU). compute: every "
    "top-level aten op and autograd backward function outside the other ranges (G, D, Q "
    "forward and backward, losses, penalties, noise draws, WGAN's clipping); optimizer: "
    "torch's `Optimizer.step` and `zero_grad` ranges; g_ema: `GeneratorEMA.on_train_batch_end`; "
    "data: Lightning's data fetcher and `batch_to_device`; logging/callbacks: every callback "
    "hook but g_ema's (checkpoint, record, budget, evaluation's per-batch checks ...), "
    "`self.log` and the logger connector's step write (W&B offline); remainder: the rest of "
    "the wall time, Python and Lightning between ops. The profiler's own cost per op inflates "
    "compute and remainder: compare the profiled and unprofiled ms/step."
)


def header(argv: list[str]) -> str:
    from ganzoo.runs.records import cpu_model, git_info, package_versions

    versions = ", ".join(f"{k} {v}" for k, v in package_versions().items() if v)
    commit = str(git_info(ROOT).get("commit", "?"))[:12]
    return "\n".join([
        "## Roofline per variant (mnist5k configs, CPU, 1 thread)", "",
        f"- Command: `.venv/bin/python benchmarks/roofline.py {' '.join(argv)}`".rstrip(),
        f"- Date: {datetime.now(UTC):%Y-%m-%dT%H:%MZ}; commit {commit}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} CPU cores; versions: {versions}", "",
    ])


def tables(args: argparse.Namespace) -> str:
    """The roofline and the breakdown tables (markdown) for ``args.variants``."""
    matmul = matmul_peak()
    print(f"1024 x 1024 float32 matmul: {matmul:.1f} GFLOP/s", flush=True)
    rows = [measure(name, args) for name in args.variants]
    return "\n".join([
        f"Plain matmul peak (1024 x 1024 float32, 1 thread): {matmul:.1f} GFLOP/s.", "",
        "### FLOPs and the roofline", "", ROOF_NOTE, "", markdown([r for r, _ in rows]), "",
        "### Where a training step's time goes", "", SPLIT_NOTE, "",
        markdown([s for _, s in rows]), "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=100, help="batches timed, then profiled")
    parser.add_argument("--rounds", type=int, default=3, help="epochs (timed rounds)")
    parser.add_argument("--warmup", type=int, default=10, help="batches before each window")
    parser.add_argument("--peak-batch", type=int, default=1024)
    parser.add_argument("--out", help="also write the report here")
    args = parser.parse_args()
    if args.warmup < 2 or args.steps < 1:
        parser.error("--warmup must be >= 2 (batch 1 counts FLOPs), --steps >= 1")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LightningCLI's args parameter.*")  # our own flags
    torch.set_num_threads(1)
    report = "\n".join([header(sys.argv[1:]), tables(args)])
    print(report)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
