"""Figures of the evaluation layer: classifier accuracies, reference FIDs, timing, DDP check.

    python benchmarks/eval_benchmark.py            # accuracies, real-vs-real / noise FID, IS, timing
    python benchmarks/eval_benchmark.py --ddp      # also the 1- vs 2-process (gloo) comparison
    python benchmarks/eval_benchmark.py --json out.json
    python benchmarks/eval_benchmark.py --cost-only  # only what the issue-25 columns cost

Cost of the columns (``--cost-only`` prints only this): one evaluation pass at the main job's
protocol, as ``experiments/dcgan_mnist5k.yaml`` configures it (its EvaluationCallback's
settings: 1,000 samples against the mnist5k test split, domain features), for that config's
DCGAN freshly initialised, on one torch thread: *before*, the metrics tables had before issue
25 (FID, IS, KID, precision/recall, density/coverage) without the real floor; *after*, every
metric (also FID∞, FID and KID in the autoencoder space, memorization) with the real floor,
once with the floor computed (its first evaluation of a protocol) and once read from its
cache (every later one). Medians of ``--repeats`` passes, the real features already cached.
They are set against the wall time of one main-job DCGAN run (``results/mnist5k/runs.json``).

Timing: one ``ganzoo.metrics.evaluate`` call with the domain extractor on ``mnist5k`` for a
DCGAN of the benchmark's size (widths 32, untrained: the cost does not depend on training),
real features already cached (their one-off cost is printed separately), default KID
settings (100 subsets of 1,000; 1 when both sets have 1,000). Wall and CPU seconds are both
printed: on a shared machine the wall time depends on what else runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from ganzoo.data import GANDataModule
from ganzoo.metrics import build_extractor, evaluate, extract, frechet_distance, inception_score
from ganzoo.metrics.domain import WEIGHTS_DIR
from ganzoo.metrics.real_stats import real_features
from ganzoo.models import DCGAN

ROOT = Path(__file__).resolve().parents[1]
BEFORE = ["fid", "is", "kid", "precision_recall", "density_coverage"]  # before issue 25
MAIN_CONFIG = "dcgan_mnist5k.yaml"


def classifier_accuracies() -> dict[str, dict]:
    out = {}
    for meta_path in sorted(WEIGHTS_DIR.glob("domain_*.json")):
        meta = json.loads(meta_path.read_text())
        out[meta["key"]["dataset"]] = {
            "test_accuracy": meta["test_accuracy"],
            "train_accuracy": meta["train_accuracy"],
            "test_size": meta["test_size"],
            "sha256": meta["sha256"],
            "kib": round((meta_path.with_suffix(".pt")).stat().st_size / 1024),
        }
        print(
            f"domain classifier {meta['key']['dataset']:8s}: test accuracy "
            f"{meta['test_accuracy']:.4f} on {meta['test_size']} held-out images "
            f"(train {meta['train_accuracy']:.4f}), sha256 {meta['sha256'][:16]}..."
        )
    return out


def reference_fids(dm: GANDataModule) -> dict[str, float]:
    extractor = build_extractor("domain", dm)
    test_f, test_logits = extract(extractor, dm.split("test"))
    train_f, _ = extract(extractor, dm.split("train"))
    perm = torch.randperm(len(train_f), generator=torch.Generator().manual_seed(0))
    noise = torch.randint(
        0,
        256,
        (len(test_f), *dm.data_shape),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(0),
    )
    noise_f, _ = extract(extractor, noise)
    out = {
        "fid_self": frechet_distance(test_f, test_f),
        "fid_test_vs_train": frechet_distance(test_f, train_f[perm[: len(test_f)]]),
        "fid_test_vs_noise": frechet_distance(test_f, noise_f),
        "is_test": inception_score(test_logits)[0],
    }
    print(
        f"mnist5k, domain features: FID test vs itself {out['fid_self']:.2e}; "
        f"test (1000) vs shuffled train (1000) {out['fid_test_vs_train']:.3f}; "
        f"test vs uniform noise {out['fid_test_vs_noise']:.1f}; IS of test {out['is_test']:.3f}"
    )
    return out


def timing(dm: GANDataModule, sizes: list[int]) -> dict[str, float]:
    torch.manual_seed(0)
    model = DCGAN(data_shape=dm.data_shape, num_classes=dm.num_classes, g_width=32, d_width=32)
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        real_features(dm, "test", build_extractor("domain", dm), cache_dir=cache)
        out["real_features_first_time_s"] = time.perf_counter() - start
        print(
            f"real features of the test split (once, then cached): "
            f"{out['real_features_first_time_s']:.2f} s"
        )
        for n in sizes:
            start, cpu = time.perf_counter(), time.process_time()
            result = evaluate(model, dm, num_samples=n, cache_dir=cache, metrics=["fid", "is", "kid"])
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            out[f"evaluate_{n}_s"] = seconds
            out[f"evaluate_{n}_cpu_s"] = cpu
            print(
                f"one evaluation of {n} samples (FID, IS, KID with "
                f"{result['protocol']['kid_subsets']} x {result['protocol']['kid_subset_size']}): "
                f"{seconds:.2f} s wall, {cpu:.2f} s CPU, {torch.get_num_threads()} threads"
            )
    return out


def main_job(config: str, runs_dir: str):
    """The model, data and evaluation settings of ``ganzoo fit --config <config>``."""
    from ganzoo.cli import run_lightning_cli
    from ganzoo.metrics import EvaluationCallback

    cli = run_lightning_cli(["--config", str(ROOT / "experiments" / config),
                             f"--runs_dir={runs_dir}", "--trainer.logger=false"], run=False)
    [callback] = [c for c in cli.trainer.callbacks if isinstance(c, EvaluationCallback)]
    ev = callback.evaluator
    settings = {"num_samples": ev.num_samples, "reference_split": ev.reference_split,
                "extractor": ev.extractor_name, "batch_size": ev.batch_size,
                "kid_subset_size": ev.kid_subset_size, "kid_subsets": ev.kid_subsets,
                "num_real": ev.num_real, "seed": ev.seed}
    return cli.model, cli.datamodule, settings


def main_job_wall_time(variant: str = "DCGAN") -> float:
    runs = json.loads((ROOT / "results" / "mnist5k" / "runs.json").read_text())["runs"]
    times = [r["wall_time_s"] for r in runs if r["variant"] == variant and r.get("wall_time_s")]
    return sorted(times)[len(times) // 2]


def timed(fn, repeats: int) -> tuple[float, float, dict]:
    """Median wall and CPU seconds of ``repeats`` calls, and the last result."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return sorted(walls)[repeats // 2], sorted(cpus)[repeats // 2], result


