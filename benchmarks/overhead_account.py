"""Where ganzoo's own share of a training step goes (issue [5/6]): one ``ganzoo fit`` per
main-job variant, as its ``experiments/<variant>_mnist5k.yaml`` config runs it (evaluation
and grids off; checkpoints, logging and every other callback on), with each of ganzoo's
callback hooks, the model's ``log``/``log_dict`` calls and the gradient-norm diagnostics
wrapped in a timer. Prints milliseconds per D step: a summary row per variant (checkpoint
writes, the logged steps' ``self.log`` calls and gradient norms, ganzoo's other callbacks, and
their share of the training step; G's moving average apart, since Lightning's reference loop in
``bench_speed --sections lightning`` runs it too), then each timed part.

    .venv/bin/python benchmarks/overhead_account.py [--epochs 3] [--variants VanillaGAN InfoGAN]

This is an accounting, not a ratio: the timers cost a few microseconds per call, and what
Lightning's loop spends dispatching the hooks is not in it (``bench_speed --sections
lightning`` measures the whole share against Lightning's loop).
"""

from __future__ import annotations

import argparse
import collections
import functools
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speed import MAIN_VARIANTS, build  # noqa: E402

HOOKS = ("on_train_batch_start", "on_train_batch_end", "on_before_backward", "on_after_backward",
         "on_before_optimizer_step", "on_before_zero_grad", "on_train_epoch_start",
         "on_train_epoch_end", "on_save_checkpoint")


def account(config: str, epochs: int) -> tuple[dict[str, float], int, int]:
    """Seconds spent in each timed part over a fit of ``epochs`` epochs; D steps; logged steps."""
    import ganzoo.models.base as base
    from ganzoo.metrics import EvaluationCallback, SampleGridCallback

    spent: dict[str, float] = collections.defaultdict(float)

    def timed(name, fn):
        @functools.wraps(fn)
        def wrap(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrap

    logged = [0]
    norm = base.grad_norm
    base.grad_norm = timed("model: gradient norms (logged steps)", norm)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cli = build(config, f"--trainer.max_epochs={epochs}", runs_dir=tmp)
            for cb in cli.trainer.callbacks:
                if isinstance(cb, EvaluationCallback | SampleGridCallback):
                    cb.every_n_epochs = 10**6  # evaluation excluded, as in the overhead tables
                for hook in HOOKS:
                    method = getattr(cb, hook, None)
                    if callable(method) and getattr(type(cb), hook) is not getattr(L.Callback, hook):
                        setattr(cb, hook, timed(f"{type(cb).__name__}.{hook}", method))
            model = cli.model
            model.training_step = timed("training step (all of it)", model.training_step)
            model.log = timed("model: self.log / log_dict (logged steps)", model.log)
            is_logging = model.logging_step

            def logging_step() -> bool:
                due = is_logging()
                logged[0] += due
                return due

            model.logging_step = logging_step
            cli.trainer.fit(model, cli.datamodule)
            steps = model.d_steps
    finally:
        base.grad_norm = norm
    return spent, steps, logged[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(MAIN_VARIANTS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    print("| variant | training step | checkpoint writes | logging | other callbacks | ganzoo's parts, "
          "in all | share of the step | G's average (in both loops) |")
    print("|---|---|---|---|---|---|---|---|")
    details = []
    for name in args.variants:
        spent, steps, logged = account(MAIN_VARIANTS[name], args.epochs)
        ms = {key: 1e3 * value / steps for key, value in spent.items()}
        step = ms.pop("training step (all of it)")
        # G's average runs in Lightning's reference loop too (it changes what is evaluated)
        ema = sum(v for k, v in ms.items() if k.startswith("GeneratorEMA."))
        checkpoints = sum(v for k, v in ms.items() if "Checkpoint." in k)
        logs = sum(v for k, v in ms.items() if k.startswith("model:"))
        others = sum(ms.values()) - ema - checkpoints - logs
        total = checkpoints + logs + others
        print(f"| {name} | {step:.2f} | {checkpoints:.3f} | {logs:.3f} | {others:.3f} | {total:.3f} | "
              f"{100 * total / step:.1f}% | {f'{ema:.3f}' if ema else '—'} |", flush=True)
        details.append((name, steps, logged, ms))
    for name, steps, logged, ms in details:
        print(f"\n{name} ({MAIN_VARIANTS[name]}): {steps} D steps, {logged} logged; ms/step per part")
        print("| part | ms/step |\n|---|---|")
        for key, value in sorted(ms.items(), key=lambda kv: -kv[1]):
            if value >= 0.001:
                print(f"| {key} | {value:.4f} |")

if __name__ == "__main__":
    main()
