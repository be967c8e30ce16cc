"""How much faster a row's seeds would train as one batched model: the upper bound of issue
[5/6]'s first candidate lever, before anyone builds it.

    .venv/bin/python benchmarks/batched_seeds.py [--variants DCGAN WGAN-gp ...] [--seeds 3]
        [--steps 60] [--rounds 5]

For each variant, the networks its ``experiments/<variant>_mnist5k.yaml`` builds (batch 16, one
torch thread, CPU): ``--seeds`` copies of G and D, each seed's D forward and backward on a
real and a fake batch and its G forward and backward through D, timed as the main job runs
them (one copy after the other) against the same work on the copies stacked into one model
(``torch.func.stack_module_state`` + ``functional_call`` under ``vmap``, batch norm statistics
per copy). No optimizer, penalty or Q term: the ratio is what batching the copies' kernels
buys the bare forward and backward passes, the bulk of every step (benchmarks/roofline.py:
compute is 76-85% of a step). Rounds interleave the two; medians.

torch provides the stacking and vmap; written here is only the timing.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from bench_speed import MAIN_VARIANTS, build  # noqa: E402
from torch.func import functional_call, stack_module_state, vmap  # noqa: E402


def stacked(modules: list[torch.nn.Module]):
    """A function ``(params, buffers, *inputs)`` running one of ``modules`` per vmap slice,
    with the copies' parameters and buffers stacked along a new first dimension."""
    params, buffers = stack_module_state(modules)
    base = copy.deepcopy(modules[0]).to("meta")

    def run(p, b, *inputs):
        return functional_call(base, (p, b), inputs)

    return params, buffers, run


def one_round(model, seeds: int, steps: int) -> tuple[float, float]:
    """Seconds for ``steps`` sequential steps of ``seeds`` copies, then batched."""
    gs = [copy.deepcopy(model.generator) for _ in range(seeds)]
    ds = [copy.deepcopy(model.discriminator) for _ in range(seeds)]
    drawn = [model.sample_latent(16) for _ in range(seeds)]
    z = torch.stack([model.generator_input(d) for d in drawn])
    g_labels = model.generator_labels(drawn[0])  # the same labels for every copy
    d_labels = drawn[0].get("labels")
    real = torch.randn(seeds, 16, *model.data_shape)

    def g_call(g, zi):
        return g(zi, g_labels)

    def d_call(d, x):
        return d(x, d_labels)

    start = time.perf_counter()
    for _ in range(steps):
        for i in range(seeds):
            with torch.no_grad():
                fake = g_call(gs[i], z[i])
            (d_call(ds[i], real[i]).sum() - d_call(ds[i], fake).sum()).backward()
            d_call(ds[i], g_call(gs[i], z[i])).sum().backward()
    sequential = time.perf_counter() - start

    gp, gb, g_run = stacked(gs)
    dp, db, d_run = stacked(ds)
    g_v = vmap(lambda p, b, zi: g_run(p, b, zi, g_labels), randomness="different")
    d_v = vmap(lambda p, b, x: d_run(p, b, x, d_labels), randomness="different")
    start = time.perf_counter()
    for _ in range(steps):
        with torch.no_grad():
            fake = g_v(gp, gb, z)
        (d_v(dp, db, real).sum() - d_v(dp, db, fake).sum()).backward()
        d_v(dp, db, g_v(gp, gb, z)).sum().backward()
    return sequential, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(MAIN_VARIANTS),
                        choices=list(MAIN_VARIANTS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    print(f"| variant | {args.seeds} seeds one after the other, ms/step | batched (vmap), ms/step "
          "| speed-up (median) | range | rounds |\n|---|---|---|---|---|---|")
    with __import__("tempfile").TemporaryDirectory() as tmp:
        for name in args.variants:
            model = build(MAIN_VARIANTS[name], runs_dir=tmp).model
            try:
                one_round(model, args.seeds, 3)  # warm-up
                times = [one_round(model, args.seeds, args.steps) for _ in range(args.rounds)]
            except Exception as err:  # noqa: BLE001  (a net vmap cannot batch: say which)
                print(f"| {name} | vmap failed: {type(err).__name__}: {str(err)[:80]} | | | | |")
                continue
            ups = [s / b for s, b in times]
            print(f"| {name} | {statistics.median(s for s, _ in times) / args.steps * 1e3:.2f} | "
                  f"{statistics.median(b for _, b in times) / args.steps * 1e3:.2f} | "
                  f"{statistics.median(ups):.2f} | {min(ups):.2f}-{max(ups):.2f} | "
                  f"{args.rounds} |", flush=True)


if __name__ == "__main__":
    main()