def column_cost(repeats: int) -> dict[str, float]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            torch.manual_seed(0)
            model, dm, settings = main_job(MAIN_CONFIG, tmp)
            dm.setup("fit")
            cache = str(Path(tmp) / "cache")
            evaluate(model, dm, cache_dir=cache, metrics=BEFORE, real_floor=False, **settings)
            evaluate(model, dm, cache_dir=cache, real_floor=False, **settings)  # AE features

            def run(**kw):
                return lambda: evaluate(model, dm, cache_dir=cache, **settings, **kw)

            passes = {
                "before": run(metrics=BEFORE, real_floor=False),
                "after_floor_cached": run(),
                "after_without_floor": run(real_floor=False),
            }
            for name, fn in passes.items():
                if name == "after_floor_cached":  # the first pass of a protocol computes it
                    wall, cpu, _ = timed(fn, 1)
                    out["after_floor_computed_s"], out["after_floor_computed_cpu_s"] = wall, cpu
                wall, cpu, result = timed(fn, repeats)
                out[f"{name}_s"], out[f"{name}_cpu_s"] = wall, cpu
            out["metrics_after"] = sorted(result["metrics"])
    finally:
        torch.set_num_threads(threads)
    run_s = main_job_wall_time()
    out["main_job_dcgan_wall_s"] = run_s
    print(f"one evaluation pass, {settings['num_samples']} samples vs the mnist5k "
          f"`{settings['reference_split']}` split, {settings['extractor']} features, "
          f"{MAIN_CONFIG}'s DCGAN freshly initialised, 1 torch thread "
          f"(median of {repeats}; wall / CPU seconds):")
    for name, title in (("before", "before (FID, IS, KID, PR/DC)"),
                        ("after_without_floor", "after, all metrics, no floor"),
                        ("after_floor_computed", "after, all metrics, floor computed (once)"),
                        ("after_floor_cached", "after, all metrics, floor from its cache")):
        wall = out[f"{name}_s"]
        print(f"  {title:45s} {wall:6.2f} s / {out[f'{name}_cpu_s']:6.2f} s CPU  = "
              f"{100 * wall / run_s:4.1f}% of a main-job DCGAN run ({run_s:.0f} s, "
              "results/mnist5k/runs.json)")
    print(f"  added by the new columns and the floor (cached): "
          f"{out['after_floor_cached_s'] - out['before_s']:+.2f} s per pass; budget: one pass "
          f"<= 10% of a run = {0.1 * run_s:.0f} s")
    return out


def ddp_comparison() -> dict:
    script = ROOT / "tests" / "metrics" / "ddp_eval_script.py"
    records = {}
    with tempfile.TemporaryDirectory() as tmp:
        for devices in (1, 2):
            out = Path(tmp) / f"devices{devices}"
            out.mkdir()
            subprocess.run(
                [
                    sys.executable,
                    str(script),
                    str(devices),
                    str(out),
                    str(Path(tmp) / f"cache{devices}"),
                ],
                check=True,
                capture_output=True,
            )
            records[devices] = json.loads((out / "rank0.json").read_text())
            lines = (out / "evaluations.jsonl").read_text().splitlines()
            records[devices]["jsonl_lines"] = len(lines)
    one, two = records[1]["history"][-1]["metrics"], records[2]["history"][-1]["metrics"]
    print("digits, 1000 samples, 1 process vs 2 gloo processes (last evaluation):")
    for name in ("fid", "is", "is_std", "kid", "kid_std"):
        rel = abs(two[name] - one[name]) / max(abs(one[name]), 1e-300)
        print(f"  {name:7s} {one[name]:.10g}  {two[name]:.10g}  relative difference {rel:.1e}")
    print(
        f"  evaluations.jsonl lines: {records[1]['jsonl_lines']} (1 process), "
        f"{records[2]['jsonl_lines']} (2 processes), evaluations: {len(records[2]['history'])}"
    )
    return {
        "one_process": one,
        "two_processes": two,
        "jsonl_lines": {1: records[1]["jsonl_lines"], 2: records[2]["jsonl_lines"]},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ddp", action="store_true", help="also run the 1 vs 2 process check")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000])
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--cost-only", action="store_true",
                        help="only time one pass before and after the issue-25 columns")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.cost_only:
        figures = {"column_cost": column_cost(args.repeats)}
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return figures
    dm = GANDataModule(dataset="mnist5k")
    dm.setup("fit")
    figures = {
        "classifiers": classifier_accuracies(),
        "reference": reference_fids(dm),
        "timing": timing(dm, args.sizes),
        "column_cost": column_cost(args.repeats),
    }
    if args.ddp:
        figures["ddp"] = ddp_comparison()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
